// The pool key ring end to end (issue 13, docs/keyring.md): rotate, write, revoke the old key, read (what only
// the old key signed is refused with ERR_SV_KEY_REVOKED), repair --resign, read again (exact bytes); a manifest
// forged with the revoked key is never re-signed and stays refused, by reads and by rebuild-catalog; a ring on
// the disks with a key added outside the chain is refused; a pool.key-only meta directory is adopted; private
// key files are 0600.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { ErrorCode } from '../lib/errors.js';
import { hex, keyId } from '../lib/format/ids.js';
import { decodeRingVersion, encodeChain, encodeRingVersion, rawPublicKey, verifyChain } from '../lib/format/keyring.js';
import { copyBytes, openCopy } from '../lib/format/manifest-copy.js';
import { signManifest } from '../lib/format/manifest.js';
import { blake3Sync } from '../lib/hash.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { KEYRING_ITEM } from '../lib/security/keyring.js';
import { ServerMetrics } from '../lib/server/metrics.js';
import { localStores } from '../lib/store/local/local-store.js';
import type { MemberConfig } from '../lib/store/shard-store.js';
import { Vault } from '../lib/vault.js';
import { copyPayload } from './support/copies.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-keyring-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A pool of six directory disks, 4 + 2, at format 4 (the default) or 3 (what release 0.1.0 opens). */
async function makePool(formatVersion = 4) {
  const base = join(root, `p${n++}`);
  const disks = Array.from({ length: 6 }, (_, i) => {
    mkdirSync(join(base, `d${i}`), { recursive: true });
    return { path: join(base, `d${i}`) };
  });
  const meta = join(base, 'meta');
  const vault = await Vault.init({ disks, metaDir: meta, k: 4, m: 2, blockBytes: 4096, format: formatVersion, minPartBytes: 0 });
  await vault.createBucket('bkt');
  return { vault, base, meta };
}

function members(meta: string): { poolId: string; disks: MemberConfig[] } {
  return JSON.parse(readFileSync(join(meta, 'pool.json'), 'utf8')) as { poolId: string; disks: MemberConfig[] };
}

const originalId = (meta: string) => hex(keyId(createPublicKey(createPrivateKey(readFileSync(join(meta, 'pool.key'), 'utf8')))));

async function code(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => undefined, (err: { code?: string }) => err.code);
}

