// Key store: file modes, sealed secrets (never in clear in keys.json, never returned after creation),
// atomic writes, root from the environment, policies attached to principals, disable/delete seen by the
// very next lookup, and the end-to-end path KeyStore -> SigV4Verifier -> authorize.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardVaultError } from '../lib/errors.js';
import { authorize, KeyStore, parsePolicy, signRequest, SigV4Verifier, type Policy } from '../lib/auth/index.js';

const dirs: string[] = [];
function meta(): string {
  const d = mkdtempSync(join(tmpdir(), 'sv-auth-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;
const readPolicy: Policy = parsePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] });

describe('KeyStore files', () => {
  it('creates auth/ 0700, master.key 0600 of 32 bytes and keys.json 0600; secrets are sealed', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    const root = await ks.ensureRoot();
    const alice = await ks.create('alice', { policy: readPolicy });
    const dir = join(m, 'auth');
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'master.key'))).toBe(0o600);
    expect(mode(join(dir, 'keys.json'))).toBe(0o600);
    expect(readFileSync(join(dir, 'master.key')).length).toBe(32);
    // No temp files left behind by the atomic writes.
    expect(readdirSync(dir).sort()).toEqual(['keys.json', 'master.key']);
    const raw = readFileSync(join(dir, 'keys.json'));
    for (const secret of [root.secretAccessKey!, alice.secretAccessKey]) {
      expect(raw.includes(Buffer.from(secret))).toBe(false);
      expect(raw.includes(Buffer.from(secret).toString('base64'))).toBe(false);
      expect(raw.includes(Buffer.from(secret).toString('hex'))).toBe(false);
      // Nothing the store hands out carries it either.
      expect(JSON.stringify(ks.list())).not.toContain(secret);
      expect(JSON.stringify(ks.info(alice.accessKeyId))).not.toContain(secret);
    }
    expect(raw.toString()).toContain(alice.accessKeyId);
  });

  it('ids are SV + 18 upper-case base32, secrets 40 url-safe characters, all distinct', async () => {
    const ks = await KeyStore.open(meta());
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const k = await ks.create(`user${i}`);
      expect(k.accessKeyId).toMatch(/^SV[A-Z2-7]{18}$/);
      expect(k.secretAccessKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
      expect(seen.has(k.accessKeyId) || seen.has(k.secretAccessKey)).toBe(false);
      seen.add(k.accessKeyId).add(k.secretAccessKey);
    }
  });

  it('reopens with the same keys and secrets; a tampered sealed secret or a wrong master key is CORRUPT', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    const k = await ks.create('alice', { policy: readPolicy });
    const again = await KeyStore.open(m);
    expect((await again.lookup(k.accessKeyId))?.secretAccessKey).toBe(k.secretAccessKey);
    expect(again.info(k.accessKeyId)?.policy).toEqual(readPolicy);

    const file = join(m, 'auth', 'keys.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const ct = Buffer.from(doc.keys[0].secret.ct, 'base64');
    ct[0] ^= 1;
    doc.keys[0].secret.ct = ct.toString('base64');
    writeFileSync(file, JSON.stringify(doc));
    const tampered = await KeyStore.open(m);
    await expect(tampered.lookup(k.accessKeyId)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });

    // A sealed secret moved to another record does not open (the key id is the associated data).
    const m2 = meta();
    const ks2 = await KeyStore.open(m2);
    const a = await ks2.create('a');
    const b = await ks2.create('b');
    const f2 = join(m2, 'auth', 'keys.json');
    const d2 = JSON.parse(readFileSync(f2, 'utf8'));
    d2.keys[1].secret = d2.keys[0].secret;
    writeFileSync(f2, JSON.stringify(d2));
    const moved = await KeyStore.open(m2);
    expect((await moved.lookup(a.accessKeyId))?.secretAccessKey).toBe(a.secretAccessKey);
    await expect(moved.lookup(b.accessKeyId)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });

    writeFileSync(join(m2, 'auth', 'master.key'), Buffer.alloc(31));
    await expect(KeyStore.open(m2)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    rmSync(join(m2, 'auth', 'master.key'));
    await expect(KeyStore.open(m2)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
  });

  it('refuses a keys.json that is not ours', async () => {
    const m = meta();
    await KeyStore.open(m);
    writeFileSync(join(m, 'auth', 'keys.json'), '{"hello":1}');
    await expect(KeyStore.open(m)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    writeFileSync(join(m, 'auth', 'keys.json'), 'not json');
    await expect(KeyStore.open(m)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
  });

  it('concurrent mutations are serialised and all land', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    await Promise.all(Array.from({ length: 20 }, (_, i) => ks.create(`c${i}`)));
    expect(ks.list()).toHaveLength(20);
    expect((await KeyStore.open(m)).list()).toHaveLength(20);
  });
});

