/**
 * `shardvault/hash`: BLAKE3 (hash, keyed, derive-key; incremental and batch), native kernels or @noble/hashes;
 * and the S3 flexible checksums (CRC32, CRC32C, CRC64NVME natively with a pure-TS fallback; SHA-1/SHA-256 via
 * node:crypto), incremental and combinable.
 */
export { blake3, blake3Sync, blake3Batch, blake3BatchSync, createBlake3, BLAKE3_KERNELS } from '../hash.js';
export type { Blake3Options, Blake3Hasher, Blake3Kernel } from '../hash.js';
export {
  CHECKSUM_ALGORITHMS, CHECKSUM_DIGEST_BYTES, CRC_KERNELS, checksumBase64, combineChecksums, createChecksum,
  crc32, crc32c, crc64nvme, crc32Combine, crc32cCombine, crc64nvmeCombine,
} from '../checksum.js';
export type { Checksum, ChecksumAlgorithm, CrcKernel, CrcOptions } from '../checksum.js';
export { ErrorCode, ShardVaultError } from '../errors.js';
