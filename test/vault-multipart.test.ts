// Multipart uploads in the engine (issue 12): parts are striped bodies of their own (durable before putPart
// resolves), completeUpload is a metadata operation (a v4 manifest that references the parts' stripes: no part
// byte is read or rewritten) and atomic like a put, and get (whole and ranged), head, list, scrub, repair, gc,
// drain and a catalog rebuild all understand the composite object. gc collects replaced, unused, aborted and
// expired parts, never those a committed object references.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { prng } from './support/helpers.js';
import { testPools } from './support/pools.js';

const hasNative = native() !== null;
const pools = testPools('sv-mp-');
const MIN = 10_000; // minPartBytes for these tests (blockBytes 4096, 2+1: one stripe is 8 KiB)
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();

function bytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

/** Every shard file under the disks' objects/ directories, as paths. */
function shardFiles(disks: Array<{ path: string }>): string[] {
  const out: string[] = [];
  for (const d of disks) {
    for (const fan of readdirSync(join(d.path, 'objects'))) for (const f of readdirSync(join(d.path, 'objects', fan))) out.push(join(d.path, 'objects', fan, f));
  }
  return out.sort();
}

const multipartEtag = (parts: Buffer[]) => `${md5(Buffer.concat(parts.map(md5))).toString('hex')}-${parts.length}`;

async function upload(vault: Vault, key: string, parts: Buffer[], opts: Parameters<Vault['createUpload']>[2] = {}): Promise<{ uploadId: string; etags: string[] }> {
  const { uploadId } = await vault.createUpload('bkt', key, opts);
  const etags: string[] = [];
  for (const [i, p] of parts.entries()) {
    // Parts 1 and 3 as buffers, part 2 streamed in uneven chunks.
    const body = i % 2 === 1 ? Readable.from([p.subarray(0, 1000), p.subarray(1000, 7777), p.subarray(7777)]) : p;
    const r = await vault.putPart('bkt', key, uploadId, i + 1, body);
    expect(r).toEqual({ etag: md5(p).toString('hex'), size: p.length });
    etags.push(r.etag);
  }
  return { uploadId, etags };
}

