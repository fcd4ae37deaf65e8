/**
 * An object's metadata at the engine's edge (issue 12, moved out of vault.ts for issue 11): the put options that
 * become manifest fields (content type, user metadata, MD5, system headers, stored checksum), validated and
 * bounded before anything is written (I7); write conditions (ifMatch / ifNoneMatch) and their check against
 * the current head; ETags (single-part and multipart) and the multipart content hash.
 */
import { ErrorCode, ShardVaultError, rangeError, typeError } from '../errors.js';
import { hex } from '../format/ids.js';
import { CHECKSUM_ALGORITHMS, CHECKSUM_DIGEST_BYTES, HEADER_VALUE_RE, MANIFEST_LIMITS, METADATA_NAME_RE, SYSTEM_HEADER_NAMES, type ChecksumAlgorithm, type Manifest, type SystemHeaders } from '../format/manifest.js';
import { blake3Sync } from '../hash.js';
import { oneOf, optionsObject } from '../validate.js';
import type { Head } from '../catalog/catalog.js';
import { isWellFormed } from './names.js';

const utf8 = new TextEncoder();

/** Key-derivation context of a multipart object's content hash (over its parts' content hashes). N.B. stored. */
export const MULTIPART_CONTENT_CONTEXT = 'shardvault/multipart-content/v1';

/** A checksum of the object bytes that the caller (the daemon) computed and verified; stored and returned. */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64 of the big-endian digest, as S3 sends it (x-amz-checksum-*). */
  value: string;
}

export interface PutOptions {
  principal?: string;
  /** '*': only create (S3 If-None-Match: *). ERR_SV_PRECONDITION_FAILED when a live (non-deleted) object
   *  exists; checked before the body is read and decided again at commit under the key's lock (compare-and-set:
   *  of two racing creates exactly one wins). A failed condition leaves nothing behind. */
  ifNoneMatch?: '*';
  /** Only replace the live object whose ETag is this (S3 If-Match; with or without surrounding quotes; '*'
   *  matches any live object). ERR_SV_PRECONDITION_FAILED otherwise, or when there is no live object; decided
   *  like ifNoneMatch. An object stored without an MD5 has no ETag and matches only '*'. */
  ifMatch?: string;
  /** S3 system headers, stored in the manifest (v3) and returned by head(): each 1..1024 printable ASCII bytes. */
  headers?: SystemHeaders;
  /** A checksum of the body the caller computed and verified (the engine does not recompute it); stored in the
   *  manifest (v3) and returned by head(). */
  checksum?: StoredChecksum;
  signal?: AbortSignal;
  /** Stored in the manifest (v2) and returned by head(): printable ASCII, at most 255 bytes. */
  contentType?: string;
  /** User metadata: names of lowercase token characters (a-z 0-9 ! # $ % & ' * + . ^ _ ` | ~ -), string
   *  values without control characters; names plus values at most 2 KiB of UTF-8 (ERR_SV_METADATA_TOO_LARGE). */
  metadata?: Record<string, string>;
  /** Declared MD5 of the body (Content-MD5: 16 bytes, 32 hex digits or base64): a mismatch fails the put with
   *  ERR_SV_BAD_DIGEST before anything is committed, and its files are removed. Implies computeMd5. */
  md5?: Uint8Array | string;
  /** Compute the body's MD5 and store it (head().etag, list() etag; the S3 ETag of a single-part put). Off by
   *  default: it runs on the main thread at 250-420 MiB/s on the reference CPU, below the put's own speed. */
  computeMd5?: boolean;
}

/** A write condition (PutOptions.ifNoneMatch / ifMatch), validated. */
export interface WriteCondition {
  ifNoneMatch?: '*';
  /** Lowercase, without quotes; '*' for any live object. */
  ifMatch?: string;
}

export type ManifestMetadata = Pick<Manifest, 'contentType' | 'metadata' | 'md5' | 'headers' | 'checksum'>;

export interface ObjectMetadataInput {
  headers?: SystemHeaders;
  checksum?: { algorithm: ChecksumAlgorithm; digest: Uint8Array };
  contentType?: string;
  metadata?: Record<string, string>;
  md5Expected?: Buffer;
  computeMd5: boolean;
}

