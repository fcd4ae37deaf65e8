// Multipart uploads through the daemon with @aws-sdk/lib-storage (Upload) and the raw commands: create,
// parts (re-uploading a part replaces it), UploadPartCopy with a range, ListParts, ListMultipartUploads,
// Complete (the md5-of-md5s-N ETag; get and ranges across part boundaries exact; partNumber reads), Abort,
// and the error codes (NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall).
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { native } from '../lib/native.js';
import { codeOf, harness, type Harness } from './support/s3-helpers.js';

const ready = native() !== null;
const MiB = 1 << 20;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();

describe.skipIf(!ready)('S3 multipart uploads', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await h.client.send(new CreateBucketCommand({ Bucket: 'mpu' }));
  });
  afterAll(async () => h?.close());

  it('lib-storage Upload: 3 parts, the multipart ETag, exact reads across part boundaries, partNumber', async () => {
    const data = randomBytes(11 * MiB + 12345);
    await new Upload({ client: h.client, params: { Bucket: 'mpu', Key: 'big', Body: data, ContentType: 'application/x-big' }, partSize: 5 * MiB, queueSize: 2 }).done();
    const head = await h.client.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'big' }));
    const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)];
    const etag = `${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-3`;
    expect(head.ETag).toBe(`"${etag}"`);
    expect(head.ContentLength).toBe(data.length);
    expect(head.ContentType).toBe('application/x-big');
    const whole = await h.client.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big' }));
    expect(Buffer.from(await whole.Body!.transformToByteArray()).equals(data)).toBe(true);
    const across = await h.client.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big', Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }));
    expect(Buffer.from(await across.Body!.transformToByteArray()).equals(data.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);
    const p2 = await h.client.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big', PartNumber: 2 }));
    expect(p2.PartsCount).toBe(3);
    expect(p2.ContentRange).toBe(`bytes ${5 * MiB}-${10 * MiB - 1}/${data.length}`);
    expect(Buffer.from(await p2.Body!.transformToByteArray()).equals(parts[1]!)).toBe(true);
  });

  it('raw commands: ListParts, ListMultipartUploads, re-upload of a part, UploadPartCopy, errors, Abort', async () => {
    const c = h.client;
    await c.send(new PutObjectCommand({ Bucket: 'mpu', Key: 'copy-src', Body: Buffer.alloc(6 * MiB, 3) }));
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual', Metadata: { m: '1' } }));
    expect(UploadId).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const p1a = await c.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 1, Body: Buffer.alloc(5 * MiB, 1) }));
    const p1 = await c.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 1, Body: Buffer.alloc(5 * MiB, 2) }));
    expect(p1.ETag).not.toBe(p1a.ETag);
    const p2 = await c.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 2, CopySource: 'mpu/copy-src', CopySourceRange: 'bytes=0-1023' }));
    const listed = await c.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'manual', UploadId }));
    expect(listed.Parts!.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB], [2, 1024]]);
    const uploads = await c.send(new ListMultipartUploadsCommand({ Bucket: 'mpu' }));
    expect(uploads.Uploads!.map((u) => u.UploadId)).toContain(UploadId);
    expect(await codeOf(c.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual', UploadId, MultipartUpload: { Parts: [{ PartNumber: 2, ETag: p2.CopyPartResult!.ETag }, { PartNumber: 1, ETag: p1.ETag }] } })))).toBe('InvalidPartOrder');
    expect(await codeOf(c.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1a.ETag }] } })))).toBe('InvalidPart');
    expect(await codeOf(c.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual', UploadId: 'nope', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } })))).toBe('NoSuchUpload');
    await c.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult!.ETag }] } }));
    const got = await c.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'manual' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(5 * MiB + 1024);
    expect(bytes.subarray(0, 5 * MiB).every((b) => b === 2)).toBe(true);
    expect(bytes.subarray(5 * MiB).every((b) => b === 3)).toBe(true);
    expect(got.Metadata).toEqual({ m: '1' });
    // Too small a part that is not the last.
    const small = await c.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'small' }));
    const s1 = await c.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small', UploadId: small.UploadId, PartNumber: 1, Body: 'tiny' }));
    const s2 = await c.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small', UploadId: small.UploadId, PartNumber: 2, Body: 'tiny' }));
    expect(await codeOf(c.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'small', UploadId: small.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] } })))).toBe('EntityTooSmall');
    await c.send(new AbortMultipartUploadCommand({ Bucket: 'mpu', Key: 'small', UploadId: small.UploadId }));
    expect(await codeOf(c.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'small', UploadId: small.UploadId })))).toBe('NoSuchUpload');
    expect(await codeOf(c.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small', UploadId: small.UploadId, PartNumber: 10001, Body: 'x' })))).not.toBe('ok');
  });
});
