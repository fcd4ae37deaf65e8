/** Object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject. */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';

import { uploadStream } from './body.js';
import { evaluate, parseRange, type Conditions } from './conditions.js';
import { bucketOf, header, isoDate, keyOf, sendEmpty, sendXml, type RequestContext } from './context.js';
import { ChecksumVerifier, headerOf } from './checksums.js';
import {
  applyOverrides, checkHeaderValue, contentMd5, contentType, etagOf, MIN_SEQUENCE_HEADER, objectHeaders, quoted, SEQUENCE_HEADER, systemHeaders, userMetadata,
  type HeadX, type PutOptionsX, type SystemHeaders,
} from './object-meta.js';
import { S3Error } from './s3-error.js';
import type { ObjectReader } from '../vault.js';

/** Runs vault.put over a verifying upload stream; the chain's own error (BadDigest, IncompleteBody...) wins
 *  over the put's (which only says its source failed). */
/** Bodies up to this size get their MD5 computed here too (a second, cheap pass) so the ETag is known without
 *  reading the new manifest back (vault.head costs a disk read and a signature check: most of a small put). */
const LOCAL_MD5_BYTES_MAX = 1024 * 1024;

export async function putFromRequest(ctx: RequestContext, bucket: string, key: string, extra: Partial<PutOptionsX>): Promise<{ etag: string; sequence: string; checksum?: { algorithm: string; value: string } }> {
  const md5 = contentMd5(ctx); // before the body stages exist: a refusal here leaves nothing running
  const { stream, size } = uploadStream(ctx, { sizeMax: ctx.state.limits.objectBytesMax, checksums: true });
  const opts: PutOptionsX = { principal: ctx.who.principal, signal: ctx.signal, computeMd5: true, ...(md5 !== undefined ? { md5 } : {}), ...extra };
  // A header checksum is stored (the verifier fails the body before its end if it does not match). A trailer
  // checksum is verified the same way but not stored: its value arrives after the last byte, and the engine
  // takes PutOptions.checksum when the put starts.
  const declared = stream.declared;
  if (declared?.value !== undefined) opts.checksum = { algorithm: declared.algorithm, value: declared.value };
  let body: Readable = stream.stream;
  let tap: ReturnType<typeof createHash> | undefined;
  if (md5 === undefined && size <= LOCAL_MD5_BYTES_MAX) {
    const hash = createHash('md5');
    tap = hash;
    const tapStream = stream.stream.pipe(new Transform({ transform(chunk: Buffer, _e, cb) { hash.update(chunk); cb(null, chunk); } }));
    // Its errors are the chain's, reported through stream.failure(); without a listener, an error arriving after
    // vault.put gave up on the body (a put refused on its options) would be an unhandled 'error' event.
    tapStream.on('error', () => undefined);
    stream.stream.once('error', (err) => tapStream.destroy(err));
    body = tapStream;
  }
  let receipt;
  try {
    receipt = await ctx.state.vault.put(bucket, key, body, opts);
  } catch (err) {
    stream.dispose();
    throw stream.failure() ?? err;
  }
  let etag: string;
  if (md5 !== undefined) etag = Buffer.from(md5, 'base64').toString('hex'); // the engine checked the body against it
  else if (tap !== undefined) etag = tap.digest('hex');
  else {
    const head = (await ctx.state.vault.head(bucket, key)) as HeadX | undefined;
    etag = head !== undefined && head.versionId === receipt.versionId ? etagOf(head) : '';
  }
  const sum = stream.checksum();
  return { etag, sequence: receipt.sequence, ...(sum !== undefined ? { checksum: sum } : {}) };
}

function conditionsOf(ctx: RequestContext, prefix = ''): Conditions {
  const c: Conditions = {};
  const im = header(ctx, `${prefix}if-match`);
  const inm = header(ctx, `${prefix}if-none-match`);
  const ims = header(ctx, `${prefix}if-modified-since`);
  const ius = header(ctx, `${prefix}if-unmodified-since`);
  if (im !== undefined) c.ifMatch = im;
  if (inm !== undefined) c.ifNoneMatch = inm;
  if (ims !== undefined) c.ifModifiedSince = ims;
  if (ius !== undefined) c.ifUnmodifiedSince = ius;
  return c;
}

