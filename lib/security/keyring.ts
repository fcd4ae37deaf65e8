/**
 * The pool key ring where it lives (issue 13, docs/keyring.md): the public chain (lib/format/keyring.ts) in
 * `<meta>/keyring/ring`, in the catalog (meta item `keyring`, written with the audit record of each change)
 * and on every member (pool record `keyring`); the private keys, PEM pkcs8 with mode 0600, in
 * `<meta>/keyring/<id>.key`, except the pool's original key, which stays `<meta>/pool.key` as release 0.1.0
 * wrote it (that release still reads it, so it is never rewritten or removed). A pool that has only pool.key is
 * adopted: its first ring holds that one key, active.
 *
 * The anchor of every chain is the original key's id: a chain whose first version is not that key's is
 * refused, so a ring found on a disk is trusted only when it grows from the pool's own first key by steps each
 * signed by the key active before it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { hex, keyId } from '../format/ids.js';
import { activeEntry, currentRing, encodeChain, extendChain, isPrefixOf, publicKeyObject, rawPublicKey, verifyChain, type KeyChain, type KeyEntry } from '../format/keyring.js';
import { mkdirDurable, writeFileDurable } from '../store/local/disk.js';
import type { ShardStore } from '../store/shard-store.js';

/** The catalog meta item and the pool record (on every member) that hold the public chain. */
export const KEYRING_ITEM = 'keyring';

export const keyringDir = (metaDir: string) => join(metaDir, 'keyring');
const ringFile = (metaDir: string) => join(keyringDir(metaDir), 'ring');
const privateFile = (metaDir: string, id: string) => join(keyringDir(metaDir), `${id}.key`);
const poolKeyFile = (metaDir: string) => join(metaDir, 'pool.key');

/** A chain in the catalog's meta item (hex of its bytes), or undefined when the catalog holds none. */
export function chainFromItem(value: unknown): Uint8Array | undefined {
  return typeof value === 'string' && /^([0-9a-f]{2})+$/.test(value) ? Buffer.from(value, 'hex') : undefined;
}

