/**
 * The one place names are validated at the engine's public edge (issue 11): bucket, key and principal names,
 * listing strings and the bucket rule, all in UTF-8 bytes with one set of limits -- those the manifest
 * stores (lib/format/manifest.ts MANIFEST_LIMITS), so a name that passes here always fits the manifest and the
 * catalog key. No NUL (the catalog's key separator), well-formed UTF-16 (a lone surrogate would not round-trip
 * through UTF-8). Checked before any byte is written, so a bad name never leaves files behind (I7).
 */
import { ErrorCode, ShardVaultError, typeError } from '../errors.js';
import { MANIFEST_LIMITS } from '../format/manifest.js';
import { bucketName, bucketNameProblem } from '../validate.js';

/** The limits of names, UTF-8 bytes. */
export const NAME_LIMITS = {
  bucketBytesMax: MANIFEST_LIMITS.bucketBytesMax,
  keyBytesMax: MANIFEST_LIMITS.keyBytesMax,
  principalBytesMax: MANIFEST_LIMITS.principalBytesMax,
  /** A list() prefix, delimiter or marker: as long as a key. */
  listStringBytesMax: MANIFEST_LIMITS.keyBytesMax,
} as const;

const utf8 = new TextEncoder();

/** Whether `s` is well-formed UTF-16 (no lone surrogates). */
export function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** A name of 1..max UTF-8 bytes without NUL or lone surrogates (ERR_SV_OUT_OF_RANGE, or a TypeError). */
export function checkName(what: string, v: unknown, max: number): void {
  if (typeof v !== 'string') throw typeError(what, 'a string', v);
  const bytes = utf8.encode(v).length;
  if (bytes === 0 || bytes > max || v.includes('\0') || !isWellFormed(v)) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${what} must be 1..${max} UTF-8 bytes, without NUL or lone surrogates`);
  }
}

export function checkPrincipal(principal: unknown): void {
  checkName('principal', principal, NAME_LIMITS.principalBytesMax);
}

export function checkKey(key: unknown): void {
  checkName('key', key, NAME_LIMITS.keyBytesMax);
}

/**
 * The bucket argument of every call but createBucket: S3's rules, except that a bucket that already exists
 * under a name made before the rules (e.g. 'b') stays usable (`exists`), so old pools keep working. A name that
 * breaks the rules and names no bucket is ERR_SV_INVALID_BUCKET_NAME, not "no such bucket".
 */
export async function checkBucket(bucket: unknown, exists: (b: string) => Promise<boolean>): Promise<void> {
  checkName('bucket', bucket, NAME_LIMITS.bucketBytesMax);
  if (bucketNameProblem(bucket as string) !== undefined && !(await exists(bucket as string))) bucketName('bucket', bucket);
}

/** The name of a new bucket (createBucket): S3's rules (ERR_SV_INVALID_BUCKET_NAME names the rule broken). */
export function checkNewBucket(bucket: unknown): void {
  bucketName('bucket', bucket);
}

/** A list() prefix, delimiter or marker: a string of minBytes..1024 UTF-8 bytes, no NUL, well-formed. */
export function listString(what: string, v: unknown, minBytes: number): string {
  if (typeof v !== 'string') throw typeError(what, 'a string', v);
  const bytes = utf8.encode(v).length;
  if (bytes < minBytes || bytes > NAME_LIMITS.listStringBytesMax || v.includes('\0') || !isWellFormed(v)) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${what} must be ${minBytes}..${NAME_LIMITS.listStringBytesMax} UTF-8 bytes, without NUL or lone surrogates`);
  }
  return v;
}