describe('root key', () => {
  it('is generated once, returned once, admin', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    const first = await ks.ensureRoot();
    expect(first.created).toBe(true);
    expect(first.secretAccessKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    const second = await (await KeyStore.open(m)).ensureRoot();
    expect(second).toEqual({ created: false, accessKeyId: first.accessKeyId, enabled: true });
    expect(ks.info(first.accessKeyId)).toMatchObject({ principal: 'root', admin: true, enabled: true });
  });

  it('comes from the environment when given, and follows a changed secret', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    const env = { accessKeyId: 'ROOTKEYFROMENV', secretAccessKey: 'env-secret-value-0123456789' };
    expect(await ks.ensureRoot(env)).toEqual({ created: true, accessKeyId: 'ROOTKEYFROMENV', enabled: true });
    expect((await ks.lookup('ROOTKEYFROMENV'))?.secretAccessKey).toBe(env.secretAccessKey);
    expect(await ks.ensureRoot(env)).toEqual({ created: false, accessKeyId: 'ROOTKEYFROMENV', enabled: true });
    await ks.ensureRoot({ ...env, secretAccessKey: 'rotated-secret-0123456789' });
    expect((await (await KeyStore.open(m)).lookup('ROOTKEYFROMENV'))?.secretAccessKey).toBe('rotated-secret-0123456789');
  });

  it('a restart never resurrects a root key an operator disabled or deleted while another admin works', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    const root = await ks.ensureRoot();
    const ops = await ks.create('ops', { admin: true });
    await ks.disable(root.accessKeyId);
    const again = await (await KeyStore.open(m)).ensureRoot();
    expect(again).toEqual({ created: false, accessKeyId: ops.accessKeyId, enabled: true });
    await ks.delete(root.accessKeyId);
    const reopened = await KeyStore.open(m);
    expect((await reopened.ensureRoot()).created).toBe(false);
    expect(reopened.list().map((k) => k.accessKeyId)).toEqual([ops.accessKeyId]);
  });

  it('an env root key that was disabled stays disabled at the next start', async () => {
    const m = meta();
    const ks = await KeyStore.open(m);
    const env = { accessKeyId: 'ROOTKEYFROMENV', secretAccessKey: 'env-secret-value-0123456789' };
    await ks.ensureRoot(env);
    await ks.create('ops', { admin: true });
    await ks.disable('ROOTKEYFROMENV');
    expect(await (await KeyStore.open(m)).ensureRoot(env)).toEqual({ created: false, accessKeyId: 'ROOTKEYFROMENV', enabled: false });
  });

  const badEnv: Array<[string, { accessKeyId?: string; secretAccessKey?: string }]> = [
    ['only the id', { accessKeyId: 'ROOTKEYFROMENV' }],
    ['only the secret', { secretAccessKey: 'env-secret-value-0123456789' }],
    ['a short id', { accessKeyId: 'AB', secretAccessKey: 'env-secret-value-0123456789' }],
    ['an id with a slash', { accessKeyId: 'ROOT/KEY', secretAccessKey: 'env-secret-value-0123456789' }],
    ['a short secret', { accessKeyId: 'ROOTKEY', secretAccessKey: 'short' }],
    ['a secret with a space', { accessKeyId: 'ROOTKEY', secretAccessKey: 'has a space in it 0123456789' }],
  ];
  for (const [name, env] of badEnv) {
    it(`refuses ${name} with a clear error that does not echo the secret`, async () => {
      const ks = await KeyStore.open(meta());
      const err = await ks.ensureRoot(env).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ShardVaultError);
      expect((err as ShardVaultError).code).toBe('ERR_SV_OUT_OF_RANGE');
      expect((err as Error).message).toMatch(/SHARDVAULT_ROOT_/);
      if (env.secretAccessKey !== undefined) expect((err as Error).message).not.toContain(env.secretAccessKey);
    });
  }
});

