/**
 * On-disk layout of a pool disk (format version 3), pure: names and the shard file header. The vault is the
 * only writer; tools and tests use the same functions to find files.
 *
 *   <disk>/disk.json                                  identity (disk id, pool id, format version, labels, st_dev)
 *   <disk>/objects/<ff>/                              256 fan-out directories, made durable at format time, so a
 *                                                     put never creates (and fsyncs) a directory
 *   <disk>/objects/<ff>/<oid>.<vid>.s<i>              shard i of version <vid> of object <oid>
 *   <disk>/objects/<ff>/.tmp-*                        writers' temporary files (removed at open)
 *   <disk>/log/                                       the disk's copy log (lib/copylog.ts): manifest copies
 *                                                     (signed manifest + hash table, small objects inline) as
 *                                                     records in preallocated segments, made durable at format
 * <oid> is 32 hex digits of BLAKE3(derive "shardvault/object-id/v1", bucket NUL key); <ff> its first two.
 *
 * Shard file header (HEADER_BYTES, big-endian), then the blocks back to back:
 *   "SVSH" | u16 format=3 | u16 shard index | u16 k | u16 m | u32 blockBytes | poolId[16] | objectId[16] |
 *   versionId[16] | hashTableRoot[32] | zero padding
 * The header makes a misplaced or swapped file diagnosable; trust comes from the signed manifest's hash table.
 * It binds the hash-table root (which commits to every block of the version) rather than the manifest hash:
 * a repair that moves shards re-signs the manifest with a new placement, which changes the manifest hash but
 * never the hash table, so every shard's header stays checkable against the current manifest.
 * N.B. Everything here is stored bytes: change it only with a new format version.
 */
import { join } from 'node:path';

import { ErrorCode, ShardVaultError } from './errors.js';
import { blake3Sync } from './hash.js';

export const FORMAT_VERSION = 3;
export const HEADER_BYTES = 128;
const MAGIC = [0x53, 0x56, 0x53, 0x48]; // "SVSH"
const encoder = new TextEncoder();

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** 16-byte object id of bucket/key. */
export function objectId(bucket: string, key: string): Uint8Array {
  return blake3Sync(encoder.encode(`${bucket}\0${key}`), { context: 'shardvault/object-id/v1' }).subarray(0, 16);
}

export function fanoutDirs(): string[] {
  return Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
}

export function objectDir(diskPath: string, oidHex: string): string {
  return join(diskPath, 'objects', oidHex.slice(0, 2));
}

export function shardFileName(oidHex: string, versionIdHex: string, shard: number): string {
  return `${oidHex}.${versionIdHex}.s${shard}`;
}

export type ParsedName =
  | { kind: 'shard'; oid: string; versionId: string; shard: number }
  | { kind: 'temporary' }
  | { kind: 'unknown' };

const NAME = /^([0-9a-f]{32})\.([0-9a-f]{32})\.s(\d{1,3})$/;

export function parseFileName(name: string): ParsedName {
  if (name.startsWith('.tmp-')) return { kind: 'temporary' };
  const g = NAME.exec(name);
  if (g === null) return { kind: 'unknown' };
  const shard = Number(g[3]);
  if (shard > 255) return { kind: 'unknown' };
  return { kind: 'shard', oid: g[1], versionId: g[2], shard };
}

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
