/**
 * Manifests (DESIGN.md section 2): canonical, versioned, bounded bytes for one object version, signed with
 * Ed25519 over a domain-separated message. Decoding checks every length before allocating (I7) and rejects
 * anything that is not exactly one canonical encoding, so a manifest has one byte form and one hash.
 *
 * Layout v1 (big-endian integers; str8/str16 = u8/u16 length then UTF-8):
 *   "SVMF" u16 version=1 | str8 bucket | str16 key | versionId[16] | u64 sequence | u64 size |
 *   contentHash[32] | u8 tombstone | u16 k | u16 m | u32 blockBytes | u32 stripeCount |
 *   u16 placementCount, str8 diskId x count | hashTableRoot[32] | str8 principal | u64 timeMs |
 *   signerKeyId[16] | u32 inlineLength, inline bytes
 * Layout v2 (issue 10: object metadata) = the v1 layout with version=2, followed by
 *   u8 present (bit 0 contentType, bit 1 md5; other bits 0) | [str8 contentType] | [md5[16]] |
 *   u16 metadataCount, (str8 name, str16 value) x count   (names strictly ascending in byte order)
 * Layout v3 (issue 12: S3 system headers and stored checksums) = the v2 layout with version=3 (its metadata
 * block always present, possibly empty), followed by
 *   u8 ext (bit 0 headers, bit 1 checksum; other bits 0; never 0) |
 *   [u8 headerMask (bit 0 contentEncoding, 1 contentDisposition, 2 cacheControl, 3 expires, 4 contentLanguage;
 *    never 0, other bits 0), str16 value per set bit in bit order (1..1024 printable ASCII bytes)] |
 *   [u8 checksumAlgorithm (1 crc32, 2 crc32c, 3 crc64nvme, 4 sha1, 5 sha256), digest (4, 4, 8, 20, 32 bytes)]
 * Layout v4 (issue 12: a multipart object composed of its parts' stripes) = the v3 layout with version=4 (its
 * ext byte may be 0 here), followed by
 *   u16 partCount (1..10000) | u16 diskCount (1..256), str8 diskId x diskCount (strictly ascending, each used) |
 *   per part: u16 partNumber (strictly ascending, 1..10000) | partId[16] | u64 size | contentHash[32] | md5[16] |
 *             u8 diskIndex x placementCount (the part's own placement: shard i -> disk table entry)
 *   Each part has max(1, ceil(size / (k x blockBytes))) stripes; stripeCount is their sum and size the sum of
 *   the part sizes (checked), the hash table is the parts' tables in order, contentHash = BLAKE3 derive
 *   "shardvault/multipart-content/v1" of the parts' content hashes, md5 = MD5 of the parts' MD5s (the S3 ETag
 *   without its "-N"), inline empty, not a tombstone.
 * The lowest version that can hold a manifest's fields is written: v1 without metadata, v2 with metadata but
 * no v3 field, v3 only with system headers or a checksum, v4 only for a multipart object. So manifests that do not use a newer field are
 * byte for byte what older releases wrote and stay readable by them (DESIGN.md 9). The decoder accepts all
 * three and refuses a manifest written at a higher version than its fields need (one byte form per
 * manifest). docs/formats.md has the rationale.
 * A signed manifest is those bytes followed by the 64-byte signature of
 *   "shardvault/manifest/v1\0" || bytes
 * (one domain for both versions: the version field is inside the signed bytes, so the signature covers the
 * metadata and a v2 manifest cannot be passed off as v1 or back).
 * N.B. Any change here changes stored bytes: add a new version instead.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

import { ErrorCode, ShardVaultError } from '../errors.js';

/** The newest manifest version this release writes (v1 for manifests without metadata, see above). */
export const MANIFEST_VERSION = 4;
export const MANIFEST_VERSIONS_READ = [1, 2, 3, 4] as const;
export const MANIFEST_LIMITS = {
  bucketBytesMax: 63,
  keyBytesMax: 1024,
  diskIdBytesMax: 64,
  principalBytesMax: 128,
  shardCountMax: 256,
  inlineBytesMax: 1 << 20,
  contentTypeBytesMax: 255,
  /** User metadata: names plus values, UTF-8 bytes (S3's limit for x-amz-meta-*). */
  metadataBytesMax: 2048,
  metadataNameBytesMax: 255,
  /** Each system header value (v3), printable ASCII bytes. */
  headerBytesMax: 1024,
  /** Parts of a multipart object (v4), and the highest part number (S3's). */
  partsMax: 10000,
} as const;

