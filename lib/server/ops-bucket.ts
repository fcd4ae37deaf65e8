/** Bucket operations and listings: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
 *  ListObjectsV2, ListObjects (v1), DeleteObjects. */
import { createHash } from 'node:crypto';

import { readSmallBody } from './body.js';
import { bucketOf, header, isoDate, OWNER, sendEmpty, sendXml, type RequestContext } from './context.js';
import { quoted } from './object-meta.js';
import { S3Error, toS3Error } from './s3-error.js';
import { childText, children, esc, parseXml, S3_XMLNS, type XmlNode } from './xml.js';

async function requireBucket(ctx: RequestContext, bucket: string): Promise<void> {
  if (!(await ctx.state.vault.listBuckets()).includes(bucket)) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist.', { extra: { BucketName: bucket } });
}

export async function listBuckets(ctx: RequestContext): Promise<void> {
  // The gate checked s3:ListAllMyBuckets: as in S3, that shows every bucket's name.
  const names = (await ctx.state.vault.listBuckets());
  const created = ctx.state.bucketTimes.dates(names);
  sendXml(ctx, 200, 'ListAllMyBucketsResult', [
    ['Owner', [['ID', OWNER.id], ['DisplayName', OWNER.displayName]]],
    ['Buckets', names.map((b): XmlNode => ['Bucket', [['Name', b], ['CreationDate', isoDate(created.get(b) ?? new Date(0))]]])],
  ]);
}

export async function createBucket(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const body = await readSmallBody(ctx, ctx.state.limits.xmlBodyBytesMax);
  if (body.length > 0) {
    const doc = parseXml(body, { depthMax: ctx.state.limits.xmlDepthMax, bytesMax: ctx.state.limits.xmlBodyBytesMax });
    const conf = doc.CreateBucketConfiguration;
    if (conf === undefined || conf.length !== 1) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
    const loc = childText(conf[0], 'LocationConstraint');
    if (loc !== undefined && loc !== '' && loc !== ctx.state.region) {
      throw new S3Error('InvalidLocationConstraint', 400, `The specified location-constraint is not valid: this endpoint serves ${ctx.state.region}.`, { extra: { LocationConstraint: loc } });
    }
  }
  if ((await ctx.state.vault.listBuckets()).includes(bucket)) throw new S3Error('BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.', { extra: { BucketName: bucket } });
  await ctx.state.vault.createBucket(bucket, ctx.who.principal);
  await ctx.state.bucketTimes.created(bucket);
  sendEmpty(ctx, 200, { Location: `/${bucket}` });
}

export async function headBucket(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await requireBucket(ctx, bucket);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.state.region });
}

export async function deleteBucket(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await requireBucket(ctx, bucket);
  await ctx.state.vault.deleteBucket(bucket, ctx.who.principal);
  await ctx.state.bucketTimes.deleted(bucket);
  sendEmpty(ctx, 204);
}

export async function getBucketLocation(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await requireBucket(ctx, bucket);
  // us-east-1 is the empty constraint in S3's answer.
  const text = ctx.state.region === 'us-east-1' ? '' : esc(ctx.state.region);
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_XMLNS}">${text}</LocationConstraint>`);
  ctx.res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
  ctx.res.end(body);
  ctx.stats.bytesOut += body.length;
}

