// The engine over in-memory stores (lib/store/memory.ts) and a real LMDB catalog, without Vault or a file
// system for the shards: fast, deterministic runs of the protocols through the ShardStore seam, with faults
// injected per store. The real-filesystem fault tiers (crash sweeps, power cuts, ENOSPC) stay beside these.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { ReedSolomon } from '../lib/codec.js';
import { Engine } from '../lib/engine/context.js';
import { readObject } from '../lib/engine/get.js';
import { putManifestOnly, putObject } from '../lib/engine/put.js';
import { repair } from '../lib/engine/repair.js';
import { scrub } from '../lib/engine/scrub.js';
import { VaultEvents } from '../lib/events.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { memoryStores } from '../lib/store/memory.js';
import type { MemberConfig } from '../lib/store/shard-store.js';

const root = mkdtempSync(join(tmpdir(), 'sv-engmem-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function engine(writeQuorum = 6) {
  const provider = memoryStores();
  const poolId = 'ab'.repeat(16);
  const disks: MemberConfig[] = Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, path: `mem:${i}`, labels: {}, dev: 0, state: 'active' }));
  for (const d of disks) await provider.format(d, poolId);
  const config = { poolId, formatVersion: 1, k: 4, m: 2, blockBytes: 4096, failureDomain: 'disk', writeQuorum, disks };
  const catalog = await LmdbCatalog.open(join(root, `c${n++}`));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const e = new Engine(config, catalog, provider, new ReedSolomon(4, 2), privateKey, publicKey, new VaultEvents(), { savePool: async () => undefined, saveBuckets: async () => undefined },
    { readOnly: false, uploadTtlMs: 1000, minPartBytes: 0 });
  await e.health.checkAll();
  await catalog.createBucket('bkt', 't', 1);
  const store = (id: string) => provider.stores.get(`${poolId}/${id}`)!;
  return { e, store, close: () => catalog.close() };
}

async function read(e: Engine, key: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of readObject(e, 'bkt', key, {})) chunks.push(c);
  return Buffer.concat(chunks);
}

const body = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff));

describe.skipIf(native() === null)(`engine over memory stores${native() === null ? ` (skipped: ${nativeUnavailableReason()})` : ''}`, () => {
  it('puts and reads striped and inline objects through the seam', async () => {
    const { e, close } = await engine();
    const big = body(100_000, 1);
    const receipt = await putObject(e, 'bkt', 'big', big, {}, { bytes: 0 });
    expect(receipt.durableDisks).toHaveLength(6);
    expect(receipt.degraded).toBe(false);
    expect((await read(e, 'big')).equals(big)).toBe(true);
    await putManifestOnly(e, 'bkt', 'small', body(100, 2), false, 't');
    expect((await read(e, 'small')).equals(body(100, 2))).toBe(true);
    await close();
  });

  it('a store that fails its seal drops out: the write is degraded, repair rebuilds the shard there', async () => {
    const { e, store, close } = await engine(5);
    const data = body(80_000, 3);
    const victim = 'm2'; // 4 + 2 over six members: every member holds a shard of every object
    store(victim).fail('seal', 'EIO', 'once');
    const receipt = await putObject(e, 'bkt', 'x', data, {}, { bytes: 0 });
    expect(receipt.degraded).toBe(true);
    expect(receipt.durableDisks).toHaveLength(5);
    expect(receipt.durableDisks).not.toContain(victim);
    const queued: string[] = [];
    for await (const r of e.catalog.repairQueue()) queued.push(r.disk);
    expect(queued).toEqual([victim]);
    expect(await repair(e, 't')).toMatchObject({ repaired: 1, failed: 0 });
    expect((await read(e, 'x')).equals(data)).toBe(true);
    expect(await scrub(e, {})).toMatchObject({ bad: 0 });
    await close();
  });

  it('a flipped bit in a data block is an erasure: the read rebuilds it and queues the shard', async () => {
    const { e, store, close } = await engine();
    const data = body(64_000, 4);
    const receipt = await putObject(e, 'bkt', 'rot', data, {}, { bytes: 0 });
    const head = (await e.catalog.getHead('bkt', 'rot'))!;
    const first = head.placement![0]; // holds data shard 0, read by every full read
    store(first).flipBit('shard', 'always', 100);
    expect(receipt.durableDisks).toContain(first);
    expect((await read(e, 'rot')).equals(data)).toBe(true);
    const queued: Array<{ disk: string; shard: number }> = [];
    for await (const r of e.catalog.repairQueue()) queued.push({ disk: r.disk, shard: r.shard });
    expect(queued).toEqual([{ disk: first, shard: 0 }]);
    store(first).clearFaults();
    expect(await repair(e, 't')).toMatchObject({ repaired: 1, failed: 0 });
    expect(await scrub(e, {})).toMatchObject({ bad: 0 });
    await close();
  });

  it('more failed seals than the quorum allows: the put fails and leaves nothing behind', async () => {
    const { e, store, close } = await engine(6);
    for (const id of ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']) store(id).fail('seal', 'ENOSPC', 'once');
    await expect(putObject(e, 'bkt', 'nope', body(50_000, 5), {}, { bytes: 0 })).rejects.toMatchObject({ code: 'ERR_SV_NO_SPACE' });
    expect(await e.catalog.getHead('bkt', 'nope')).toBeUndefined();
    for (const id of ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']) {
      const left = [];
      for await (const item of store(id).listShards()) left.push(item);
      expect(left, id).toEqual([]);
    }
    await close();
  });
});
