/**
 * Catalog rebuild (issue 11: engine/rebuild.ts): what the manifest copies on the members say the catalog held.
 * Every copy every usable store holds is read and verified (its record, the signature by an active or retired
 * key of the key ring, the hash-table root; a copy signed by a revoked key is refused); per key the highest valid sequence becomes the head (a tombstone keeps a deleted key deleted) and
 * older versions go into the version index; per version, the manifest with the most copies wins. Vault's
 * rebuildCatalog moves the old catalog aside and restores these entries into a new one.
 */
import type { KeyObject } from 'node:crypto';

import type { Head } from '../catalog/catalog.js';
import { hex } from '../format/ids.js';
import { openCopy } from '../format/manifest-copy.js';
import type { Manifest } from '../format/manifest.js';
import type { CopyRef, ShardStore } from '../store/shard-store.js';
import { etagOf } from './object-meta.js';

export interface RebuiltCatalog {
  entries: Array<{ bucket: string; key: string; head: Head; older: Head[] }>;
  versions: number;
  copiesRead: number;
  copiesRejected: number;
  /** Copies whose signature verifies only under a revoked key: refused like forgeries. */
  copiesRevoked: number;
}

export async function collectHeads(stores: readonly ShardStore[], keys: { trusted: (keyId: Uint8Array) => KeyObject | null; known: (keyId: Uint8Array) => KeyObject | null }): Promise<RebuiltCatalog> {
  // Per object, per version, per manifest hash: the verified manifest and where its copies are.
  const found = new Map<string, Map<string, Map<string, { manifest: Manifest; copies: number; refs: Map<string, CopyRef> }>>>();
  let copiesRead = 0;
  let copiesRejected = 0;
  let copiesRevoked = 0;
  for (const store of stores) {
    // Torn records (a crash mid-append) are not records: the scan skips them.
    for await (const { ref, payload } of store.scanCopies()) {
      copiesRead++;
      try {
        const { manifest, manifestHash } = openCopy(payload, keys.known);
        if (keys.trusted(manifest.signerKeyId) === null) {
          // Honest copies of a revoked signer were re-signed by `repair --resign` (those copies are found too);
          // whatever was not, forged or not, cannot be told from a forgery here: nothing vouches for it.
          copiesRevoked++;
          continue;
        }
        const vid = hex(manifest.versionId);
        const objectKey = `${manifest.bucket}\0${manifest.key}`;
        const versions = found.get(objectKey) ?? new Map();
        found.set(objectKey, versions);
        const byHash = versions.get(vid) ?? new Map();
        versions.set(vid, byHash);
        const seen = byHash.get(manifestHash) ?? { manifest, copies: 0, refs: new Map<string, CopyRef>() };
        seen.copies++;
        seen.refs.set(store.id, ref);
        byHash.set(manifestHash, seen);
      } catch {
        copiesRejected++;
      }
    }
  }
  const entries: RebuiltCatalog['entries'] = [];
  let versions = 0;
  for (const byVersion of found.values()) {
    const heads = [...byVersion.values()].map((byHash) => {
      const [manifestHash, { manifest, refs }] = [...byHash.entries()].sort((a, b) => b[1].copies - a[1].copies || (a[0] < b[0] ? -1 : 1))[0];
      const head: Head = {
        versionId: hex(manifest.versionId), sequence: manifest.sequence, manifestHash, tombstone: manifest.tombstone,
        placement: manifest.placement, copies: manifest.placement.map((id) => refs.get(id) ?? null), striped: manifest.stripeCount > 0,
        committedMs: manifest.timeMs, size: manifest.size, timeMs: manifest.timeMs, ...etagOf(manifest),
        ...(manifest.parts !== undefined ? { parts: manifest.parts.map((p) => ({ partId: hex(p.partId), placement: p.placement })) } : {}),
      };
      return { head, manifest };
    });
    heads.sort((a, b) => (a.head.sequence < b.head.sequence ? 1 : a.head.sequence > b.head.sequence ? -1 : 0));
    versions += heads.length;
    const { manifest } = heads[0];
    entries.push({ bucket: manifest.bucket, key: manifest.key, head: heads[0].head, older: heads.slice(1).map((h) => h.head) });
  }
  return { entries, versions, copiesRead, copiesRejected, copiesRevoked };
}
