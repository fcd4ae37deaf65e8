// Catalog over LMDB: compare-and-set heads, all-or-nothing commits, ordered listing, persistence across
// reopen, repair queue, and an audit chain whose tampering is detected.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';

import { Catalog, CATALOG_FORMAT, type CommitRequest, type ListPageOptions } from '../lib/catalog.js';

const root = mkdtempSync(join(tmpdir(), 'sv-cat-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `c${n++}`);

function req(key: string, expected: bigint, seq: bigint, extra: Partial<CommitRequest> = {}): CommitRequest {
  return {
    bucket: 'b', key, expectedSequence: expected,
    head: { versionId: `v${seq}`, sequence: seq, manifestHash: 'ab'.repeat(32), tombstone: false },
    audit: { action: 'put', principal: 'alice', timeMs: 1000 + Number(seq) }, ...extra,
  };
}

describe('catalog', () => {
  it('commits heads with compare-and-set; a lost race writes nothing', async () => {
    const cat = Catalog.open(fresh());
    await cat.createBucket('b', 'alice', 1);
    await cat.commit(req('k', 0n, 1n));
    expect(cat.getHead('b', 'k')?.sequence).toBe(1n);
    await expect(cat.commit(req('k', 0n, 2n))).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
    expect(cat.getHead('b', 'k')?.versionId).toBe('v1');
    expect(cat.auditLog()).toHaveLength(2); // bucket.create + one put: the failed commit left no record
    await cat.commit(req('k', 1n, 2n, { repair: [{ disk: 'd3', shard: 3 }] }));
    expect(cat.getHead('b', 'k')?.versionId).toBe('v2');
    expect(cat.repairQueue()).toEqual([{ bucket: 'b', key: 'k', versionId: 'v2', disk: 'd3', shard: 3 }]);
    await expect(cat.commit({ ...req('k', 2n, 3n), bucket: 'nope' })).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
    await cat.close();
  });

  it('re-points a head by compare-and-set on version, manifest hash and copy references', async () => {
    const cat = Catalog.open(fresh());
    await cat.createBucket('b', 'alice', 1);
    const copies = [{ seg: 0, off: 4096, len: 900 }, { seg: 0, off: 8192, len: 900 }];
    await cat.commit({ ...req('k', 0n, 1n), head: { ...req('k', 0n, 1n).head, placement: ['d0', 'd1'], copies } });
    const head = cat.getHead('b', 'k')!;
    const moved = [{ seg: 3, off: 4096, len: 900 }, copies[1]];
    const audit = { action: 'gc.compact', principal: 'gc', timeMs: 5 };
    // Someone else (repair, compaction) re-pointed copy 1 meanwhile: a writer that read the old copies loses.
    await cat.replaceManifest('b', 'k', { versionId: 'v1', manifestHash: head.manifestHash, copies }, { ...head, copies: [copies[0], { seg: 4, off: 4096, len: 900 }] }, [], audit);
    await expect(cat.replaceManifest('b', 'k', { versionId: 'v1', manifestHash: head.manifestHash, copies }, { ...head, copies: moved }, [], audit)).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
    expect(cat.getHead('b', 'k')!.copies![1]).toEqual({ seg: 4, off: 4096, len: 900 });
    await expect(cat.replaceManifest('b', 'k', { versionId: 'v1', manifestHash: 'cd'.repeat(32) }, head, [], audit)).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
    await cat.close();
  });

  it('lists live keys in order with prefix, startAfter and limit', async () => {
    const cat = Catalog.open(fresh());
    await cat.createBucket('b', 'alice', 1);
    for (const k of ['a/1', 'a/2', 'a/3', 'b/1', 'c']) await cat.commit(req(k, 0n, 1n));
    await cat.commit({ ...req('a/2', 1n, 2n), head: { versionId: 'v2', sequence: 2n, manifestHash: '00', tombstone: true } });
    const keys = async (o: Partial<ListPageOptions> = {}) => (await cat.listPage('b', { maxKeys: 1000, ...o })).entries.map((e) => ('key' in e ? e.key : `P:${e.prefix}`));
    expect(await keys()).toEqual(['a/1', 'a/3', 'b/1', 'c']);
    expect(await keys({ prefix: 'a/' })).toEqual(['a/1', 'a/3']);
    expect(await keys({ after: { value: 'a/3', isPrefix: false } })).toEqual(['b/1', 'c']);
    expect(await keys({ maxKeys: 2 })).toEqual(['a/1', 'a/3']);
    expect((await cat.listPage('b', { maxKeys: 2 })).truncated).toBe(true);
    expect((await cat.listPage('b', { maxKeys: 4 })).truncated).toBe(false);
    expect(await keys({ delimiter: '/' })).toEqual(['P:a/', 'P:b/', 'c']);
    expect(await keys({ delimiter: '/', after: { value: 'a/', isPrefix: true } })).toEqual(['P:b/', 'c']);
    expect(cat.listBuckets()).toEqual(['b']);
    await expect(cat.deleteBucket('b', 'alice', 2)).rejects.toMatchObject({ code: 'ERR_SV_BUCKET_NOT_EMPTY' });
    await expect(cat.createBucket('b', 'alice', 3)).rejects.toMatchObject({ code: 'ERR_SV_BUCKET_EXISTS' });
    await cat.close();
  });

  it('persists across reopen and detects audit tampering', async () => {
    const path = fresh();
    let cat = Catalog.open(path);
    await cat.createBucket('b', 'alice', 1);
    await cat.commit(req('k', 0n, 1n));
    await cat.commit(req('k', 1n, 2n));
    await cat.close();
    cat = Catalog.open(path);
    expect(cat.getHead('b', 'k')?.sequence).toBe(2n);
    expect(cat.verifyAudit()).toBe(-1);
    await cat.close();
    // Rewrite one record behind the catalog's back (a malicious or buggy writer).
    const raw = open({ path, keyEncoding: 'binary' });
    const key = [...raw.getKeys({ start: Buffer.from('audit\0'), end: Buffer.from('audit\x01') })].map((k) => Buffer.from(k as Uint8Array))[1];
    raw.putSync(key, { ...(raw.get(key) as object), principal: 'mallory' });
    await raw.close();
    cat = Catalog.open(path);
    expect(cat.verifyAudit()).toBe(1);
    await cat.close();
  });

  it('keeps long keys and keys above U+FFFF inside their ranges (format-1 string keys lost both)', async () => {
    const cat = Catalog.open(fresh());
    await cat.createBucket('b', 'alice', 1);
    const long = `some/longer/path/${'x'.repeat(80)}.bin`;
    const keys = ['a', long, 'z\u{1F600}', '\uffff', '\u{10FFFF}', 'é', 'ctl\x01\x04'];
    for (const k of keys) await cat.commit(req(k, 0n, 1n, { repair: [{ disk: 'd1', shard: 1 }] }));
    const byteOrder = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const page = await cat.listPage('b', { maxKeys: 1000 });
    expect(page.entries.map((e) => ('key' in e ? e.key : ''))).toEqual(byteOrder);
    expect([...cat.heads()].map((h) => h.key)).toEqual(byteOrder);
    expect(cat.repairQueue().map((r) => r.key).sort()).toEqual([...keys].sort());
    expect((await cat.listPage('b', { maxKeys: 1000, prefix: 'z' })).entries).toHaveLength(1);
    await cat.close();
  });

  it('migrates a format-1 catalog (ordered-binary string keys, short and long) to byte keys at open', async () => {
    const path = fresh();
    const raw = open({ path, compression: false }); // as releases before issue 10 wrote it
    const long = `k/${'y'.repeat(70)}`;
    const head = (v: string) => ({ versionId: v, sequence: 1n, manifestHash: 'ab'.repeat(32), tombstone: false });
    await raw.put('bucket\0b', { createdMs: 1 });
    await raw.put('head\0b\0short', head('v1'));
    await raw.put(`head\0b\0${long}`, head('v2'));
    await raw.put('head\0b\0ctl\x04\x01', head('v3'));
    await raw.put('vid\0v1', { bucket: 'b', key: 'short', sequence: 1n });
    await raw.put(`repair\0b\0${long}\0v2\x003`, { disk: 'd3', shard: 3 });
    await raw.put('meta\0pool.config', { poolId: 'p' });
    await raw.close();
    const cat = Catalog.open(path);
    expect(cat.getMeta('catalog.format')).toBe(CATALOG_FORMAT);
    expect(cat.listBuckets()).toEqual(['b']);
    expect([...cat.heads()].map((h) => h.key)).toEqual(['ctl\x04\x01', long, 'short']);
    expect(cat.getHead('b', 'short')?.versionId).toBe('v1');
    expect(cat.isCommittedVersion('v1')).toBe(true);
    expect(cat.repairQueue()).toEqual([{ bucket: 'b', key: long, versionId: 'v2', disk: 'd3', shard: 3 }]);
    expect(cat.getMeta<{ poolId: string }>('pool.config')?.poolId).toBe('p');
    await cat.close();
    const again = Catalog.open(path); // idempotent
    expect([...again.heads()]).toHaveLength(3);
    await again.close();
  });

  it('rejects bad names with codes', async () => {
    const cat = Catalog.open(fresh());
    expect(() => cat.getHead('b', '')).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
    expect(() => cat.getHead('b\0x', 'k')).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
    expect(() => cat.getHead(5 as never, 'k')).toThrow(expect.objectContaining({ code: 'ERR_SV_INVALID_ARG_TYPE' }));
    await expect(cat.createBucket('x'.repeat(64), 'a', 1)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await cat.close();
  });
});
