// The ShardStore contract (lib/store/shard-store.ts), run against every implementation: what the engine may
// rely on from a pool member whatever it is (a directory disk, memory, later S3).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { blake3Sync } from '../../lib/hash.js';
import { RECORD_BYTES_MAX } from '../../lib/store/names.js';
import type { CopyRef, ShardName, ShardStore, StoredItem } from '../../lib/store/shard-store.js';

const BLOCK = 4096;

function name(n: number, shard = 0): ShardName {
  return { oid: n.toString(16).padStart(32, 'a'), id: (n + 1).toString(16).padStart(32, 'b'), shard };
}

function bytesOf(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

function hashes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / BLOCK) * 32);
  for (let b = 0; b * BLOCK < data.length; b++) out.set(blake3Sync(data.subarray(b * BLOCK, (b + 1) * BLOCK)), b * 32);
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function writeShard(store: ShardStore, n: ShardName, data: Uint8Array, replace = false): Promise<void> {
  const sink = await store.createShard(n, replace ? { replace: true } : undefined);
  await sink.append(data);
  await sink.seal();
}

const shardsIn = (items: StoredItem[]) => items.flatMap((i) => (i.kind === 'shard' ? [i.name] : []));

/** `makeStore` returns a fresh, usable (formatted) store and a cleanup. */
export function storeContract(label: string, makeStore: () => Promise<{ store: ShardStore; cleanup: () => Promise<void> }>): void {
  describe(`ShardStore contract: ${label}`, () => {
    let store: ShardStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('is usable once formatted', async () => {
      expect(await store.check()).toBeUndefined();
    });

    it('writes with append and pwrite, seals, and reads back exact ranges', async () => {
      const data = bytesOf(3 * BLOCK, 1);
      const sink = await store.createShard(name(1));
      await sink.append(new Uint8Array(16)); // a header whose root is known only at the end
      await sink.append(data);
      await sink.pwrite(bytesOf(16, 9), 0);
      await sink.seal();
      expect((await store.readShard(name(1), 0, 16)).data).toEqual(bytesOf(16, 9));
      const r = await store.readShard(name(1), 16 + BLOCK, 2 * BLOCK);
      expect(r.data).toEqual(data.subarray(BLOCK));
      expect(r.ok).toBeUndefined();
      expect(await store.statShard(name(1))).toMatchObject({ size: 16 + 3 * BLOCK });
    });

    it('is create-only: a sealed name is not created again without replace; replace takes its place', async () => {
      await writeShard(store, name(2), bytesOf(100, 1));
      await expect(async () => {
        const sink = await store.createShard(name(2));
        await sink.append(bytesOf(100, 2));
        await sink.seal();
      }).rejects.toThrow();
      expect((await store.readShard(name(2), 0, 100)).data).toEqual(bytesOf(100, 1));
      await writeShard(store, name(2), bytesOf(50, 3), true);
      expect((await store.readShard(name(2), 0, 50)).data).toEqual(bytesOf(50, 3));
      expect((await store.statShard(name(2)))?.size).toBe(50);
    });

    it('verifies reads block by block: a bad block is a false flag, not an error', async () => {
      const data = bytesOf(3 * BLOCK - 100, 4); // the last block is short
      await writeShard(store, name(3), data);
      const expected = hashes(data);
      const good = await store.readShard(name(3), 0, data.length, { blockBytes: BLOCK, expectedHashes: expected });
      expect(good.ok).toEqual([true, true, true]);
      expect(good.data).toEqual(data);
      const wrong = expected.slice();
      wrong[32] ^= 1; // block 1's digest no longer matches its bytes
      const bad = await store.readShard(name(3), 0, data.length, { blockBytes: BLOCK, expectedHashes: wrong });
      expect(bad.ok).toEqual([true, false, true]);
    });

    it('reports a shard that ends early as ERR_SV_SHORT_READ', async () => {
      await writeShard(store, name(4), bytesOf(1000, 1));
      await expect(store.readShard(name(4), 500, 1000)).rejects.toMatchObject({ code: 'ERR_SV_SHORT_READ' });
    });

    it('leaves nothing behind an aborted sink', async () => {
      const sink = await store.createShard(name(5));
      await sink.append(bytesOf(5000, 1));
      await sink.abort();
      expect(await store.statShard(name(5))).toBeUndefined();
      expect(await all(store.listShards())).toEqual([]);
      await writeShard(store, name(5), bytesOf(10, 1)); // the name is free again
      expect((await store.statShard(name(5)))?.size).toBe(10);
    });

    it('stats, lists and removes shards', async () => {
      expect(await store.statShard(name(6))).toBeUndefined();
      await writeShard(store, name(6, 0), bytesOf(10, 1));
      await writeShard(store, name(6, 5), bytesOf(20, 1));
      const listed = shardsIn(await all(store.listShards()));
      expect(listed).toHaveLength(2);
      expect(listed).toEqual(expect.arrayContaining([name(6, 0), name(6, 5)]));
      expect(await store.removeShard(name(6, 0))).toBe(true);
      expect(await store.removeShard(name(6, 0))).toBe(false);
      expect(shardsIn(await all(store.listShards()))).toEqual([name(6, 5)]);
    });

    it('lists an unsealed shard as a temporary that removeTemporary removes', async () => {
      const sink = await store.createShard(name(7), { replace: true });
      await sink.append(bytesOf(10, 1));
      const temps = (await all(store.listShards())).filter((i) => i.kind === 'temporary');
      expect(temps).toHaveLength(1);
      await store.removeTemporary((temps[0] as { handle: string }).handle);
      expect(await all(store.listShards())).toEqual([]);
      await sink.abort();
      await expect(store.removeTemporary('../../etc/passwd')).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    });

    it('appends, reads, scans and erases manifest copies', async () => {
      const a = await store.appendCopy(bytesOf(300, 1));
      const b = await store.appendCopy(bytesOf(5000, 2));
      expect(await store.readCopy(a)).toEqual(bytesOf(300, 1));
      expect(await store.readCopy(b)).toEqual(bytesOf(5000, 2));
      const scanned = await all(store.scanCopies());
      expect(scanned.map((c) => hex(c.payload))).toEqual([hex(bytesOf(300, 1)), hex(bytesOf(5000, 2))]);
      expect(scanned.map((c) => c.ref)).toEqual([a, b]);
      await store.eraseCopy(a);
      await expect(store.readCopy(a)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
      expect((await all(store.scanCopies())).map((c) => hex(c.payload))).toEqual([hex(bytesOf(5000, 2))]);
      const space = await store.space();
      expect(space.copies?.segments).toBeGreaterThan(0);
    });

    it('keeps a pinned copy through a sweep, and sweeps an old container nothing references', async () => {
      const future = { graceMs: 1000, nowMs: Date.now() + 3_600_000, removeTemporary: false };
      const old = await store.appendCopy(bytesOf(100, 1));
      store.unpinCopy(old);
      await store.close(); // its container is no longer being written
      const pinned = await store.appendCopy(bytesOf(100, 2));
      const swept = await store.sweepCopies([], future);
      expect(swept.removed).toBeGreaterThanOrEqual(1);
      expect(swept.holds(old)).toBe(false);
      expect(swept.holds(pinned)).toBe(true);
      expect(await store.readCopy(pinned)).toEqual(bytesOf(100, 2));
      await expect(store.readCopy(old)).rejects.toThrow();
    });

    it('keeps a referenced container and one younger than the grace', async () => {
      const live = await store.appendCopy(bytesOf(100, 1));
      store.unpinCopy(live);
      await store.close();
      const kept = await store.sweepCopies([live], { graceMs: 1000, nowMs: Date.now() + 3_600_000, removeTemporary: false });
      expect(kept.removed).toBe(0);
      expect(kept.holds(live)).toBe(true);
      const young = await store.sweepCopies([], { graceMs: 3_600_000, nowMs: Date.now(), removeTemporary: false });
      expect(young.holds(live)).toBe(true);
      expect(await store.readCopy(live)).toEqual(bytesOf(100, 1));
    });

    it('refuses a shard name that is not one (a path, a dot, an index past 255) with ERR_SV_OUT_OF_RANGE', async () => {
      const bad: ShardName[] = [{ ...name(8), oid: `../${'a'.repeat(29)}` }, { ...name(8), id: `${'b'.repeat(31)}.` }, { ...name(8), shard: 256 }];
      for (const n of bad) {
        await expect(store.createShard(n)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
        await expect(store.readShard(n, 0, 1)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
        await expect(store.statShard(n)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
        await expect(store.removeShard(n)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      }
    });

    it('refuses a malformed CopyRef with ERR_SV_CORRUPT, never a crash', async () => {
      const good = await store.appendCopy(bytesOf(10, 1));
      const bad: CopyRef[] = [{ ...good, seg: -1 }, { ...good, off: 1.5 }, { ...good, len: Number.NaN }, {}, { seg: 0, off: 2 ** 60, len: 0 }];
      for (const ref of bad) {
        await expect(store.readCopy(ref)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
        await expect(store.eraseCopy(ref)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
        expect(() => store.unpinCopy(ref)).toThrow(expect.objectContaining({ code: 'ERR_SV_CORRUPT' }));
        await expect(store.sweepCopies([ref], { graceMs: 0, nowMs: Date.now(), removeTemporary: false })).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
      }
      expect(await store.readCopy(good)).toEqual(bytesOf(10, 1));
    });

    it('keeps pool records: absent until written, replaced whole, bounded and named', async () => {
      expect(await store.readRecord('keyring')).toBeUndefined();
      await store.writeRecord('keyring', bytesOf(300, 1));
      await store.writeRecord('floor', bytesOf(10, 2));
      await store.writeRecord('keyring', bytesOf(50, 3));
      expect(await store.readRecord('keyring')).toEqual(bytesOf(50, 3));
      expect(await store.readRecord('floor')).toEqual(bytesOf(10, 2));
      await store.close(); // records are durable state, not this process's
      expect(await store.readRecord('keyring')).toEqual(bytesOf(50, 3));
      for (const bad of ['', '../x', 'Key', '1abc', 'a'.repeat(33), 'a/b', 'a.b']) {
        await expect(store.writeRecord(bad, bytesOf(1, 1))).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
        await expect(store.readRecord(bad)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      }
      await expect(store.writeRecord('big', new Uint8Array(RECORD_BYTES_MAX + 1))).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      expect(await store.readRecord('big')).toBeUndefined();
      // Records are not shards: a listing for gc never shows them.
      const listed: StoredItem[] = [];
      for await (const i of store.listShards()) listed.push(i);
      expect(listed).toEqual([]);
    });
  });
}
