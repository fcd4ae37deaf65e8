// lib/format/: the stored bytes other than manifests (test/manifest.test.ts has those): the shard header and
// the manifest copy. Property tests: every header round-trips; every single-byte change or truncation of a
// header is refused or decodes to a different header (never silently the same); a manifest copy round-trips
// and any bit flip or truncation is refused with ERR_SV_CORRUPT or a manifest error, never accepted.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { blake3Sync } from '../lib/hash.js';
import { hex, keyId, objectId } from '../lib/format/ids.js';
import { HASH_TABLE_CONTEXT, copyBytes, manifestHashOf, openCopy } from '../lib/format/manifest-copy.js';
import { signManifest, type Manifest } from '../lib/format/manifest.js';
import { HEADER_BYTES, decodeHeader, encodeHeader, type ShardHeader } from '../lib/format/shard-header.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const header = fc.record({
  shard: fc.integer({ min: 0, max: 255 }), k: fc.integer({ min: 1, max: 255 }), m: fc.integer({ min: 0, max: 255 }),
  blockBytes: fc.integer({ min: 1, max: 0xffffffff }), poolId: bytes(16), objectId: bytes(16), versionId: bytes(16), hashTableRoot: bytes(32),
});

describe('lib/format', () => {
  it('shard headers round-trip, and no changed or cut header decodes to the same one', () => {
    fc.assert(fc.property(header, fc.integer({ min: 0, max: HEADER_BYTES - 1 }), fc.integer({ min: 1, max: 255 }), (h: ShardHeader, at, delta) => {
      const b = encodeHeader(h);
      expect(b.length).toBe(HEADER_BYTES);
      expect(decodeHeader(b)).toEqual(h);
      const changed = b.slice();
      changed[at] = (changed[at] + delta) & 0xff;
      const d = decodeHeader(changed);
      if (d !== undefined) expect(d).not.toEqual(h);
      expect(decodeHeader(b.subarray(0, at))).toBeUndefined();
    }), { seed: 10, numRuns: 500 });
  });

  it('refuses header fields of the wrong size', () => {
    const h = { shard: 0, k: 4, m: 2, blockBytes: 1 << 20, poolId: new Uint8Array(16), objectId: new Uint8Array(15), versionId: new Uint8Array(16), hashTableRoot: new Uint8Array(32) };
    expect(() => encodeHeader(h)).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
  });

  it('ids are stable derivations (stored names depend on them)', () => {
    expect(hex(objectId('photos', 'cat.jpg'))).toBe(hex(blake3Sync(new TextEncoder().encode('photos\0cat.jpg'), { context: 'shardvault/object-id/v1' }).subarray(0, 16)));
    expect(objectId('ab', 'c')).not.toEqual(objectId('a', 'bc')); // names never hold NUL (validated), so NUL separates
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(keyId(publicKey)).toHaveLength(16);
  });

  it('manifest copies round-trip; any flipped bit or cut is refused', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const kid = keyId(publicKey);
    const trust = (id: Uint8Array) => (Buffer.compare(id, kid) === 0 ? publicKey : null);
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.nat(), (stripes, flipAt, cutAt) => {
      const k = 2;
      const m = 1;
      const hashTable = new Uint8Array(stripes * (k + m) * 32).map((_, i) => (i * 7 + stripes) & 0xff);
      const manifest: Manifest = {
        bucket: 'bkt', key: 'k', versionId: new Uint8Array(16).fill(1), sequence: 1n, size: stripes * 100, contentHash: new Uint8Array(32),
        tombstone: false, k, m, blockBytes: 64, stripeCount: stripes, placement: ['d0', 'd1', 'd2'],
        hashTableRoot: blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }), principal: 'p', timeMs: 1, signerKeyId: kid, inline: new Uint8Array(0),
      };
      const signed = signManifest(manifest, privateKey);
      const copy = copyBytes(signed, hashTable);
      const back = openCopy(copy, trust, manifestHashOf(signed));
      expect(back.manifest.stripeCount).toBe(stripes);
      expect(Buffer.from(back.hashTable).equals(Buffer.from(hashTable))).toBe(true);
      const flipped = copy.slice();
      const bit = flipAt % (copy.length * 8);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect(() => openCopy(flipped, trust)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_SV_(CORRUPT|MANIFEST_FORMAT|MANIFEST_SIGNATURE)$/) }));
      const cut = cutAt % copy.length;
      expect(() => openCopy(copy.subarray(0, cut), trust)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_SV_(CORRUPT|MANIFEST_FORMAT|MANIFEST_SIGNATURE)$/) }));
    }), { seed: 11, numRuns: 300 });
  });
});
