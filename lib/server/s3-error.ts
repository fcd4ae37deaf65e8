/**
 * S3 errors: one class for everything the daemon answers with an error, and ONE table mapping every engine
 * error code (lib/errors.ts ErrorCode, plus the codes the engine adds for conditional writes and multipart)
 * to an S3 code and HTTP status. Auth errors (lib/auth AuthError) carry their own s3Code and status.
 */
import { ShardVaultError } from '../errors.js';

export class S3Error extends Error {
  readonly s3Code: string;
  readonly status: number;
  /** Extra elements of the XML error body (e.g. Key, BucketName, ArgumentName). */
  readonly extra: Record<string, string>;
  /** Response headers to add (e.g. Retry-After, Allow). */
  readonly headers: Record<string, string>;
  /** For the metrics and the audit: why (a short label), when it is an authentication failure. */
  readonly reason?: string;

  constructor(s3Code: string, status: number, message: string, opts: { extra?: Record<string, string>; headers?: Record<string, string>; reason?: string; cause?: unknown } = {}) {
    super(message.length > 0 ? message : s3Code, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'S3Error';
    this.s3Code = s3Code;
    this.status = status;
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
    if (opts.reason !== undefined) this.reason = opts.reason;
  }
}

/** Engine code -> [S3 code, status, message override]. The message override hides internals (paths, disk
 *  ids) the client must not see; absent: the engine's message is safe to show. */
const ENGINE_TO_S3: Record<string, [string, number, string?]> = {
  ERR_SV_INVALID_ARG_TYPE: ['InvalidArgument', 400],
  ERR_SV_OUT_OF_RANGE: ['InvalidArgument', 400],
  ERR_SV_UNKNOWN_OPTION: ['InvalidArgument', 400],
  ERR_SV_SHARD_SIZE_MISMATCH: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_SHARD_COUNT: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_SHARD_OVERLAP: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_TOO_FEW_SHARDS: ['ServiceUnavailable', 503, 'Too few disks hold readable shards of this object right now.'],
  ERR_SV_BAD_TARGETS: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_KERNEL_UNAVAILABLE: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_NATIVE_UNAVAILABLE: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_BUFFER_BUSY: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_ABORTED: ['RequestTimeout', 400, 'The request was aborted before it completed.'],
  ERR_SV_IO: ['InternalError', 500, 'A disk failed while serving the request.'],
  ERR_SV_CORRUPT: ['InternalError', 500, 'Stored data failed verification and could not be reconstructed.'],
  ERR_SV_FSYNC_FAILED: ['InternalError', 500, 'A disk failed while serving the request.'],
  ERR_SV_DISK_IDENTITY: ['ServiceUnavailable', 503, 'A disk of the pool is not usable.'],
  ERR_SV_SHORT_READ: ['InternalError', 500, 'Stored data failed verification and could not be reconstructed.'],
  ERR_SV_MANIFEST_FORMAT: ['InternalError', 500, 'Stored metadata failed verification.'],
  ERR_SV_MANIFEST_SIGNATURE: ['InternalError', 500, 'Stored metadata failed verification.'],
  ERR_SV_NOT_FOUND: ['NoSuchKey', 404, 'The specified key does not exist.'],
  ERR_SV_CONFLICT: ['ConditionalRequestConflict', 409, 'A conflicting operation occurred. If using PutObject you can retry the request.'],
  ERR_SV_PLACEMENT: ['ServiceUnavailable', 503, 'Too few disks or failure domains are online to place the object.'],
  ERR_SV_WRITER_STATE: ['InternalError', 500, 'We encountered an internal error. Please try again.'],
  ERR_SV_NO_SUCH_BUCKET: ['NoSuchBucket', 404, 'The specified bucket does not exist.'],
  ERR_SV_POOL_BUSY: ['ServiceUnavailable', 503, 'The pool is busy.'],
  ERR_SV_BUCKET_EXISTS: ['BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  ERR_SV_BUCKET_NOT_EMPTY: ['BucketNotEmpty', 409, 'The bucket you tried to delete is not empty.'],
  ERR_SV_INVALID_BUCKET_NAME: ['InvalidBucketName', 400],
  ERR_SV_READ_ONLY: ['ServiceUnavailable', 503, 'The pool is open read-only.'],
  ERR_SV_INVALID_TOKEN: ['InvalidArgument', 400, 'The continuation token provided is incorrect.'],
  ERR_SV_BAD_DIGEST: ['BadDigest', 400, 'The Content-MD5 you specified did not match what we received.'],
  ERR_SV_METADATA_TOO_LARGE: ['MetadataTooLarge', 400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  ERR_SV_NO_SUCH_DISK: ['InvalidArgument', 400],
  ERR_SV_CATALOG_FAILED: ['ServiceUnavailable', 503, 'The catalog refuses writes until the pool is reopened.'],
  ERR_SV_NO_SPACE: ['InsufficientStorage', 507, 'The pool ran out of space.'],
  // lib/auth's AuthError carries ERR_SV_AUTH and its own S3 code (toS3Error uses that first).
  ERR_SV_AUTH: ['AccessDenied', 403, 'Access Denied'],
  // Added by the engine for the daemon (conditional writes, multipart):
  ERR_SV_PRECONDITION_FAILED: ['PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold.'],
  ERR_SV_NO_SUCH_UPLOAD: ['NoSuchUpload', 404, 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.'],
  ERR_SV_INVALID_PART: ['InvalidPart', 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."],
  ERR_SV_INVALID_PART_ORDER: ['InvalidPartOrder', 400, 'The list of parts was not in ascending order. The parts list must be specified in order by part number.'],
  ERR_SV_ENTITY_TOO_SMALL: ['EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  // Issue 13: keys, floor, freshness and formats.
  ERR_SV_KEY_REVOKED: ['InternalError', 500, 'The stored object is signed only by a revoked key; it is queued for re-signing.'],
  ERR_SV_FLOOR: ['InvalidRequest', 400, 'The request would weaken the pool below its security floor.'],
  ERR_SV_ROLLBACK: ['ServiceUnavailable', 503, 'ERR_SV_ROLLBACK: The store is older than its freshness witness.'],
  // A client that sent x-shardvault-min-sequence tells this 503 from overload by the code in the message.
  ERR_SV_STALE: ['ServiceUnavailable', 503, 'ERR_SV_STALE: The store cannot yet serve the minimum sequence asked for (x-shardvault-min-sequence).'],
  ERR_SV_FORMAT_VERSION: ['ServiceUnavailable', 503, 'The pool format is not one this release reads.'],
  ERR_SV_UPGRADE_PENDING: ['InvalidRequest', 400, 'This needs the new pool format: finalize the upgrade first.'],
};

/** The S3 codes the table can produce for engine errors (tests check every ErrorCode is mapped). */
export function engineCodeMapping(code: string): { s3Code: string; status: number } | undefined {
  const row = ENGINE_TO_S3[code];
  return row === undefined ? undefined : { s3Code: row[0], status: row[1] };
}

interface AuthLike { s3Code: string; status: number; reason?: string; message: string }
function isAuthLike(err: unknown): err is AuthLike {
  return err instanceof Error && typeof (err as Partial<AuthLike>).s3Code === 'string' && typeof (err as Partial<AuthLike>).status === 'number';
}

/** Any error -> the S3Error to answer with. Unknown errors are InternalError with a message that reveals nothing. */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (isAuthLike(err)) return new S3Error(err.s3Code, err.status, err.message, { ...(err.reason !== undefined ? { reason: err.reason } : {}), cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof ShardVaultError || typeof code === 'string') {
    const row = typeof code === 'string' ? ENGINE_TO_S3[code] : undefined;
    if (row !== undefined) return new S3Error(row[0], row[1], row[2] ?? (err as Error).message, { cause: err });
  }
  return new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.', { cause: err });
}
