/**
 * Access keys and principals, kept in `<metaDir>/auth/`:
 *   master.key  32 random bytes (0600), the AES-256-GCM key that seals every secret;
 *   keys.json   the key records and principals (0600), written atomically (temp file, fsync, rename, fsync dir).
 *
 * Secrets are needed in clear for HMAC, so they are stored sealed (AES-256-GCM, a fresh 96-bit IV each, the
 * access key id as associated data so a sealed secret cannot be moved to another record) and opened per
 * lookup. They are returned once, by create()/ensureRoot() when generated, and never by list()/info().
 *
 * A principal owns keys and has at most one policy; `admin` principals are allowed everything. Keys created
 * with a name that already names a principal join it. Changes take effect on the next lookup (the in-memory
 * records are updated after the file is durable).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, ShardVaultError } from '../errors.js';
import { parsePolicy, type Policy } from './policy.js';
import type { SecretLookup } from './sigv4.js';

export interface AccessKeyInfo {
  accessKeyId: string;
  principal: string;
  name: string;
  admin: boolean;
  enabled: boolean;
  createdMs: number;
  policy?: Policy;
}

interface SealedSecret {
  iv: string;
  ct: string;
  tag: string;
}
interface KeyRecord {
  accessKeyId: string;
  principal: string;
  name: string;
  enabled: boolean;
  createdMs: number;
  secret: SealedSecret;
}
interface PrincipalRecord {
  admin: boolean;
  policy?: Policy;
}
interface KeysFile {
  format: 'shardvault-keys';
  version: 1;
  keys: KeyRecord[];
  principals: Record<string, PrincipalRecord>;
}

export const ROOT_PRINCIPAL = 'root';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}$/;
const ENV_KEY_ID_RE = /^[A-Za-z0-9]{3,128}$/;
const ENV_SECRET_RE = /^[A-Za-z0-9+/=._~-]{16,128}$/;
/** Keys kept per store; a bound, so a runaway script cannot grow keys.json without limit. */
export const KEYS_MAX = 10_000;

/** 'SV' + 18 characters of upper-case base32 (90 random bits). */
export function generateAccessKeyId(): string {
  const bytes = randomBytes(18);
  let out = 'SV';
  for (let i = 0; i < 18; i++) out += BASE32[bytes[i] & 31];
  return out;
}

/** 40 characters of base64url (240 random bits). */
export function generateSecretAccessKey(): string {
  return randomBytes(30).toString('base64url');
}

function invalid(message: string): ShardVaultError {
  return new ShardVaultError(ErrorCode.OUT_OF_RANGE, message);
}

async function writeFileDurable(dir: string, name: string, data: Buffer): Promise<void> {
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, final);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  const dh = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function ioError(e: unknown, path: string, what: string): ShardVaultError {
  const err = e as NodeJS.ErrnoException;
  return new ShardVaultError(ErrorCode.IO, `${what} ${path}: ${err.message}`, {
    errno: err.errno, syscall: err.syscall, path, cause: e,
  });
}