/** One part of a multipart object (v4): its own stripes, placement and hash table slice. */
export interface ManifestPart {
  /** The S3 part number (1..10000). */
  number: number;
  /** The part's id (16 bytes): its shard files are named with it as a version id is. */
  partId: Uint8Array;
  size: number;
  /** BLAKE3 of the part's bytes. */
  contentHash: Uint8Array;
  /** MD5 of the part's bytes (its S3 ETag). */
  md5: Uint8Array;
  /** Shard index -> disk id. */
  placement: string[];
}

/** Stripes of a part of `size` bytes (an empty part still has one zero stripe, as an empty striped object). */
export function partStripes(size: number, k: number, blockBytes: number): number {
  return Math.max(1, Math.ceil(size / (k * blockBytes)));
}

/** S3 system headers stored with an object (v3). */
export interface SystemHeaders {
  contentEncoding?: string;
  contentDisposition?: string;
  cacheControl?: string;
  expires?: string;
  contentLanguage?: string;
}
/** The v3 header mask's bit order. N.B. stored bytes: append only. */
export const SYSTEM_HEADER_NAMES = ['contentEncoding', 'contentDisposition', 'cacheControl', 'expires', 'contentLanguage'] as const;
/** A system header value: printable ASCII (no CR, LF or other control characters: no header injection). */
export const HEADER_VALUE_RE = /^[\x20-\x7e]+$/;
/** Checksum algorithms (v3) in their stored id order (id = index + 1) and their digest lengths. N.B. stored bytes. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export const CHECKSUM_DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };
/** A user-metadata name: lowercase RFC 9110 token characters (S3 lowercases x-amz-meta-* names). */
export const METADATA_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const MAGIC = [0x53, 0x56, 0x4d, 0x46]; // "SVMF"
const SIGNATURE_DOMAIN = new TextEncoder().encode('shardvault/manifest/v1\0');
const SIGNATURE_BYTES = 64;

export interface Manifest {
  bucket: string;
  key: string;
  versionId: Uint8Array; // 16 bytes
  sequence: bigint;
  size: number;
  contentHash: Uint8Array; // 32 bytes
  tombstone: boolean;
  k: number;
  m: number;
  blockBytes: number;
  stripeCount: number;
  placement: string[]; // shard index -> disk id
  hashTableRoot: Uint8Array; // 32 bytes
  principal: string;
  timeMs: number;
  signerKeyId: Uint8Array; // 16 bytes
  inline: Uint8Array;
  /** v2 only: the object's Content-Type. */
  contentType?: string;
  /** v2 only: user metadata (lowercase token names). */
  metadata?: Record<string, string>;
  /** v2 only: MD5 of the object bytes (the S3 ETag of a single-part put). */
  md5?: Uint8Array;
  /** v3 only: S3 system headers (at least one when present). */
  headers?: SystemHeaders;
  /** v3 only: a checksum of the object bytes the writer computed and verified (big-endian digest bytes). */
  checksum?: { algorithm: ChecksumAlgorithm; digest: Uint8Array };
  /** v4 only: the parts of a multipart object, in order. */
  parts?: ManifestPart[];
}

const utf8 = new TextEncoder();
const byteOrder = (a: string, b: string) => Buffer.compare(utf8.encode(a), utf8.encode(b));

/** Whether `m` has any v3 field (then it is written as v3). */
export function hasV3Fields(m: Pick<Manifest, 'headers' | 'checksum'>): boolean {
  return m.checksum !== undefined || (m.headers !== undefined && SYSTEM_HEADER_NAMES.some((h) => m.headers![h] !== undefined));
}