describe.skipIf(!hasNative)(`multipart uploads${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('complete of 3 parts: get whole and ranges across part boundaries are exact; head, list and the ETag', async () => {
    const { vault } = await pools.make({ minPartBytes: MIN });
    try {
      const parts = [bytes(20_000, 1), bytes(30_001, 2), bytes(7, 3)];
      const whole = Buffer.concat(parts);
      const headers = { contentDisposition: 'attachment', cacheControl: 'no-store' };
      const { uploadId, etags } = await upload(vault, 'big/obj', parts, { contentType: 'application/x-test', metadata: { owner: 'alice' }, headers });
      expect((await vault.listUploads('bkt')).uploads.map((u) => [u.key, u.uploadId])).toEqual([['big/obj', uploadId]]);
      expect((await vault.list('bkt')).objects).toEqual([]); // list never shows uploads or parts
      expect(await vault.head('bkt', 'big/obj')).toBeUndefined();
      const listed = await vault.listParts('bkt', 'big/obj', uploadId);
      expect(listed.parts.map((p) => [p.partNumber, p.etag, p.size])).toEqual([[1, etags[0], 20_000], [2, etags[1], 30_001], [3, etags[2], 7]]);
      expect(listed.isTruncated).toBe(false);
      const page = await vault.listParts('bkt', 'big/obj', uploadId, { maxParts: 2 });
      expect([page.parts.length, page.isTruncated, page.nextPartNumberMarker]).toEqual([2, true, 2]);
      expect((await vault.listParts('bkt', 'big/obj', uploadId, { partNumberMarker: 2 })).parts.map((p) => p.partNumber)).toEqual([3]);
      const done = await vault.completeUpload('bkt', 'big/obj', uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag: `"${etag}"` })));
      expect(done.etag).toBe(multipartEtag(parts));
      expect(done.degraded).toBe(false);
      expect(await vault.head('bkt', 'big/obj')).toMatchObject({ size: whole.length, etag: done.etag, parts: [20_000, 30_001, 7], contentType: 'application/x-test', metadata: { owner: 'alice' }, headers });
      expect((await vault.list('bkt')).objects).toMatchObject([{ key: 'big/obj', size: whole.length, etag: done.etag }]);
      expect((await vault.listUploads('bkt')).uploads).toEqual([]);
      expect(Buffer.from(await vault.getBuffer('bkt', 'big/obj')).equals(whole)).toBe(true);
      const chunks: Buffer[] = [];
      for await (const c of vault.get('bkt', 'big/obj')) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(whole)).toBe(true);
      const r = prng(7);
      const ranges: Array<[number, number]> = [[19_990, 20_010], [0, 20_000], [20_000, 50_001], [50_000, 50_008], [49_999, 50_003], [0, whole.length], [5, 5], [8191, 8193], [20_000 + 8191, 20_000 + 8193]];
      for (let i = 0; i < 20; i++) {
        const a = Math.floor(r() * whole.length);
        ranges.push([a, a + Math.floor(r() * (whole.length - a + 1))]);
      }
      for (const [start, end] of ranges) {
        expect(Buffer.from(await vault.getBuffer('bkt', 'big/obj', { range: { start, end } })).equals(whole.subarray(start, end)), `${start}..${end}`).toBe(true);
      }
      // Conditions work against the multipart ETag (with its -N).
      await expect(vault.put('bkt', 'big/obj', Buffer.from('x'), { ifMatch: 'f'.repeat(32) + '-3' })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      await vault.put('bkt', 'big/obj', Buffer.from('x'), { ifMatch: done.etag });
      expect(Buffer.from(await vault.getBuffer('bkt', 'big/obj')).toString()).toBe('x');
    } finally {
      await vault.close();
    }
  });

  it('complete does not read or rewrite the parts: it succeeds with every part file moved away, while get of the data fails', async () => {
    const { vault, disks, base } = await pools.make({ minPartBytes: MIN });
    try {
      const parts = [bytes(16_384, 4), bytes(12_000, 5), bytes(9_000, 6)];
      const { uploadId, etags } = await upload(vault, 'k', parts);
      const files = shardFiles(disks);
      expect(files.length).toBe(9); // 3 parts x 3 shards, nothing else in this pool
      const inodes = files.map((f) => statSync(f).ino);
      const aside = join(base, 'aside');
      mkdirSync(aside);
      files.forEach((f, i) => renameSync(f, join(aside, String(i))));
      const done = await vault.completeUpload('bkt', 'k', uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
      expect(done.etag).toBe(multipartEtag(parts));
      expect((await vault.head('bkt', 'k'))?.parts).toEqual([16_384, 12_000, 9_000]); // the manifest copies are there
      await expect(vault.getBuffer('bkt', 'k')).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' }); // the data is not
      files.forEach((f, i) => renameSync(join(aside, String(i)), f));
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(Buffer.concat(parts))).toBe(true);
      // The object's shard files are the parts' files themselves (same inodes): nothing was rewritten.
      expect(shardFiles(disks)).toEqual(files);
      expect(files.map((f) => statSync(f).ino)).toEqual(inodes);
      const loc = (await vault.locate('bkt', 'k'))!;
      expect(loc.parts!.flatMap((p) => p.shards.map((s) => s.shardFile)).sort()).toEqual(files);
    } finally {
      await vault.close();
    }
  });

  it('refuses bad completes with their codes and leaves nothing visible; a refused complete can be retried', async () => {
    const { vault, disks } = await pools.make({ minPartBytes: MIN });
    try {
      const parts = [bytes(12_000, 8), bytes(5_000, 9), bytes(11_000, 10)];
      const { uploadId, etags } = await upload(vault, 'k', parts);
      const p = (n: number, etag = etags[n - 1]) => ({ partNumber: n, etag });
      const cases: Array<[unknown, string]> = [
        [[p(1), p(3), p(2)], 'ERR_SV_INVALID_PART_ORDER'],
        [[p(1), p(1)], 'ERR_SV_INVALID_PART_ORDER'],
        [[p(1), p(4, etags[0])], 'ERR_SV_INVALID_PART'],
        [[p(1), p(2, etags[0])], 'ERR_SV_INVALID_PART'],
        [[p(1), p(2), p(3)], 'ERR_SV_ENTITY_TOO_SMALL'], // part 2 (5000 bytes) is not the last
        [[], 'ERR_SV_OUT_OF_RANGE'],
        [[{ partNumber: 0, etag: etags[0] }], 'ERR_SV_OUT_OF_RANGE'],
        [[{ partNumber: 1 }], 'ERR_SV_INVALID_ARG_TYPE'],
        ['1,2,3', 'ERR_SV_INVALID_ARG_TYPE'],
      ];
      for (const [list, code] of cases) await expect(vault.completeUpload('bkt', 'k', uploadId, list as never), JSON.stringify(list).slice(0, 80)).rejects.toMatchObject({ code });
      await expect(vault.completeUpload('bkt', 'k', 'f'.repeat(40), [p(1)])).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await expect(vault.completeUpload('bkt', 'other', uploadId, [p(1)])).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await expect(vault.putPart('bkt', 'k', 'not-an-id', 1, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await expect(vault.putPart('bkt', 'k', uploadId, 10_001, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(vault.putPart('bkt', 'k', uploadId, 4, Buffer.from('x'), { md5: md5(Buffer.from('y')) })).rejects.toMatchObject({ code: 'ERR_SV_BAD_DIGEST' });
      await vault.put('bkt', 'k', Buffer.from('exists'), { computeMd5: true });
      await expect(vault.completeUpload('bkt', 'k', uploadId, [p(1), p(3)], { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).toString()).toBe('exists');
      expect(shardFiles(disks).length).toBe(9); // the parts' files, nothing of the refused puts and completes
      // Parts 1 and 3 (part 2 left out: it is garbage after the complete).
      const done = await vault.completeUpload('bkt', 'k', uploadId, [p(1), p(3)], { ifMatch: md5(Buffer.from('exists')).toString('hex') });
      expect(done.etag).toBe(multipartEtag([parts[0], parts[2]]));
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(Buffer.concat([parts[0], parts[2]]))).toBe(true);
      await expect(vault.completeUpload('bkt', 'k', uploadId, [p(1), p(3)])).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await expect(vault.putPart('bkt', 'k', uploadId, 2, Buffer.from('late'))).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await vault.gc({ graceMs: 0 });
      expect(shardFiles(disks).length).toBe(6); // part 2's files went; the object's parts stay
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(Buffer.concat([parts[0], parts[2]]))).toBe(true);
    } finally {
      await vault.close();
    }
  });

  it('gc collects replaced parts, aborted and expired uploads, and a deleted object\'s parts; never a committed object\'s', async () => {
    const { vault, disks, base } = await pools.make({ minPartBytes: MIN, uploadTtlMs: 60 * 60 * 1000 });
    let v = vault;
    try {
      // Re-uploading a part number replaces it; the old part's files go with the next gc (default grace).
      const { uploadId } = await v.createUpload('bkt', 'r');
      await v.putPart('bkt', 'r', uploadId, 1, bytes(12_000, 11));
      const second = bytes(12_500, 12);
      const { etag } = await v.putPart('bkt', 'r', uploadId, 1, second);
      expect((await v.listParts('bkt', 'r', uploadId)).parts.map((p) => p.etag)).toEqual([etag]);
      expect(shardFiles(disks).length).toBe(6);
      await v.gc();
      expect(shardFiles(disks).length).toBe(3);
      // Abort: the upload ends at once, its parts' files go with the next gc.
      const aborted = await v.createUpload('bkt', 'a');
      await v.putPart('bkt', 'a', aborted.uploadId, 1, bytes(20_000, 13));
      await v.putPart('bkt', 'a', aborted.uploadId, 2, bytes(20_000, 14));
      expect(shardFiles(disks).length).toBe(9);
      await v.abortUpload('bkt', 'a', aborted.uploadId);
      await expect(v.abortUpload('bkt', 'a', aborted.uploadId)).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await expect(v.listParts('bkt', 'a', aborted.uploadId)).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      await v.gc();
      expect(shardFiles(disks).length).toBe(3);
      // The remaining upload completes; its parts are the object's now and survive every gc, walk and reopen.
      const done = await v.completeUpload('bkt', 'r', uploadId, [{ partNumber: 1, etag }]);
      expect(done.etag).toBe(multipartEtag([second]));
      await v.gc({ graceMs: 0 });
      await v.close();
      v = await Vault.open(join(base, 'meta'), { recover: 'walk', orphanGraceMs: 0 });
      expect(shardFiles(disks).length).toBe(3);
      expect(v.lastRecovery).toMatchObject({ orphansRemoved: 0, supersededRemoved: 0, staleRemoved: 0, repairQueued: 0 });
      expect(Buffer.from(await v.getBuffer('bkt', 'r')).equals(second)).toBe(true);
      // Expiry: with a short TTL an upload is gone for every call, and gc removes its parts.
      await v.close();
      v = await Vault.open(join(base, 'meta'), { uploadTtlMs: 200 });
      const expiring = await v.createUpload('bkt', 'e');
      await v.putPart('bkt', 'e', expiring.uploadId, 1, bytes(15_000, 15));
      expect(shardFiles(disks).length).toBe(6);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(v.putPart('bkt', 'e', expiring.uploadId, 2, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' });
      expect((await v.listUploads('bkt')).uploads).toEqual([]);
      await v.gc();
      expect(shardFiles(disks).length).toBe(3);
      expect((await v.auditLog()).some((r) => r.action === 'multipart.expire')).toBe(true);
      // Deleting the multipart object: its parts' files go once superseded past the grace.
      await v.delete('bkt', 'r');
      await v.gc({ graceMs: 0 });
      expect(shardFiles(disks).length).toBe(0);
      // Deleting a bucket ends its uploads in progress; their parts go with the next gc.
      await v.createBucket('tmp');
      const left = await v.createUpload('tmp', 'x');
      await v.putPart('tmp', 'x', left.uploadId, 1, bytes(20_000, 16));
      expect(shardFiles(disks).length).toBe(3);
      await v.deleteBucket('tmp');
      await v.gc();
      expect(shardFiles(disks).length).toBe(0);
      expect((await v.verifyAudit())).toBe(-1);
    } finally {
      await v.close();
    }
  });

  it('survives reopen and a catalog rebuild from the disks; the rebuilt catalog keeps the parts\' files', async () => {
    const { vault, disks, base } = await pools.make({ minPartBytes: MIN });
    const meta = join(base, 'meta');
    let v = vault;
    try {
      const parts = [bytes(10_000, 21), bytes(10_000, 22), bytes(3, 23)];
      const { uploadId, etags } = await upload(v, 'mp', parts, { headers: { contentLanguage: 'de' } });
      const done = await v.completeUpload('bkt', 'mp', uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
      await v.close();
      v = await Vault.open(meta);
      expect(Buffer.from(await v.getBuffer('bkt', 'mp')).equals(Buffer.concat(parts))).toBe(true);
      await v.close();
      const rebuilt = await Vault.rebuildCatalog(meta);
      expect(rebuilt.objects).toBe(1);
      v = await Vault.open(meta, { recover: 'walk', orphanGraceMs: 0 });
      expect(v.lastRecovery).toMatchObject({ orphansRemoved: 0, supersededRemoved: 0, staleRemoved: 0, repairQueued: 0 });
      expect(await v.head('bkt', 'mp')).toMatchObject({ etag: done.etag, parts: [10_000, 10_000, 3], headers: { contentLanguage: 'de' } });
      expect((await v.list('bkt')).objects).toMatchObject([{ key: 'mp', etag: done.etag }]);
      await v.gc({ graceMs: 0 });
      expect(shardFiles(disks).length).toBe(9);
      expect(Buffer.from(await v.getBuffer('bkt', 'mp')).equals(Buffer.concat(parts))).toBe(true);
      expect((await v.scrub()).bad).toBe(0);
    } finally {
      await v.close();
    }
  });

  it('scrub finds a damaged part shard and a lost one, repair rebuilds them; drain moves parts and copies to another disk', async () => {
    const { vault, disks } = await pools.make({ disks: 4, minPartBytes: MIN });
    try {
      const parts = [bytes(24_576, 31), bytes(16_000, 32), bytes(100, 33)];
      const whole = Buffer.concat(parts);
      const { uploadId, etags } = await upload(vault, 'mp', parts);
      await vault.completeUpload('bkt', 'mp', uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
      const loc = (await vault.locate('bkt', 'mp'))!;
      // Flip a byte in a data block of part 2, shard 0; remove part 3's shard 2.
      const damaged = loc.parts![1].shards[0].shardFile;
      const b = readFileSync(damaged);
      b[b.length - 10] ^= 0xff;
      writeFileSync(damaged, b);
      const lost = loc.parts![2].shards[2].shardFile;
      renameSync(lost, `${lost}.gone`);
      const scrub = await vault.scrub();
      expect(scrub.bad).toBe(2);
      expect((await vault.repairQueue()).map((q) => [q.part, q.shard]).sort()).toEqual([[1, 0], [2, 2]]);
      // Reads go around both (reconstructed and verified).
      expect(Buffer.from(await vault.getBuffer('bkt', 'mp')).equals(whole)).toBe(true);
      const repaired = await vault.repair();
      expect(repaired).toMatchObject({ repaired: 2, failed: 0 });
      expect((await vault.repairQueue())).toEqual([]);
      expect((await vault.scrub()).bad).toBe(0);
      expect(readFileSync(damaged).equals(b)).toBe(false);
      // Drain a disk that holds manifest copies and part shards: repair moves them (re-signed manifest).
      const held = new Map<string, number>();
      for (const id of [...loc.shards.map((s) => s.diskId), ...loc.parts!.flatMap((p) => p.shards.map((s) => s.diskId))]) held.set(id, (held.get(id) ?? 0) + 1);
      const victim = [...held.entries()].sort((x, y) => y[1] - x[1])[0][0];
      const queued = await vault.drainDisk(victim);
      expect(queued).toBe(held.get(victim));
      const moved = await vault.repair();
      expect(moved).toMatchObject({ failed: 0 });
      expect(moved.moved).toBeGreaterThan(0);
      await vault.removeDisk(victim); // nothing of the object is left on it
      const after = (await vault.locate('bkt', 'mp'))!;
      expect([...after.shards.map((s) => s.diskId), ...after.parts!.flatMap((p) => p.shards.map((s) => s.diskId))]).not.toContain(victim);
      expect(Buffer.from(await vault.getBuffer('bkt', 'mp')).equals(whole)).toBe(true);
      expect((await vault.scrub()).bad).toBe(0);
      expect(await vault.gc({ graceMs: 0 })).toMatchObject({ repairQueued: 0 });
      expect(Buffer.from(await vault.getBuffer('bkt', 'mp', { range: { start: 24_000, end: 40_600 } })).equals(whole.subarray(24_000, 40_600))).toBe(true);
    } finally {
      await vault.close();
    }
  });

  it('validates createUpload, listUploads and listParts options', async () => {
    const { vault } = await pools.make({ minPartBytes: MIN });
    try {
      await expect(vault.createUpload('nobucket', 'k')).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
      await expect(vault.createUpload('bkt', 'k', { headers: { expires: 'a\nb' } })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(vault.createUpload('bkt', 'k', { md5: 'x' } as never)).rejects.toMatchObject({ code: 'ERR_SV_UNKNOWN_OPTION' });
      const ids: string[] = [];
      for (const key of ['b', 'a', 'a', 'c/1', 'c/2']) ids.push((await vault.createUpload('bkt', key)).uploadId);
      expect(ids.every((id) => /^[0-9a-f]{40}$/.test(id))).toBe(true);
      expect(new Set(ids).size).toBe(5);
      const all = await vault.listUploads('bkt');
      expect(all.uploads.map((u) => u.key)).toEqual(['a', 'a', 'b', 'c/1', 'c/2']);
      const first = await vault.listUploads('bkt', { maxUploads: 2 });
      expect(first).toMatchObject({ isTruncated: true, nextKeyMarker: 'a' });
      const rest = await vault.listUploads('bkt', { keyMarker: first.nextKeyMarker, uploadIdMarker: first.nextUploadIdMarker });
      expect(rest.uploads.map((u) => u.key)).toEqual(['b', 'c/1', 'c/2']);
      expect((await vault.listUploads('bkt', { keyMarker: 'a' })).uploads.map((u) => u.key)).toEqual(['b', 'c/1', 'c/2']);
      expect((await vault.listUploads('bkt', { prefix: 'c/' })).uploads.map((u) => u.key)).toEqual(['c/1', 'c/2']);
      await expect(vault.listUploads('bkt', { maxUploads: 1001 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(vault.listParts('bkt', 'b', ids[0], { maxParts: 0 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(vault.listParts('bkt', 'b', ids[1])).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_UPLOAD' }); // another key's upload
      const checksum = { algorithm: 'crc32' as const, value: Buffer.alloc(4, 7).toString('base64') };
      await vault.putPart('bkt', 'b', ids[0], 7, Buffer.from('seven'), { checksum });
      expect((await vault.listParts('bkt', 'b', ids[0])).parts).toMatchObject([{ partNumber: 7, size: 5, checksum }]);
    } finally {
      await vault.close();
    }
  });
});
