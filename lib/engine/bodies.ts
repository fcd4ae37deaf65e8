/**
 * The striped bodies of a manifest (issue 12, moved out of vault.ts for issue 11): what reads, scrub and repair
 * walk. A plain object has one; a multipart object one per part, each with its own shard files (named by its
 * part id), placement and slice of the hash table.
 */
import { ErrorCode, ShardVaultError } from '../errors.js';
import { hex, objectId } from '../format/ids.js';
import { HASH_TABLE_CONTEXT } from '../format/manifest-copy.js';
import { partStripes, type Manifest } from '../format/manifest.js';
import { blake3Sync } from '../hash.js';
import { multipartContentHash } from './object-meta.js';

/**
 * One striped body as reads, scrub and repair see it: a plain object's, or one part of a multipart object
 * (its own shard files, named with its part id, its own placement and its slice of the hash table).
 */
export interface Body {
  bucket: string;
  key: string;
  k: number;
  m: number;
  blockBytes: number;
  oid: string;
  oidBytes: Uint8Array;
  /** Hex id naming the shard files (the version id, or the part id). */
  vid: string;
  versionId: Uint8Array;
  placement: string[];
  stripeCount: number;
  size: number;
  hashTable: Uint8Array;
  /** The root in the shard files' headers (the manifest's, or the part's own table's). */
  hashTableRoot: Uint8Array;
  contentHash: Uint8Array;
  /** Where the body starts in the object. */
  offset: number;
  /** Index of the part (multipart objects). */
  part?: number;
}

/**
 * The striped bodies of a verified manifest (its hash table verified against its root): one for a plain
 * object, one per part for a multipart object (part hash table roots computed from their slices; the content
 * hash checked against the parts' as the signer must have made it).
 */
export function bodiesOf(manifest: Manifest, hashTable: Uint8Array): Body[] {
  const { bucket, key, k, m, blockBytes } = manifest;
  const n = k + m;
  const oidBytes = objectId(bucket, key);
  const oid = hex(oidBytes);
  if (manifest.parts === undefined) {
    return [{ bucket, key, k, m, blockBytes, oid, oidBytes, vid: hex(manifest.versionId), versionId: manifest.versionId, placement: manifest.placement, stripeCount: manifest.stripeCount,
      size: manifest.size, hashTable, hashTableRoot: manifest.hashTableRoot, contentHash: manifest.contentHash, offset: 0 }];
  }
  if (Buffer.compare(multipartContentHash(manifest.parts.map((p) => p.contentHash)), manifest.contentHash) !== 0) {
    throw new ShardVaultError(ErrorCode.CORRUPT, `${bucket}/${key}: the multipart content hash does not match its parts`);
  }
  const bodies: Body[] = [];
  let offset = 0;
  let stripe = 0;
  for (const [i, p] of manifest.parts.entries()) {
    const stripeCount = partStripes(p.size, k, blockBytes);
    const table = hashTable.subarray(stripe * n * 32, (stripe + stripeCount) * n * 32);
    bodies.push({ bucket, key, k, m, blockBytes, oid, oidBytes, vid: hex(p.partId), versionId: p.partId, placement: p.placement, stripeCount, size: p.size,
      hashTable: table, hashTableRoot: blake3Sync(table, { context: HASH_TABLE_CONTEXT }), contentHash: p.contentHash, offset, part: i });
    offset += p.size;
    stripe += stripeCount;
  }
  return bodies;
}
