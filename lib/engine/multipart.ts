/**
 * Multipart uploads (issue 11: engine/multipart.ts): createUpload -> putPart (each part through the stripe
 * pipeline of lib/engine/put.ts, its shards sealed and the part recorded in one flushed commit) -> listParts /
 * listUploads -> completeUpload (a metadata operation: a v4 manifest composed from the parts' catalog records,
 * signed, its copies sealed, one commit that makes the object visible and ends the upload, I2) or
 * abortUpload (the parts go to gc).
 */
import { createHash, randomBytes } from 'node:crypto';

import type { PartRecord, UploadRecord } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError, rangeError, typeError, type DiskFailure } from '../errors.js';
import { hex, objectId } from '../format/ids.js';
import { HASH_TABLE_CONTEXT } from '../format/manifest-copy.js';
import { partStripes, type Manifest, type SystemHeaders } from '../format/manifest.js';
import { blake3Sync } from '../hash.js';
import { place, placementKey } from '../placement.js';
import { abortableIterable, checkSignal, throwIfAborted } from '../abort.js';
import { integer, optionsObject } from '../validate.js';
import { copyDigest, type Engine, type Receipt } from './context.js';
import { listString } from './names.js';
import { checkCondition, multipartContentHash, multipartEtag, objectMetadata, writeCondition, type StoredChecksum } from './object-meta.js';
import { writeBody } from './put.js';

/** Parts a multipart upload may have, and its highest part number (S3's). */
export const PARTS_MAX = 10000;
/** Most parts one listParts page and most uploads one listUploads page returns (S3's). */
export const LIST_PARTS_MAX = 1000;

export interface CreateUploadOptions {
  principal?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  headers?: SystemHeaders;
}

export interface PutPartOptions {
  principal?: string;
  signal?: AbortSignal;
  /** Declared MD5 (Content-MD5), checked as for put. */
  md5?: Uint8Array | string;
  /** A checksum of the part the caller computed and verified: stored with the part (listParts). */
  checksum?: StoredChecksum;
}

export interface CompleteUploadOptions {
  principal?: string;
  ifMatch?: string;
  ifNoneMatch?: '*';
}

/** Upload ids: 40 hex digits (160 random bits). */
const UPLOAD_ID_RE = /^[0-9a-f]{40}$/;

/**
 * Starts a multipart upload of bucket/key: its id (160 random bits, hex) names it in every later call. The
 * object's content type, user metadata and system headers are given here (as S3's CreateMultipartUpload) and
 * stored in the manifest at completeUpload. The upload expires `uploadTtlMs` after this (default 7 days).
 */
export async function createUpload(ctx: Engine, bucket: string, key: string, options: CreateUploadOptions = {}): Promise<{ uploadId: string }> {
  ctx.writable('createUpload');
  const o = optionsObject<CreateUploadOptions>('options', options, ['principal', 'contentType', 'metadata', 'headers']);
  const principal = o.principal ?? 'local';
  await ctx.checkObjectName(bucket, key, principal);
  const meta = objectMetadata({ contentType: o.contentType, metadata: o.metadata, headers: o.headers });
  if (!(await ctx.catalog.hasBucket(bucket))) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
  const uploadId = hex(randomBytes(20));
  await ctx.catalog.createUpload(bucket, key, uploadId, {
    initiatedMs: Date.now(), principal, ...(meta.contentType !== undefined ? { contentType: meta.contentType } : {}),
    ...(meta.metadata !== undefined ? { metadata: meta.metadata } : {}), ...(meta.headers !== undefined ? { headers: meta.headers as Record<string, string> } : {}),
  });
  return { uploadId };
}

