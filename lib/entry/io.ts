/**
 * `shardvault/io`: durable shard files on the libuv pool: create-exclusive temporaries, appends hashed per
 * block, a seal that resolves only after fdatasync, rename and directory fsync (a failed fsync is final),
 * and verified ranged reads. Needs the native addon.
 */
export { openShardWriter, readRange, statDisk, fsyncDir, ShardWriter } from '../store/local/shardio.js';
export type { ShardWriterOptions, ReadRangeOptions, ReadRangeResult, DiskStat } from '../store/local/shardio.js';
export { ErrorCode, ShardVaultError } from '../errors.js';
