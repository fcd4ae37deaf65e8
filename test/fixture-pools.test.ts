// The committed fixture pools of every released pool format (test/fixtures/pools/<format>/, made by
// scripts/make-fixture-pools.mjs with the release named in their expected.json) keep opening (issue 13): a copy
// of each is opened by this release, every object reads exact (BLAKE3 against expected.json) with its metadata,
// the tombstone keeps its key deleted, scrub is clean and the audit chain verifies (the format-4 pool holds
// objects signed by a rotated key); a pool at the previous format refuses a key rotation until it is finalized
// to this release's format; then the pool is read again, rotates its key and takes writes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { POOL_CONFIG } from '../lib/engine/context.js';
import { POOL_FORMAT, POOL_FORMATS_READ } from '../lib/format/versions.js';
import { blake3Sync } from '../lib/hash.js';
import { Vault } from '../lib/vault.js';

const fixtures = join(__dirname, 'fixtures', 'pools');
const work = mkdtempSync(join(tmpdir(), 'sv-fixture-pools-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Expected {
  release: string;
  formatVersion: number;
  bucket: string;
  objects: Record<string, { size: number; blake3: string; contentType?: string; metadata?: Record<string, string>; headers?: Record<string, string>; parts?: number }>;
  deleted: string[];
}

interface DiskEntry { id: string; path: string; dev: number }

/**
 * A copy of the fixture pool, re-homed where it was unpacked: pool.json gets the disks' absolute paths (pool.json's
 * path wins over the catalog's), and pool.json and the catalog get the device ids of the new place (a disk found
 * on another device than recorded is taken for an unmounted one, rightly so for a real disk; here the copy moved).
 */
async function unpack(format: string): Promise<string> {
  const base = join(work, format);
  const r = spawnSync('tar', ['-xzf', join(fixtures, format, 'pool.tar.gz'), '-C', work, '--one-top-level=' + format], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const meta = join(base, 'meta');
  const rehome = (d: DiskEntry) => ({ ...d, path: join(base, d.path.replace(/^.*\//, '')), dev: statSync(join(base, d.path.replace(/^.*\//, ''))).dev });
  const pool = JSON.parse(readFileSync(join(meta, 'pool.json'), 'utf8')) as { disks: DiskEntry[] };
  writeFileSync(join(meta, 'pool.json'), JSON.stringify({ ...pool, disks: pool.disks.map(rehome) }, null, 2));
  const catalog = await LmdbCatalog.open(join(meta, 'catalog'));
  try {
    const config = (await catalog.getMeta<{ disks: DiskEntry[] }>(POOL_CONFIG))!;
    await catalog.setMeta(POOL_CONFIG, { ...config, disks: config.disks.map(rehome) });
  } finally {
    await catalog.close();
  }
  return meta;
}

async function readsEverything(v: Vault, expected: Expected): Promise<void> {
  for (const [key, o] of Object.entries(expected.objects)) {
    const bytes = await v.getBuffer(expected.bucket, key);
    expect(bytes.length, key).toBe(o.size);
    expect(Buffer.from(blake3Sync(bytes)).toString('hex'), key).toBe(o.blake3);
    const head = (await v.head(expected.bucket, key))!;
    expect(head.size).toBe(o.size);
    if (o.contentType !== undefined) expect(head.contentType).toBe(o.contentType);
    expect(head.metadata).toEqual(o.metadata ?? {});
    if (o.headers !== undefined) expect(head.headers).toMatchObject(o.headers);
  }
  for (const key of expected.deleted) {
    expect(await v.head(expected.bucket, key)).toBeUndefined();
    await expect(v.getBuffer(expected.bucket, key)).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
  }
  expect((await v.list(expected.bucket)).objects.map((o) => o.key)).toEqual(Object.keys(expected.objects).sort());
}

const formats = readdirSync(fixtures).filter((f) => existsSync(join(fixtures, f, 'expected.json'))).sort();

describe('fixture pools', () => {
  it('there is a small fixture pool for every pool format this release reads', () => {
    expect(formats).toEqual(POOL_FORMATS_READ.map(String));
    for (const f of formats) expect(statSync(join(fixtures, f, 'pool.tar.gz')).size).toBeLessThan(1 << 20);
  });

  for (const format of formats) {
    it(`format ${format}: opens, reads every object exact, scrubs clean${Number(format) < POOL_FORMAT ? ', finalizes and reads again' : ''}`, async () => {
      const expected = JSON.parse(readFileSync(join(fixtures, format, 'expected.json'), 'utf8')) as Expected;
      expect(expected.formatVersion).toBe(Number(format));
      const meta = await unpack(format);
      let v = await Vault.open(meta);
      try {
        expect(v.upgradeStatus()).toMatchObject({ formatVersion: expected.formatVersion, finalizePending: expected.formatVersion < POOL_FORMAT });
        await readsEverything(v, expected);
        const scrub = await v.scrub();
        expect(scrub).toMatchObject({ objects: Object.keys(expected.objects).length, bad: 0 });
        expect(await v.repairQueue()).toEqual([]);
        expect(await v.verifyAudit()).toBe(-1);
        // What needs format 4 waits for the finalize (a rotated key would sign what the previous release cannot verify).
        if (expected.formatVersion < POOL_FORMAT) await expect(v.rotateKey()).rejects.toMatchObject({ code: 'ERR_SV_UPGRADE_PENDING' });
        expect(await v.finalizeUpgrade()).toMatchObject({ changed: expected.formatVersion < POOL_FORMAT, formatVersion: POOL_FORMAT });
      } finally {
        await v.close();
      }
      v = await Vault.open(meta);
      try {
        expect(v.upgradeStatus()).toMatchObject({ formatVersion: POOL_FORMAT, finalizePending: false });
        await readsEverything(v, expected);
        // The finalized pool takes writes, signed by a newly rotated key too, and reads them back.
        await v.rotateKey();
        await v.put(expected.bucket, 'after-upgrade', new Uint8Array(20_000).fill(3));
        expect(Buffer.from(await v.getBuffer(expected.bucket, 'after-upgrade')).equals(Buffer.alloc(20_000, 3))).toBe(true);
        expect(await v.verifyAudit()).toBe(-1);
      } finally {
        await v.close();
      }
    });
  }
});