/** Whether `m` has any v2 field (then it is written as v2, or v3 when it has a v3 field too). */
export function hasObjectMetadata(m: Pick<Manifest, 'contentType' | 'metadata' | 'md5'>): boolean {
  return m.contentType !== undefined || m.md5 !== undefined || (m.metadata !== undefined && Object.keys(m.metadata).length > 0);
}

function formatError(message: string): ShardVaultError {
  return new ShardVaultError(ErrorCode.MANIFEST_FORMAT, `manifest: ${message}`);
}

/** Big-endian field writer of the pure formats (manifests, key rings); `error` makes their format errors. */
export class Writer {
  private readonly parts: Uint8Array[] = [];
  private readonly enc = new TextEncoder();
  constructor(private readonly error: (message: string) => ShardVaultError = formatError) {}
  u8(v: number) {
    this.parts.push(Uint8Array.of(v));
  }
  u16(v: number) {
    this.parts.push(Uint8Array.of(v >>> 8, v & 0xff));
  }
  u32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    this.parts.push(b);
  }
  u64(v: bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v);
    this.parts.push(b);
  }
  fixed(b: Uint8Array, len: number, name: string) {
    if (!(b instanceof Uint8Array) || b.length !== len) throw this.error(`${name} must be ${len} bytes`);
    this.parts.push(b);
  }
  str(s: string, lenBytes: 1 | 2, max: number, name: string) {
    if (typeof s !== 'string') throw this.error(`${name} must be a string`);
    const b = this.enc.encode(s);
    if (b.length > max) throw this.error(`${name} is ${b.length} bytes, at most ${max}`);
    if (lenBytes === 1) this.u8(b.length);
    else this.u16(b.length);
    this.parts.push(b);
  }
  bytes(): Uint8Array {
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Big-endian field reader of the pure formats: every length is checked before anything is read or allocated. */
export class Reader {
  private at = 0;
  private readonly view: DataView;
  private readonly dec = new TextDecoder('utf-8', { fatal: true });
  constructor(private readonly b: Uint8Array, private readonly error: (message: string) => ShardVaultError = formatError) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number) {
    if (this.at + n > this.b.length) throw this.error(`truncated at byte ${this.at}`);
  }
  u8() {
    this.need(1);
    return this.b[this.at++];
  }
  u16() {
    this.need(2);
    const v = this.view.getUint16(this.at);
    this.at += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }
  u64() {
    this.need(8);
    const v = this.view.getBigUint64(this.at);
    this.at += 8;
    return v;
  }
  fixed(n: number) {
    this.need(n);
    const v = this.b.slice(this.at, this.at + n);
    this.at += n;
    return v;
  }
  str(lenBytes: 1 | 2, max: number, name: string) {
    const len = lenBytes === 1 ? this.u8() : this.u16();
    if (len > max) throw this.error(`${name} length ${len} exceeds ${max}`);
    this.need(len);
    try {
      const s = this.dec.decode(this.b.subarray(this.at, this.at + len));
      this.at += len;
      return s;
    } catch {
      throw this.error(`${name} is not valid UTF-8`);
    }
  }
  end() {
    if (this.at !== this.b.length) throw this.error(`${this.b.length - this.at} trailing bytes`);
  }
}

