// Durable shard I/O: round trips, create-only seal, abort, exact reads, verification, identity, bad input.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { blake3Sync } from '../lib/hash.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { openShardWriter, readRange, statDisk } from '../lib/store/local/shardio.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => mkdtempSync(join(root, `d${n++}-`));

describe.skipIf(!hasNative)(`shard I/O${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('append + pwrite + seal: durable file with exact content, mode 0600, no temporary left', async () => {
    const dir = freshDir();
    const w = await openShardWriter(dir, 'a.shard');
    const a = randomBytes(100_000);
    const b = randomBytes(3);
    await w.append(a);
    await w.append(b);
    await w.pwrite(Buffer.from('XY'), 10);
    expect(w.written).toBe(100_003);
    expect(existsSync(join(dir, 'a.shard'))).toBe(false); // written is not durable, and not visible
    await w.seal();
    expect(w.state.durable).toBe(true);
    const want = Buffer.concat([a, b]);
    want.write('XY', 10);
    expect(readFileSync(join(dir, 'a.shard')).equals(want)).toBe(true);
    expect(statSync(join(dir, 'a.shard')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['a.shard']);
    await expect(w.append(a)).rejects.toMatchObject({ code: 'ERR_SV_WRITER_STATE' });
  });

  it('direct writers create the final name itself (O_EXCL), seal without a rename, refuse to replace, and abort removes the file', async () => {
    const dir = freshDir();
    const w = await openShardWriter(dir, 'd.shard', { direct: true });
    const a = randomBytes(50_000);
    await w.append(a);
    expect(readdirSync(dir)).toEqual(['d.shard']); // visible (torn) before seal: only for files committed elsewhere
    await w.seal();
    expect(w.state.durable).toBe(true);
    expect(readFileSync(join(dir, 'd.shard')).equals(a)).toBe(true);
    expect(statSync(join(dir, 'd.shard')).mode & 0o777).toBe(0o600);
    await expect(openShardWriter(dir, 'd.shard', { direct: true })).rejects.toMatchObject({ code: 'ERR_SV_IO', syscall: 'open' }); // create-only
    const r = await openShardWriter(dir, 'r.shard', { direct: true });
    await r.append(a);
    await expect(r.seal({ replace: true })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await r.abort();
    const gone = await openShardWriter(dir, 'gone.shard', { direct: true });
    await gone.append(a);
    await gone.abort();
    expect(readdirSync(dir)).toEqual(['d.shard']);
    await expect(openShardWriter(dir, 'x', { direct: 1 as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
  });

  it('seal is create-only: an existing final name is never replaced unless asked', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'x.shard'), 'old');
    const w = await openShardWriter(dir, 'x.shard');
    await w.append(Buffer.from('new'));
    await expect(w.seal()).rejects.toMatchObject({ code: 'ERR_SV_IO', errno: 17, syscall: 'rename' });
    expect(readFileSync(join(dir, 'x.shard'), 'utf8')).toBe('old');
    await w.abort();
    expect(readdirSync(dir)).toEqual(['x.shard']);
    const w2 = await openShardWriter(dir, 'x.shard');
    await w2.append(Buffer.from('new'));
    await w2.seal({ replace: true });
    expect(readFileSync(join(dir, 'x.shard'), 'utf8')).toBe('new');
  });

  it('abort removes the temporary file; concurrent operations on one writer are refused', async () => {
    const dir = freshDir();
    const w = await openShardWriter(dir, 'y.shard');
    const p = w.append(randomBytes(1 << 20));
    await expect(w.append(Buffer.from('z'))).rejects.toMatchObject({ code: 'ERR_SV_WRITER_STATE' });
    await p;
    expect(readdirSync(dir)).toHaveLength(1);
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('readRange reads exact ranges and reports EOF before the end as ERR_SV_SHORT_READ', async () => {
    const dir = freshDir();
    const data = randomBytes(10_000);
    writeFileSync(join(dir, 'r'), data);
    const { data: mid } = await readRange(join(dir, 'r'), 1234, 5000);
    expect(Buffer.from(mid).equals(data.subarray(1234, 6234))).toBe(true);
    await expect(readRange(join(dir, 'r'), 9000, 2000)).rejects.toMatchObject({ code: 'ERR_SV_SHORT_READ' });
    await expect(readRange(join(dir, 'missing'), 0, 1)).rejects.toMatchObject({ code: 'ERR_SV_IO', errno: 2, syscall: 'open' });
  });

  it('verification reports a corrupt block as an erasure, per block', async () => {
    const dir = freshDir();
    const block = 4096;
    const data = randomBytes(block * 3 + 100);
    const hashes = Buffer.concat([0, 1, 2, 3].map((i) => blake3Sync(data.subarray(i * block, (i + 1) * block))));
    const corrupt = Buffer.from(data);
    corrupt[block * 2 + 17] ^= 0x10; // one bit in block 2
    writeFileSync(join(dir, 'v'), corrupt);
    const res = await readRange(join(dir, 'v'), 0, data.length, { blockBytes: block, expectedHashes: hashes });
    expect(res.ok).toEqual([true, true, false, true]);
  });

  it('refuses a directory on another device than expected (unmounted disk path)', async () => {
    const dir = freshDir();
    const { dev } = statDisk(dir);
    await expect(openShardWriter(dir, 'z', { expectDev: dev + 1 })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY' });
    const w = await openShardWriter(dir, 'z', { expectDev: dev });
    await w.abort();
  });

  const bad: Array<[string, () => Promise<unknown> | unknown, string]> = [
    ['dir not a string', () => openShardWriter(5 as never, 'a'), 'ERR_SV_INVALID_ARG_TYPE'],
    ['name with a slash', () => openShardWriter(root, 'a/b'), 'ERR_SV_OUT_OF_RANGE'],
    ['name ..', () => openShardWriter(root, '..'), 'ERR_SV_OUT_OF_RANGE'],
    ['path with NUL', () => openShardWriter('/tmp/\0x', 'a'), 'ERR_SV_OUT_OF_RANGE'],
    ['expectDev negative', () => openShardWriter(root, 'a', { expectDev: -1 }), 'ERR_SV_OUT_OF_RANGE'],
    ['unknown option', () => openShardWriter(root, 'a', { expectdev: 1 } as never), 'ERR_SV_UNKNOWN_OPTION'],
    ['read length too big', () => readRange('/tmp/x', 0, 2 ** 31), 'ERR_SV_OUT_OF_RANGE'],
    ['read offset fractional', () => readRange('/tmp/x', 0.5, 1), 'ERR_SV_OUT_OF_RANGE'],
    ['hashes wrong length', () => readRange('/tmp/x', 0, 100, { blockBytes: 10, expectedHashes: new Uint8Array(31) }), 'ERR_SV_OUT_OF_RANGE'],
    ['hashes without blockBytes', () => readRange('/tmp/x', 0, 100, { expectedHashes: new Uint8Array(32) }), 'ERR_SV_INVALID_ARG_TYPE'],
  ];
  for (const [name, fn, code] of bad) {
    it(`bad argument: ${name} -> ${code}`, async () => {
      let got: string | undefined = 'no error';
      try {
        await fn();
      } catch (err) {
        got = (err as { code?: string }).code;
      }
      expect(got).toBe(code);
    });
  }

  it('the binding re-checks what the edge checked', async () => {
    const addon = native()!;
    expect(() => addon.ioWriterOpen(root, 'a', -5)).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
    expect(() => addon.ioReadRange(root, 0, 2 ** 40, 0)).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
    expect(() => addon.ioReadRange(root, 0, 100, 10, new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
    expect(() => addon.ioWriterAppend({} as never, new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_SV_INVALID_ARG_TYPE' }));
  });
});
