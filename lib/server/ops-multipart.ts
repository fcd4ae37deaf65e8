/**
 * Multipart uploads over the engine's multipart API (Vault.createUpload / putPart / listParts / listUploads /
 * completeUpload / abortUpload). Complete is the engine's metadata operation: the parts' bytes are not read
 * again. Parts are verified on the wire like any put (Content-MD5, x-amz-content-sha256, aws-chunked,
 * flexible checksums) before the engine acknowledges them.
 */
import { PARTS_MAX } from '../vault.js';
import { readSmallBody, uploadStream } from './body.js';
import { headerOf } from './checksums.js';
import { bucketOf, header, isoDate, keyOf, OWNER, sendEmpty, sendXml, type RequestContext } from './context.js';
import { contentMd5, contentType, quoted, systemHeaders, userMetadata } from './object-meta.js';
import { copySourceHead } from './ops-object.js';
import { S3Error } from './s3-error.js';
import { childText, children, parseXml, type XmlNode } from './xml.js';


function uploadIdOf(ctx: RequestContext): string {
  const id = ctx.target.query.get('uploadId');
  if (id === undefined || id === '' || id.length > 256) throw new S3Error('NoSuchUpload', 404, 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.', { extra: { UploadId: id ?? '' } });
  return id;
}

function partNumberOf(ctx: RequestContext): number {
  const pn = ctx.target.query.get('partNumber') ?? '';
  if (!/^\d{1,5}$/.test(pn) || Number(pn) < 1 || Number(pn) > PARTS_MAX) {
    throw new S3Error('InvalidArgument', 400, `Part number must be an integer between 1 and ${PARTS_MAX}, inclusive`, { extra: { ArgumentName: 'partNumber', ArgumentValue: pn } });
  }
  return Number(pn);
}

function intParam(ctx: RequestContext, name: string, max: number, dflt: number): number {
  const v = ctx.target.query.get(name);
  if (v === undefined) return dflt;
  if (!/^\d{1,10}$/.test(v)) throw new S3Error('InvalidArgument', 400, `${name} must be a non-negative integer.`, { extra: { ArgumentName: name, ArgumentValue: v } });
  return Math.min(max, Number(v));
}

export async function createMultipartUpload(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const ct = contentType(ctx);
  const metadata = userMetadata(ctx);
  const headers = systemHeaders(ctx);
  const { uploadId } = await ctx.state.vault.createUpload(bucket, key, {
    principal: ctx.who.principal,
    ...(ct !== undefined ? { contentType: ct } : {}),
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  });
  sendXml(ctx, 200, 'InitiateMultipartUploadResult', [['Bucket', bucket], ['Key', key], ['UploadId', uploadId]]);
}

export async function uploadPart(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const uploadId = uploadIdOf(ctx);
  const partNumber = partNumberOf(ctx);
  const md5 = contentMd5(ctx); // before the body stages exist: a refusal here leaves nothing running
  const { stream } = uploadStream(ctx, { sizeMax: ctx.state.limits.objectBytesMax, checksums: true });
  const declared = stream.declared;
  let r;
  try {
    r = await ctx.state.vault.putPart(bucket, key, uploadId, partNumber, stream.stream, {
      principal: ctx.who.principal,
      signal: ctx.signal,
      ...(md5 !== undefined ? { md5 } : {}),
      ...(declared?.value !== undefined ? { checksum: { algorithm: declared.algorithm, value: declared.value } } : {}),
    });
  } catch (err) {
    stream.dispose();
    throw stream.failure() ?? err;
  }
  const out: Record<string, string> = { ETag: quoted(r.etag) };
  const sum = stream.checksum();
  if (sum !== undefined) out[headerOf(sum.algorithm)] = sum.value;
  sendEmpty(ctx, 200, out);
}

export async function uploadPartCopy(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const uploadId = uploadIdOf(ctx);
  const partNumber = partNumberOf(ctx);
  const src = await copySourceHead(ctx);
  const rangeHeader = header(ctx, 'x-amz-copy-source-range');
  let range: { start: number; end: number } | undefined;
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(rangeHeader.trim());
    if (m === null || Number(m[2]) < Number(m[1]) || Number(m[2]) >= src.head.size) {
      throw new S3Error('InvalidArgument', 400, `The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy (object size ${src.head.size}).`, { extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: rangeHeader } });
    }
    range = { start: Number(m[1]), end: Number(m[2]) + 1 };
  }
  const body = src.source.stream({ ...(range !== undefined ? { range } : {}), signal: ctx.signal });
  const r = await ctx.state.vault.putPart(bucket, key, uploadId, partNumber, body, { principal: ctx.who.principal, signal: ctx.signal });
  sendXml(ctx, 200, 'CopyPartResult', [['LastModified', isoDate(Date.now())], ['ETag', quoted(r.etag)]]);
}

