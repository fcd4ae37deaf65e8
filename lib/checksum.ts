/**
 * The S3 flexible checksums (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`): incremental, with digests
 * in the byte order S3 base64-encodes (big-endian for the CRCs). The CRCs run on the native addon's kernels
 * (PCLMULQDQ, VPCLMULQDQ on AVX2 or AVX-512, the SSE4.2 crc32 instruction, ARMv8 CRC + PMULL; chosen at run
 * time) with a pure-TypeScript table fallback (lib/crc-js.ts, identical results; zlib's crc32 for CRC32 where
 * Node has it). SHA-1 and SHA-256 come from node:crypto.
 *
 *   createChecksum('crc32c').update(a).update(b).digest()   // Buffer(4), big-endian
 *   checksumBase64('crc64nvme', body)                        // the header value S3 expects
 *   crc32c(b, crc32c(a)) === crc32c(concat(a, b))            // zlib's `prev` convention
 *   combineChecksums('crc64nvme', digestA, digestB, b.length) // digest of a then b, without their bytes
 */
import { createHash, type Hash } from 'node:crypto';
import * as zlib from 'node:zlib';

import type { CrcBinding } from './binding/crc.js';
import { crc32Js, crc32cJs, crc64nvmeJs, crcCombineJs } from './crc-js.js';
import { ErrorCode, ShardVaultError, rangeError, typeError } from './errors.js';
import { native, warnFallbackOnce } from './native.js';
import { bytes, integer, oneOf, optionsObject } from './validate.js';

export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = Object.freeze([
  'crc32',
  'crc32c',
  'crc64nvme',
  'sha1',
  'sha256',
] as const);

/** Digest length in bytes of each algorithm (what a decoded `x-amz-checksum-*` value must have). */
export const CHECKSUM_DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = Object.freeze({
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
});

export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  update(data: Uint8Array): this;
  /**
   * The checksum of everything passed to update() so far: big-endian bytes, as S3 base64-encodes them (4 for
   * crc32/crc32c, 8 for crc64nvme, 20 sha1, 32 sha256). It does not end the checksum: update() may go on.
   */
  digest(): Buffer;
}

/** The native CRC kernels (native/crc/crc.h). */
export const CRC_KERNELS = ['table', 'pclmul', 'sse42', 'vpclmul256', 'vpclmul512', 'armcrc', 'pmull'] as const;
export type CrcKernel = (typeof CRC_KERNELS)[number];

export interface CrcOptions {
  /** Force a native kernel (tests and benchmarks); ERR_SV_KERNEL_UNAVAILABLE if this CPU or build lacks it. */
  kernel?: CrcKernel;
}

/** Node's own CRC32 (zlib, Node >= 20.15 / 22.2): the fallback's CRC32 when present, ~5x the TS table. */
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const crc32Fallback: (data: Uint8Array, prev?: number) => number =
  typeof zlibCrc32 === 'function' ? (data, prev = 0) => zlibCrc32(data, prev) : crc32Js;

function crcBinding(): CrcBinding | null {
  const addon = native() as (CrcBinding & object) | null;
  // An addon built before the CRCs existed (a stale local build) lacks them: use the fallback, not a TypeError.
  if (addon === null || typeof addon.crc64nvme !== 'function' || typeof addon.crc64nvmeCombine !== 'function') return null;
  return addon;
}

function kernelOf(options: unknown): CrcKernel | undefined {
  const o = optionsObject<CrcOptions>('options', options, ['kernel']);
  if (o.kernel === undefined) return undefined;
  const k = oneOf('options.kernel', o.kernel, CRC_KERNELS);
  if (crcBinding() === null) {
    throw new ShardVaultError(ErrorCode.KERNEL_UNAVAILABLE, `CRC kernel "${k}" needs the native addon`);
  }
  return k;
}

function prev32(value: unknown): number {
  return value === undefined ? 0 : integer('prev', value, 0, 0xffffffff);
}

function crc64Value(name: string, value: unknown): bigint {
  if (typeof value !== 'bigint') throw typeError(name, 'a bigint in [0, 2^64 - 1]', value);
  if (value < 0n || value > 0xffffffffffffffffn) throw rangeError(name, 'a bigint in [0, 2^64 - 1]', value);
  return value;
}

function prev64(value: unknown): bigint {
  return value === undefined ? 0n : crc64Value('prev', value);
}

/** CRC-32/ISO-HDLC (zlib's crc32, S3 `crc32`) of `prev`'s message followed by data. */
export function crc32(data: Uint8Array, prev?: number, options?: CrcOptions): number {
  bytes('data', data);
  const p = prev32(prev);
  const kernel = kernelOf(options);
  const b = crcBinding();
  if (b === null) {
    warnFallbackOnce('CRC32');
    return crc32Fallback(data, p);
  }
  return b.crc32(data, p, kernel);
}

/** CRC-32C (Castagnoli, S3 `crc32c`). */
export function crc32c(data: Uint8Array, prev?: number, options?: CrcOptions): number {
  bytes('data', data);
  const p = prev32(prev);
  const kernel = kernelOf(options);
  const b = crcBinding();
  if (b === null) {
    warnFallbackOnce('CRC32C');
    return crc32cJs(data, p);
  }
  return b.crc32c(data, p, kernel);
}

/** CRC-64/NVME (S3 `crc64nvme`). */
export function crc64nvme(data: Uint8Array, prev?: bigint, options?: CrcOptions): bigint {
  bytes('data', data);
  const p = prev64(prev);
  const kernel = kernelOf(options);
  const b = crcBinding();
  if (b === null) {
    warnFallbackOnce('CRC64NVME');
    return crc64nvmeJs(data, p);
  }
  return b.crc64nvme(data, p, kernel);
}

