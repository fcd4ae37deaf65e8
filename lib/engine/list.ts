/**
 * Buckets and listing (issue 11: engine/list.ts): create, delete and list buckets (the list kept durably beside
 * the catalog, so a rebuild brings empty buckets back), and one page of a bucket's keys with S3
 * ListObjectsV2 semantics and authenticated continuation tokens (lib/listing.ts).
 */
import { ErrorCode, ShardVaultError } from '../errors.js';
import { decodeListToken, encodeListToken } from '../listing.js';
import { integer, optionsObject } from '../validate.js';
import type { Engine } from './context.js';
import { NAME_LIMITS, checkName, checkNewBucket, checkPrincipal, listString } from './names.js';
import { etagOf } from './object-meta.js';

export interface ListOptions {
  /** Only keys starting with this (default ''). */
  prefix?: string;
  /** Roll keys up to prefix + ... + delimiter (a "directory") into commonPrefixes. */
  delimiter?: string;
  /** First page only: keys after this one (byte order). Ignored when a continuation token is given. */
  startAfter?: string;
  /** `nextContinuationToken` of the previous page of the same listing. */
  continuationToken?: string;
  /** Keys plus common prefixes per page: 1..1000, default 1000. */
  maxKeys?: number;
}

export interface ListResult {
  objects: Array<{ key: string; size: number; lastModified: Date; etag?: string }>;
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

/** Most keys (plus common prefixes) one list() page returns, as S3's ListObjectsV2. */
export const LIST_KEYS_MAX = 1000;

/**
 * The buckets of one pool, with the durable bucket list beside the catalog: after each bucket change it is
 * written as the catalog has it then, one writer at a time.
 */
export class Buckets {
  #saved: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: Engine) {}

  async create(bucket: string, principal: string): Promise<void> {
    this.ctx.writable('createBucket');
    checkNewBucket(bucket);
    checkPrincipal(principal);
    await this.ctx.catalog.createBucket(bucket, principal, Date.now());
    await this.#save();
  }

  async delete(bucket: string, principal: string): Promise<void> {
    this.ctx.writable('deleteBucket');
    await this.ctx.checkBucket(bucket);
    checkPrincipal(principal);
    await this.ctx.catalog.deleteBucket(bucket, principal, Date.now());
    await this.#save();
  }

  #save(): Promise<void> {
    this.#saved = this.#saved.catch(() => undefined).then(async () => this.ctx.meta.saveBuckets(await this.ctx.catalog.listBuckets()));
    return this.#saved;
  }
}

/** One page of bucket's live keys (Vault.list documents the contract). */
export async function listObjects(ctx: Engine, listTokenKey: Uint8Array, bucket: string, options: ListOptions): Promise<ListResult> {
  const o = optionsObject<ListOptions>('options', options, ['prefix', 'delimiter', 'startAfter', 'continuationToken', 'maxKeys']);
  checkName('bucket', bucket, NAME_LIMITS.bucketBytesMax);
  const prefix = o.prefix === undefined ? '' : listString('prefix', o.prefix, 0);
  const delimiter = o.delimiter === undefined ? undefined : listString('delimiter', o.delimiter, 1);
  const startAfter = o.startAfter === undefined ? undefined : listString('startAfter', o.startAfter, 0);
  const maxKeys = o.maxKeys === undefined ? LIST_KEYS_MAX : integer('maxKeys', o.maxKeys, 1, LIST_KEYS_MAX);
  if (!(await ctx.catalog.hasBucket(bucket))) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
  const resume = o.continuationToken !== undefined
    ? decodeListToken(listTokenKey, o.continuationToken, { bucket, prefix, delimiter })
    : undefined;
  const after = resume !== undefined ? { value: resume.last, isPrefix: resume.isPrefix } : startAfter !== undefined ? { value: startAfter, isPrefix: false } : undefined;
  const { entries, truncated, next } = await ctx.catalog.listPage(bucket, { prefix, delimiter, after, maxKeys });
  const objects: ListResult['objects'] = [];
  const commonPrefixes: string[] = [];
  for (const e of entries) {
    if ('prefix' in e) {
      commonPrefixes.push(e.prefix);
      continue;
    }
    let { size, timeMs, etag } = e.head;
    if (size === undefined || timeMs === undefined) {
      // A head committed before heads carried size and time: from its verified manifest.
      const { manifest } = await ctx.loadManifest(bucket, e.key, e.head);
      size = manifest.size;
      timeMs = manifest.timeMs;
      etag = etagOf(manifest).etag;
    }
    objects.push({ key: e.key, size, lastModified: new Date(timeMs), ...(etag !== undefined ? { etag } : {}) });
  }
  return {
    objects, commonPrefixes, isTruncated: truncated,
    ...(truncated && next !== undefined ? { nextContinuationToken: encodeListToken(listTokenKey, { bucket, prefix, delimiter, last: next.value, isPrefix: next.isPrefix }) } : {}),
  };
}
