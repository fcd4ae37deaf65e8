/** Public entry point of the shardvault package. */
export { ErrorCode, ShardVaultError } from './errors.js';
export type { ErrorCodeValue, ErrorDetails } from './errors.js';
export { nativeUnavailableReason } from './native.js';
export { LIMITS } from './limits.js';
export { ReedSolomon, KERNELS, ASYNC_THRESHOLD_BYTES } from './codec.js';
export type { Backend, Kernel, ReedSolomonOptions, ReconstructOptions } from './codec.js';
export { nativeInfo } from './native-info.js';
export type { NativeInfo } from './native-info.js';
export { blake3, blake3Sync, blake3Batch, blake3BatchSync, createBlake3, BLAKE3_KERNELS } from './hash.js';
export type { Blake3Options, Blake3Hasher, Blake3Kernel } from './hash.js';
export { openShardWriter, readRange, statDisk, fsyncDir, ShardWriter } from './shardio.js';
export type { ShardWriterOptions, ReadRangeOptions, ReadRangeResult, DiskStat } from './shardio.js';
export { place, checkPoolLayout, domainOf } from './placement.js';
export type { PlacementDisk, PlacementRule } from './placement.js';
export { encodeManifest, decodeManifest, signManifest, verifyManifest, MANIFEST_VERSION, MANIFEST_LIMITS } from './manifest.js';
export type { Manifest } from './manifest.js';
export { Catalog } from './catalog.js';
export type { Head, AuditRecord, CommitRequest } from './catalog.js';
