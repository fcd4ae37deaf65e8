/**
 * Identifiers that are stored or derived from stored bytes: object ids (which name shard files and place
 * them in fan-out directories) and signing key ids (which manifests and receipts carry). Changing a
 * derivation context changes every stored name: only with a new format version.
 */
import type { KeyObject } from 'node:crypto';

import { blake3Sync } from '../hash.js';

const encoder = new TextEncoder();

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** 16-byte object id of bucket/key: BLAKE3(derive "shardvault/object-id/v1", bucket NUL key). */
export function objectId(bucket: string, key: string): Uint8Array {
  return blake3Sync(encoder.encode(`${bucket}\0${key}`), { context: 'shardvault/object-id/v1' }).subarray(0, 16);
}

/** 16-byte id of an Ed25519 public key: BLAKE3(derive "shardvault/key-id/v1", SPKI DER). */
export function keyId(publicKey: KeyObject): Uint8Array {
  return blake3Sync(publicKey.export({ format: 'der', type: 'spki' }), { context: 'shardvault/key-id/v1' }).subarray(0, 16);
}
