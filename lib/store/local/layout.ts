/**
 * Names on a local pool disk (disk format version 3): directories and file names. The bytes stored in the
 * files (shard header, manifests, manifest copies, ids) are in lib/format/. The vault is the only writer;
 * tools and tests use the same functions to find files.
 *
 *   <disk>/disk.json                                  identity (disk id, pool id, format version, labels, st_dev)
 *   <disk>/objects/<ff>/                              256 fan-out directories, made durable at format time, so a
 *                                                     put never creates (and fsyncs) a directory
 *   <disk>/objects/<ff>/<oid>.<vid>.s<i>              shard i of version <vid> of object <oid>
 *   <disk>/objects/<ff>/.tmp-*                        writers' temporary files (removed at open)
 *   <disk>/log/                                       the disk's copy log (lib/store/local/copylog.ts): manifest copies
 *                                                     (signed manifest + hash table, small objects inline) as
 *                                                     records in preallocated segments, made durable at format
 *   <disk>/records/<name>                             pool records (issue 13: the public key ring, the security
 *                                                     floor), signed by the pool; made on first write
 * <oid> is 32 hex digits of BLAKE3(derive "shardvault/object-id/v1", bucket NUL key); <ff> its first two.
 *
 */
import { join } from 'node:path';

/** Pool records (ShardStore.writeRecord), beside objects/ and log/ (older releases never look there). */
export const RECORDS_DIR = 'records';

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
