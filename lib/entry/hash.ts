/** `shardvault/hash`: BLAKE3 (hash, keyed, derive-key; incremental and batch), native kernels or @noble/hashes. */
export { blake3, blake3Sync, blake3Batch, blake3BatchSync, createBlake3, BLAKE3_KERNELS } from '../hash.js';
export type { Blake3Options, Blake3Hasher, Blake3Kernel } from '../hash.js';
export { ErrorCode, ShardVaultError } from '../errors.js';
