/** Public entry point of the shardvault package. */
export { ErrorCode, ShardVaultError } from './errors.js';
export type { ErrorCodeValue, ErrorDetails } from './errors.js';
export { nativeUnavailableReason } from './native.js';
export { LIMITS } from './limits.js';