/** The public edge for put's object metadata options (I7: bounded before anything is written). */
export function objectMetadata(o: PutOptions): ObjectMetadataInput {
  const out: ObjectMetadataInput = { computeMd5: false };
  if (o.contentType !== undefined) {
    if (typeof o.contentType !== 'string') throw typeError('contentType', 'a string', o.contentType);
    if (o.contentType.length > MANIFEST_LIMITS.contentTypeBytesMax) {
      throw new ShardVaultError(ErrorCode.METADATA_TOO_LARGE, `contentType is ${o.contentType.length} bytes, at most ${MANIFEST_LIMITS.contentTypeBytesMax}`);
    }
    if (!/^[\x20-\x7e]+$/.test(o.contentType)) throw rangeError('contentType', '1..255 printable ASCII characters', o.contentType);
    out.contentType = o.contentType;
  }
  if (o.metadata !== undefined) {
    if (o.metadata === null || typeof o.metadata !== 'object' || Array.isArray(o.metadata)) throw typeError('metadata', 'an object of string values', o.metadata);
    let total = 0;
    const entries: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(o.metadata)) {
      if (!METADATA_NAME_RE.test(name) || name.length > MANIFEST_LIMITS.metadataNameBytesMax) {
        throw rangeError(`metadata name "${name}"`, 'lowercase token characters (a-z 0-9 !#$%&\'*+.^_`|~-)', name);
      }
      if (typeof value !== 'string') throw typeError(`metadata.${name}`, 'a string', value);
      if (/[\x00-\x1f\x7f]/.test(value) || !isWellFormed(value)) throw rangeError(`metadata.${name}`, 'a string without control characters', value);
      total += utf8.encode(name).length + utf8.encode(value).length;
      entries.push([name, value]);
    }
    if (total > MANIFEST_LIMITS.metadataBytesMax) {
      throw new ShardVaultError(ErrorCode.METADATA_TOO_LARGE, `user metadata is ${total} bytes (names plus values), at most ${MANIFEST_LIMITS.metadataBytesMax}`);
    }
    if (entries.length > 0) out.metadata = Object.fromEntries(entries);
  }
  if (o.md5 !== undefined) {
    let b: Buffer | undefined;
    if (o.md5 instanceof Uint8Array) b = Buffer.from(o.md5);
    else if (typeof o.md5 === 'string') b = /^[0-9a-fA-F]{32}$/.test(o.md5) ? Buffer.from(o.md5, 'hex') : /^[A-Za-z0-9+/]{22}==$/.test(o.md5) ? Buffer.from(o.md5, 'base64') : undefined;
    else throw typeError('md5', 'a 16-byte Uint8Array or a hex or base64 string', o.md5);
    if (b === undefined || b.length !== 16) throw rangeError('md5', '16 bytes (32 hex digits or 24 base64 characters)', o.md5);
    out.md5Expected = b;
  }
  if (o.computeMd5 !== undefined && typeof o.computeMd5 !== 'boolean') throw typeError('computeMd5', 'a boolean', o.computeMd5);
  const headers = systemHeaders(o.headers);
  if (headers !== undefined) out.headers = headers;
  if (o.checksum !== undefined) out.checksum = storedChecksum(o.checksum);
  out.computeMd5 = o.computeMd5 === true || out.md5Expected !== undefined;
  return out;
}

export function manifestMetadata(m: ObjectMetadataInput, md5: Uint8Array | undefined): ManifestMetadata {
  return {
    ...(m.headers !== undefined ? { headers: m.headers } : {}),
    ...(m.checksum !== undefined ? { checksum: m.checksum } : {}),
    ...(m.contentType !== undefined ? { contentType: m.contentType } : {}),
    ...(m.metadata !== undefined ? { metadata: m.metadata } : {}),
    ...(md5 !== undefined ? { md5: Uint8Array.from(md5) } : {}),
  };
}

