// MemoryStore's fault knobs (lib/store/memory.ts): each one does what engine tests rely on it to do.
import { describe, expect, it } from 'vitest';

import { blake3Sync } from '../lib/hash.js';
import { MemoryStore, memoryStores } from '../lib/store/memory.js';
import type { ShardName } from '../lib/store/shard-store.js';

const n = (i: number): ShardName => ({ oid: i.toString(16).padStart(32, '0'), id: 'f'.repeat(32), shard: i % 256 });
const data = (len: number) => Uint8Array.from({ length: len }, (_, i) => (i * 13) & 0xff);

async function put(s: MemoryStore, name: ShardName, bytes = data(100)): Promise<void> {
  const sink = await s.createShard(name);
  await sink.append(bytes);
  await sink.seal();
}

describe('MemoryStore faults', () => {
  it('fails an operation once with the errno given, as an ERR_SV_IO with that errno', async () => {
    const s = new MemoryStore('m');
    s.fail('create', 'ENOSPC');
    await expect(s.createShard(n(1))).rejects.toMatchObject({ code: 'ERR_SV_IO', errno: -28, syscall: 'create' });
    await put(s, n(1)); // once: the next call goes through
    expect((await s.statShard(n(1)))?.size).toBe(100);
  });

  it('fails every call with always, and every Nth call with a number', async () => {
    const s = new MemoryStore('m');
    await put(s, n(1));
    s.fail('read', 'EIO', 'always');
    for (let i = 0; i < 3; i++) await expect(s.readShard(n(1), 0, 10)).rejects.toMatchObject({ errno: -5 });
    s.fail('read', 'EIO', 3);
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await s.readShard(n(1), 0, 10).then(() => 'ok', () => 'fail'));
    expect(outcomes).toEqual(['ok', 'ok', 'fail', 'ok', 'ok', 'fail']);
    s.clearFaults();
    expect((await s.readShard(n(1), 0, 10)).data).toEqual(data(10));
  });

  it('fails append and seal, and a failed sink stays failed (I9) and leaves no shard', async () => {
    const s = new MemoryStore('m');
    s.fail('append', 'EIO');
    const a = await s.createShard(n(1));
    await expect(a.append(data(10))).rejects.toMatchObject({ code: 'ERR_SV_IO' });
    await expect(a.append(data(10))).rejects.toMatchObject({ code: 'ERR_SV_WRITER_STATE' });
    await expect(a.seal()).rejects.toMatchObject({ code: 'ERR_SV_WRITER_STATE' });
    await a.abort();
    s.fail('seal', 'EIO');
    const b = await s.createShard(n(2));
    await b.append(data(10));
    await expect(b.seal()).rejects.toMatchObject({ code: 'ERR_SV_IO', errno: -5 });
    await b.abort();
    expect(await s.statShard(n(1))).toBeUndefined();
    expect(await s.statShard(n(2))).toBeUndefined();
  });

  it('fails copy appends and copy reads', async () => {
    const s = new MemoryStore('m');
    s.fail('appendCopy', 'ENOSPC');
    await expect(s.appendCopy(data(10))).rejects.toMatchObject({ errno: -28 });
    const ref = await s.appendCopy(data(10));
    s.fail('readCopy', 'EIO');
    await expect(s.readCopy(ref)).rejects.toMatchObject({ code: 'ERR_SV_IO' });
    expect(await s.readCopy(ref)).toEqual(data(10));
  });

  it('makes a remove fail as not removed', async () => {
    const s = new MemoryStore('m');
    await put(s, n(1));
    s.fail('remove', 'EACCES');
    expect(await s.removeShard(n(1))).toBe(false);
    expect(await s.statShard(n(1))).toBeDefined();
    expect(await s.removeShard(n(1))).toBe(true);
  });

  it('reports an injected errno or a set condition from check()', async () => {
    const s = new MemoryStore('m');
    expect(await s.check()).toBeUndefined();
    s.fail('check', 'EIO');
    expect(await s.check()).toMatchObject({ condition: 'unreadable', errnoName: 'EIO' });
    expect(await s.check()).toBeUndefined();
    s.setCondition({ condition: 'wrong-device', problem: 'different device (not mounted?)' });
    expect(await s.check()).toMatchObject({ condition: 'wrong-device' });
  });

  it('flips a bit in returned shard bytes: the verified read flags that block', async () => {
    const s = new MemoryStore('m');
    const bytes = data(8192);
    await put(s, n(1), bytes);
    const expectedHashes = Buffer.concat([blake3Sync(bytes.subarray(0, 4096)), blake3Sync(bytes.subarray(4096))]);
    s.flipBit('shard', 'once', 5000);
    const bad = await s.readShard(n(1), 0, 8192, { blockBytes: 4096, expectedHashes });
    expect(bad.ok).toEqual([true, false]);
    expect(bad.data[5000]).toBe(bytes[5000] ^ 1);
    const good = await s.readShard(n(1), 0, 8192, { blockBytes: 4096, expectedHashes });
    expect(good.ok).toEqual([true, true]);
  });

  it('flips a bit in a copy: the read refuses it as corrupt', async () => {
    const s = new MemoryStore('m');
    const ref = await s.appendCopy(data(64));
    s.flipBit('copy');
    await expect(s.readCopy(ref)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    expect(await s.readCopy(ref)).toEqual(data(64));
  });

  it('loses unsealed shards and pins in a crash; sealed shards and appended copies survive', async () => {
    let now = 1000;
    const s = new MemoryStore('m', { now: () => now });
    await put(s, n(1));
    const open = await s.createShard(n(2));
    await open.append(data(10));
    const pinned = await s.appendCopy(data(20));
    s.crash();
    await expect(open.seal()).rejects.toMatchObject({ code: 'ERR_SV_IO' });
    await open.abort();
    expect(await s.statShard(n(2))).toBeUndefined();
    expect((await s.statShard(n(1)))?.size).toBe(100);
    expect(await s.readCopy(pinned)).toEqual(data(20));
    const listed = [];
    for await (const item of s.listShards()) listed.push(item.kind);
    expect(listed).toEqual(['shard']);
    // The pin was process state: after the crash nothing keeps the unreferenced container from a sweep.
    now += 10_000;
    const swept = await s.sweepCopies([], { graceMs: 1000, nowMs: now, removeTemporary: false });
    expect(swept.holds(pinned)).toBe(false);
  });

  it('refuses a second create of a sealed name (EEXIST), also when sealed meanwhile', async () => {
    const s = new MemoryStore('m');
    const first = await s.createShard(n(1));
    const second = await s.createShard(n(1));
    await first.append(data(1));
    await first.seal();
    await second.append(data(2));
    await expect(second.seal()).rejects.toMatchObject({ errno: -17 });
    await expect(s.createShard(n(1))).rejects.toMatchObject({ errno: -17 });
  });

  it('reports identity through the provider: unformatted is empty, another pool is foreign', async () => {
    const p = memoryStores();
    const member = { id: 'x', path: '', labels: {}, dev: 0, state: 'active' as const };
    expect(await p.open(member, 'a'.repeat(32)).check()).toMatchObject({ condition: 'empty' });
    await p.format(member, 'a'.repeat(32));
    expect(await p.open(member, 'a'.repeat(32)).check()).toBeUndefined();
    expect(await p.open(member, 'b'.repeat(32)).check()).toMatchObject({ condition: 'foreign' });
    expect(await p.open(member, 'a'.repeat(32)).check()).toBeUndefined();
    await expect(p.format(member, 'b'.repeat(32))).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY' });
  });
});
