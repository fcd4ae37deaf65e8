// Vault (first cut): round trips for edge sizes, reads through up to m lost or corrupt shards, a clear error
// and no bytes beyond m, and no rollback from replayed manifest copies.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { copyPayload, damageCopy, forgeCopy, segmentsOf, type CopyLoc } from './support/copies.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-vault-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const HEADER = 128; // shard file header bytes (lib/store/local/layout.ts)

async function makeVault(k = 4, m = 2, blockBytes = 4096) {
  const base = join(root, `p${n++}`);
  const disks = Array.from({ length: k + m + 1 }, (_, i) => {
    mkdirSync(join(base, `d${i}`), { recursive: true });
    return { path: join(base, `d${i}`), labels: { host: `h${i}` } };
  });
  const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k, m, blockBytes, failureDomain: 'host' });
  await vault.createBucket('bkt');
  return { vault, disks, base };
}

/** Paths of the current version's shard files of b/key that exist, by shard. */
async function shardFiles(vault: Vault, key: string, _kind: 's'): Promise<string[]> {
  const where = (await vault.locate('bkt', key));
  if (where === undefined) return [];
  return where.shards.map((s) => s.shardFile).filter((f): f is string => f !== undefined && existsSync(f));
}

/** Where the current version's manifest copies of b/key are (records in the disks' copy logs), by shard. */
async function copiesOf(vault: Vault, key: string): Promise<CopyLoc[]> {
  return ((await vault.locate('bkt', key))?.shards ?? []).map((s) => s.copy).filter((c): c is CopyLoc => c !== undefined);
}

