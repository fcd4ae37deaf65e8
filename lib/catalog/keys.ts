/**
 * What every catalog backend does the same way with names and keys, so that they accept the same input and
 * write the same audit details: the catalog's own guard of bucket names and object keys (the engine validates
 * names at its edge, lib/engine/names.ts; a backend must not depend on that), the slot that names a repair
 * item within its version, and the page size of the paged walks.
 */
import { MANIFEST_LIMITS } from '../format/manifest.js';
import { ErrorCode, ShardVaultError, typeError } from '../errors.js';

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