export async function completeMultipartUpload(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const uploadId = uploadIdOf(ctx);
  const limits = ctx.state.limits;
  // 10000 parts of ~150 bytes of XML each fit in 2 MiB; the body is bounded before it is read.
  const bodyMax = Math.max(limits.xmlBodyBytesMax, 2 * 1024 * 1024);
  const body = await readSmallBody(ctx, bodyMax);
  const doc = parseXml(body, { depthMax: limits.xmlDepthMax, bytesMax: bodyMax });
  const root = doc.CompleteMultipartUpload;
  if (root === undefined || root.length !== 1) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
  const partEls = children(root[0], 'Part');
  if (partEls.length === 0) throw new S3Error('MalformedXML', 400, 'You must specify at least one part.');
  if (partEls.length > PARTS_MAX) throw new S3Error('MalformedXML', 400, `A multipart upload has at most ${PARTS_MAX} parts.`);
  const parts = partEls.map((p) => {
    const n = childText(p, 'PartNumber')?.trim() ?? '';
    const etag = childText(p, 'ETag')?.trim() ?? '';
    if (!/^\d{1,5}$/.test(n) || Number(n) < 1 || Number(n) > PARTS_MAX || etag === '') throw new S3Error('MalformedXML', 400, 'Every Part needs a PartNumber (1..10000) and an ETag.');
    return { partNumber: Number(n), etag: etag.replace(/^"(.*)"$/, '$1').replace(/^&quot;(.*)&quot;$/, '$1') };
  });
  const inm = header(ctx, 'if-none-match');
  const im = header(ctx, 'if-match');
  if (inm !== undefined && inm.trim() !== '*') throw new S3Error('NotImplemented', 501, 'If-None-Match on a write accepts only "*".');
  const r = await ctx.state.vault.completeUpload(bucket, key, uploadId, parts, {
    principal: ctx.who.principal,
    ...(inm !== undefined ? { ifNoneMatch: '*' as const } : {}),
    ...(im !== undefined ? { ifMatch: im.trim().replace(/^"(.*)"$/, '$1') } : {}),
  });
  sendXml(ctx, 200, 'CompleteMultipartUploadResult', [
    ['Location', `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`],
    ['Bucket', bucket],
    ['Key', key],
    ['ETag', quoted(r.etag)],
  ]);
}

export async function abortMultipartUpload(ctx: RequestContext): Promise<void> {
  await ctx.state.vault.abortUpload(bucketOf(ctx), keyOf(ctx), uploadIdOf(ctx), { principal: ctx.who.principal });
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const uploadId = uploadIdOf(ctx);
  const maxParts = intParam(ctx, 'max-parts', 1000, 1000);
  const marker = intParam(ctx, 'part-number-marker', PARTS_MAX, 0);
  const r = await ctx.state.vault.listParts(bucket, key, uploadId, { maxParts: Math.max(1, maxParts), ...(marker > 0 ? { partNumberMarker: marker } : {}) });
  const owner: XmlNode[] = [['ID', OWNER.id], ['DisplayName', OWNER.displayName]];
  sendXml(ctx, 200, 'ListPartsResult', [
    ['Bucket', bucket],
    ['Key', key],
    ['UploadId', uploadId],
    ['Initiator', owner],
    ['Owner', owner],
    ['StorageClass', 'STANDARD'],
    ['PartNumberMarker', marker],
    r.nextPartNumberMarker !== undefined ? ['NextPartNumberMarker', r.nextPartNumberMarker] : undefined,
    ['MaxParts', maxParts],
    ['IsTruncated', r.isTruncated],
    ...r.parts.map((p): XmlNode => ['Part', [['PartNumber', p.partNumber], ['LastModified', isoDate(p.lastModified)], ['ETag', quoted(p.etag)], ['Size', p.size]]]),
  ]);
}

export async function listMultipartUploads(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const q = ctx.target.query;
  if (q.has('delimiter') && q.get('delimiter') !== '') throw new S3Error('NotImplemented', 501, 'ListMultipartUploads with a delimiter is not implemented by ShardVault.');
  const maxUploads = intParam(ctx, 'max-uploads', 1000, 1000);
  const prefix = q.get('prefix') ?? '';
  const keyMarker = q.get('key-marker');
  const uploadIdMarker = q.get('upload-id-marker');
  const r = await ctx.state.vault.listUploads(bucket, {
    ...(prefix !== '' ? { prefix } : {}),
    ...(keyMarker !== undefined && keyMarker !== '' ? { keyMarker } : {}),
    ...(uploadIdMarker !== undefined && uploadIdMarker !== '' ? { uploadIdMarker } : {}),
    maxUploads: Math.max(1, maxUploads),
  });
  const allowed = ctx.who.admin ? () => true : ctx.state.auth.listFilter(ctx.who, bucket);
  const owner: XmlNode[] = [['ID', OWNER.id], ['DisplayName', OWNER.displayName]];
  sendXml(ctx, 200, 'ListMultipartUploadsResult', [
    ['Bucket', bucket],
    ['KeyMarker', keyMarker ?? ''],
    ['UploadIdMarker', uploadIdMarker ?? ''],
    r.nextKeyMarker !== undefined ? ['NextKeyMarker', r.nextKeyMarker] : undefined,
    r.nextUploadIdMarker !== undefined ? ['NextUploadIdMarker', r.nextUploadIdMarker] : undefined,
    ['Prefix', prefix],
    ['MaxUploads', maxUploads],
    ['IsTruncated', r.isTruncated],
    ...r.uploads.filter((u) => allowed(u.key)).map((u): XmlNode => ['Upload', [['Key', u.key], ['UploadId', u.uploadId], ['Initiator', owner], ['Owner', owner], ['StorageClass', 'STANDARD'], ['Initiated', isoDate(u.initiated)]]]),
  ]);
}

export const multipartHandlers: Record<string, (ctx: RequestContext) => Promise<void>> = {
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  ListMultipartUploads: listMultipartUploads,
};