describe.skipIf(!hasNative)(`key ring${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('rotate, write, revoke the old key: its objects are refused; repair --resign brings them back byte for byte; a forgery stays refused', async () => {
    const { vault, meta } = await makePool();
    const first = originalId(meta);
    expect((await vault.keyring()).keys.map((k) => [k.id, k.state])).toEqual([[first, 'active']]);
    const a = randomBytes(4 * 4096 * 3 + 17); // striped
    const small = Buffer.from('small and inline');
    const receiptA = await vault.put('bkt', 'a', a);
    await vault.put('bkt', 'small', small);
    await vault.put('bkt', 'gone', Buffer.from('deleted next'));
    await vault.delete('bkt', 'gone');
    const parts = [randomBytes(5000), randomBytes(3000)];
    const { uploadId } = await vault.createUpload('bkt', 'multi');
    const etags = [];
    for (const [i, p] of parts.entries()) etags.push({ partNumber: i + 1, etag: (await vault.putPart('bkt', 'multi', uploadId, i + 1, p)).etag });
    await vault.completeUpload('bkt', 'multi', uploadId, etags);
    expect(receiptA.signerKeyId).toBe(first);
    expect(await vault.verifyReceipt(receiptA)).toBe(true);

    // Rotate: new writes are signed by the new key, old ones still verify (the old key is retired).
    const rotated = await vault.rotateKey();
    expect(rotated.retired).toBe(first);
    const second = rotated.id;
    expect((await vault.keyring()).keys.find((k) => k.id === first)!.state).toBe('retired');
    const b = randomBytes(9000);
    const receiptB = await vault.put('bkt', 'b', b);
    expect(receiptB.signerKeyId).toBe(second);
    expect(Buffer.from(await vault.getBuffer('bkt', 'a')).equals(a)).toBe(true);
    expect(await vault.verifyReceipt(receiptA)).toBe(true);

    // The active key is revoked only together with a rotation.
    expect(await code(vault.revokeKey(second, 'no successor'))).toBe(ErrorCode.CONFLICT);
    const refused: string[] = [];
    vault.events.on('keyRevoked', (e) => refused.push(`${e.key}:${e.keyId}`));
    const metrics = new ServerMetrics();
    metrics.attachVault(vault);
    await vault.revokeKey(first, 'laptop stolen');
    expect((await vault.keyring()).keys.find((k) => k.id === first)).toMatchObject({ state: 'revoked', revokeReason: 'laptop stolen' });
    const audit = await vault.auditLog();
    expect(audit.filter((r) => r.action.startsWith('keyring.')).map((r) => r.action)).toEqual(['keyring.adopt', 'keyring.rotate', 'keyring.revoke']);
    expect(audit.find((r) => r.action === 'keyring.revoke')!.detail).toContain('reason=laptop stolen');

    // Read: what only the revoked key signed is refused (never its bytes), counted, and queued.
    const err = await vault.getBuffer('bkt', 'a').then(() => undefined, (e: Error & { code?: string }) => e);
    expect(err?.code).toBe(ErrorCode.KEY_REVOKED);
    expect(err?.message).toContain(first);
    expect(await code(vault.head('bkt', 'small'))).toBe(ErrorCode.KEY_REVOKED);
    expect(await code(vault.getBuffer('bkt', 'multi'))).toBe(ErrorCode.KEY_REVOKED);
    expect(refused).toEqual([`a:${first}`, `small:${first}`, `multi:${first}`]);
    expect(await metrics.text()).toContain(`shardvault_key_revoked_refusals_total{key_id="${first}"} 3`);
    metrics.close();
    refused.length = 0;
    expect((await vault.keyring()).resignQueued).toBe(3);
    expect(await code(vault.revokeKey(first, 'bad\nreason'))).toBe(ErrorCode.OUT_OF_RANGE);
    expect(Buffer.from(await vault.getBuffer('bkt', 'b')).equals(b)).toBe(true);
    expect(await code(vault.verifyReceipt(receiptA))).toBe(ErrorCode.KEY_REVOKED);
    // Scrub tells a revoked signer apart from bad shards.
    expect(await vault.scrub()).toMatchObject({ objects: 4, bad: 0, revoked: 3 });
    expect(await vault.repairQueue()).toEqual([]);
    expect(await code(vault.verifyReceipt({ ...receiptB, size: 1 } as never))).toBeUndefined(); // extra fields are not signed
    expect(await code(vault.verifyReceipt({ ...receiptB, sequence: '99' }))).toBe(ErrorCode.MANIFEST_SIGNATURE);

    // A forgery made with the stolen key: a newer version of 'small' with other bytes, appended to every
    // member's copy log through the store API (what whoever holds the disks and the key can do).
    const loc = (await vault.locate('bkt', 'small'))!;
    const honest = openCopy(copyPayload(loc.shards[0].copy!), () => createPublicKey(createPrivateKey(readFileSync(join(meta, 'pool.key'), 'utf8'))));
    const evil = Buffer.from('evil bytes');
    const forged = copyBytes(signManifest({ ...honest.manifest, sequence: honest.manifest.sequence + 5n, inline: evil, size: evil.length, contentHash: blake3Sync(evil) }, createPrivateKey(readFileSync(join(meta, 'pool.key'), 'utf8'))), new Uint8Array(0));
    const { poolId, disks } = members(meta);
    for (const d of disks) {
      const store = localStores.open(d, poolId);
      await store.appendCopy(forged);
      await store.close();
    }

    // Resign: the three heads the revoked key signed (a, small, and the tombstone of gone) get new copies.
    const r = await vault.repair({ resign: true });
    expect(r.resign).toMatchObject({ resigned: 4, failed: 0 });
    expect(Buffer.from(await vault.getBuffer('bkt', 'a')).equals(a)).toBe(true);
    expect(Buffer.from(await vault.getBuffer('bkt', 'small')).equals(small)).toBe(true);
    expect(Buffer.from(await vault.getBuffer('bkt', 'multi')).equals(Buffer.concat(parts))).toBe(true);
    expect(await code(vault.getBuffer('bkt', 'gone'))).toBe(ErrorCode.NOT_FOUND);
    expect((await vault.auditLog()).filter((x) => x.action === 'manifest.resign').map((x) => x.key).sort()).toEqual(['a', 'gone', 'multi', 'small']);
    expect((await vault.repair({ resign: true })).resign).toMatchObject({ resigned: 0, failed: 0 }); // nothing left
    expect((await vault.keyring()).resignQueued).toBe(0);
    expect((await vault.scrub()).bad).toBe(0);
    await vault.close();

    // rebuild-catalog verifies with the ring: the re-signed copies are taken, the revoked key's (old honest
    // ones and the forgery) refused, so 'small' is its real bytes, not the forged newer version.
    const rebuilt = await Vault.rebuildCatalog(meta);
    expect(rebuilt.objects).toBe(5);
    expect(rebuilt.copiesRevoked).toBeGreaterThanOrEqual(6 * 4 + 6); // the four old heads' copies and the forgery, per member
    const v = await Vault.open(meta);
    expect(Buffer.from(await v.getBuffer('bkt', 'small')).equals(small)).toBe(true);
    expect(Buffer.from(await v.getBuffer('bkt', 'a')).equals(a)).toBe(true);
    expect(Buffer.from(await v.getBuffer('bkt', 'multi')).equals(Buffer.concat(parts))).toBe(true);
    expect(await code(v.getBuffer('bkt', 'gone'))).toBe(ErrorCode.NOT_FOUND);
    expect((await v.keyring()).generation).toBe(3);
    await v.close();
  });

  it('rebuild-catalog works without pool.key, and refuses a ring on the disks that has a key added outside the chain', async () => {
    const { vault, meta } = await makePool();
    await vault.put('bkt', 'x', randomBytes(20000));
    await vault.rotateKey();
    const active = (await vault.keyring()).keys.find((k) => k.state === 'active')!.id;
    await vault.put('bkt', 'y', Buffer.from('after the rotation'));
    await vault.close();

    // Someone with the disks adds their own key to the ring record of every member: re-signing the version
    // needs the active private key, which they do not have, so they sign it with their own.
    const { poolId, disks } = members(meta);
    const honest = verifyChain((await localStores.open(disks[0], poolId).readRecord(KEYRING_ITEM))!);
    const last = decodeRingVersion(honest.raw[honest.raw.length - 1]).version;
    const { privateKey: theirs } = await import('node:crypto').then((c) => c.generateKeyPairSync('ed25519'));
    const theirId = hex(keyId(createPublicKey(theirs)));
    const entries = [...last.entries, { id: theirId, publicKey: rawPublicKey(theirs), state: 'retired' as const, createdMs: 5, retiredMs: 6 }].sort((p, q) => (p.id < q.id ? -1 : 1));
    const tampered = encodeChain([...honest.raw.slice(0, -1), encodeRingVersion({ ...last, entries, signerKeyId: theirId }, theirs)]);
    for (const d of disks) {
      const s = localStores.open(d, poolId);
      await s.writeRecord(KEYRING_ITEM, tampered);
      await s.close();
    }
    // Without pool.key: the anchor is the meta directory's ring; the disks' rings are refused.
    renameSync(join(meta, 'pool.key'), join(meta, 'pool.key.away'));
    const r = await Vault.rebuildCatalog(meta);
    expect(r).toMatchObject({ objects: 2, copiesRejected: 0, copiesRevoked: 0, ringsRefused: 6 });
    // Without the meta directory's ring either, only the disks could say: they are refused, pool.key anchors.
    renameSync(join(meta, 'pool.key.away'), join(meta, 'pool.key'));
    rmSync(join(meta, 'keyring', 'ring'));
    expect(await code(Vault.rebuildCatalog(meta))).toBeUndefined();
    // The security floor on the disks is signed by the rotated key, which this ring no longer has: a floor
    // that cannot be verified is never taken for a lower one, so a read-write open refuses until the ring is
    // restored; reading works.
    expect(await code(Vault.open(meta))).toBe('ERR_SV_FLOOR');
    const v = await Vault.open(meta, { readOnly: true });
    // The rebuilt catalog's ring is the pool's first one (pool.key alone): 'y', signed by the rotated key, is
    // not trusted from a disk's word. Restoring keyring/ring from a backup brings it back (docs/keyring.md).
    expect((await v.keyring()).keys.map((k) => k.id)).not.toContain(theirId);
    expect((await v.keyring()).keys.map((k) => k.id)).not.toContain(active);
    await v.close();
  });

  it('adopts a pool.key-only meta directory (release 0.1.0) without touching pool.key; rotation waits for upgrade finalize', async () => {
    const { vault, meta, base } = await makePool(3);
    await vault.put('bkt', 'old', Buffer.from('written by a 0.1.0 pool'));
    expect(await code(vault.rotateKey())).toBe(ErrorCode.UPGRADE_PENDING);
    expect(await code(vault.revokeKey(originalId(meta), 'x', { rotate: true }))).toBe(ErrorCode.UPGRADE_PENDING);
    await vault.close();
    // Make it what release 0.1.0 leaves: no ring in the meta directory, the catalog or on the disks.
    rmSync(join(meta, 'keyring'), { recursive: true });
    const catalog = await LmdbCatalog.open(join(meta, 'catalog'));
    await catalog.setMeta(KEYRING_ITEM, undefined);
    await catalog.close();
    for (let i = 0; i < 6; i++) rmSync(join(base, `d${i}`, 'records'), { recursive: true, force: true });
    const poolKey = readFileSync(join(meta, 'pool.key'));

    const v = await Vault.open(meta);
    expect((await v.keyring()).keys).toEqual([expect.objectContaining({ id: originalId(meta), state: 'active' })]);
    expect(Buffer.from(await v.getBuffer('bkt', 'old')).toString()).toBe('written by a 0.1.0 pool');
    expect(readFileSync(join(meta, 'pool.key')).equals(poolKey)).toBe(true);
    expect(readdirSync(join(meta, 'keyring'))).toEqual(['ring']); // the original private key stays pool.key only
    expect((await v.auditLog()).filter((r) => r.action === 'keyring.adopt')).toHaveLength(2); // at init, and now
    const { poolId, disks } = members(meta);
    const record = await localStores.open(disks[3], poolId).readRecord(KEYRING_ITEM);
    expect(verifyChain(record!, originalId(meta)).versions).toHaveLength(1);
    // Once finalized (the previous release can no longer open it), the adopted key rotates like any other.
    await v.finalizeUpgrade();
    const { retired } = await v.rotateKey();
    expect(retired).toBe(originalId(meta));
    expect(Buffer.from(await v.getBuffer('bkt', 'old')).toString()).toBe('written by a 0.1.0 pool');
    await v.close();
  });

  it('a read-only reader beside the writer reads what a key rotated after it opened signed (it re-reads the ring)', async () => {
    const { vault, meta } = await makePool();
    const before = randomBytes(9000);
    await vault.put('bkt', 'before', before);
    const reader = await Vault.open(meta, { readOnly: true });
    expect(Buffer.from(await reader.getBuffer('bkt', 'before')).equals(before)).toBe(true);
    await vault.rotateKey();
    const after = randomBytes(9000);
    await vault.put('bkt', 'after', after);
    expect(Buffer.from(await reader.getBuffer('bkt', 'after')).equals(after)).toBe(true);
    // The reader's ring is the writer's now: the original key (retired) and the new active one.
    expect((await reader.keyring()).keys.map((k) => k.state).sort()).toEqual(['active', 'retired']);
    await reader.close();
    await vault.close();
  });

  it('private keys are written 0600; the ring file and records are public', async () => {
    const { vault, meta } = await makePool();
    const { id } = await vault.rotateKey();
    await vault.revokeKey(id, 'rotate away at once', { rotate: true });
    const ring = (await vault.keyring());
    expect(ring.keys.map((k) => k.state).sort()).toEqual(['active', 'retired', 'revoked']);
    await vault.close();
    expect(statSync(join(meta, 'pool.key')).mode & 0o777).toBe(0o600);
    const keyFiles = readdirSync(join(meta, 'keyring')).filter((f) => f.endsWith('.key'));
    expect(keyFiles).toHaveLength(2);
    for (const f of keyFiles) expect(statSync(join(meta, 'keyring', f)).mode & 0o777).toBe(0o600);
    expect(existsSync(join(meta, 'keyring', 'ring'))).toBe(true);
    // Reopened, the newest key signs (its private key is read from its file).
    const v = await Vault.open(meta);
    const receipt = await v.put('bkt', 'z', Buffer.from('z'));
    expect(receipt.signerKeyId).toBe(ring.keys.find((k) => k.state === 'active')!.id);
    await v.close();
  });
});