/** PutObject's If-None-Match: * / If-Match: <etag>, decided by the engine at commit (a compare-and-set). */
function putConditions(ctx: RequestContext): Pick<PutOptionsX, 'ifMatch' | 'ifNoneMatch'> {
  const out: Pick<PutOptionsX, 'ifMatch' | 'ifNoneMatch'> = {};
  const inm = header(ctx, 'if-none-match');
  const im = header(ctx, 'if-match');
  if (inm !== undefined) {
    if (inm.trim() !== '*') throw new S3Error('NotImplemented', 501, 'If-None-Match on a write accepts only "*".', { extra: { Header: 'If-None-Match' } });
    out.ifNoneMatch = '*';
  }
  if (im !== undefined) out.ifMatch = im.trim().replace(/^"(.*)"$/, '$1');
  return out;
}

function putOptionsFromHeaders(ctx: RequestContext): Partial<PutOptionsX> {
  const ct = contentType(ctx);
  const metadata = userMetadata(ctx);
  const headers = systemHeaders(ctx);
  return {
    ...(ct !== undefined ? { contentType: ct } : {}),
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

export async function putObject(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const r = await putFromRequest(ctx, bucket, key, { ...putOptionsFromHeaders(ctx), ...putConditions(ctx) });
  // The receipt's sequence: a client that later reads with x-shardvault-min-sequence gets this version or newer.
  const headers: Record<string, string> = { ETag: quoted(r.etag), [SEQUENCE_HEADER]: r.sequence };
  if (r.checksum !== undefined) headers[headerOf(r.checksum.algorithm as never)] = r.checksum.value;
  sendEmpty(ctx, 200, headers);
}

/** The byte range a GET/HEAD asks for: Range, or partNumber (a multipart object's part; part 1 of a simple one). */
function requestedRange(ctx: RequestContext, h: HeadX): { start: number; end: number; partsCount?: number } | undefined {
  const pn = ctx.target.query.get('partNumber');
  if (pn !== undefined) {
    if (header(ctx, 'range') !== undefined) throw new S3Error('InvalidRequest', 400, 'Cannot specify both Range header and partNumber query parameter.');
    if (!/^\d{1,5}$/.test(pn) || Number(pn) < 1 || Number(pn) > 10000) throw new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive.', { extra: { ArgumentName: 'partNumber', ArgumentValue: pn } });
    const n = Number(pn);
    const parts = h.parts !== undefined && h.parts.length > 0 ? h.parts : [h.size];
    if (n > parts.length) throw new S3Error('InvalidPartNumber', 416, 'The requested partnumber is not satisfiable.', { extra: { PartNumberRequested: pn, ActualPartCount: String(parts.length) } });
    if (h.parts === undefined || h.parts.length === 0) return undefined; // part 1 of a single-part object: all of it
    let start = 0;
    for (let i = 0; i < n - 1; i++) start += parts[i]!;
    return { start, end: start + parts[n - 1]! - 1, partsCount: parts.length };
  }
  return parseRange(header(ctx, 'range'), h.size);
}

async function headOrGet(ctx: RequestContext, withBody: boolean): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const vid = ctx.target.query.get('versionId');
  if (vid !== undefined && vid !== 'null') throw new S3Error('NotImplemented', 501, 'Reading an older version (versionId) is not implemented by ShardVault.');
  const minSequence = header(ctx, MIN_SEQUENCE_HEADER);
  const fresh = minSequence !== undefined ? { minSequence } : {};
  // One verified manifest for the headers, the conditions and the body: the bytes sent are of the version
  // whose ETag and length the headers name.
  const opened = await ctx.state.vault.openObject(bucket, key, fresh);
  const h = opened?.head as HeadX | undefined;
  if (opened === undefined || h === undefined) {
    if (!(await ctx.state.vault.listBuckets()).includes(bucket)) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist.', { extra: { BucketName: bucket } });
    throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { extra: { Key: key } });
  }
  const etag = etagOf(h);
  const headers = objectHeaders(ctx, h);
  if (evaluate(conditionsOf(ctx), { etag, timeMs: h.timeMs }) === 'not-modified') {
    const keep: Record<string, string> = { ETag: headers.ETag!, 'Last-Modified': headers['Last-Modified']! };
    ctx.res.writeHead(304, keep);
    ctx.res.end();
    return;
  }
  applyOverrides(ctx, headers);
  const range = requestedRange(ctx, h);
  let status = 200;
  let start = 0;
  let end = h.size; // exclusive
  if (range !== undefined) {
    status = 206;
    start = range.start;
    end = range.end + 1;
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${h.size}`;
    // A checksum is of the whole object: not sent with a part of it.
    for (const k of Object.keys(headers)) if (k.startsWith('x-amz-checksum-')) delete headers[k];
  }
  headers['Content-Length'] = String(end - start);
  if (!withBody || end === start) {
    ctx.res.writeHead(status, headers);
    ctx.res.end();
    return;
  }
  const body = opened.stream({ ...(range !== undefined ? { range: { start, end } } : {}), signal: ctx.signal });
  await streamOut(ctx, body, status, headers);
}

/**
 * Writes the headers only once the first bytes were read and verified (a failure before that is still a
 * proper S3 error), then the body with backpressure. A failure after the headers went out can only cut the
 * connection: the client sees a short body, never wrong bytes.
 */
async function streamOut(ctx: RequestContext, body: Readable, status: number, headers: Record<string, string>): Promise<void> {
  const res = ctx.res;
  const it = body[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (err) {
    body.destroy();
    throw err;
  }
  res.writeHead(status, headers);
  try {
    for (let r = first; r.done !== true; r = await it.next()) {
      ctx.stats.bytesOut += r.value.length;
      if (!res.write(r.value)) {
        // A reader that stops reading holds a slot: after bodyIdleTimeoutMs without progress it is cut off.
        const idleMs = ctx.state.limits.bodyIdleTimeoutMs;
        await new Promise<void>((resolve, reject) => {
          const cleanup = () => { clearTimeout(timer); res.off('drain', done); res.off('close', closed); };
          const done = () => { cleanup(); resolve(); };
          const closed = () => { cleanup(); reject(new S3Error('RequestTimeout', 400, 'The client went away.')); };
          const timer = setTimeout(() => { cleanup(); reject(new S3Error('RequestTimeout', 400, 'The client stopped reading the response.')); }, idleMs);
          res.on('drain', done);
          res.on('close', closed);
        });
      }
    }
    res.end();
  } catch (err) {
    body.destroy();
    (err as { afterHeaders?: boolean }).afterHeaders = true;
    throw err;
  }
}

export const getObject = (ctx: RequestContext): Promise<void> => headOrGet(ctx, true);
export const headObject = (ctx: RequestContext): Promise<void> => headOrGet(ctx, false);

export async function deleteObject(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const vid = ctx.target.query.get('versionId');
  if (vid !== undefined && vid !== 'null') throw new S3Error('NotImplemented', 501, 'Deleting a specific version (versionId) is not implemented by ShardVault.');
  if (!(await ctx.state.vault.listBuckets()).includes(bucket)) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist.', { extra: { BucketName: bucket } });
  await ctx.state.vault.delete(bucket, key, ctx.who.principal);
  sendEmpty(ctx, 204);
}

/** x-amz-copy-source: `bucket/key` or `/bucket/key`, URL-encoded, optionally `?versionId=null`. */
export function parseCopySource(value: string): { bucket: string; key: string } {
  let v = value;
  const q = v.indexOf('?');
  if (q !== -1) {
    const rest = v.slice(q + 1);
    v = v.slice(0, q);
    if (rest !== '' && rest !== 'versionId=null') throw new S3Error('NotImplemented', 501, 'Copying an older version (versionId) is not implemented by ShardVault.');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(v);
  } catch {
    throw new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', { extra: { ArgumentName: 'x-amz-copy-source' } });
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', { extra: { ArgumentName: 'x-amz-copy-source' } });
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** Source head for CopyObject / UploadPartCopy, after authorization and the x-amz-copy-source-if-* checks. */
export async function copySourceHead(ctx: RequestContext): Promise<{ bucket: string; key: string; head: HeadX; source: ObjectReader }> {
  const src = parseCopySource(header(ctx, 'x-amz-copy-source') ?? '');
  if (Buffer.byteLength(src.key) > 1024) throw new S3Error('KeyTooLongError', 400, 'Your key is too long (at most 1024 bytes of UTF-8).');
  if (ctx.state.auth.authorize(ctx.who, 's3:GetObject', src) !== 'allow') throw new S3Error('AccessDenied', 403, 'Access Denied', { reason: 'policy' });
  // The conditions are judged on the version that is then copied (one verified manifest for both).
  const source = await ctx.state.vault.openObject(src.bucket, src.key);
  const head = source?.head as HeadX | undefined;
  if (source === undefined || head === undefined) {
    if (!(await ctx.state.vault.listBuckets()).includes(src.bucket)) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist.', { extra: { BucketName: src.bucket } });
    throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { extra: { Key: src.key } });
  }
  evaluate(conditionsOf(ctx, 'x-amz-copy-source-'), { etag: etagOf(head), timeMs: head.timeMs }, { copy: true });
  return { ...src, head, source };
}

export async function copyObject(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const src = await copySourceHead(ctx);
  const directive = (header(ctx, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 400, 'Unknown metadata directive.', { extra: { ArgumentName: 'x-amz-metadata-directive' } });
  if (directive === 'COPY' && src.bucket === bucket && src.key === key) {
    throw new S3Error('InvalidRequest', 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
  }
  let meta: Partial<PutOptionsX>;
  if (directive === 'REPLACE') {
    meta = putOptionsFromHeaders(ctx);
  } else {
    const h = src.head;
    const headers: SystemHeaders = { ...(h.headers ?? {}) };
    meta = {
      ...(h.contentType !== undefined ? { contentType: h.contentType } : {}),
      ...(Object.keys(h.metadata).length > 0 ? { metadata: { ...h.metadata } } : {}),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
  }
  for (const [k, v] of Object.entries(meta.metadata ?? {})) checkHeaderValue(k, v);
  // Stream get -> put, of the version whose metadata and conditions were read. The source's checksum is
  // recomputed over the copied bytes and must still match.
  let body: Readable = src.source.stream({ signal: ctx.signal });
  let verifier: ChecksumVerifier | undefined;
  if (src.head.checksum !== undefined && (src.head.parts === undefined || src.head.parts.length === 0)) {
    const want = src.head.checksum;
    verifier = new ChecksumVerifier(want.algorithm, () => want.value);
    body = body.pipe(verifier);
  }
  const opts: PutOptionsX = { principal: ctx.who.principal, signal: ctx.signal, computeMd5: true, ...meta, ...putConditions(ctx) };
  if (verifier !== undefined && src.head.checksum !== undefined) opts.checksum = { ...src.head.checksum };
  const receipt = await ctx.state.vault.put(bucket, key, body, opts);
  const head = (await ctx.state.vault.head(bucket, key)) as HeadX | undefined;
  const etag = head !== undefined && head.versionId === receipt.versionId ? etagOf(head) : '';
  sendXml(ctx, 200, 'CopyObjectResult', [
    ['LastModified', isoDate(head?.timeMs ?? Date.now())],
    ['ETag', quoted(etag)],
    ...(opts.checksum !== undefined ? [[`Checksum${opts.checksum.algorithm.toUpperCase()}`, opts.checksum.value] as [string, string]] : []),
  ]);
}