/** The upload `uploadId` of bucket/key while it is in progress (not completed, aborted or expired). */
async function uploadOf(ctx: Engine, bucket: string, key: string, uploadId: unknown): Promise<UploadRecord> {
  if (typeof uploadId !== 'string') throw typeError('uploadId', 'an upload id string', uploadId);
  const upload = UPLOAD_ID_RE.test(uploadId) ? await ctx.catalog.getUpload(bucket, key, uploadId) : undefined;
  if (upload === undefined || Date.now() - upload.initiatedMs > ctx.settings.uploadTtlMs) {
    throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId.slice(0, 64)} of ${bucket}/${key} (never created, completed, aborted or expired)`);
  }
  return upload;
}

/**
 * Stores part `partNumber` (1..10000) of an upload: streamed through the same stripe pipeline as a put's
 * body (its own placement and hash table, shard files named by a fresh part id), every shard file sealed
 * durably and the part recorded in one flushed catalog commit before this resolves. Re-uploading a part
 * number replaces it (the old part's files go to gc). Resolves with the part's ETag (hex MD5) and size.
 * `md5` (Content-MD5) is checked as for put; `checksum` is stored with the part (listParts returns it).
 */
export async function putPart(ctx: Engine, bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: PutPartOptions = {}): Promise<{ etag: string; size: number }> {
  ctx.writable('putPart');
  const o = optionsObject<PutPartOptions>('options', options, ['principal', 'signal', 'md5', 'checksum']);
  const { principal = 'local', signal } = o;
  checkSignal(signal);
  throwIfAborted(signal, 'putPart');
  await ctx.checkObjectName(bucket, key, principal);
  const number = integer('partNumber', partNumber, 1, PARTS_MAX);
  await uploadOf(ctx, bucket, key, uploadId); // before any byte is written
  const meta = objectMetadata({ md5: o.md5, checksum: o.checksum, computeMd5: true });
  const md5 = createHash('md5');
  const md5Checked = (): Uint8Array => {
    const got = md5.digest();
    if (meta.md5Expected !== undefined && !got.equals(meta.md5Expected)) {
      throw new ShardVaultError(ErrorCode.BAD_DIGEST, `${bucket}/${key} part ${number}: the body's MD5 ${got.toString('hex')} is not the declared ${meta.md5Expected.toString('hex')}`);
    }
    return got;
  };
  let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body instanceof Uint8Array ? [body] : body;
  if (source === null || typeof source !== 'object' || (!(Symbol.asyncIterator in source) && !(Symbol.iterator in source))) {
    throw typeError('body', 'a Uint8Array, a Readable or an iterable of Uint8Array', body);
  }
  if (!(body instanceof Uint8Array)) source = abortableIterable(source, signal, 'putPart');
  const w = await writeBody(ctx, bucket, key, randomBytes(16), source, signal, md5, md5Checked, 'putPart');
  // Seal every shard file; a part has no manifest copies (its hash table goes into the catalog, the copies of
  // the object's manifest are written by completeUpload).
  const root = blake3Sync(w.hashTable, { context: HASH_TABLE_CONTEXT });
  await Promise.all(w.sinks.map(async (writer, i) => {
    if (writer === null || !w.alive[i]) {
      await writer?.abort().catch(() => undefined);
      w.alive[i] = false;
      return;
    }
    try {
      await writer.pwrite(w.header(i, root), 0);
      await writer.seal();
    } catch (err) {
      await writer.abort().catch(() => undefined);
      w.drop(i, 'sealing shard', err);
      ctx.health.dropped(w.placement[i], 'seal', err);
    }
  }));
  const etag = hex(w.md5!);
  try {
    throwIfAborted(signal, 'putPart');
    if (w.alive.filter(Boolean).length < ctx.config.writeQuorum) throw w.lostError();
    await ctx.catalog.commitPart(bucket, key, uploadId, number, {
      partId: w.vid, size: w.size, md5: etag, contentHash: hex(w.contentHash), placement: w.placement, missing: w.alive.flatMap((ok, i) => (ok ? [] : [i])),
      hashTable: w.hashTable, timeMs: Date.now(), ...(meta.checksum !== undefined ? { checksum: { algorithm: meta.checksum.algorithm, value: Buffer.from(meta.checksum.digest).toString('base64') } } : {}),
    }, principal);
  } catch (err) {
    return await ctx.abandonWrite(err, bucket, key, w.vid, w.oid, w.placement, w.created, []);
  }
  return { etag, size: w.size };
}