/** encoding-type=url: what S3 percent-encodes (keys may hold characters XML 1.0 cannot carry). */
function encoder(ctx: RequestContext): (s: string) => string {
  const et = ctx.target.query.get('encoding-type');
  if (et === undefined) return (s) => s;
  if (et !== 'url') throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request', { extra: { ArgumentName: 'encoding-type', ArgumentValue: et } });
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

function maxKeysOf(ctx: RequestContext): number {
  const v = ctx.target.query.get('max-keys');
  if (v === undefined) return 1000;
  if (!/^\d{1,10}$/.test(v)) throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range', { extra: { ArgumentName: 'max-keys', ArgumentValue: v } });
  return Math.min(1000, Number(v));
}

interface Page { objects: Array<{ key: string; size: number; lastModified: Date; etag?: string }>; commonPrefixes: string[]; isTruncated: boolean; nextContinuationToken?: string }

async function listPage(ctx: RequestContext, bucket: string, o: { prefix: string; delimiter?: string; startAfter?: string; continuationToken?: string; maxKeys: number }): Promise<Page> {
  if (o.maxKeys === 0) return { objects: [], commonPrefixes: [], isTruncated: false };
  const page = await ctx.state.vault.list(bucket, {
    prefix: o.prefix,
    ...(o.delimiter !== undefined && o.delimiter !== '' ? { delimiter: o.delimiter } : {}),
    ...(o.startAfter !== undefined && o.startAfter !== '' ? { startAfter: o.startAfter } : {}),
    ...(o.continuationToken !== undefined ? { continuationToken: o.continuationToken } : {}),
    maxKeys: o.maxKeys,
  });
  // What the caller's policy lets it see (a principal allowed only `photos/*` sees only those keys).
  const allowed = ctx.who.admin ? () => true : ctx.state.auth.listFilter(ctx.who, bucket);
  // A common prefix is a directory, not a key: `home/` is shown to a principal allowed `home/alice/*`.
  const allowedPrefix = ctx.who.admin ? () => true : ctx.state.auth.listPrefixFilter(ctx.who, bucket);
  return { ...page, objects: page.objects.filter((x) => allowed(x.key)), commonPrefixes: page.commonPrefixes.filter((p) => allowedPrefix(p)) };
}

function contents(ctx: RequestContext, page: Page, enc: (s: string) => string, owner: boolean): XmlNode[] {
  return page.objects.map((x): XmlNode => ['Contents', [
    ['Key', enc(x.key)],
    ['LastModified', isoDate(x.lastModified)],
    ['ETag', quoted(x.etag ?? '')],
    ['Size', x.size],
    owner ? ['Owner', [['ID', OWNER.id], ['DisplayName', OWNER.displayName]]] : undefined,
    ['StorageClass', 'STANDARD'],
  ]]);
}

export async function listObjectsV2(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await requireBucket(ctx, bucket);
  const q = ctx.target.query;
  const enc = encoder(ctx);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter');
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after');
  const maxKeys = maxKeysOf(ctx);
  if (token === '') throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  const page = await listPage(ctx, bucket, { prefix, ...(delimiter !== undefined ? { delimiter } : {}), ...(startAfter !== undefined ? { startAfter } : {}), ...(token !== undefined ? { continuationToken: token } : {}), maxKeys });
  const fetchOwner = q.get('fetch-owner') === 'true';
  sendXml(ctx, 200, 'ListBucketResult', [
    ['Name', bucket],
    ['Prefix', enc(prefix)],
    delimiter !== undefined ? ['Delimiter', enc(delimiter)] : undefined,
    ['MaxKeys', maxKeys],
    q.has('encoding-type') ? ['EncodingType', 'url'] : undefined,
    ['KeyCount', page.objects.length + page.commonPrefixes.length],
    token !== undefined ? ['ContinuationToken', token] : undefined,
    startAfter !== undefined ? ['StartAfter', enc(startAfter)] : undefined,
    ['IsTruncated', page.isTruncated],
    page.nextContinuationToken !== undefined ? ['NextContinuationToken', page.nextContinuationToken] : undefined,
    ...contents(ctx, page, enc, fetchOwner),
    ...page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', enc(p)]]]),
  ]);
}

/** The last code point in UTF-8 byte order: a marker that ends with the delimiter skips the whole rolled-up prefix. */
const AFTER_ALL = '\u{10FFFF}';

export async function listObjectsV1(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await requireBucket(ctx, bucket);
  const q = ctx.target.query;
  const enc = encoder(ctx);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter');
  const marker = q.get('marker');
  const maxKeys = maxKeysOf(ctx);
  // A marker that is a common prefix (v1's NextMarker can be one) resumes after every key under it.
  const startAfter = marker !== undefined && marker !== '' && delimiter !== undefined && delimiter !== '' && marker.endsWith(delimiter) && marker.startsWith(prefix) ? marker + AFTER_ALL : marker;
  const page = await listPage(ctx, bucket, { prefix, ...(delimiter !== undefined ? { delimiter } : {}), ...(startAfter !== undefined ? { startAfter } : {}), maxKeys });
  const lastKey = page.objects.at(-1)?.key;
  const lastPrefix = page.commonPrefixes.at(-1);
  const next = lastPrefix !== undefined && (lastKey === undefined || Buffer.compare(Buffer.from(lastPrefix), Buffer.from(lastKey)) > 0) ? lastPrefix : lastKey;
  sendXml(ctx, 200, 'ListBucketResult', [
    ['Name', bucket],
    ['Prefix', enc(prefix)],
    ['Marker', enc(marker ?? '')],
    // NextMarker only with a delimiter (as S3); without one the client resumes after the last key.
    page.isTruncated && delimiter !== undefined && next !== undefined ? ['NextMarker', enc(next)] : undefined,
    ['MaxKeys', maxKeys],
    delimiter !== undefined ? ['Delimiter', enc(delimiter)] : undefined,
    q.has('encoding-type') ? ['EncodingType', 'url'] : undefined,
    ['IsTruncated', page.isTruncated],
    ...contents(ctx, page, enc, true),
    ...page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', enc(p)]]]),
  ]);
}

/** DeleteObjects: <= deleteKeysMax keys, Content-MD5 or a flexible checksum required (as S3), Quiet. */
export async function deleteObjects(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await requireBucket(ctx, bucket);
  const md5 = header(ctx, 'content-md5');
  const hasChecksum = Object.keys(ctx.req.headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-mode') || header(ctx, 'x-amz-trailer') !== undefined;
  if (md5 === undefined && !hasChecksum) throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: Content-MD5 or x-amz-checksum-*.');
  const limits = ctx.state.limits;
  const body = await readSmallBody(ctx, limits.xmlBodyBytesMax);
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
  const doc = parseXml(body, { depthMax: limits.xmlDepthMax, bytesMax: limits.xmlBodyBytesMax });
  const del = doc.Delete;
  if (del === undefined || del.length !== 1) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
  const objects = children(del[0], 'Object');
  if (objects.length === 0) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
  if (objects.length > limits.deleteKeysMax) throw new S3Error('MalformedXML', 400, `The request lists more than ${limits.deleteKeysMax} keys.`);
  const quiet = childText(del[0], 'Quiet')?.trim().toLowerCase() === 'true';
  const results: XmlNode[] = [];
  for (const o of objects) {
    const key = childText(o, 'Key');
    if (key === undefined || key === '') throw new S3Error('MalformedXML', 400, 'Every Object needs a Key.');
    const vid = childText(o, 'VersionId');
    const fail = (code: string, message: string): void => {
      results.push(['Error', [['Key', key], ['Code', code], ['Message', message]]]);
    };
    if (vid !== undefined && vid !== 'null') {
      fail('NotImplemented', 'Deleting a specific version is not implemented by ShardVault.');
      continue;
    }
    if (Buffer.byteLength(key) > 1024) {
      fail('KeyTooLongError', 'Your key is too long.');
      continue;
    }
    if (ctx.state.auth.authorize(ctx.who, 's3:DeleteObject', { bucket, key }) !== 'allow') {
      fail('AccessDenied', 'Access Denied');
      continue;
    }
    try {
      await ctx.state.vault.delete(bucket, key, ctx.who.principal);
      if (!quiet) results.push(['Deleted', [['Key', key]]]);
    } catch (err) {
      const e = toS3Error(err);
      fail(e.s3Code, e.message);
    }
  }
  sendXml(ctx, 200, 'DeleteResult', results);
}