export class KeyStore {
  private file: KeysFile;
  /** accessKeyId -> record, rebuilt with every committed change (lookup runs on every request). */
  private byId = new Map<string, KeyRecord>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly dir: string, private readonly masterKey: Buffer, file: KeysFile) {
    this.file = file;
    this.index();
  }

  private index(): void {
    this.byId = new Map(this.file.keys.map((k) => [k.accessKeyId, k]));
  }

  /** Open (creating <metaDir>/auth/ with mode 0700, the master key and an empty key file on first use). */
  static async open(metaDir: string): Promise<KeyStore> {
    if (typeof metaDir !== 'string' || metaDir.length === 0) throw new TypeError('metaDir must be a non-empty path');
    const dir = join(metaDir, 'auth');
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const st = await stat(dir);
      if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
    } catch (e) {
      throw ioError(e, dir, 'cannot create the key directory');
    }
    const masterKey = await KeyStore.loadMasterKey(dir);
    const file = await KeyStore.loadKeys(dir);
    return new KeyStore(dir, masterKey, file);
  }

  private static async loadMasterKey(dir: string): Promise<Buffer> {
    const path = join(dir, 'master.key');
    try {
      const key = await readFile(path);
      if (key.length !== 32) {
        throw new ShardVaultError(ErrorCode.CORRUPT, `${path} must hold exactly 32 bytes (it has ${key.length}); the secrets it seals cannot be opened`);
      }
      const st = await stat(path);
      if ((st.mode & 0o077) !== 0) await chmod(path, 0o600);
      return key;
    } catch (e) {
      if (e instanceof ShardVaultError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, path, 'cannot read the master key');
    }
    // First use. N.B. if keys.json exists without the master key, refusing is right: a new key would open nothing.
    try {
      await stat(join(dir, 'keys.json'));
      throw new ShardVaultError(ErrorCode.CORRUPT, `${path} is missing but keys.json exists: the stored secrets cannot be opened`);
    } catch (e) {
      if (e instanceof ShardVaultError) throw e;
    }
    const key = randomBytes(32);
    try {
      await writeFileDurable(dir, 'master.key', key);
    } catch (e) {
      throw ioError(e, path, 'cannot write the master key');
    }
    return key;
  }

  private static async loadKeys(dir: string): Promise<KeysFile> {
    const path = join(dir, 'keys.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
      // A copy restored with looser permissions is tightened back (the secrets are sealed, but still).
      if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { format: 'shardvault-keys', version: 1, keys: [], principals: {} };
      throw ioError(e, path, 'cannot read');
    }
    let doc: KeysFile;
    try {
      doc = JSON.parse(text) as KeysFile;
    } catch (e) {
      throw new ShardVaultError(ErrorCode.CORRUPT, `${path} is not valid JSON`, { cause: e });
    }
    if (doc?.format !== 'shardvault-keys' || doc.version !== 1 || !Array.isArray(doc.keys) || typeof doc.principals !== 'object') {
      throw new ShardVaultError(ErrorCode.CORRUPT, `${path} is not a ShardVault key file (format 1)`);
    }
    for (const [name, p] of Object.entries(doc.principals)) {
      if (p.policy !== undefined) {
        try {
          p.policy = parsePolicy(p.policy);
        } catch (e) {
          throw new ShardVaultError(ErrorCode.CORRUPT, `${path}: the policy of ${name} is invalid: ${(e as Error).message}`);
        }
      }
    }
    return doc;
  }

  private seal(accessKeyId: string, secret: string): SealedSecret {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.masterKey, iv);
    c.setAAD(Buffer.from(accessKeyId, 'utf8'));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return { iv: iv.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') };
  }

  private open(rec: KeyRecord): string {
    try {
      const d = createDecipheriv('aes-256-gcm', this.masterKey, Buffer.from(rec.secret.iv, 'base64'));
      d.setAAD(Buffer.from(rec.accessKeyId, 'utf8'));
      d.setAuthTag(Buffer.from(rec.secret.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(rec.secret.ct, 'base64')), d.final()]).toString('utf8');
    } catch (e) {
      throw new ShardVaultError(ErrorCode.CORRUPT, `the sealed secret of ${rec.accessKeyId} does not open under master.key`, { cause: e });
    }
  }

  /** Run mutations one at a time; the in-memory state changes only after the file is durable. */
  private mutate<T>(fn: (draft: KeysFile) => T): Promise<T> {
    const run = this.queue.then(async () => {
      const draft = structuredClone(this.file);
      const result = fn(draft);
      try {
        await writeFileDurable(this.dir, 'keys.json', Buffer.from(`${JSON.stringify(draft, null, 2)}\n`, 'utf8'));
      } catch (e) {
        throw ioError(e, join(this.dir, 'keys.json'), 'cannot write');
      }
      this.file = draft;
      this.index();
      return result;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private addKey(draft: KeysFile, name: string, principal: string, accessKeyId: string, secret: string): void {
    if (draft.keys.length >= KEYS_MAX) throw invalid(`a key store holds at most ${KEYS_MAX} keys`);
    if (draft.keys.some((k) => k.accessKeyId === accessKeyId)) throw invalid(`access key ${accessKeyId} already exists`);
    draft.keys.push({ accessKeyId, principal, name, enabled: true, createdMs: Date.now(), secret: this.seal(accessKeyId, secret) });
  }

  /**
   * Make sure the pool has a working admin key. With `env` (SHARDVAULT_ROOT_ACCESS_KEY / _SECRET_KEY), that
   * key is a root key: added when missing, its secret replaced when it changed; a root key an operator
   * disabled stays disabled (a restart never re-enables it; `enabled` says so). Without `env`, a root key is
   * generated, and its secret returned this once, only when no enabled admin key exists at all: disabling or
   * deleting the root key while another admin key works does not make the next start mint a new one.
   */
  async ensureRoot(env: { accessKeyId?: string; secretAccessKey?: string } = {}): Promise<{ created: boolean; accessKeyId: string; secretAccessKey?: string; enabled: boolean }> {
    const { accessKeyId, secretAccessKey } = env;
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw invalid('set both SHARDVAULT_ROOT_ACCESS_KEY and SHARDVAULT_ROOT_SECRET_KEY, or neither');
    }
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      // Messages never echo the secret.
      if (!ENV_KEY_ID_RE.test(accessKeyId)) {
        throw invalid(`SHARDVAULT_ROOT_ACCESS_KEY must be 3-128 letters and digits (got ${accessKeyId.length} characters)`);
      }
      if (!ENV_SECRET_RE.test(secretAccessKey)) {
        throw invalid(`SHARDVAULT_ROOT_SECRET_KEY must be 16-128 characters of A-Z a-z 0-9 + / = . _ ~ - (got ${secretAccessKey.length} characters)`);
      }
      const existing = this.byId.get(accessKeyId);
      if (existing !== undefined) {
        if (existing.principal !== ROOT_PRINCIPAL) throw invalid(`SHARDVAULT_ROOT_ACCESS_KEY ${accessKeyId} belongs to principal ${existing.principal}, not root`);
        if (this.open(existing) !== secretAccessKey) {
          await this.mutate((d) => {
            d.keys.find((x) => x.accessKeyId === accessKeyId)!.secret = this.seal(accessKeyId, secretAccessKey);
          });
        }
        return { created: false, accessKeyId, enabled: existing.enabled };
      }
      await this.mutate((d) => {
        d.principals[ROOT_PRINCIPAL] = { ...(d.principals[ROOT_PRINCIPAL] ?? {}), admin: true };
        this.addKey(d, ROOT_PRINCIPAL, ROOT_PRINCIPAL, accessKeyId, secretAccessKey);
      });
      return { created: true, accessKeyId, enabled: true };
    }
    const enabledAdmins = this.file.keys.filter((k) => k.enabled && this.file.principals[k.principal]?.admin === true);
    const working = enabledAdmins.find((k) => k.principal === ROOT_PRINCIPAL) ?? enabledAdmins[0];
    if (working !== undefined) return { created: false, accessKeyId: working.accessKeyId, enabled: true };
    const id = generateAccessKeyId();
    const secret = generateSecretAccessKey();
    await this.mutate((d) => {
      d.principals[ROOT_PRINCIPAL] = { ...(d.principals[ROOT_PRINCIPAL] ?? {}), admin: true };
      this.addKey(d, ROOT_PRINCIPAL, ROOT_PRINCIPAL, id, secret);
    });
    return { created: true, accessKeyId: id, secretAccessKey: secret, enabled: true };
  }

  /**
   * A new key for principal `name` (created if new). Without a policy a new principal can do nothing until
   * one is attached. The secret is returned this once.
   */
  async create(name: string, opts: { policy?: Policy; admin?: boolean } = {}): Promise<{ accessKeyId: string; secretAccessKey: string; principal: string }> {
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw invalid('a key name must be 1-64 characters of letters, digits and _ . @ + = -, starting with a letter or digit');
    }
    const policy = opts.policy === undefined ? undefined : parsePolicy(opts.policy);
    const admin = opts.admin ?? false;
    const existing = this.file.principals[name];
    if (existing !== undefined && opts.admin !== undefined && existing.admin !== admin) {
      throw invalid(`principal ${name} exists and is ${existing.admin ? '' : 'not '}an admin; a key cannot change that`);
    }
    // Adding a key to an admin principal mints admin rights: it must be asked for, never implied by a name.
    if (existing?.admin === true && opts.admin !== true) {
      throw invalid(`principal ${name} is an admin; pass admin: true to add a key to it`);
    }
    const accessKeyId = generateAccessKeyId();
    const secretAccessKey = generateSecretAccessKey();
    await this.mutate((d) => {
      const p = d.principals[name] ?? { admin };
      if (policy !== undefined) p.policy = policy;
      d.principals[name] = p;
      this.addKey(d, name, name, accessKeyId, secretAccessKey);
    });
    return { accessKeyId, secretAccessKey, principal: name };
  }

  private infoOf(k: KeyRecord, file: KeysFile = this.file): AccessKeyInfo {
    const p = file.principals[k.principal];
    const info: AccessKeyInfo = {
      accessKeyId: k.accessKeyId, principal: k.principal, name: k.name, admin: p?.admin ?? false,
      enabled: k.enabled, createdMs: k.createdMs,
    };
    if (p?.policy !== undefined) info.policy = structuredClone(p.policy);
    return info;
  }

  /** Every key, without secrets. */
  list(): AccessKeyInfo[] {
    return this.file.keys.map((k) => this.infoOf(k));
  }

  info(accessKeyId: string): AccessKeyInfo | undefined {
    const k = this.file.keys.find((x) => x.accessKeyId === accessKeyId);
    return k === undefined ? undefined : this.infoOf(k);
  }

  /** The principal's admin flag and policy (for authorize()); undefined for an unknown principal. */
  principal(name: string): { admin: boolean; policy?: Policy } | undefined {
    const p = this.file.principals[name];
    if (p === undefined) return undefined;
    return p.policy === undefined ? { admin: p.admin } : { admin: p.admin, policy: p.policy };
  }

  private requireKey(id: string): KeyRecord {
    const k = this.file.keys.find((x) => x.accessKeyId === id);
    if (k === undefined) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no access key ${String(id).slice(0, 128)}`);
    return k;
  }

  /** The last enabled admin key cannot be disabled or deleted: it would lock the admin API out. */
  private checkNotLastAdmin(id: string): void {
    const k = this.requireKey(id);
    if (!this.file.principals[k.principal]?.admin) return;
    const others = this.file.keys.filter((x) => x.accessKeyId !== id && x.enabled && this.file.principals[x.principal]?.admin);
    if (others.length === 0) throw invalid(`${id} is the last enabled admin key; create another admin key first`);
  }

  async disable(id: string): Promise<void> {
    this.checkNotLastAdmin(id);
    await this.mutate((d) => {
      d.keys.find((x) => x.accessKeyId === id)!.enabled = false;
    });
  }

  async enable(id: string): Promise<void> {
    this.requireKey(id);
    await this.mutate((d) => {
      d.keys.find((x) => x.accessKeyId === id)!.enabled = true;
    });
  }

  /**
   * Delete a key. When it was its principal's last key, the principal (and its policy) goes too, so a later
   * key created under the same name starts with no rights instead of inheriting them.
   */
  async delete(id: string): Promise<void> {
    this.checkNotLastAdmin(id);
    await this.mutate((d) => {
      const principal = d.keys.find((x) => x.accessKeyId === id)!.principal;
      d.keys = d.keys.filter((x) => x.accessKeyId !== id);
      if (principal !== ROOT_PRINCIPAL && !d.keys.some((x) => x.principal === principal)) delete d.principals[principal];
    });
  }

  /** Attach (or with undefined, detach) the policy of a principal, named directly or by one of its key ids. */
  async setPolicy(principalOrKeyId: string, policy: Policy | undefined): Promise<void> {
    const parsed = policy === undefined ? undefined : parsePolicy(policy);
    const name = this.file.principals[principalOrKeyId] !== undefined ? principalOrKeyId
      : this.file.keys.find((k) => k.accessKeyId === principalOrKeyId)?.principal;
    if (name === undefined) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no principal or access key ${String(principalOrKeyId).slice(0, 128)}`);
    await this.mutate((d) => {
      const p = d.principals[name];
      if (parsed === undefined) delete p.policy;
      else p.policy = parsed;
    });
  }

  /** SecretLookup for SigV4Verifier: reads the current records, so a disable or delete counts at once. */
  readonly lookup: SecretLookup = async (accessKeyId: string) => {
    const k = this.byId.get(accessKeyId);
    if (k === undefined) return undefined;
    return { secretAccessKey: this.open(k), principal: k.principal, enabled: k.enabled };
  };
}

