/**
 * List continuation tokens (S3 ListObjectsV2 `ContinuationToken`): opaque to the caller, base64url of
 *   JSON [1, bucket, prefix, delimiter|null, last, lastIsPrefix 0|1] || tag[16]
 * where tag = keyed BLAKE3 (first 16 bytes) of the JSON under a per-pool secret derived from the pool key
 * (`listTokenKey`). The tag makes a forged or edited token (another bucket, a prefix widened past an access
 * policy, a position the caller made up) fail with ERR_SV_INVALID_TOKEN, and binds the token to bucket,
 * prefix and delimiter: it is only valid for the listing it came from. Tokens do not expire (S3's do not
 * either); a token stays valid across restarts while the pool key does.
 */
import { timingSafeEqual, type KeyObject } from 'node:crypto';

import { ErrorCode, ShardVaultError } from './errors.js';
import { blake3Sync } from './hash.js';

const TAG_BYTES = 16;
/** A token is at most this long (characters): bounds decoding work (I7). Key 1024 B + prefix 1024 B, JSON-escaped. */
export const TOKEN_CHARS_MAX = 16 * 1024;

export interface ListPosition {
  bucket: string;
  prefix: string;
  delimiter: string | undefined;
  /** The last key (or common prefix, `isPrefix`) the previous page returned. */
  last: string;
  isPrefix: boolean;
}

/** The per-pool secret that authenticates tokens: derived from the pool's private key (never stored apart). */
export function listTokenKey(privateKey: KeyObject): Uint8Array {
  return blake3Sync(privateKey.export({ format: 'der', type: 'pkcs8' }), { context: 'shardvault/list-token-key/v1' });
}

function tag(key: Uint8Array, payload: Uint8Array): Uint8Array {
  return blake3Sync(payload, { key }).subarray(0, TAG_BYTES);
}

export function encodeListToken(key: Uint8Array, p: ListPosition): string {
  const payload = Buffer.from(JSON.stringify([1, p.bucket, p.prefix, p.delimiter ?? null, p.last, p.isPrefix ? 1 : 0]), 'utf8');
  return Buffer.concat([payload, tag(key, payload)]).toString('base64url');
}

function invalid(why: string): ShardVaultError {
  return new ShardVaultError(ErrorCode.INVALID_TOKEN, `continuation token ${why}`);
}

/**
 * Checks a token's tag and that it belongs to this listing (bucket, prefix, delimiter); returns where to resume.
 * Everything else is ERR_SV_INVALID_TOKEN.
 */
export function decodeListToken(key: Uint8Array, tokenUntrusted: unknown, expect: { bucket: string; prefix: string; delimiter: string | undefined }): { last: string; isPrefix: boolean } {
  if (typeof tokenUntrusted !== 'string' || tokenUntrusted.length === 0) throw invalid('must be a non-empty string');
  if (tokenUntrusted.length > TOKEN_CHARS_MAX) throw invalid(`is longer than ${TOKEN_CHARS_MAX} characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(tokenUntrusted)) throw invalid('is not base64url');
  const raw = Buffer.from(tokenUntrusted, 'base64url');
  if (raw.length <= TAG_BYTES || raw.toString('base64url') !== tokenUntrusted) throw invalid('is malformed');
  const payload = raw.subarray(0, raw.length - TAG_BYTES);
  if (!timingSafeEqual(tag(key, payload), raw.subarray(raw.length - TAG_BYTES))) throw invalid('does not verify (forged, altered, or from another pool)');
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw invalid('is malformed');
  }
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== 1 || typeof v[1] !== 'string' || typeof v[2] !== 'string' || (v[3] !== null && typeof v[3] !== 'string') ||
    typeof v[4] !== 'string' || (v[5] !== 0 && v[5] !== 1)) {
    throw invalid('is malformed');
  }
  if (v[1] !== expect.bucket || v[2] !== expect.prefix || (v[3] ?? undefined) !== expect.delimiter) {
    throw invalid('belongs to another listing (bucket, prefix or delimiter differ)');
  }
  return { last: v[4] as string, isPrefix: v[5] === 1 };
}
