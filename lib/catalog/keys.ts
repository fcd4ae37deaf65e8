/**
 * What every catalog backend does the same way with names and keys, so that they accept the same input and
 * write the same audit details: the catalog's own guard of bucket names and object keys (the engine validates
 * names at its edge, lib/engine/names.ts; a backend must not depend on that), the slot that names a repair
 * item within its version, the page size of the paged walks, and how one listing page is built from the
 * heads a backend reads in key order.
 */
import { MANIFEST_LIMITS } from '../format/manifest.js';
import { ErrorCode, ShardVaultError, typeError } from '../errors.js';
import type { Head, ListEntry, ListPageOptions } from './catalog.js';

export const BUCKET_BYTES_MAX = MANIFEST_LIMITS.bucketBytesMax;
export const KEY_BYTES_MAX = MANIFEST_LIMITS.keyBytesMax;
/** Entries per read of a paged walk (heads, queues, uploads, the audit log). */
export const WALK_PAGE = 256;

/**
 * A bucket name or object key as the catalog accepts it: 1..max UTF-8 bytes (the manifest's limits, the unit
 * the engine uses) and no NUL (LMDB's key separator; PostgreSQL text cannot hold it either).
 */
export function catalogName(kind: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw typeError(kind, 'a string', value);
  if (value.length === 0 || Buffer.byteLength(value, 'utf8') > max || value.includes('\0')) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${kind} must be 1..${max} UTF-8 bytes without NUL`);
  }
  return value;
}

/** The last part of a repair item's catalog key: the shard index, with the part index for a multipart object's
 *  shard file (`3p12`). Plain items keep their key of before. Audit details list repair work by these slots. */
export function repairSlot(r: { shard: number; part?: number }): string {
  return r.part === undefined ? String(r.shard) : `${r.shard}p${r.part}`;
}

/** A listing page as Catalog.listPage answers it. */
export type ListPage = { entries: ListEntry[]; truncated: boolean; next?: { value: string; isPrefix: boolean } };

/**
 * One page of a listing built from a bucket's heads in UTF-8 byte order (S3 ListObjectsV2 order and roll-up, the
 * same for every backend): the backend reads heads under the prefix, from after `after`, and hands each to
 * `take`. A key that holds the delimiter after the prefix is rolled up into its common prefix, and `take` then
 * says `seek`: the backend continues after every key under that prefix instead of walking them. `take` says
 * `done` with the page when it is full or when `scanMax` keys were stepped over (bounded work per call, I7: a
 * run of deleted keys can end a page early, still truncated, as S3 may); `page()` is the page when the heads
 * ran out first.
 */
export class PageBuilder {
  readonly #entries: ListEntry[] = [];
  readonly #prefix: string;
  readonly #delimiter: string | undefined;
  readonly #maxKeys: number;
  readonly #scanMax: number;
  #scanned = 0;
  #lastSeen: string | undefined;

  constructor(options: ListPageOptions) {
    this.#prefix = options.prefix ?? '';
    this.#delimiter = options.delimiter;
    this.#maxKeys = options.maxKeys;
    this.#scanMax = Math.max(1, options.scanMax ?? Math.max(1000, 10 * options.maxKeys)); // >= 1: every call makes progress
  }

  /** How many more keys this page may step over (a backend's read size). */
  get budget(): number {
    return this.#scanMax - this.#scanned;
  }

  /** Feeds the next head in key order (`head` is read only for a live key that becomes an entry). */
  take(key: string, tombstone: boolean, head: () => Head): { done: ListPage } | { seek: string } | undefined {
    if (this.#scanned++ >= this.#scanMax) {
      // Out of budget: resume after the last key stepped over (an entry's, or a deleted key's after it).
      return { done: { entries: this.#entries, truncated: true, next: this.#lastSeen !== undefined ? { value: this.#lastSeen, isPrefix: false } : this.#nextAfterLast() } };
    }
    if (tombstone) {
      this.#lastSeen = key;
      return undefined;
    }
    const at = this.#delimiter === undefined ? -1 : key.indexOf(this.#delimiter, this.#prefix.length);
    if (this.#entries.length === this.#maxKeys) return { done: { entries: this.#entries, truncated: true, next: this.#nextAfterLast() } };
    this.#lastSeen = key;
    if (at < 0) {
      this.#entries.push({ key, head: head() });
      return undefined;
    }
    const common = key.slice(0, at + this.#delimiter!.length);
    this.#entries.push({ prefix: common });
    this.#lastSeen = undefined; // resuming after a key under the prefix would list the prefix again
    return { seek: common };
  }

  /** The page once the heads under the prefix ran out: complete. */
  page(): ListPage {
    return { entries: this.#entries, truncated: false };
  }

  #nextAfterLast(): { value: string; isPrefix: boolean } {
    const last = this.#entries[this.#entries.length - 1];
    return 'key' in last ? { value: last.key, isPrefix: false } : { value: last.prefix, isPrefix: true };
  }
}