/** Canonical bytes of a manifest (throws ERR_SV_MANIFEST_FORMAT for out-of-bounds fields). */
export function encodeManifest(m: Manifest): Uint8Array {
  const w = new Writer();
  MAGIC.forEach((b) => w.u8(b));
  const v4 = m.parts !== undefined;
  const v3 = v4 || hasV3Fields(m);
  const v2 = v3 || hasObjectMetadata(m);
  w.u16(v4 ? 4 : v3 ? 3 : v2 ? 2 : 1);
  w.str(m.bucket, 1, MANIFEST_LIMITS.bucketBytesMax, 'bucket');
  w.str(m.key, 2, MANIFEST_LIMITS.keyBytesMax, 'key');
  w.fixed(m.versionId, 16, 'versionId');
  if (typeof m.sequence !== 'bigint' || m.sequence < 0n || m.sequence >= 2n ** 64n) throw formatError('sequence must be a u64 bigint');
  w.u64(m.sequence);
  if (!Number.isSafeInteger(m.size) || m.size < 0) throw formatError('size must be a non-negative safe integer');
  w.u64(BigInt(m.size));
  w.fixed(m.contentHash, 32, 'contentHash');
  w.u8(m.tombstone ? 1 : 0);
  for (const [name, v, max] of [['k', m.k, 256], ['m', m.m, 255]] as const) {
    if (!Number.isInteger(v) || v < (name === 'k' ? 1 : 0) || v > max) throw formatError(`${name} out of range`);
  }
  if (m.k + m.m > MANIFEST_LIMITS.shardCountMax) throw formatError('k + m exceeds 256');
  w.u16(m.k);
  w.u16(m.m);
  for (const [name, v] of [['blockBytes', m.blockBytes], ['stripeCount', m.stripeCount]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw formatError(`${name} out of range`);
  }
  w.u32(m.blockBytes);
  w.u32(m.stripeCount);
  if (!Array.isArray(m.placement) || m.placement.length > MANIFEST_LIMITS.shardCountMax) throw formatError('placement too long');
  w.u16(m.placement.length);
  for (const d of m.placement) w.str(d, 1, MANIFEST_LIMITS.diskIdBytesMax, 'disk id');
  w.fixed(m.hashTableRoot, 32, 'hashTableRoot');
  w.str(m.principal, 1, MANIFEST_LIMITS.principalBytesMax, 'principal');
  if (!Number.isSafeInteger(m.timeMs) || m.timeMs < 0) throw formatError('timeMs out of range');
  w.u64(BigInt(m.timeMs));
  w.fixed(m.signerKeyId, 16, 'signerKeyId');
  if (!(m.inline instanceof Uint8Array) || m.inline.length > MANIFEST_LIMITS.inlineBytesMax) throw formatError('inline data too large');
  w.u32(m.inline.length);
  w.fixed(m.inline, m.inline.length, 'inline');
  if (v2) {
    w.u8((m.contentType !== undefined ? 1 : 0) | (m.md5 !== undefined ? 2 : 0));
    if (m.contentType !== undefined) w.str(m.contentType, 1, MANIFEST_LIMITS.contentTypeBytesMax, 'contentType');
    if (m.md5 !== undefined) w.fixed(m.md5, 16, 'md5');
    const entries = Object.entries(m.metadata ?? {}).sort(([a], [b]) => byteOrder(a, b));
    let total = 0;
    for (const [name, value] of entries) {
      if (typeof name !== 'string' || !METADATA_NAME_RE.test(name) || typeof value !== 'string') throw formatError('metadata names must be lowercase tokens and values strings');
      total += utf8.encode(name).length + utf8.encode(value).length;
    }
    if (total > MANIFEST_LIMITS.metadataBytesMax) throw formatError(`metadata is ${total} bytes, at most ${MANIFEST_LIMITS.metadataBytesMax}`);
    w.u16(entries.length);
    for (const [name, value] of entries) {
      w.str(name, 1, MANIFEST_LIMITS.metadataNameBytesMax, 'metadata name');
      w.str(value, 2, MANIFEST_LIMITS.metadataBytesMax, 'metadata value');
    }
  }
  if (v3) {
    const headers = m.headers ?? {};
    const present = SYSTEM_HEADER_NAMES.filter((h) => headers[h] !== undefined);
    w.u8((present.length > 0 ? 1 : 0) | (m.checksum !== undefined ? 2 : 0));
    if (present.length > 0) {
      w.u8(present.reduce((mask, h) => mask | (1 << SYSTEM_HEADER_NAMES.indexOf(h)), 0));
      for (const h of present) {
        const v = headers[h]!;
        if (typeof v !== 'string' || !HEADER_VALUE_RE.test(v)) throw formatError(`header ${h} must be printable ASCII`);
        w.str(v, 2, MANIFEST_LIMITS.headerBytesMax, `header ${h}`);
      }
    }
    if (m.checksum !== undefined) {
      const id = CHECKSUM_ALGORITHMS.indexOf(m.checksum.algorithm);
      if (id < 0) throw formatError('unknown checksum algorithm');
      w.u8(id + 1);
      w.fixed(m.checksum.digest, CHECKSUM_DIGEST_BYTES[m.checksum.algorithm], `${m.checksum.algorithm} digest`);
    }
  }
  if (v4) encodeParts(w, m);
  return w.bytes();
}

function encodeParts(w: Writer, m: Manifest): void {
  const parts = m.parts!;
  if (!Array.isArray(parts) || parts.length < 1 || parts.length > MANIFEST_LIMITS.partsMax) throw formatError(`a multipart manifest has 1..${MANIFEST_LIMITS.partsMax} parts`);
  if (m.tombstone || m.inline.length !== 0 || m.blockBytes < 1) throw formatError('a multipart manifest is striped: no tombstone, no inline data');
  const disks = [...new Set(parts.flatMap((p) => p.placement))].sort(byteOrder);
  if (disks.length > MANIFEST_LIMITS.shardCountMax) throw formatError('parts use more than 256 disks');
  const index = new Map(disks.map((d, i) => [d, i]));
  let size = 0;
  let stripes = 0;
  let previous = 0;
  for (const p of parts) {
    if (!Number.isInteger(p.number) || p.number <= previous || p.number > MANIFEST_LIMITS.partsMax) throw formatError('part numbers must be strictly ascending in 1..10000');
    if (!Number.isSafeInteger(p.size) || p.size < 0) throw formatError('part size out of range');
    if (!Array.isArray(p.placement) || p.placement.length !== m.placement.length) throw formatError('a part placement has as many shards as the manifest placement');
    previous = p.number;
    size += p.size;
    stripes += partStripes(p.size, m.k, m.blockBytes);
  }
  if (size !== m.size || stripes !== m.stripeCount) throw formatError('size and stripeCount must be the sums over the parts');
  w.u16(parts.length);
  w.u16(disks.length);
  for (const d of disks) w.str(d, 1, MANIFEST_LIMITS.diskIdBytesMax, 'part disk id');
  for (const p of parts) {
    w.u16(p.number);
    w.fixed(p.partId, 16, 'partId');
    w.u64(BigInt(p.size));
    w.fixed(p.contentHash, 32, 'part contentHash');
    w.fixed(p.md5, 16, 'part md5');
    for (const d of p.placement) w.u8(index.get(d)!);
  }
}

function decodeParts(r: Reader, m: Omit<Manifest, 'parts'>): ManifestPart[] {
  const count = r.u16();
  if (count < 1 || count > MANIFEST_LIMITS.partsMax) throw formatError('part count out of range');
  if (m.tombstone || m.inline.length !== 0 || m.blockBytes < 1) throw formatError('a multipart manifest is striped: no tombstone, no inline data');
  const diskCount = r.u16();
  if (diskCount < 1 || diskCount > MANIFEST_LIMITS.shardCountMax) throw formatError('part disk count out of range');
  const disks: string[] = [];
  for (let i = 0; i < diskCount; i++) {
    const d = r.str(1, MANIFEST_LIMITS.diskIdBytesMax, 'part disk id');
    if (i > 0 && byteOrder(disks[i - 1], d) >= 0) throw formatError('part disk ids not strictly ascending');
    disks.push(d);
  }
  const used = new Array<boolean>(diskCount).fill(false);
  const parts: ManifestPart[] = [];
  let size = 0;
  let stripes = 0;
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const number = r.u16();
    if (number <= previous || number > MANIFEST_LIMITS.partsMax) throw formatError('part numbers not strictly ascending in 1..10000');
    previous = number;
    const partId = r.fixed(16);
    const size64 = r.u64();
    if (size64 > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('part size out of range');
    const contentHash = r.fixed(32);
    const md5 = r.fixed(16);
    const placement: string[] = [];
    for (let s = 0; s < m.placement.length; s++) {
      const at = r.u8();
      if (at >= diskCount) throw formatError('part disk index out of range');
      used[at] = true;
      placement.push(disks[at]);
    }
    size += Number(size64);
    if (!Number.isSafeInteger(size)) throw formatError('size out of range');
    stripes += partStripes(Number(size64), m.k, m.blockBytes);
    parts.push({ number, partId, size: Number(size64), contentHash, md5, placement });
  }
  if (used.includes(false)) throw formatError('a part disk id no part uses');
  if (size !== m.size || stripes !== m.stripeCount) throw formatError('size and stripeCount are not the sums over the parts');
  return parts;
}

/** Parses canonical bytes. The result is untrusted until its signature has been verified. */
export function decodeManifest(bytesUntrusted: Uint8Array): Manifest {
  if (!(bytesUntrusted instanceof Uint8Array)) throw formatError('expected bytes');
  const r = new Reader(bytesUntrusted);
  for (const b of MAGIC) if (r.u8() !== b) throw formatError('bad magic');
  const version = r.u16();
  if (version < 1 || version > 4) throw formatError(`unknown version ${version}`);
  const bucket = r.str(1, MANIFEST_LIMITS.bucketBytesMax, 'bucket');
  const key = r.str(2, MANIFEST_LIMITS.keyBytesMax, 'key');
  const versionId = r.fixed(16);
  const sequence = r.u64();
  const size64 = r.u64();
  if (size64 > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('size out of range');
  const contentHash = r.fixed(32);
  const tomb = r.u8();
  if (tomb > 1) throw formatError('tombstone flag must be 0 or 1');
  const k = r.u16();
  const m = r.u16();
  if (k < 1 || m > 255 || k + m > MANIFEST_LIMITS.shardCountMax) throw formatError('k, m out of range');
  const blockBytes = r.u32();
  const stripeCount = r.u32();
  const placementCount = r.u16();
  if (placementCount > MANIFEST_LIMITS.shardCountMax) throw formatError('placement too long');
  const placement: string[] = [];
  for (let i = 0; i < placementCount; i++) placement.push(r.str(1, MANIFEST_LIMITS.diskIdBytesMax, 'disk id'));
  const hashTableRoot = r.fixed(32);
  const principal = r.str(1, MANIFEST_LIMITS.principalBytesMax, 'principal');
  const time64 = r.u64();
  if (time64 > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('timeMs out of range');
  const signerKeyId = r.fixed(16);
  const inlineLength = r.u32();
  if (inlineLength > MANIFEST_LIMITS.inlineBytesMax) throw formatError('inline data too large');
  const inline = r.fixed(inlineLength);
  const extra: Pick<Manifest, 'contentType' | 'metadata' | 'md5' | 'headers' | 'checksum' | 'parts'> = {};
  if (version >= 2) {
    const present = r.u8();
    if ((present & ~3) !== 0) throw formatError('unknown metadata flags');
    if ((present & 1) !== 0) extra.contentType = r.str(1, MANIFEST_LIMITS.contentTypeBytesMax, 'contentType');
    if ((present & 2) !== 0) extra.md5 = r.fixed(16);
    const count = r.u16();
    // Each entry takes at least 1 name byte, so the byte budget bounds the count before anything is read.
    if (count > MANIFEST_LIMITS.metadataBytesMax) throw formatError('too many metadata entries');
    let total = 0;
    let previous: string | undefined;
    const entries: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) {
      const name = r.str(1, MANIFEST_LIMITS.metadataNameBytesMax, 'metadata name');
      if (!METADATA_NAME_RE.test(name)) throw formatError('metadata name is not a lowercase token');
      if (previous !== undefined && byteOrder(previous, name) >= 0) throw formatError('metadata names not strictly ascending');
      const value = r.str(2, MANIFEST_LIMITS.metadataBytesMax, 'metadata value');
      total += utf8.encode(name).length + utf8.encode(value).length;
      if (total > MANIFEST_LIMITS.metadataBytesMax) throw formatError('metadata too large');
      entries.push([name, value]);
      previous = name;
    }
    if (count > 0) extra.metadata = Object.fromEntries(entries); // own properties, even a name like __proto__
    if (version === 2 && present === 0 && count === 0) throw formatError('a v2 manifest without metadata (must be v1)');
  }
  if (version >= 3) {
    const ext = r.u8();
    if ((version === 3 && ext === 0) || (ext & ~3) !== 0) throw formatError(ext === 0 ? 'a v3 manifest without headers or checksum (must be v1 or v2)' : 'unknown v3 flags');
    if ((ext & 1) !== 0) {
      const mask = r.u8();
      if (mask === 0 || mask >= 1 << SYSTEM_HEADER_NAMES.length) throw formatError('bad header mask');
      const headers: SystemHeaders = {};
      SYSTEM_HEADER_NAMES.forEach((h, bit) => {
        if ((mask & (1 << bit)) === 0) return;
        const v = r.str(2, MANIFEST_LIMITS.headerBytesMax, `header ${h}`);
        if (!HEADER_VALUE_RE.test(v)) throw formatError(`header ${h} is not printable ASCII`);
        headers[h] = v;
      });
      extra.headers = headers;
    }
    if ((ext & 2) !== 0) {
      const id = r.u8();
      const algorithm = CHECKSUM_ALGORITHMS[id - 1];
      if (algorithm === undefined) throw formatError(`unknown checksum algorithm ${id}`);
      extra.checksum = { algorithm, digest: r.fixed(CHECKSUM_DIGEST_BYTES[algorithm]) };
    }
  }
  const base = {
    bucket, key, versionId, sequence, size: Number(size64), contentHash, tombstone: tomb === 1, k, m, blockBytes,
    stripeCount, placement, hashTableRoot, principal, timeMs: Number(time64), signerKeyId, inline, ...extra,
  };
  if (version === 4) extra.parts = decodeParts(r, base);
  r.end();
  return { ...base, ...extra };
}

function signedMessage(bytes: Uint8Array): Uint8Array {
  const msg = new Uint8Array(SIGNATURE_DOMAIN.length + bytes.length);
  msg.set(SIGNATURE_DOMAIN);
  msg.set(bytes, SIGNATURE_DOMAIN.length);
  return msg;
}

/** Canonical bytes followed by the Ed25519 signature. */
export function signManifest(m: Manifest, privateKey: KeyObject): Uint8Array {
  const bytes = encodeManifest(m);
  const sig = edSign(null, signedMessage(bytes), privateKey);
  const out = new Uint8Array(bytes.length + SIGNATURE_BYTES);
  out.set(bytes);
  out.set(sig, bytes.length);
  return out;
}

/**
 * Verifies a signed manifest and returns it. `publicKeyFor` maps a signer key id to a trusted, unrevoked
 * public key, or null (then verification fails). Throws ERR_SV_MANIFEST_FORMAT / ERR_SV_MANIFEST_SIGNATURE.
 */
export function verifyManifest(signedUntrusted: Uint8Array, publicKeyFor: (keyId: Uint8Array) => KeyObject | null): Manifest {
  if (!(signedUntrusted instanceof Uint8Array) || signedUntrusted.length <= SIGNATURE_BYTES) throw formatError('too short');
  const bytes = signedUntrusted.subarray(0, signedUntrusted.length - SIGNATURE_BYTES);
  const sig = signedUntrusted.subarray(signedUntrusted.length - SIGNATURE_BYTES);
  const manifestUntrusted = decodeManifest(bytes);
  const key = publicKeyFor(manifestUntrusted.signerKeyId);
  if (key === null) throw new ShardVaultError(ErrorCode.MANIFEST_SIGNATURE, 'manifest signer key is unknown or revoked');
  if (!edVerify(null, signedMessage(bytes), key, sig)) {
    throw new ShardVaultError(ErrorCode.MANIFEST_SIGNATURE, 'manifest signature does not verify');
  }
  return manifestUntrusted;
}