describe.skipIf(!hasNative)(`vault${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('round-trips sizes 0, 1, block-1, block, block+1, stripe+1 and many stripes', async () => {
    const { vault } = await makeVault();
    for (const size of [0, 1, 4095, 4096, 4097, 4 * 4096 + 1, 40 * 4096 + 123]) {
      const data = randomBytes(size);
      const receipt = await vault.put('bkt', `k${size}`, data);
      expect(receipt.degraded).toBe(false);
      expect(receipt.durableDisks).toHaveLength(6);
      expect(Buffer.from(await vault.getBuffer('bkt', `k${size}`)).equals(data)).toBe(true);
    }
    await vault.close();
  });

  it('reads correct bytes with up to m shards missing or corrupt, and fails loudly beyond m', async () => {
    const { vault } = await makeVault();
    const data = randomBytes(10 * 4096 + 7);
    await vault.put('bkt', 'x', data);
    const shards = await shardFiles(vault, 'x', 's');
    expect(shards).toHaveLength(6);
    const saved = shards.map((f) => readFileSync(f));
    unlinkSync(shards[0]); // lost
    const flipped = Buffer.from(saved[2]);
    flipped[HEADER + 40] ^= 0x01; // bit rot in a data block
    writeFileSync(shards[2], flipped);
    expect(Buffer.from(await vault.getBuffer('bkt', 'x')).equals(data)).toBe(true);
    const truncated = saved[4].subarray(0, 100);
    writeFileSync(shards[4], truncated); // a third bad shard: more than m = 2
    await expect(vault.getBuffer('bkt', 'x')).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    writeFileSync(shards[4], saved[4]);
    expect(Buffer.from(await vault.getBuffer('bkt', 'x')).equals(data)).toBe(true);
    await vault.close();
  });

  it('a replayed older manifest cannot roll an object back', async () => {
    const { vault } = await makeVault();
    await vault.put('bkt', 'r', Buffer.from('version one'));
    const old = copyPayload((await copiesOf(vault, 'r'))[0]);
    await vault.put('bkt', 'r', Buffer.from('version two'));
    expect(Buffer.from(await vault.getBuffer('bkt', 'r')).toString()).toBe('version two');
    // A disk that serves old, validly signed copies where the new ones were: every copy of v2 replaced by a
    // well-formed record holding v1's copy.
    for (const c of await copiesOf(vault, 'r')) forgeCopy(c, old);
    await expect(vault.getBuffer('bkt', 'r')).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    await vault.close();
  });

  it('head, list and delete: a deleted object stays deleted while its old files remain, and can be written again', async () => {
    const { vault } = await makeVault();
    await vault.put('bkt', 'a/1', Buffer.from('one'));
    await vault.put('bkt', 'a/2', Buffer.from('two'));
    expect((await vault.list('bkt')).objects.map((o) => o.key)).toEqual(['a/1', 'a/2']);
    expect((await vault.head('bkt', 'a/1'))?.size).toBe(3);
    await vault.delete('bkt', 'a/1');
    expect((await vault.list('bkt')).objects.map((o) => o.key)).toEqual(['a/2']);
    expect(await vault.head('bkt', 'a/1')).toBeUndefined();
    await expect(vault.getBuffer('bkt', 'a/1')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    const again = await vault.put('bkt', 'a/1', Buffer.from('three'));
    expect(again.sequence).toBe('3');
    expect(Buffer.from(await vault.getBuffer('bkt', 'a/1')).toString()).toBe('three');
    await vault.close();
  });

  it('a read through bad shards queues them; repair rebuilds them byte for byte; superseded work is dropped', async () => {
    const { vault } = await makeVault();
    const data = randomBytes(9 * 4096 + 11);
    await vault.put('bkt', 'y', data);
    const shards = await shardFiles(vault, 'y', 's');
    const originals = shards.map((f) => readFileSync(f));
    unlinkSync(shards[1]);
    const rot = Buffer.from(originals[5]);
    rot[HEADER + 100] ^= 0xff;
    writeFileSync(shards[5], rot);
    expect(Buffer.from(await vault.getBuffer('bkt', 'y')).equals(data)).toBe(true);
    expect((await vault.repairQueue()).map((r) => r.shard).sort()).toEqual([1, 5]);
    const st = await vault.status();
    expect(st).toMatchObject({ objects: 1, objectsAtRisk: 1, repairQueued: 2 });
    expect(st.disks.every((d) => d.ok)).toBe(true);
    expect(st.disks.reduce((n, d) => n + d.repairQueued, 0)).toBe(2);
    expect(await vault.repair()).toMatchObject({ repaired: 2, dropped: 0, moved: 0 });
    expect((await vault.repairQueue())).toEqual([]);
    expect((await vault.status()).objectsAtRisk).toBe(0);
    expect(readFileSync(shards[1]).equals(originals[1])).toBe(true);
    expect(readFileSync(shards[5]).equals(originals[5])).toBe(true);
    await vault.getBuffer('bkt', 'y');
    expect((await vault.repairQueue())).toEqual([]); // nothing bad any more
    unlinkSync(shards[0]);
    await vault.getBuffer('bkt', 'y'); // queues shard 0 of the current version
    await vault.put('bkt', 'y', Buffer.from('newer')); // ...which is then superseded
    expect(await vault.repair()).toMatchObject({ repaired: 0, dropped: 1 });
    await vault.close();
  });

  it('scrub finds bad parity that reads never touch, queues it, and repair fixes it; rate limit and abort work', async () => {
    const { vault } = await makeVault();
    await vault.put('bkt', 'z', randomBytes(6 * 4096));
    await vault.put('bkt', 'z2', randomBytes(100));
    const shards = await shardFiles(vault, 'z', 's');
    const parity = readFileSync(shards[4]);
    parity[HEADER + 10] ^= 1;
    writeFileSync(shards[4], parity);
    const seen: number[] = [];
    const t0 = Date.now();
    const result = await vault.scrub({ rateBytesPerSec: 500_000, onProgress: (p) => seen.push(p.objects) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90); // 49 152 striped + 600 inline bytes at 500 kB/s = 100 ms
    expect(result).toMatchObject({ objects: 2, bad: 1 });
    expect(seen).toEqual([1, 2]);
    expect((await vault.repairQueue()).map((r) => r.shard)).toEqual([4]);
    await vault.repair();
    expect((await vault.scrub()).bad).toBe(0);
    const ac = new AbortController();
    ac.abort();
    await expect(vault.scrub({ signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_SV_ABORTED' });
    await vault.close();
  });

  it('streams: put from a Readable and get() as a stream with bounded memory; range reads touch only their stripes', async () => {
    const { vault } = await makeVault(4, 2, 1 << 16);
    const total = 128 << 20;
    const pattern = (i: number) => (i * 2654435761) >>> 24;
    async function* source() {
      let sent = 0;
      let n = 0;
      while (sent < total) {
        const len = Math.min(total - sent, 1000 + ((n++ * 7919) % 200_000));
        const chunk = new Uint8Array(len);
        for (let j = (4096 - (sent % 4096)) % 4096; j < len; j += 4096) chunk[j] = pattern(sent + j); // marks at absolute multiples of 4096
        sent += len;
        yield chunk;
      }
    }
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const timer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
    try {
      const receipt = await vault.put('bkt', 'big', Readable.from(source()));
      expect(receipt.degraded).toBe(false);
      let got = 0;
      let ok = true;
      for await (const piece of vault.get('bkt', 'big')) {
        const u8 = piece as Uint8Array;
        for (let j = (4096 - (got % 4096)) % 4096; j < u8.length; j += 4096) ok &&= u8[j] === pattern(got + j);
        got += u8.length;
      }
      expect(got).toBe(total);
      expect(ok).toBe(true);
    } finally {
      clearInterval(timer);
    }
    console.log(`streamed 128 MiB put+get: RSS grew by ${((rssPeak - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
    // A 128 MiB object through bounded batches: far below the object size.
    expect(rssPeak - rssBefore).toBeLessThan(100 << 20);
    const start = 3 * (4 << 16) + 5; // inside stripe 3
    const slice = await vault.getBuffer('bkt', 'big', { range: { start, end: start + 70_000 } });
    expect(slice.length).toBe(70_000);
    expect(slice[4096 - (start % 4096)]).toBe(pattern(start + 4096 - (start % 4096)));
    await expect(vault.getBuffer('bkt', 'big', { range: { start: 10, end: 5 } })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    const ac = new AbortController();
    ac.abort();
    await expect(vault.put('bkt', 'aborted', Buffer.alloc(10), { signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_SV_ABORTED' });
    expect((await vault.list('bkt')).objects.map((o) => o.key)).toEqual(['big']);
    await vault.close();
  });

  it('small objects live inline in the manifest copies: one file per disk, survive m lost copies, scrub + repair them', async () => {
    const { vault } = await makeVault();
    const data = randomBytes(5000);
    await vault.put('bkt', 'small', data);
    expect(await shardFiles(vault, 'small', 's')).toEqual([]); // no shard files at all
    const copies = await copiesOf(vault, 'small');
    expect(copies).toHaveLength(6);
    expect(new Set(copies.map((c) => c.file)).size).toBe(6); // one per disk
    damageCopy(copies[0], 'zero');
    damageCopy(copies[1], 'flip');
    expect(Buffer.from(await vault.getBuffer('bkt', 'small')).equals(data)).toBe(true);
    expect(Buffer.from(await vault.getBuffer('bkt', 'small', { range: { start: 100, end: 200 } })).equals(data.subarray(100, 200))).toBe(true);
    expect((await vault.scrub()).bad).toBe(2);
    expect((await vault.repair()).repaired).toBe(2);
    expect(await copiesOf(vault, 'small')).toHaveLength(6);
    expect((await vault.scrub()).bad).toBe(0);
    for (const c of await copiesOf(vault, 'small')) damageCopy(c, 'truncate');
    await expect(vault.getBuffer('bkt', 'small')).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    await vault.close();
  });

  it('scrub is resumable: an aborted pass continues after the last object it checked, a finished one starts over', async () => {
    const { vault } = await makeVault();
    for (let i = 0; i < 6; i++) await vault.put('bkt', `s${i}`, randomBytes(i % 2 === 0 ? 3 * 4096 * 4 : 200));
    const rot = (await shardFiles(vault, 's4', 's'))[1];
    const bytes = readFileSync(rot);
    bytes[HEADER + 5] ^= 0x40;
    writeFileSync(rot, bytes);
    const ac = new AbortController();
    const first: string[] = [];
    await expect(vault.scrub({ signal: ac.signal, onProgress: (p) => { first.push(p.last!.key); if (p.objects === 2) ac.abort(); } })).rejects.toMatchObject({ code: 'ERR_SV_ABORTED' });
    expect(first).toEqual(['s0', 's1']);
    const rest: string[] = [];
    const resumed = await vault.scrub({ resume: true, onProgress: (p) => rest.push(p.last!.key) });
    expect(rest).toEqual(['s2', 's3', 's4', 's5']);
    expect(resumed).toMatchObject({ objects: 4, bad: 1 });
    expect((await vault.repairQueue()).map((q) => `${q.key}:${q.shard}`)).toEqual(['s4:1']);
    expect((await vault.scrub({ resume: true })).objects).toBe(6); // the finished pass cleared the cursor
    await vault.close();
  });

  it('refuses to format a disk that already belongs to a pool', async () => {
    const { vault, disks, base } = await makeVault();
    await vault.close();
    await expect(Vault.init({ disks, metaDir: join(base, 'meta2'), k: 4, m: 2 })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY' });
    // A disk that must be a mount point but is a plain directory (the disk is not mounted) is refused, and
    // nothing is formatted.
    const fresh = Array.from({ length: 6 }, (_, i) => {
      mkdirSync(join(base, `f${i}`));
      return { path: join(base, `f${i}`), mountPoint: i === 5 };
    });
    await expect(Vault.init({ disks: fresh, metaDir: join(base, 'meta3'), k: 4, m: 2 })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY', message: expect.stringMatching(/not a mount point/) });
    expect(existsSync(join(base, 'f0', 'disk.json'))).toBe(false);
    await expect(Vault.init({ disks: [...fresh.slice(0, 5), { path: fresh[0].path }], metaDir: join(base, 'meta3'), k: 4, m: 2 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
  });
});

describe.skipIf(!hasNative)('vault: names are checked at the edge, before anything is written', () => {
  it.each([
    ['empty key', 'bkt', '', 'ERR_SV_OUT_OF_RANGE'],
    ['key over 1024 UTF-8 bytes (600 two-byte characters)', 'bkt', 'é'.repeat(600), 'ERR_SV_OUT_OF_RANGE'],
    ['key with NUL', 'bkt', 'a\0b', 'ERR_SV_OUT_OF_RANGE'],
    ['lone surrogate', 'bkt', 'a\uD800', 'ERR_SV_OUT_OF_RANGE'],
    ['key not a string', 'bkt', 42, 'ERR_SV_INVALID_ARG_TYPE'],
    ['bucket over 63 bytes', 'x'.repeat(64), 'k', 'ERR_SV_OUT_OF_RANGE'],
  ])('%s', async (_what, bucket, key, code) => {
    const { vault, disks } = await makeVault();
    await expect(vault.put(bucket as string, key as string, randomBytes(50_000))).rejects.toMatchObject({ code });
    await expect(vault.getBuffer(bucket as string, key as string)).rejects.toMatchObject({ code });
    await expect(vault.delete(bucket as string, key as string)).rejects.toMatchObject({ code });
    // Nothing reached the disks.
    const files = disks.flatMap((d) => readdirSync(join(d.path, 'objects'), { recursive: true }) as string[]).filter((f) => /\.s\d+$/.test(f));
    expect(files).toEqual([]);
    expect(disks.flatMap((d) => segmentsOf(d.path))).toEqual([]); // no manifest copy either
    await vault.close();
  });
});

describe.skipIf(!hasNative)('vault: range reads', () => {
  it('read only the blocks they cover; a bad covered block is rebuilt, a bad uncovered one is not even read', async () => {
    const { vault } = await makeVault();
    const data = randomBytes(4 * 4096 * 3); // 3 stripes of 4 x 4 KiB
    await vault.put('bkt', 'r', data);
    const files = await shardFiles(vault, 'r', 's');
    // Data block 2 of every stripe is unreadable; a range inside block 1 of stripe 1 does not touch it.
    writeFileSync(files[2], Buffer.alloc(10));
    const start = 4 * 4096 + 4096 + 100;
    expect(Buffer.from(await vault.getBuffer('bkt', 'r', { range: { start, end: start + 2000 } })).equals(data.subarray(start, start + 2000))).toBe(true);
    expect((await vault.repairQueue())).toEqual([]); // the bad shard was never read
    // A range crossing into block 2: rebuilt from parity, verified, and the bad shard reported.
    const s2 = 4 * 4096 + 2 * 4096 - 50;
    expect(Buffer.from(await vault.getBuffer('bkt', 'r', { range: { start: s2, end: s2 + 100 } })).equals(data.subarray(s2, s2 + 100))).toBe(true);
    expect((await vault.repairQueue()).map((q) => q.shard)).toEqual([2]);
    for (const [a, z] of [[0, 1], [4095, 4097], [data.length - 1, data.length], [0, data.length], [5, 5]]) {
      expect(Buffer.from(await vault.getBuffer('bkt', 'r', { range: { start: a, end: z } })).equals(data.subarray(a, z)), `${a}..${z}`).toBe(true);
    }
    await vault.close();
  });
});

describe.skipIf(!hasNative)('vault: concurrent writers of one key', () => {
  it('all commit, one after the other (distinct sequences, last writer wins), none fails the compare-and-set', async () => {
    const { vault } = await makeVault();
    const bodies = Array.from({ length: 8 }, (_, i) => randomBytes(i % 2 === 0 ? 3 * 4096 * 4 + i : 100 + i));
    const receipts = await Promise.all(bodies.map((b) => vault.put('bkt', 'hot', b)));
    const sequences = receipts.map((r) => Number(r.sequence)).sort((a, b) => a - b);
    expect(sequences).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const last = receipts.reduce((a, b) => (Number(b.sequence) > Number(a.sequence) ? b : a));
    expect(Buffer.from(await vault.getBuffer('bkt', 'hot')).equals(bodies[receipts.indexOf(last)])).toBe(true);
    // A delete racing puts: the final state is whichever committed last.
    const ops = await Promise.all([vault.put('bkt', 'hot', randomBytes(50)), vault.delete('bkt', 'hot'), vault.put('bkt', 'hot', randomBytes(60_000))]);
    const head = await vault.head('bkt', 'hot');
    expect(head?.size).toBe(60_000);
    expect(Number((ops[2] as { sequence: string }).sequence)).toBe(11);
    await vault.close();
  });
});

describe.skipIf(!hasNative)('vault: small streams', () => {
  it('a stream that ends within 16 KiB is stored inline; a longer one is striped, nothing lost at the boundary', async () => {
    const { vault } = await makeVault();
    for (const size of [0, 1, 16 * 1024, 16 * 1024 + 1, 40_000]) {
      const data = randomBytes(size);
      const chunks = Array.from({ length: Math.ceil(size / 3000) }, (_, i) => data.subarray(i * 3000, (i + 1) * 3000));
      await vault.put('bkt', `s${size}`, Readable.from(chunks));
      expect(Buffer.from(await vault.getBuffer('bkt', `s${size}`)).equals(data), String(size)).toBe(true);
      expect((await shardFiles(vault, `s${size}`, 's')).length, String(size)).toBe(size <= 16 * 1024 ? 0 : 6);
    }
    await vault.close();
  });
});

describe.skipIf(!hasNative)('vault: missing bucket', () => {
  it('a put into a bucket that does not exist fails at once with ERR_SV_NO_SUCH_BUCKET and writes nothing', async () => {
    const { vault, disks } = await makeVault();
    let pulled = 0;
    async function* body() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield randomBytes(64 * 1024);
      }
    }
    await expect(vault.put('nope', 'k', body())).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
    expect(pulled).toBe(0);
    const files = disks.flatMap((d) => readdirSync(join(d.path, 'objects'), { recursive: true }) as string[]).filter((f) => /\.s\d+$/.test(f));
    expect(files).toEqual([]);
    expect(disks.flatMap((d) => segmentsOf(d.path))).toEqual([]); // no manifest copy either
    await expect(vault.deleteBucket('nope')).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
    await vault.close();
  });
});
