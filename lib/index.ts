/**
 * Public entry point of the shardvault package: what an application or a storage daemon needs. Every export
 * is a promise to users (docs/api.md). Lower-level pieces have their own documented subpaths:
 *   shardvault/codec  the Reed-Solomon codec (native kernels and the byte-identical pure-TS codec)
 *   shardvault/hash   BLAKE3 (native kernels, @noble/hashes fallback)
 *   shardvault/io     durable shard files (create-exclusive, fsync-sealed, verified ranged reads)
 * The catalog, placement, manifests and the copy log are the engine's internals and are not exported.
 */
export { ErrorCode, ShardVaultError } from './errors.js';
export type { ErrorCodeValue, ErrorDetails, DiskFailure } from './errors.js';
export { AbortError } from './abort.js';
export { nativeUnavailableReason } from './native.js';
export { nativeInfo } from './native-info.js';
export type { NativeInfo } from './native-info.js';
export { LIMITS } from './limits.js';
export { ReedSolomon, DecodePlan, KERNELS, ASYNC_THRESHOLD_BYTES } from './codec.js';
export type { Backend, Kernel, ReedSolomonOptions, ReconstructOptions } from './codec.js';
export { blake3, blake3Sync, blake3Batch, blake3BatchSync, createBlake3, BLAKE3_KERNELS } from './hash.js';
export type { Blake3Options, Blake3Hasher, Blake3Kernel } from './hash.js';
export { Vault, LIST_KEYS_MAX, PARTS_MAX, LIST_PARTS_MAX, AUDIT_FIELD_LIMITS } from './vault.js';
export type { VaultInitOptions, VaultOpenOptions, VaultDiskSpec, Receipt, ListOptions, ListResult, ScrubProgress, UpgradeStatus, PutOptions, ObjectHead, ObjectReader, DiskHealthCondition, GcResult, SystemHeaders, StoredChecksum, AuditInput, CreateUploadOptions, PutPartOptions, CompleteUploadOptions, ResignResult } from './vault.js';
export { bucketNameProblem } from './validate.js';
export { VaultEvents, LISTENER_ERROR_WARNING } from './events.js';
export type { VaultEventMap, PutEvent, GetEvent, RepairEvent, DiskDroppedEvent, RepairQueuedEvent, ScrubProgressEvent, KeyRevokedEvent } from './events.js';