async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  return readFile(path).then((b) => new Uint8Array(b), (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/** The first ring of a pool that has only pool.key: that key, active, signing its own ring. */
function adoptionChain(original: KeyObject): KeyChain {
  const now = Date.now();
  return extendChain(undefined, [{ id: hex(keyId(createPublicKey(original))), publicKey: rawPublicKey(original), state: 'active', createdMs: now }], original, now).chain;
}

/** How many leading versions two chains share. */
function sharedVersions(a: KeyChain, b: KeyChain): number {
  let i = 0;
  while (i < a.raw.length && i < b.raw.length && Buffer.compare(a.raw[i], b.raw[i]) === 0) i++;
  return i;
}

/**
 * The newest chain several copies agree on. Each candidate must verify from `anchor`; `base` (the meta
 * directory's own ring, already verified) is trusted, so a candidate that does not extend it (a fork) is
 * refused. Among the rest, a copy that only lags behind (a member that missed the last change) is a prefix of
 * the newest and does not hold it back; but when two copies fork (someone holding a key that was active in an
 * earlier generation signed a different continuation), neither side is taken: the result stops at the last
 * version they share, whatever order the copies are read in. Refused and forked copies are counted.
 */
export function newestChain(anchor: string, base: KeyChain | undefined, candidates: ReadonlyArray<Uint8Array | undefined>): { chain: KeyChain | undefined; refused: number } {
  let refused = 0;
  const valid: KeyChain[] = base === undefined ? [] : [base];
  for (const c of candidates) {
    if (c === undefined) continue;
    try {
      const chain = verifyChain(c, anchor);
      if (base !== undefined && !isPrefixOf(base, chain) && !isPrefixOf(chain, base)) refused++; // a fork of the trusted ring
      else valid.push(chain);
    } catch {
      refused++;
    }
  }
  if (valid.length === 0) return { chain: undefined, refused };
  const longest = valid.reduce((a, b) => (b.raw.length > a.raw.length ? b : a));
  let agreed = longest.raw.length;
  for (const [i, a] of valid.entries()) {
    for (const b of valid.slice(i + 1)) {
      if (!isPrefixOf(a, b) && !isPrefixOf(b, a)) {
        agreed = Math.min(agreed, sharedVersions(a, b));
        refused++;
      }
    }
  }
  if (agreed === 0) return { chain: undefined, refused };
  return { chain: { versions: longest.versions.slice(0, agreed), raw: longest.raw.slice(0, agreed) }, refused };
}

/**
 * The key ring of an open pool: the verified chain, the active private key, and the lookups the engine
 * verifies with (lib/engine/context.ts SigningKeys).
 */
export class PoolKeys {
  #chain: KeyChain;
  #signer: { id: Uint8Array; privateKey: KeyObject };
  readonly #publicKeys = new Map<string, KeyObject>();

  private constructor(private readonly metaDir: string, readonly original: KeyObject, chain: KeyChain, signer: KeyObject) {
    this.#chain = chain;
    this.#signer = { id: keyId(createPublicKey(signer)), privateKey: signer };
  }

  /**
   * Loads the ring of the pool in `metaDir`: pool.key (the original key and the anchor), `keyring/ring` when
   * present, and `catalogChain` (the catalog's copy) when newer and extending it. A meta directory with only
   * pool.key gets its first ring, in memory: `adopted` says the caller should persist it (Vault does at a
   * read-write open).
   */
  static async load(metaDir: string, catalogChain?: Uint8Array): Promise<{ keys: PoolKeys; adopted: boolean; fileBehind: boolean }> {
    const original = createPrivateKey(await readFile(poolKeyFile(metaDir), 'utf8'));
    const anchor = hex(keyId(createPublicKey(original)));
    const file = await readIfPresent(ringFile(metaDir));
    const fileChain = file === undefined ? undefined : verifyChain(file, anchor); // the meta directory's own ring must verify
    const { chain: found } = newestChain(anchor, fileChain, [catalogChain]);
    const chain = found ?? adoptionChain(original);
    const signer = await PoolKeys.#privateKey(metaDir, original, activeEntry(currentRing(chain)).id);
    return { keys: new PoolKeys(metaDir, original, chain, signer), adopted: found === undefined, fileBehind: fileChain === undefined || fileChain.raw.length < chain.raw.length };
  }

  static async #privateKey(metaDir: string, original: KeyObject, id: string): Promise<KeyObject> {
    if (id === hex(keyId(createPublicKey(original)))) return original;
    const pem = await readFile(privateFile(metaDir, id), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ShardVaultError(ErrorCode.NOT_FOUND, `the active signing key ${id} has no private key file ${privateFile(metaDir, id)} (${err.code ?? err.message})`);
    });
    const key = createPrivateKey(pem);
    if (hex(keyId(createPublicKey(key))) !== id) throw new ShardVaultError(ErrorCode.CORRUPT, `${privateFile(metaDir, id)} holds another key than ${id}`);
    return key;
  }

  /**
   * Set by a read-only Vault: reads the catalog's chain again (a writer in another process may have rotated
   * since this reader opened) and adopts it when it verifies and extends this one. True when it did.
   */
  refresh?: () => Promise<boolean>;

  /** Adopts `catalogChain` when it verifies from the original key and extends the chain held (a reader's view). */
  adopt(catalogChain: Uint8Array | undefined): boolean {
    const { chain } = newestChain(hex(keyId(createPublicKey(this.original))), this.#chain, [catalogChain]);
    if (chain === undefined || chain.raw.length <= this.#chain.raw.length) return false;
    this.#chain = chain;
    return true;
  }

  /** The chain's bytes (what the ring file, the catalog item and every member record hold). */
  get bytes(): Uint8Array {
    return encodeChain(this.#chain.raw);
  }

  get generation(): number {
    return currentRing(this.#chain).generation;
  }

  entries(): KeyEntry[] {
    return currentRing(this.#chain).entries.map((e) => ({ ...e }));
  }

  entry(id: Uint8Array | string): KeyEntry | undefined {
    const h = typeof id === 'string' ? id : hex(id);
    return currentRing(this.#chain).entries.find((e) => e.id === h);
  }

  /** The key new manifests, tombstones and receipts are signed with. */
  signer(): { id: Uint8Array; privateKey: KeyObject } {
    return this.#signer;
  }

  /** The public key of key `id` when it is active or retired (trusted to verify), else null. */
  trusted(id: Uint8Array): KeyObject | null {
    const e = this.entry(id);
    return e === undefined || e.state === 'revoked' ? null : this.#publicKey(e);
  }

  /** The public key of key `id` in any state (to tell a revoked signer from a forgery), else null. */
  known(id: Uint8Array): KeyObject | null {
    const e = this.entry(id);
    return e === undefined ? null : this.#publicKey(e);
  }

  #publicKey(e: KeyEntry): KeyObject {
    let k = this.#publicKeys.get(e.id);
    if (k === undefined) {
      k = publicKeyObject(e.publicKey);
      this.#publicKeys.set(e.id, k);
    }
    return k;
  }

  /**
   * The next ring for a change: `rotate` makes a new key (its private key written 0600, durably, before the
   * ring that names it exists anywhere) and retires the active one; `revoke` revokes a key. The active key can
   * only be revoked together with a rotation (the pool must always have a key to sign with). Nothing is
   * trusted until `accept` (after the catalog committed the new chain).
   */
  async prepare(change: { rotate: boolean; revoke?: { id: string; reason: string } }, nowMs: number): Promise<{ chain: KeyChain; bytes: Uint8Array; newKey?: KeyObject; newId?: string }> {
    const entries = this.entries();
    const active = activeEntry({ entries });
    let newKey: KeyObject | undefined;
    let newId: string | undefined;
    if (change.revoke !== undefined) {
      const e = entries.find((x) => x.id === change.revoke!.id);
      if (e === undefined) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no key ${change.revoke.id} in the pool's key ring`);
      if (e.state === 'revoked') throw new ShardVaultError(ErrorCode.CONFLICT, `key ${e.id} is already revoked`);
      if (e.state === 'active' && !change.rotate) {
        throw new ShardVaultError(ErrorCode.CONFLICT, `key ${e.id} is the active signing key: revoke it with rotate (\`shardvault keyring revoke ${e.id} --rotate\`), which makes a new active key in the same change`);
      }
    }
    if (change.rotate) {
      newKey = generateKeyPairSync('ed25519').privateKey;
      newId = hex(keyId(createPublicKey(newKey)));
      active.state = 'retired';
      active.retiredMs = nowMs;
      entries.push({ id: newId, publicKey: rawPublicKey(newKey), state: 'active', createdMs: nowMs });
    }
    if (change.revoke !== undefined) {
      const e = entries.find((x) => x.id === change.revoke!.id)!;
      e.state = 'revoked';
      e.retiredMs ??= nowMs;
      e.revokedMs = nowMs;
      e.revokeReason = change.revoke.reason;
    }
    const next = extendChain(this.#chain, entries, this.#signer.privateKey, nowMs);
    if (newKey !== undefined) {
      await mkdirDurable(keyringDir(this.metaDir));
      await writeFileDurable(privateFile(this.metaDir, newId!), newKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
    }
    return { ...next, ...(newKey !== undefined ? { newKey, newId } : {}) };
  }

  /** Makes a committed chain the ring in use (and its active key the signer). */
  accept(next: { chain: KeyChain; newKey?: KeyObject }): void {
    this.#chain = next.chain;
    if (next.newKey !== undefined) this.#signer = { id: keyId(createPublicKey(next.newKey)), privateKey: next.newKey };
  }

  /** Writes the chain to `<meta>/keyring/ring`, durably. */
  async saveFile(): Promise<void> {
    await mkdirDurable(keyringDir(this.metaDir));
    await writeFileDurable(ringFile(this.metaDir), this.bytes, 0o644);
  }
}

/**
 * Writes the chain to every store as its pool record; returns the ids of those that failed (a member that is
 * down gets it at the next change, and a rebuild takes the newest valid copy found).
 */
export async function saveRecords(stores: ReadonlyArray<{ id: string; store: ShardStore }>, bytes: Uint8Array): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(stores.map(async ({ id, store }) => {
    await store.writeRecord(KEYRING_ITEM, bytes).catch(() => failed.push(id));
  }));
  return failed;
}

/**
 * The chain a catalog rebuild verifies with: the newest valid one in the meta directory or on the members,
 * anchored at pool.key's id when pool.key is there, else at the first key of the meta directory's ring (so a
 * rebuild works without pool.key). Refused when neither exists: nothing would say which first key is the
 * pool's.
 */
export async function rebuildChain(metaDir: string, stores: readonly ShardStore[]): Promise<{ chain: KeyChain; refused: number }> {
  const file = await readIfPresent(ringFile(metaDir));
  let anchor: string;
  if (existsSync(poolKeyFile(metaDir))) anchor = hex(keyId(createPublicKey(createPrivateKey(await readFile(poolKeyFile(metaDir), 'utf8')))));
  else if (file !== undefined) anchor = verifyChain(file).versions[0].signerKeyId;
  else throw new ShardVaultError(ErrorCode.NOT_FOUND, `${metaDir} has neither pool.key nor keyring/ring: nothing says which key ring is the pool's`);
  const records = await Promise.all(stores.map((s) => s.readRecord(KEYRING_ITEM).catch(() => undefined)));
  const { chain, refused } = newestChain(anchor, file === undefined ? undefined : verifyChain(file, anchor), records);
  if (chain !== undefined) return { chain, refused };
  if (existsSync(poolKeyFile(metaDir))) {
    // A pool of release 0.1.0 (or one never opened since): its only key is pool.key.
    return { chain: adoptionChain(createPrivateKey(await readFile(poolKeyFile(metaDir), 'utf8'))), refused };
  }
  throw new ShardVaultError(ErrorCode.NOT_FOUND, `no valid key ring for ${metaDir}`);
}

/** Lookups over a chain's current ring (for a rebuild, which has no PoolKeys). */
/**
 * The active key of `chain` with its private key from the meta directory (`keyring/<id>.key`, or pool.key when
 * the active key is the original one), or undefined when the meta directory does not hold it (a catalog rebuild
 * then cannot sign: it verifies only).
 */
export async function activeSigner(metaDir: string, chain: KeyChain): Promise<{ id: Uint8Array; privateKey: KeyObject } | undefined> {
  const id = activeEntry(currentRing(chain)).id;
  for (const file of [privateFile(metaDir, id), poolKeyFile(metaDir)]) {
    const pem = await readIfPresent(file);
    if (pem === undefined) continue;
    const key = createPrivateKey(Buffer.from(pem));
    if (hex(keyId(createPublicKey(key))) === id) return { id: Buffer.from(id, 'hex'), privateKey: key };
  }
  return undefined;
}

export function chainLookups(chain: KeyChain): { trusted: (id: Uint8Array) => KeyObject | null; known: (id: Uint8Array) => KeyObject | null } {
  // Made once: a rebuild looks a key up for every copy on every member.
  const keys = new Map(currentRing(chain).entries.map((e) => [e.id, { key: publicKeyObject(e.publicKey), revoked: e.state === 'revoked' }]));
  return {
    trusted: (id) => {
      const e = keys.get(hex(id));
      return e === undefined || e.revoked ? null : e.key;
    },
    known: (id) => keys.get(hex(id))?.key ?? null,
  };
}
