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

/** Names of pool records: lower-case letters, digits and '-', starting with a letter, up to 32 characters. */
const RECORD_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** The largest pool record a store keeps (a key ring of many keys fits with room to spare). */
export const RECORD_BYTES_MAX = 1 << 20;

/** A pool record's name and size (ShardStore.writeRecord / readRecord). */
export function checkRecord(name: string, bytes?: Uint8Array): void {
  if (typeof name !== 'string' || !RECORD_NAME.test(name)) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `pool record name ${JSON.stringify(name)} must be 1-32 lower-case letters, digits or '-', starting with a letter`);
  }
  if (bytes !== undefined && (!(bytes instanceof Uint8Array) || bytes.length > RECORD_BYTES_MAX)) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `pool record ${name} must be a Uint8Array of at most ${RECORD_BYTES_MAX} bytes`);
  }
}
