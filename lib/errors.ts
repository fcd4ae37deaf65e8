/**
 * Errors with stable codes. `err.code` never changes once released; messages may.
 * Wrong types throw TypeError, wrong ranges RangeError (both carrying a code), everything else
 * ShardVaultError. Native code raises the same codes (napi_*.cc set `code` on the thrown Error).
 */
import { getSystemErrorName } from 'node:util';


export const ErrorCode = {
  /** An argument has the wrong type. */
  INVALID_ARG_TYPE: 'ERR_SV_INVALID_ARG_TYPE',
  /** An argument is of the right type but outside its allowed range. */
  OUT_OF_RANGE: 'ERR_SV_OUT_OF_RANGE',
  /** An options object has a key we do not know (likely a misspelling). */
  UNKNOWN_OPTION: 'ERR_SV_UNKNOWN_OPTION',
  /** Shards of one call do not all have the same length. */
  SHARD_SIZE_MISMATCH: 'ERR_SV_SHARD_SIZE_MISMATCH',
  /** Wrong number of shards for the codec's k + m. */
  SHARD_COUNT: 'ERR_SV_SHARD_COUNT',
  /** Two shard buffers share memory. */
  SHARD_OVERLAP: 'ERR_SV_SHARD_OVERLAP',
  /** Fewer than k shards are present, so nothing can be reconstructed. */
  TOO_FEW_SHARDS: 'ERR_SV_TOO_FEW_SHARDS',
  /** A reconstruct target is also marked present, or is listed twice. */
  BAD_TARGETS: 'ERR_SV_BAD_TARGETS',
  /** A kernel was forced that this CPU (or this build) does not have. */
  KERNEL_UNAVAILABLE: 'ERR_SV_KERNEL_UNAVAILABLE',
  /** The native backend was requested explicitly but the addon did not load. */
  NATIVE_UNAVAILABLE: 'ERR_SV_NATIVE_UNAVAILABLE',
  /** A buffer was handed to an async operation and must not be used until it settles. */
  BUFFER_BUSY: 'ERR_SV_BUFFER_BUSY',
  /** An operation was aborted through its AbortSignal. */
  ABORTED: 'ERR_SV_ABORTED',
  /** A file system call failed; errno, syscall and path are attached. */
  IO: 'ERR_SV_IO',
  /** A block or file did not match its expected hash. */
  CORRUPT: 'ERR_SV_CORRUPT',
  /** An earlier fsync on this file failed: its contents are unknown and it can never be sealed (I9). */
  FSYNC_FAILED: 'ERR_SV_FSYNC_FAILED',
  /** A disk root is not the filesystem it claims to be (st_dev or disk id mismatch). */
  DISK_IDENTITY: 'ERR_SV_DISK_IDENTITY',
  /** A file ended before the requested range did. */
  SHORT_READ: 'ERR_SV_SHORT_READ',
  /** Manifest bytes are malformed: bad magic, unknown version, a length out of bounds, trailing bytes. */
  MANIFEST_FORMAT: 'ERR_SV_MANIFEST_FORMAT',
  /** A manifest's signature does not verify, or its signer key is unknown or revoked. */
  MANIFEST_SIGNATURE: 'ERR_SV_MANIFEST_SIGNATURE',
  /** No such object (never written, or deleted). */
  NOT_FOUND: 'ERR_SV_NOT_FOUND',
  /** A compare-and-set on a head lost: another writer committed first. */
  CONFLICT: 'ERR_SV_CONFLICT',
  /** No placement satisfies the pool's failure-domain rule (too few disks or domains online). */
  PLACEMENT: 'ERR_SV_PLACEMENT',
  /** A shard writer was used after seal or abort, or while another operation on it was running. */
  WRITER_STATE: 'ERR_SV_WRITER_STATE',
  /** The bucket does not exist. */
  NO_SUCH_BUCKET: 'ERR_SV_NO_SUCH_BUCKET',
  /** The pool is already open (by another live process, or another Vault in this one). */
  POOL_BUSY: 'ERR_SV_POOL_BUSY',
  /** CreateBucket of a bucket that already exists. */
  BUCKET_EXISTS: 'ERR_SV_BUCKET_EXISTS',
  /** DeleteBucket of a bucket that still holds objects. */
  BUCKET_NOT_EMPTY: 'ERR_SV_BUCKET_NOT_EMPTY',
  /** A bucket name breaks S3's naming rules (3-63 chars of a-z 0-9 . -, no IP form, ...). */
  INVALID_BUCKET_NAME: 'ERR_SV_INVALID_BUCKET_NAME',
  /** A mutation was attempted on a Vault opened with `readOnly: true`. */
  READ_ONLY: 'ERR_SV_READ_ONLY',
  /** A list continuation token is malformed, forged, or from another bucket or listing. */
  INVALID_TOKEN: 'ERR_SV_INVALID_TOKEN',
  /** The body's digest (MD5 or other) does not match the digest the caller declared. */
  BAD_DIGEST: 'ERR_SV_BAD_DIGEST',
  /** Object metadata (content type, user key/values) exceeds its size limit. */
  METADATA_TOO_LARGE: 'ERR_SV_METADATA_TOO_LARGE',
  /** No disk with this id (or path) is part of the pool. */
  NO_SUCH_DISK: 'ERR_SV_NO_SUCH_DISK',
  /** The catalog failed a commit or cannot be opened (errno attached): it refuses writes until the pool is reopened. */
  CATALOG_FAILED: 'ERR_SV_CATALOG_FAILED',
  /** A disk ran out of space (ENOSPC / EDQUOT) while writing. */
  NO_SPACE: 'ERR_SV_NO_SPACE',
  /** A conditional write's condition does not hold (ifNoneMatch '*' and a live object exists, or ifMatch names
   *  another ETag or there is no live object); decided at commit under the key's lock, so nothing was written. */
  PRECONDITION_FAILED: 'ERR_SV_PRECONDITION_FAILED',
  /** No multipart upload with this id for this bucket and key (never created, completed, aborted or expired). */
  NO_SUCH_UPLOAD: 'ERR_SV_NO_SUCH_UPLOAD',
  /** A Complete names a part that was not uploaded, or whose ETag is not the uploaded part's. */
  INVALID_PART: 'ERR_SV_INVALID_PART',
  /** A Complete's part list is not in strictly ascending part-number order. */
  INVALID_PART_ORDER: 'ERR_SV_INVALID_PART_ORDER',
  /** A part other than the last of a Complete is smaller than the minimum part size (5 MiB unless configured). */
  ENTITY_TOO_SMALL: 'ERR_SV_ENTITY_TOO_SMALL',
  /** A request's authentication failed or was refused (lib/auth AuthError: `s3Code`, `status` and `reason` say how). */
  AUTH: 'ERR_SV_AUTH',
  /** A manifest, tombstone, receipt or pool record whose only valid signature is by a revoked pool key (issue 13). */
  KEY_REVOKED: 'ERR_SV_KEY_REVOKED',
  /** A setting is weaker than the pool's security floor (I5); the message names the setting and the floor. */
  FLOOR: 'ERR_SV_FLOOR',
  /** The catalog is behind the newest freshness witness: the store was restored from an older state (I4). */
  ROLLBACK: 'ERR_SV_ROLLBACK',
  /** A read cannot meet the caller's minimum sequence (the store holds only an older version, or none). */
  STALE: 'ERR_SV_STALE',
  /** The pool's format version is one this release does not read, or needs a newer (or finalized) release. */
  FORMAT_VERSION: 'ERR_SV_FORMAT_VERSION',
  /** An action needs the pool's new format, which is written only after `shardvault upgrade finalize`. */
  UPGRADE_PENDING: 'ERR_SV_UPGRADE_PENDING',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One disk that dropped out of an operation (a failed put names each). */
export interface DiskFailure {
  disk: string;
  path: string;
  shard?: number;
  /** What was being done: 'opening shard', 'writing shard', 'sealing shard', 'writing manifest copy'. */
  during: string;
  /** The errno name (ENOSPC, EIO, ...) when the failure was a system call, else the error's code. */
  errnoName?: string;
  errno?: number;
  syscall?: string;
  message: string;
}

export interface ErrorDetails {
  errno?: number;
  syscall?: string;
  path?: string;
  disk?: string;
  shard?: number;
  /** Every disk that dropped out, when several did. */
  disks?: DiskFailure[];
  cause?: unknown;
}

export class ShardVaultError extends Error {
  readonly code: ErrorCodeValue;
  errno?: number;
  syscall?: string;
  path?: string;
  disk?: string;
  shard?: number;
  disks?: DiskFailure[];

  constructor(code: ErrorCodeValue, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ShardVaultError';
    this.code = code;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.path !== undefined) this.path = details.path;
    if (details.disk !== undefined) this.disk = details.disk;
    if (details.shard !== undefined) this.shard = details.shard;
    if (details.disks !== undefined) this.disks = details.disks;
  }
}

