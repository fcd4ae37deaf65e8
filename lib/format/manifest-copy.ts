/**
 * A manifest copy, as every disk of a version's placement keeps one (in its copy log, lib/store/local/copylog.ts):
 *   u32 length of the signed manifest | signed manifest (lib/format/manifest.ts) | hash table
 * The hash table is the BLAKE3 of every block, stripe by stripe (k + m digests per stripe), and its root
 * (BLAKE3 derive "shardvault/hashtable/v1") is signed in the manifest; the manifest hash (BLAKE3 derive
 * "shardvault/manifest-hash/v1" of the signed bytes) is what a head names. Pure: no file system.
 * N.B. Stored bytes: change them only with a new format version.
 */
import type { KeyObject } from 'node:crypto';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { blake3Sync } from '../hash.js';
import { hex } from './ids.js';
import { verifyManifest, type Manifest } from './manifest.js';

export const HASH_TABLE_CONTEXT = 'shardvault/hashtable/v1';
export const MANIFEST_HASH_CONTEXT = 'shardvault/manifest-hash/v1';

/** A manifest copy file: u32 length of the signed manifest | signed manifest | hash table. */
export function copyBytes(signed: Uint8Array, hashTable: Uint8Array): Uint8Array {
  const copy = new Uint8Array(4 + signed.length + hashTable.length);
  new DataView(copy.buffer).setUint32(0, signed.length);
  copy.set(signed, 4);
  copy.set(hashTable, 4 + signed.length);
  return copy;
}

export function manifestHashOf(signed: Uint8Array): string {
  return hex(blake3Sync(signed, { context: MANIFEST_HASH_CONTEXT }));
}

/**
 * Parses and verifies manifest copy bytes: length-prefixed signed manifest whose hash is `expectedHash` (when
 * given, checked first: a stale copy costs no signature check), signature by a key `publicKeyFor` trusts, and a
 * hash table of the right size whose root the manifest signs. Throws on anything else.
 */
export function openCopy(copy: Uint8Array, publicKeyFor: (keyId: Uint8Array) => KeyObject | null, expectedHash?: string): { manifest: Manifest; hashTable: Uint8Array; manifestHash: string } {
  const corrupt = (why: string) => new ShardVaultError(ErrorCode.CORRUPT, `manifest copy: ${why}`);
  if (copy.length < 4) throw corrupt('too short');
  const len = new DataView(copy.buffer, copy.byteOffset, copy.length).getUint32(0);
  if (len > copy.length - 4) throw corrupt('length beyond the file');
  const signed = copy.subarray(4, 4 + len);
  const manifestHash = manifestHashOf(signed);
  if (expectedHash !== undefined && manifestHash !== expectedHash) throw corrupt('not the expected manifest (stale or forged)');
  const manifest = verifyManifest(signed, publicKeyFor);
  const hashTable = copy.subarray(4 + len);
  if (hashTable.length !== manifest.stripeCount * (manifest.k + manifest.m) * 32) throw corrupt('hash table size');
  if (Buffer.compare(blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }), manifest.hashTableRoot) !== 0) throw corrupt('hash table root');
  return { manifest, hashTable, manifestHash };
}

export function blockHash(hashTable: Uint8Array, n: number, stripe: number, shard: number): Uint8Array {
  return hashTable.subarray((stripe * n + shard) * 32, (stripe * n + shard + 1) * 32);
}