/** The uploaded parts of an upload in part-number order, a page (at most `maxParts`, default and at most 1000) after `partNumberMarker`. */
export async function listParts(ctx: Engine, bucket: string, key: string, uploadId: string, options: { partNumberMarker?: number; maxParts?: number } = {}): Promise<{ parts: Array<{ partNumber: number; etag: string; size: number; lastModified: Date; checksum?: StoredChecksum }>; isTruncated: boolean; nextPartNumberMarker?: number }> {
  const o = optionsObject<{ partNumberMarker?: number; maxParts?: number }>('options', options, ['partNumberMarker', 'maxParts']);
  await ctx.checkObjectName(bucket, key);
  const marker = o.partNumberMarker === undefined ? 0 : integer('partNumberMarker', o.partNumberMarker, 0, PARTS_MAX);
  const max = o.maxParts === undefined ? LIST_PARTS_MAX : integer('maxParts', o.maxParts, 1, LIST_PARTS_MAX);
  await uploadOf(ctx, bucket, key, uploadId);
  const entries = await ctx.catalog.listParts(uploadId, { after: marker, limit: max + 1 });
  const page = entries.slice(0, max);
  const isTruncated = entries.length > max;
  return {
    parts: page.map(({ partNumber, part }) => ({
      partNumber, etag: part.md5, size: part.size, lastModified: new Date(part.timeMs), ...(part.checksum !== undefined ? { checksum: part.checksum as StoredChecksum } : {}),
    })),
    isTruncated, ...(isTruncated ? { nextPartNumberMarker: page[page.length - 1].partNumber } : {}),
  };
}

/**
 * Uploads in progress of `bucket` (not completed, aborted or expired), in key then upload-id order: keys
 * starting with `prefix`, after `keyMarker` (with `uploadIdMarker`: after that upload of that key), a page of
 * at most `maxUploads` (default and at most 1000).
 */
export async function listUploads(ctx: Engine, bucket: string, options: { prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number } = {}): Promise<{ uploads: Array<{ key: string; uploadId: string; initiated: Date }>; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }> {
  const o = optionsObject<{ prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number }>('options', options, ['prefix', 'keyMarker', 'uploadIdMarker', 'maxUploads']);
  await ctx.checkBucket(bucket);
  const prefix = o.prefix === undefined ? '' : listString('prefix', o.prefix, 0);
  const keyMarker = o.keyMarker === undefined ? undefined : listString('keyMarker', o.keyMarker, 0);
  const uploadIdMarker = o.uploadIdMarker === undefined ? undefined : listString('uploadIdMarker', o.uploadIdMarker, 1);
  const max = o.maxUploads === undefined ? LIST_PARTS_MAX : integer('maxUploads', o.maxUploads, 1, LIST_PARTS_MAX);
  if (!(await ctx.catalog.hasBucket(bucket))) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
  const entries = await ctx.catalog.listUploads(bucket, { prefix, ...(keyMarker !== undefined ? { after: { key: keyMarker, ...(uploadIdMarker !== undefined ? { uploadId: uploadIdMarker } : {}) } } : {}), limit: max + 1 });
  const page = entries.slice(0, max);
  const isTruncated = entries.length > max;
  const now = Date.now();
  const last = page[page.length - 1];
  return {
    uploads: page.filter((u) => now - u.upload.initiatedMs <= ctx.settings.uploadTtlMs).map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: new Date(u.upload.initiatedMs) })),
    isTruncated, ...(isTruncated ? { nextKeyMarker: last.key, nextUploadIdMarker: last.uploadId } : {}),
  };
}

