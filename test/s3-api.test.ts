// The S3 surface through the real @aws-sdk/client-s3 against startServer(): buckets, objects, metadata and
// system headers, ETags, ranges and conditionals, conditional puts, copies, listings (v2 and v1), batch
// deletes, presigned URLs, checksums (the SDK's default CRC32 and the others), and error codes.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CopyObjectCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketLocationCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import { native } from '../lib/native.js';
import { codeOf, harness, raw, signedHeaders, statusOf, type Harness } from './support/s3-helpers.js';

const ready = native() !== null;
let h: Harness;
let c: S3Client;
beforeAll(async () => {
  if (!ready) return;
  h = await harness();
  c = h.client;
  await c.send(new CreateBucketCommand({ Bucket: 'alpha' }));
});
afterAll(async () => h?.close());

const md5hex = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');
const text = async (p: Promise<{ Body?: { transformToString(): Promise<string> } }>) => (await p).Body!.transformToString();

describe.skipIf(!ready)('S3 API through @aws-sdk/client-s3', () => {
  it('buckets: create, list, head, location, exists, invalid name, not empty, delete', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'bravo' }));
    const names = (await c.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name);
    expect(names).toEqual(expect.arrayContaining(['alpha', 'bravo']));
    expect((await c.send(new ListBucketsCommand({}))).Buckets!.every((b) => b.CreationDate instanceof Date && b.CreationDate.getTime() > 0)).toBe(true);
    expect(await statusOf(c.send(new HeadBucketCommand({ Bucket: 'bravo' })))).toBe(200);
    expect(await statusOf(c.send(new HeadBucketCommand({ Bucket: 'nosuch' })))).toBe(404);
    expect((await c.send(new GetBucketLocationCommand({ Bucket: 'bravo' }))).LocationConstraint).toBeUndefined();
    expect(await codeOf(c.send(new CreateBucketCommand({ Bucket: 'bravo' })))).toBe('BucketAlreadyOwnedByYou');
    expect(await codeOf(c.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toBe('InvalidBucketName');
    expect(await codeOf(c.send(new CreateBucketCommand({ Bucket: 'charlie', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })))).toBe('InvalidLocationConstraint');
    await c.send(new PutObjectCommand({ Bucket: 'bravo', Key: 'x', Body: 'x' }));
    expect(await codeOf(c.send(new DeleteBucketCommand({ Bucket: 'bravo' })))).toBe('BucketNotEmpty');
    await c.send(new DeleteObjectCommand({ Bucket: 'bravo', Key: 'x' }));
    await c.send(new DeleteBucketCommand({ Bucket: 'bravo' }));
    expect(await codeOf(c.send(new DeleteBucketCommand({ Bucket: 'bravo' })))).toBe('NoSuchBucket');
  });

  it('objects: put/get/head with metadata, system headers and the MD5 ETag; missing keys and buckets', async () => {
    const body = randomBytes(200_000);
    const put = await c.send(new PutObjectCommand({
      Bucket: 'alpha', Key: 'dir/obj.bin', Body: body, ContentType: 'application/x-test', Metadata: { owner: 'alice', 'two-words': 'a b' },
      CacheControl: 'max-age=60', ContentDisposition: 'attachment; filename="o.bin"', ContentEncoding: 'identity', ContentLanguage: 'en', Expires: new Date('2030-01-01T00:00:00Z'),
    }));
    expect(put.ETag).toBe(`"${md5hex(body)}"`);
    const got = await c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dir/obj.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(got.ETag).toBe(put.ETag);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.Metadata).toEqual({ owner: 'alice', 'two-words': 'a b' });
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ContentDisposition).toBe('attachment; filename="o.bin"');
    expect(got.ContentEncoding).toBe('identity');
    expect(got.ContentLanguage).toBe('en');
    expect(got.ExpiresString ?? got.Expires?.toUTCString()).toContain('2030');
    const head = await c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'dir/obj.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.AcceptRanges).toBe('bytes');
    expect(await codeOf(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'nope' })))).toBe('NoSuchKey');
    expect(await codeOf(c.send(new GetObjectCommand({ Bucket: 'nosuch', Key: 'nope' })))).toBe('NoSuchBucket');
    expect(await statusOf(c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'nope' })))).toBe(404);
    // Delete: 204 even when absent.
    expect(await statusOf(c.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'never-there' })))).toBe(200);
    // Empty object, and a key with characters that need escaping everywhere.
    const odd = 'we ird/ké y+&<>"\'?#%.txt';
    await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: odd, Body: '' }));
    expect(await text(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: odd })))).toBe('');
    expect((await c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: odd }))).ETag).toBe(`"${md5hex('')}"`);
  });

  it('metadata limits: 2 KiB of x-amz-meta-* is MetadataTooLarge; a Content-MD5 mismatch is BadDigest and stores nothing', async () => {
    expect(await codeOf(c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'big-meta', Body: 'x', Metadata: { m: 'v'.repeat(2100) } })))).toBe('MetadataTooLarge');
    expect(await codeOf(c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'bad-md5', Body: 'hello', ContentMD5: createHash('md5').update('other').digest('base64') })))).toBe('BadDigest');
    expect(await statusOf(c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'bad-md5' })))).toBe(404);
    expect(await codeOf(c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'k'.repeat(1025), Body: 'x' })))).toBe('KeyTooLongError');
  });

  it('ranges: closed, open, suffix, clamped, unsatisfiable (416), partNumber of a simple object', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'r', Body: body }));
    const range = async (r: string) => {
      const g = await c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'r', Range: r }));
      return [await g.Body!.transformToString(), g.ContentRange, g.ContentLength, g.$metadata.httpStatusCode];
    };
    expect(await range('bytes=0-0')).toEqual(['0', 'bytes 0-0/20', 1, 206]);
    expect(await range('bytes=5-9')).toEqual(['56789', 'bytes 5-9/20', 5, 206]);
    expect(await range('bytes=15-')).toEqual(['fghij', 'bytes 15-19/20', 5, 206]);
    expect(await range('bytes=-3')).toEqual(['hij', 'bytes 17-19/20', 3, 206]);
    expect(await range('bytes=-50')).toEqual([body.toString(), 'bytes 0-19/20', 20, 206]);
    expect(await range('bytes=10-99')).toEqual(['abcdefghij', 'bytes 10-19/20', 10, 206]);
    expect(await codeOf(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'r', Range: 'bytes=20-' })))).toBe('InvalidRange');
    expect(await codeOf(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'r', Range: 'bytes=-0' })))).toBe('InvalidRange');
    expect(await statusOf(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'r', Range: 'bytes=20-30' })))).toBe(416);
    // Not a single byte range: the whole object (S3 does not do multi-range).
    expect(await range('bytes=0-1,3-4')).toEqual([body.toString(), undefined, 20, 200]);
    const p1 = await c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'r', PartNumber: 1 }));
    expect(await p1.Body!.transformToString()).toBe(body.toString());
    expect(await codeOf(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'r', PartNumber: 2 })))).toBe('InvalidPartNumber');
  });

  it('conditionals on GET/HEAD with S3 precedence (412, 304)', async () => {
    const put = await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const get = (o: Record<string, unknown>) => statusOf(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', ...o })));
    const headS = (o: Record<string, unknown>) => statusOf(c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'cond', ...o })));
    expect(await get({ IfMatch: etag })).toBe(200);
    expect(await get({ IfMatch: '"0000"' })).toBe(412);
    expect(await get({ IfMatch: '*' })).toBe(200);
    expect(await get({ IfNoneMatch: etag })).toBe(304);
    expect(await headS({ IfNoneMatch: etag })).toBe(304);
    expect(await get({ IfNoneMatch: '"0000"' })).toBe(200);
    expect(await get({ IfModifiedSince: past })).toBe(200);
    expect(await get({ IfModifiedSince: future })).toBe(200); // a date in the future is ignored (RFC 9110)
    expect(await get({ IfModifiedSince: new Date(Date.now() + 1000) })).toBe(200);
    expect(await get({ IfUnmodifiedSince: past })).toBe(412);
    expect(await get({ IfUnmodifiedSince: future })).toBe(200);
    // If-Match true wins over If-Unmodified-Since false; If-None-Match (no match) makes If-Modified-Since irrelevant.
    expect(await get({ IfMatch: etag, IfUnmodifiedSince: past })).toBe(200);
    expect(await get({ IfNoneMatch: '"0000"', IfModifiedSince: future })).toBe(200);
    expect(await get({ IfNoneMatch: etag, IfModifiedSince: past })).toBe(304);
    expect(await get({ IfMatch: '"0000"', IfNoneMatch: etag })).toBe(412);
  });

  it('conditional puts: If-None-Match: * creates once; If-Match replaces only the current ETag (412 otherwise)', async () => {
    const first = await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cas', Body: 'v1', IfNoneMatch: '*' }));
    expect(await codeOf(c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cas', Body: 'v2', IfNoneMatch: '*' })))).toBe('PreconditionFailed');
    expect(await codeOf(c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cas', Body: 'v2', IfMatch: '"0123456789abcdef0123456789abcdef"' })))).toBe('PreconditionFailed');
    await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cas', Body: 'v3', IfMatch: first.ETag! }));
    expect(await text(c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cas' })))).toBe('v3');
    // Two racing creates: exactly one wins.
    const racers = await Promise.all([1, 2, 3].map((i) => codeOf(c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'race', Body: `r${i}`, IfNoneMatch: '*' })))));
    expect(racers.filter((r) => r === 'ok')).toHaveLength(1);
    expect(racers.filter((r) => r === 'PreconditionFailed' || r === 'ConditionalRequestConflict')).toHaveLength(2);
  });

  it('response-* overrides, and CR/LF in them refused', async () => {
    await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'ov', Body: 'o', ContentType: 'text/plain' }));
    const g = await c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'ov', ResponseContentType: 'image/png', ResponseContentDisposition: 'inline', ResponseCacheControl: 'no-cache' }));
    expect([g.ContentType, g.ContentDisposition, g.CacheControl]).toEqual(['image/png', 'inline', 'no-cache']);
    const path = `/alpha/ov?response-content-type=${encodeURIComponent('text/html\r\nSet-Cookie: x=1')}`;
    const r = await raw(h.server, 'GET', path, signedHeaders(h.server, 'GET', path));
    expect(r.status).toBe(400);
    expect(r.body).toContain('<Code>InvalidArgument</Code>');
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('copy: COPY and REPLACE directives, copy-source conditions, copy onto itself', async () => {
    await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'src', Body: 'source bytes', ContentType: 'text/x-src', Metadata: { a: '1' } }));
    const cp = await c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst', CopySource: 'alpha/src' }));
    expect(cp.CopyObjectResult!.ETag).toBe(`"${md5hex('source bytes')}"`);
    const d = await c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst' }));
    expect([await d.Body!.transformToString(), d.ContentType, d.Metadata]).toEqual(['source bytes', 'text/x-src', { a: '1' }]);
    await c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst2', CopySource: '/alpha/src', MetadataDirective: 'REPLACE', ContentType: 'text/y', Metadata: { b: '2' } }));
    const d2 = await c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'dst2' }));
    expect([d2.ContentType, d2.Metadata]).toEqual(['text/y', { b: '2' }]);
    expect(await codeOf(c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst3', CopySource: 'alpha/src', CopySourceIfMatch: '"nope"' })))).toBe('PreconditionFailed');
    expect(await codeOf(c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst3', CopySource: 'alpha/src', CopySourceIfNoneMatch: cp.CopyObjectResult!.ETag! })))).toBe('PreconditionFailed');
    expect(await codeOf(c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst3', CopySource: 'alpha/src', CopySourceIfUnmodifiedSince: new Date(Date.now() - 3600_000) })))).toBe('PreconditionFailed');
    expect(await codeOf(c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'src', CopySource: 'alpha/src' })))).toBe('InvalidRequest');
    await c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'src', CopySource: 'alpha/src', MetadataDirective: 'REPLACE', ContentType: 'text/z' }));
    expect((await c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'src' }))).ContentType).toBe('text/z');
    expect(await codeOf(c.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst4', CopySource: 'alpha/missing' })))).toBe('NoSuchKey');
  });

  it('ListObjectsV2: prefix, delimiter, pages with continuation tokens, start-after, max-keys, encoding-type=url, fetch-owner', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd', 'e f', 'g\u0001h'];
    for (const k of keys) await c.send(new PutObjectCommand({ Bucket: 'listing', Key: k, Body: k }));
    const all: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const p = await c.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 3, ContinuationToken: token, EncodingType: 'url' }));
      all.push(...(p.Contents ?? []).map((o) => decodeURIComponent(o.Key!)));
      expect(p.KeyCount).toBe((p.Contents ?? []).length);
      token = p.NextContinuationToken;
      pages++;
    } while (token !== undefined);
    expect(all).toEqual(keys);
    expect(pages).toBe(3);
    const d = await c.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
    expect(d.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    // 'g\u0001h' cannot be carried by XML 1.0 unencoded (S3 advises encoding-type=url, used above): only its presence is checked.
    expect(d.Contents!.map((o) => o.Key).slice(0, 3)).toEqual(['c', 'd', 'e f']);
    expect(d.Contents).toHaveLength(4);
    const sub = await c.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', Delimiter: '/', FetchOwner: true }));
    expect(sub.Contents!.map((o) => o.Key)).toEqual(['a/1', 'a/2']);
    expect(sub.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/b/']);
    expect(sub.Contents![0]!.Owner?.ID).toBeDefined();
    expect(sub.Contents![0]!.ETag).toBe(`"${md5hex('a/1')}"`);
    const after = await c.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'b/1' }));
    expect(after.Contents!.map((o) => o.Key)[0]).toBe('c');
    const zero = await c.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 0 }));
    expect([zero.KeyCount, zero.IsTruncated]).toEqual([0, false]);
    expect(await codeOf(c.send(new ListObjectsV2Command({ Bucket: 'listing', ContinuationToken: 'forged' })))).toBe('InvalidArgument');
    expect(await codeOf(c.send(new ListObjectsV2Command({ Bucket: 'nosuch' })))).toBe('NoSuchBucket');
  });

  it('ListObjects v1: marker, NextMarker with a delimiter, IsTruncated', async () => {
    const p1 = await c.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2 }));
    expect(p1.IsTruncated).toBe(true);
    expect(p1.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(p1.NextMarker).toBe('b/');
    const p2 = await c.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2, Marker: p1.NextMarker }));
    expect(p2.Contents!.map((o) => o.Key)).toEqual(['c', 'd']);
    const flat = await c.send(new ListObjectsCommand({ Bucket: 'listing', Marker: 'a/b/3', MaxKeys: 2 }));
    expect(flat.Contents!.map((o) => o.Key)).toEqual(['b/1', 'c']);
    expect(flat.NextMarker).toBeUndefined();
  });

  it('DeleteObjects: results per key, Quiet, more than 1000 keys refused, Content-MD5 or a checksum required', async () => {
    for (const k of ['x1', 'x2']) await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: k, Body: k }));
    const r = await c.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Objects: [{ Key: 'x1' }, { Key: 'x2' }, { Key: 'x-absent' }] } }));
    expect(r.Deleted!.map((d) => d.Key).sort()).toEqual(['x-absent', 'x1', 'x2']);
    expect(await statusOf(c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'x1' })))).toBe(404);
    const q = await c.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Quiet: true, Objects: [{ Key: 'x3' }] } }));
    expect(q.Deleted ?? []).toEqual([]);
    expect(await codeOf(c.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Objects: Array.from({ length: 1001 }, (_, i) => ({ Key: `k${i}` })) } })))).toBe('MalformedXML');
    const xml = '<Delete><Object><Key>x1</Key></Object></Delete>';
    const body = Buffer.from(xml);
    const noDigest = await raw(h.server, 'POST', '/alpha?delete', signedHeaders(h.server, 'POST', '/alpha?delete', { 'content-length': String(body.length) }, body), body);
    expect(noDigest.status).toBe(400);
    expect(noDigest.body).toContain('<Code>InvalidRequest</Code>');
    const wrongMd5 = createHash('md5').update('other').digest('base64');
    const bad = await raw(h.server, 'POST', '/alpha?delete', signedHeaders(h.server, 'POST', '/alpha?delete', { 'content-length': String(body.length), 'content-md5': wrongMd5 }, body), body);
    expect(bad.body).toContain('<Code>BadDigest</Code>');
    const dtd = Buffer.from('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><Delete><Object><Key>&e;</Key></Object></Delete>');
    const ent = await raw(h.server, 'POST', '/alpha?delete', signedHeaders(h.server, 'POST', '/alpha?delete', { 'content-length': String(dtd.length), 'content-md5': createHash('md5').update(dtd).digest('base64') }, dtd), dtd);
    expect(ent.body).toContain('<Code>MalformedXML</Code>');
  });

  it('presigned GET and PUT URLs work; an altered one is refused', async () => {
    const put = await getSignedUrl(c, new PutObjectCommand({ Bucket: 'alpha', Key: 'pre' }), { expiresIn: 60 });
    expect((await fetch(put, { method: 'PUT', body: 'presigned body' })).status).toBe(200);
    const get = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'alpha', Key: 'pre' }), { expiresIn: 60 });
    const r = await fetch(get);
    expect([r.status, await r.text()]).toEqual([200, 'presigned body']);
    const altered = await fetch(get.replace('/alpha/pre', '/alpha/prf'));
    expect(altered.status).toBe(403);
    expect(await altered.text()).toContain('SignatureDoesNotMatch');
  });

  it('checksums: the SDK default CRC32 and CRC32C, CRC64NVME, SHA1, SHA256 are verified, stored and returned with ChecksumMode', async () => {
    const body = randomBytes(70_000);
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const put = await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: `sum-${alg}`, Body: body, ChecksumAlgorithm: alg }));
      const field = `Checksum${alg}` as const;
      expect(put[field], alg).toBeDefined();
      const head = await c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: `sum-${alg}`, ChecksumMode: 'ENABLED' }));
      expect(head[field], alg).toBe(put[field]);
      const plain = await c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: `sum-${alg}` }));
      expect(plain[field]).toBeUndefined();
    }
    // A default put (the SDK adds CRC32 by itself).
    const dflt = await c.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'sum-default', Body: body }));
    expect(dflt.ChecksumCRC32).toBeDefined();
    const g = await c.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'sum-default', ChecksumMode: 'ENABLED' }));
    expect(g.ChecksumCRC32).toBe(dflt.ChecksumCRC32);
    expect(Buffer.from(await g.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('a wrong checksum header or a body that does not match x-amz-content-sha256 stores nothing', async () => {
    const body = Buffer.from('the real body');
    const wrongCrc = Buffer.from([1, 2, 3, 4]).toString('base64');
    const p1 = '/alpha/corrupt-crc';
    const r1 = await raw(h.server, 'PUT', p1, signedHeaders(h.server, 'PUT', p1, { 'content-length': String(body.length), 'x-amz-checksum-crc32': wrongCrc }, body), body);
    expect(r1.status).toBe(400);
    expect(r1.body).toContain('<Code>BadDigest</Code>');
    expect(await statusOf(c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'corrupt-crc' })))).toBe(404);
    // Signed over one body, another sent (a byte flipped on the wire).
    const p2 = '/alpha/corrupt-sha';
    const headers = signedHeaders(h.server, 'PUT', p2, { 'content-length': String(body.length) }, body);
    const flipped = Buffer.from(body);
    flipped[3] ^= 1;
    const r2 = await raw(h.server, 'PUT', p2, headers, flipped);
    expect(r2.status).toBe(400);
    expect(r2.body).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    expect(await statusOf(c.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'corrupt-sha' })))).toBe(404);
    const list = await c.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'corrupt' }));
    expect(list.KeyCount).toBe(0);
  });

  it('unknown operations are NotImplemented; errors are S3 XML with a request id', async () => {
    const path = '/alpha/k?tagging';
    const r = await raw(h.server, 'GET', path, signedHeaders(h.server, 'GET', path));
    expect(r.status).toBe(501);
    expect(r.body).toContain('<Code>NotImplemented</Code>');
    expect(r.body).toMatch(/<Message>[^<]+<\/Message>/);
    expect(r.body).toContain(`<RequestId>${r.headers['x-amz-request-id']}</RequestId>`);
    const m = '/alpha/k';
    const r2 = await raw(h.server, 'PATCH', m, signedHeaders(h.server, 'PATCH', m));
    expect(r2.status).toBe(405);
  });
});