function lengthB(value: unknown): number {
  return integer('lengthB', value, 0, Number.MAX_SAFE_INTEGER);
}

/** crc32(A then B) from crc32(A), crc32(B) and B's length in bytes (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthOfB: number): number {
  const a = integer('crcA', crcA, 0, 0xffffffff);
  const b = integer('crcB', crcB, 0, 0xffffffff);
  const n = lengthB(lengthOfB);
  const binding = crcBinding();
  return binding === null ? Number(crcCombineJs('crc32', BigInt(a), BigInt(b), n)) : binding.crc32Combine(a, b, n);
}

/** crc32c(A then B) from crc32c(A), crc32c(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthOfB: number): number {
  const a = integer('crcA', crcA, 0, 0xffffffff);
  const b = integer('crcB', crcB, 0, 0xffffffff);
  const n = lengthB(lengthOfB);
  const binding = crcBinding();
  return binding === null ? Number(crcCombineJs('crc32c', BigInt(a), BigInt(b), n)) : binding.crc32cCombine(a, b, n);
}

/** crc64nvme(A then B) from crc64nvme(A), crc64nvme(B) and B's length in bytes. */
export function crc64nvmeCombine(crcA: bigint, crcB: bigint, lengthOfB: number): bigint {
  const a = crc64Value('crcA', crcA);
  const b = crc64Value('crcB', crcB);
  const n = lengthB(lengthOfB);
  const binding = crcBinding();
  return binding === null ? crcCombineJs('crc64nvme', a, b, n) : binding.crc64nvmeCombine(a, b, n);
}

/**
 * The digest of A followed by B from the digests (as digest() returns them) of A and of B and B's length: a
 * multipart upload's full-object CRC from its parts' CRCs, without their bytes. CRCs only (a SHA cannot be
 * combined: RangeError ERR_SV_OUT_OF_RANGE).
 */
export function combineChecksums(algorithm: ChecksumAlgorithm, first: Uint8Array, second: Uint8Array, lengthOfSecond: number): Buffer {
  const alg = oneOf('algorithm', algorithm, ['crc32', 'crc32c', 'crc64nvme'] as const);
  const size = CHECKSUM_DIGEST_BYTES[alg];
  for (const [name, d] of [['first', first], ['second', second]] as const) {
    bytes(name, d);
    if (d.length !== size) throw rangeError(name, `a ${size}-byte ${alg} digest`, d);
  }
  const a = Buffer.from(first.buffer, first.byteOffset, first.byteLength);
  const b = Buffer.from(second.buffer, second.byteOffset, second.byteLength);
  const out = Buffer.alloc(size);
  if (alg === 'crc64nvme') {
    out.writeBigUInt64BE(crc64nvmeCombine(a.readBigUInt64BE(0), b.readBigUInt64BE(0), lengthOfSecond), 0);
  } else {
    const combine = alg === 'crc32' ? crc32Combine : crc32cCombine;
    out.writeUInt32BE(combine(a.readUInt32BE(0), b.readUInt32BE(0), lengthOfSecond), 0);
  }
  return out;
}

class Crc32Checksum implements Checksum {
  private value = 0;
  constructor(
    readonly algorithm: 'crc32' | 'crc32c',
    private readonly fn: (data: Uint8Array, prev: number) => number,
  ) {}

  update(data: Uint8Array): this {
    bytes('data', data);
    this.value = this.fn(data, this.value);
    return this;
  }

  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value, 0);
    return out;
  }
}

class Crc64Checksum implements Checksum {
  readonly algorithm = 'crc64nvme' as const;
  private value = 0n;
  constructor(private readonly fn: (data: Uint8Array, prev: bigint) => bigint) {}

  update(data: Uint8Array): this {
    bytes('data', data);
    this.value = this.fn(data, this.value);
    return this;
  }

  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(this.value, 0);
    return out;
  }
}

class HashChecksum implements Checksum {
  private readonly hash: Hash;
  constructor(readonly algorithm: 'sha1' | 'sha256') {
    this.hash = createHash(algorithm);
  }

  update(data: Uint8Array): this {
    bytes('data', data);
    this.hash.update(data);
    return this;
  }

  digest(): Buffer {
    return this.hash.copy().digest();
  }
}

/** A fresh incremental checksum. The CRC functions are bound once, so update() costs one native call. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  const alg = oneOf('algorithm', algorithm, CHECKSUM_ALGORITHMS);
  const b = crcBinding();
  switch (alg) {
    case 'crc32':
      if (b === null) warnFallbackOnce('CRC32');
      return new Crc32Checksum(alg, b === null ? crc32Fallback : (d, p) => b.crc32(d, p));
    case 'crc32c':
      if (b === null) warnFallbackOnce('CRC32C');
      return new Crc32Checksum(alg, b === null ? crc32cJs : (d, p) => b.crc32c(d, p));
    case 'crc64nvme':
      if (b === null) warnFallbackOnce('CRC64NVME');
      return new Crc64Checksum(b === null ? crc64nvmeJs : (d, p) => b.crc64nvme(d, p));
    default:
      return new HashChecksum(alg);
  }
}

/** The base64 checksum of data, as sent in `x-amz-checksum-<algorithm>`. */
export function checksumBase64(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  return createChecksum(algorithm).update(data).digest().toString('base64');
}
