/**
 * Shard file header (HEADER_BYTES, big-endian), then the blocks back to back:
 *   "SVSH" | u16 format=3 | u16 shard index | u16 k | u16 m | u32 blockBytes | poolId[16] | objectId[16] |
 *   versionId[16] | hashTableRoot[32] | zero padding
 * The header makes a misplaced or swapped file diagnosable; trust comes from the signed manifest's hash table.
 * It binds the hash-table root (which commits to every block of the version) rather than the manifest hash:
 * a repair that moves shards re-signs the manifest with a new placement, which changes the manifest hash but
 * never the hash table, so every shard's header stays checkable against the current manifest.
 * N.B. Stored bytes: change them only with a new format version (FORMAT_VERSION is also the version of the
 * disk's identity file and copy log: lib/store/local/disk.ts, lib/store/local/copylog.ts).
 */
import { ErrorCode, ShardVaultError } from '../errors.js';

/** The disk structures' format: shard header, copy-log segments, disk.json. Not the pool's format (pool.json,
 *  lib/format/versions.ts), which moves on when the pool is upgraded while these bytes stay as they are. */
export const FORMAT_VERSION = 3;
export const HEADER_BYTES = 128;
const MAGIC = [0x53, 0x56, 0x53, 0x48]; // "SVSH"

export interface ShardHeader {
  shard: number;
  k: number;
  m: number;
  blockBytes: number;
  poolId: Uint8Array;
  objectId: Uint8Array;
  versionId: Uint8Array;
  hashTableRoot: Uint8Array;
}

export function encodeHeader(h: ShardHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set(MAGIC, 0);
  v.setUint16(4, FORMAT_VERSION);
  v.setUint16(6, h.shard);
  v.setUint16(8, h.k);
  v.setUint16(10, h.m);
  v.setUint32(12, h.blockBytes);
  const fixed = (b: Uint8Array, len: number, at: number, what: string) => {
    if (b.length !== len) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `shard header ${what} must be ${len} bytes`);
    out.set(b, at);
  };
  fixed(h.poolId, 16, 16, 'poolId');
  fixed(h.objectId, 16, 32, 'objectId');
  fixed(h.versionId, 16, 48, 'versionId');
  fixed(h.hashTableRoot, 32, 64, 'hashTableRoot');
  return out;
}

/** Parses a header; undefined when the bytes are not a shard header of this format. */
export function decodeHeader(b: Uint8Array): ShardHeader | undefined {
  if (b.length < HEADER_BYTES || MAGIC.some((c, i) => b[i] !== c)) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
  if (v.getUint16(4) !== FORMAT_VERSION) return undefined;
  for (let i = 96; i < HEADER_BYTES; i++) if (b[i] !== 0) return undefined;
  return {
    shard: v.getUint16(6), k: v.getUint16(8), m: v.getUint16(10), blockBytes: v.getUint32(12),
    poolId: b.slice(16, 32), objectId: b.slice(32, 48), versionId: b.slice(48, 64), hashTableRoot: b.slice(64, 96),
  };
}