/** A TypeError with a stable code. */
export function typeError(name: string, expected: string, actual: unknown): TypeError & { code: ErrorCodeValue } {
  const err = new TypeError(`Expected ${expected} for ${name} but received ${describe(actual)}`) as TypeError & {
    code: ErrorCodeValue;
  };
  err.code = ErrorCode.INVALID_ARG_TYPE;
  return err;
}

/** A RangeError with a stable code. */
export function rangeError(name: string, expected: string, actual: unknown): RangeError & { code: ErrorCodeValue } {
  const err = new RangeError(`Expected ${expected} for ${name} but received ${describe(actual)}`) as RangeError & {
    code: ErrorCodeValue;
  };
  err.code = ErrorCode.OUT_OF_RANGE;
  return err;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `"${shown}" of type string`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${value.byteLength}`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  return `value of type ${typeof value}`;
}

/** An error of one disk, naming it and keeping errno, syscall and path. */
export function diskError(name: string, path: string, err: unknown, during: string): ShardVaultError {
  const e = err as NodeJS.ErrnoException & { code?: string };
  if (err instanceof ShardVaultError && err.message.startsWith(name)) return err;
  const errnoName = errnoNameOf(e);
  const code = typeof e.code === 'string' && e.code.startsWith('ERR_SV_') ? (e.code as ErrorCodeValue) : ErrorCode.IO;
  return new ShardVaultError(code, `${name} (${path}): ${errnoName !== undefined ? `${errnoName} while ${during}: ` : `${during}: `}${e.message ?? String(err)}`, {
    cause: err, path, ...(typeof e.errno === 'number' ? { errno: e.errno } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}),
  });
}

/** The errno name of a Node or addon error (ENOSPC, EIO, ...), or undefined. */
export function errnoNameOf(e: { code?: unknown; errno?: unknown }): string | undefined {
  if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  if (typeof e.errno === 'number' && e.errno !== 0) {
    try {
      return getSystemErrorName(-Math.abs(e.errno));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