/**
 * Completes an upload: a metadata operation. The parts named (ascending part numbers, each with the ETag its
 * putPart returned) are composed into one object whose manifest (v4) lists each part's stripes, placement
 * and hash-table slice; no part's bytes are read or rewritten. The manifest is signed, its copies sealed
 * durably on the disks of a placement of its own, then one flushed catalog commit makes the object visible,
 * ends the upload and hands the parts not named to gc (I2: all or nothing). `ifMatch` / `ifNoneMatch` as for
 * put, decided under the key's lock. Resolves with the receipt and the S3 ETag (hex MD5 of the parts' MD5s,
 * '-', the part count). Errors: ERR_SV_NO_SUCH_UPLOAD, ERR_SV_INVALID_PART (not uploaded, or another ETag),
 * ERR_SV_INVALID_PART_ORDER, ERR_SV_ENTITY_TOO_SMALL (a part but the last below `minPartBytes`),
 * ERR_SV_PRECONDITION_FAILED.
 */
export async function completeUpload(ctx: Engine, bucket: string, key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>, options: CompleteUploadOptions = {}): Promise<Receipt & { etag: string }> {
  ctx.writable('completeUpload');
  const started = performance.now();
  const o = optionsObject<CompleteUploadOptions>('options', options, ['principal', 'ifMatch', 'ifNoneMatch']);
  const principal = o.principal ?? 'local';
  await ctx.checkObjectName(bucket, key, principal);
  const condition = writeCondition(o);
  if (!Array.isArray(parts)) throw typeError('parts', 'an array of { partNumber, etag }', parts);
  if (parts.length < 1 || parts.length > PARTS_MAX) throw rangeError('parts', `1..${PARTS_MAX} parts`, parts);
  const wanted = parts.map((p, i) => {
    const q = optionsObject<{ partNumber: number; etag: string }>(`parts[${i}]`, p ?? null, ['partNumber', 'etag']);
    const partNumber = integer(`parts[${i}].partNumber`, q.partNumber, 1, PARTS_MAX);
    if (typeof q.etag !== 'string') throw typeError(`parts[${i}].etag`, 'an ETag string', q.etag);
    const etag = (q.etag.length >= 2 && q.etag.startsWith('"') && q.etag.endsWith('"') ? q.etag.slice(1, -1) : q.etag).toLowerCase();
    return { partNumber, etag };
  });
  wanted.forEach((w, i) => {
    if (i > 0 && w.partNumber <= wanted[i - 1].partNumber) throw new ShardVaultError(ErrorCode.INVALID_PART_ORDER, `parts must be in ascending part-number order: part ${w.partNumber} follows ${wanted[i - 1].partNumber}`);
  });
  await uploadOf(ctx, bucket, key, uploadId);
  await ctx.health.reprobe();
  const release = await ctx.keyLock.acquire(bucket, key);
  try {
    const upload = await uploadOf(ctx, bucket, key, uploadId);
    const head = await ctx.catalog.getHead(bucket, key);
    checkCondition(bucket, key, head, condition);
    const { k, m, blockBytes } = ctx.config;
    const n = k + m;
    // Everything comes from the catalog's part records (sizes, hashes, placements): no part's bytes are read.
    const recs: PartRecord[] = [];
    for (const w of wanted) {
      const r = await ctx.catalog.getPart(uploadId, w.partNumber);
      if (r === undefined) throw new ShardVaultError(ErrorCode.INVALID_PART, `part ${w.partNumber} of upload ${uploadId} was not uploaded`);
      if (r.md5 !== w.etag) throw new ShardVaultError(ErrorCode.INVALID_PART, `part ${w.partNumber} has ETag ${r.md5}, not ${w.etag}`);
      if (r.hashTable.length !== partStripes(r.size, k, blockBytes) * n * 32) throw new ShardVaultError(ErrorCode.CORRUPT, `part ${w.partNumber}: its hash table does not fit its size`);
      recs.push(r);
    }
    recs.forEach((r, i) => {
      if (i < recs.length - 1 && r.size < ctx.settings.minPartBytes) {
        throw new ShardVaultError(ErrorCode.ENTITY_TOO_SMALL, `part ${wanted[i].partNumber} is ${r.size} bytes: every part but the last must be at least ${ctx.settings.minPartBytes}`);
      }
    });
    const hashTable = Buffer.concat(recs.map((r) => r.hashTable));
    const versionId = randomBytes(16);
    const vid = hex(versionId);
    const sequence = (head?.sequence ?? 0n) + 1n;
    const placement = place(placementKey(bucket, key, vid), ctx.placementDisks(), ctx.rule());
    const md5OfMd5s = createHash('md5').update(Buffer.concat(recs.map((r) => Buffer.from(r.md5, 'hex')))).digest();
    const size = recs.reduce((t, r) => t + r.size, 0);
    const manifest: Manifest = {
      bucket, key, versionId, sequence, size, contentHash: multipartContentHash(recs.map((r) => Buffer.from(r.contentHash, 'hex'))), tombstone: false, k, m, blockBytes,
      stripeCount: recs.reduce((t, r) => t + partStripes(r.size, k, blockBytes), 0), placement, hashTableRoot: blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }),
      principal, timeMs: Date.now(), signerKeyId: ctx.keyId, inline: new Uint8Array(0), md5: Uint8Array.from(md5OfMd5s),
      ...(upload.contentType !== undefined ? { contentType: upload.contentType } : {}), ...(upload.metadata !== undefined ? { metadata: upload.metadata } : {}),
      ...(upload.headers !== undefined ? { headers: upload.headers } : {}),
      parts: recs.map((r, i) => ({ number: wanted[i].partNumber, partId: Buffer.from(r.partId, 'hex'), size: r.size, contentHash: Buffer.from(r.contentHash, 'hex'), md5: Buffer.from(r.md5, 'hex'), placement: r.placement })),
    };
    const { manifestHash, copy } = ctx.sign(manifest, hashTable);
    const digest = copyDigest(copy);
    const failures: DiskFailure[] = [];
    const refs = await Promise.all(placement.map((id, i) => ctx.writeCopy(id, copy, digest, (err) => failures.push(ctx.failure(id, i, 'writing the manifest copy', err)))));
    try {
      const durable = placement.filter((_, i) => refs[i] !== undefined);
      if (durable.length < ctx.config.writeQuorum) throw ctx.quorumError(bucket, key, failures, durable.length, n);
      const repairWork = [
        ...placement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ disk, shard }])),
        ...recs.flatMap((r, part) => r.missing.map((shard) => ({ disk: r.placement[shard], shard, part }))),
      ];
      const etag = multipartEtag(md5OfMd5s, recs.length);
      const receipt = await ctx.commitWithReceipt({
        bucket, key, expectedSequence: head?.sequence ?? 0n,
        head: {
          versionId: vid, sequence, manifestHash, tombstone: false, placement, copies: refs.map((r) => r ?? null), striped: true, committedMs: Date.now(), size, timeMs: manifest.timeMs, etag,
          parts: recs.map((r) => ({ partId: r.partId, placement: r.placement })),
        },
        audit: { action: 'multipart.complete', principal, timeMs: manifest.timeMs, detail: `upload=${uploadId} parts=${recs.length} size=${size}` },
        repair: repairWork,
      }, durable, repairWork.length > 0, (req) => ctx.catalog.completeUpload(req, uploadId, wanted.map((w, i) => ({ partNumber: w.partNumber, partId: recs[i].partId }))));
      ctx.events.emit('put', { bucket, key, versionId: vid, bytes: size, durationMs: performance.now() - started, degraded: receipt.degraded });
      return { ...receipt, etag };
    } catch (err) {
      return await ctx.abandonWrite(err, bucket, key, vid, hex(objectId(bucket, key)), placement, [], refs);
    } finally {
      ctx.unpin(placement, refs);
    }
  } finally {
    release();
  }
}

/** Aborts an upload: it ends, and its parts' shard files go to gc (removed by the next gc()). */
export async function abortUpload(ctx: Engine, bucket: string, key: string, uploadId: string, options: { principal?: string } = {}): Promise<void> {
  ctx.writable('abortUpload');
  const o = optionsObject<{ principal?: string }>('options', options, ['principal']);
  const principal = o.principal ?? 'local';
  await ctx.checkObjectName(bucket, key, principal);
  await uploadOf(ctx, bucket, key, uploadId);
  await ctx.catalog.abortUpload(bucket, key, uploadId, 'multipart.abort', principal, Date.now());
}
