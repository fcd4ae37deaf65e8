/** `shardvault/codec`: Reed-Solomon over GF(2^8), ISA-L compatible; native SIMD kernels or the pure-TS codec. */
export { ReedSolomon, DecodePlan, KERNELS, ASYNC_THRESHOLD_BYTES } from '../codec.js';
export type { Backend, Kernel, ReedSolomonOptions, ReconstructOptions } from '../codec.js';
export { ErrorCode, ShardVaultError } from '../errors.js';
