/**
 * Shard names as every store accepts them: a directory disk turns them into file names (lib/store/local/layout.ts),
 * the memory store into keys, so only the shapes a listing can read back are taken (no path separators, no dots).
 */
import { ErrorCode, ShardVaultError } from '../errors.js';
import type { ShardName } from './shard-store.js';

const HEX32 = /^[0-9a-f]{32}$/;

export function checkShardName(name: ShardName): ShardName {
  if (typeof name !== 'object' || name === null || typeof name.oid !== 'string' || !HEX32.test(name.oid) || typeof name.id !== 'string' ||
    !HEX32.test(name.id) || !Number.isInteger(name.shard) || name.shard < 0 || name.shard > 255) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'shard name must be 32 hex digits of object id, 32 of version or part id and a shard index 0-255');
  }
  return name;
}