/** The public edge for system headers: known names only, each 1..1024 printable ASCII bytes (no CR/LF). */
export function systemHeaders(v: unknown): SystemHeaders | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError('headers', 'an object of system header values', v);
  const h = optionsObject<SystemHeaders>('headers', v, SYSTEM_HEADER_NAMES);
  const out: SystemHeaders = {};
  for (const name of SYSTEM_HEADER_NAMES) {
    const value = h[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw typeError(`headers.${name}`, 'a string', value);
    if (value.length > MANIFEST_LIMITS.headerBytesMax) {
      throw new ShardVaultError(ErrorCode.METADATA_TOO_LARGE, `headers.${name} is ${value.length} bytes, at most ${MANIFEST_LIMITS.headerBytesMax}`);
    }
    if (!HEADER_VALUE_RE.test(value)) throw rangeError(`headers.${name}`, `1..${MANIFEST_LIMITS.headerBytesMax} printable ASCII characters (no CR, LF or control characters)`, value);
    out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The public edge for a stored checksum: a known algorithm and the canonical base64 of a digest of its length. */
export function storedChecksum(v: unknown): { algorithm: ChecksumAlgorithm; digest: Uint8Array } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError('checksum', 'an object { algorithm, value }', v);
  const c = optionsObject<StoredChecksum>('checksum', v, ['algorithm', 'value']);
  const algorithm = oneOf('checksum.algorithm', c.algorithm, CHECKSUM_ALGORITHMS);
  if (typeof c.value !== 'string') throw typeError('checksum.value', 'a base64 string', c.value);
  const digest = Buffer.from(c.value, 'base64');
  if (digest.length !== CHECKSUM_DIGEST_BYTES[algorithm] || digest.toString('base64') !== c.value) {
    throw rangeError('checksum.value', `the base64 of a ${CHECKSUM_DIGEST_BYTES[algorithm]}-byte ${algorithm} digest`, c.value);
  }
  return { algorithm, digest: Uint8Array.from(digest) };
}

/** The public edge for a put's write condition. */
export function writeCondition(o: PutOptions): WriteCondition {
  const out: WriteCondition = {};
  if (o.ifNoneMatch !== undefined) {
    if (o.ifNoneMatch !== '*') throw rangeError('ifNoneMatch', "'*'", o.ifNoneMatch);
    out.ifNoneMatch = '*';
  }
  if (o.ifMatch !== undefined) {
    if (typeof o.ifMatch !== 'string') throw typeError('ifMatch', 'an ETag string', o.ifMatch);
    const e = o.ifMatch.length >= 2 && o.ifMatch.startsWith('"') && o.ifMatch.endsWith('"') ? o.ifMatch.slice(1, -1) : o.ifMatch;
    if (e !== '*' && !/^[0-9a-fA-F]{32}(-[0-9]{1,5})?$/.test(e)) throw rangeError('ifMatch', 'an ETag (32 hex digits, optionally -N) or *', o.ifMatch);
    out.ifMatch = e.toLowerCase();
  }
  return out;
}

/** Throws ERR_SV_PRECONDITION_FAILED when `head` (the current one) does not meet `c`. */
export function checkCondition(bucket: string, key: string, head: Head | undefined, c: WriteCondition): void {
  const live = head !== undefined && !head.tombstone;
  if (c.ifNoneMatch === '*' && live) {
    throw new ShardVaultError(ErrorCode.PRECONDITION_FAILED, `${bucket}/${key} exists (ifNoneMatch '*')`);
  }
  if (c.ifMatch !== undefined && (!live || (c.ifMatch !== '*' && head.etag !== c.ifMatch))) {
    throw new ShardVaultError(ErrorCode.PRECONDITION_FAILED, live ? `${bucket}/${key} has ETag ${head.etag ?? '(none)'}, not ${c.ifMatch}` : `${bucket}/${key} does not exist (ifMatch ${c.ifMatch})`);
  }
}

export function etagOf(m: Pick<Manifest, 'md5' | 'parts'>): { etag?: string } {
  if (m.md5 === undefined) return {};
  return { etag: m.parts !== undefined ? multipartEtag(m.md5, m.parts.length) : hex(m.md5) };
}

/** The content hash of a multipart object: BLAKE3 derive MULTIPART_CONTENT_CONTEXT of its parts' content hashes. */
export function multipartContentHash(partHashes: readonly Uint8Array[]): Uint8Array {
  return blake3Sync(Buffer.concat(partHashes), { context: MULTIPART_CONTENT_CONTEXT });
}

/** The S3 ETag of a multipart object: hex MD5 of the parts' MD5 bytes, '-', the part count. */
export function multipartEtag(md5OfMd5s: Uint8Array, parts: number): string {
  return `${hex(md5OfMd5s)}-${parts}`;
}