describe('keys, principals and policies', () => {
  it('a key without a policy can do nothing until one is attached (by principal or by key id)', async () => {
    const ks = await KeyStore.open(meta());
    const k = await ks.create('carol');
    const p = () => ks.principal('carol')!;
    expect(authorize(p(), 's3:GetObject', { bucket: 'b', key: 'x' })).toBe('implicit-deny');
    await ks.setPolicy(k.accessKeyId, readPolicy);
    expect(authorize(p(), 's3:GetObject', { bucket: 'b', key: 'x' })).toBe('allow');
    await ks.setPolicy('carol', undefined);
    expect(authorize(p(), 's3:GetObject', { bucket: 'b', key: 'x' })).toBe('implicit-deny');
    await expect(ks.setPolicy('nobody', readPolicy)).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    await expect(ks.setPolicy('carol', { Version: '2012-10-17', Statement: [] } as unknown as Policy)).rejects.toMatchObject({ s3Code: 'MalformedPolicy' });
  });

  it('a second key with the same name joins the principal and shares its policy', async () => {
    const ks = await KeyStore.open(meta());
    const a = await ks.create('dave', { policy: readPolicy });
    const b = await ks.create('dave');
    expect(ks.info(b.accessKeyId)).toMatchObject({ principal: 'dave', policy: readPolicy });
    expect(a.principal).toBe(b.principal);
    await expect(ks.create('dave', { admin: true })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
  });

  it('a key joins an admin principal only when admin is asked for', async () => {
    const ks = await KeyStore.open(meta());
    await ks.ensureRoot();
    await expect(ks.create('root')).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    const k = await ks.create('root', { admin: true });
    expect(ks.info(k.accessKeyId)).toMatchObject({ principal: 'root', admin: true });
  });

  it('deleting a principal\'s last key removes the principal: a new key of that name starts with no rights', async () => {
    const ks = await KeyStore.open(meta());
    const a = await ks.create('frank', { policy: readPolicy });
    const b = await ks.create('frank');
    await ks.delete(a.accessKeyId);
    expect(ks.principal('frank')?.policy).toEqual(readPolicy);
    await ks.delete(b.accessKeyId);
    expect(ks.principal('frank')).toBeUndefined();
    const c = await ks.create('frank');
    expect(ks.info(c.accessKeyId)?.policy).toBeUndefined();
    expect(authorize(ks.principal('frank')!, 's3:GetObject', { bucket: 'b', key: 'x' })).toBe('implicit-deny');
  });

  it('refuses bad names', async () => {
    const ks = await KeyStore.open(meta());
    for (const name of ['', '-x', 'a b', 'x'.repeat(65), 'ü', 'a/b']) {
      await expect(ks.create(name)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    }
  });

  it('the last enabled admin key cannot be disabled or deleted; unknown ids are NOT_FOUND', async () => {
    const ks = await KeyStore.open(meta());
    const root = await ks.ensureRoot();
    await expect(ks.disable(root.accessKeyId)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await expect(ks.delete(root.accessKeyId)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    const second = await ks.create('ops', { admin: true });
    await ks.disable(root.accessKeyId);
    expect(ks.info(root.accessKeyId)?.enabled).toBe(false);
    expect(ks.info(second.accessKeyId)?.admin).toBe(true);
    await expect(ks.disable('SVNOSUCHKEY')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    await expect(ks.enable('SVNOSUCHKEY')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
  });

  it('disable, enable and delete take effect on the very next request', async () => {
    const ks = await KeyStore.open(meta());
    const k = await ks.create('erin', { policy: readPolicy });
    const verifier = new SigV4Verifier({ region: 'us-east-1', lookup: ks.lookup });
    const req = () => {
      const h = signRequest({ method: 'GET', url: new URL('http://h.test/b/x'), headers: {}, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, region: 'us-east-1' });
      return { method: 'GET', target: '/b/x', rawHeaders: Object.entries(h).flat() };
    };
    const v = await verifier.verify(req());
    expect(v.principal).toBe('erin');
    expect(authorize(ks.principal(v.principal)!, 's3:GetObject', { bucket: 'b', key: 'x' })).toBe('allow');
    await ks.disable(k.accessKeyId);
    await expect(verifier.verify(req())).rejects.toMatchObject({ s3Code: 'InvalidAccessKeyId', reason: 'disabled-key' });
    await ks.enable(k.accessKeyId);
    await verifier.verify(req());
    await ks.delete(k.accessKeyId);
    await expect(verifier.verify(req())).rejects.toMatchObject({ s3Code: 'InvalidAccessKeyId', reason: 'unknown-key' });
    expect(ks.info(k.accessKeyId)).toBeUndefined();
  });
});
