// Manifest encoding and signatures: canonical round trip, every single-byte change of a signed manifest is
// rejected, garbage never throws anything but a coded ShardVaultError, bounds are enforced.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ShardVaultError } from '../lib/errors.js';
import { decodeManifest, encodeManifest, signManifest, verifyManifest, type Manifest } from '../lib/manifest.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const keyId = randomBytes(16);
const trusted = (id: Uint8Array) => (Buffer.compare(id, keyId) === 0 ? publicKey : null);

function sample(over: Partial<Manifest> = {}): Manifest {
  return {
    bucket: 'photos', key: 'a/b/c.jpg', versionId: randomBytes(16), sequence: 7n, size: 12345,
    contentHash: randomBytes(32), tombstone: false, k: 4, m: 2, blockBytes: 1 << 20, stripeCount: 1,
    placement: ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'], hashTableRoot: randomBytes(32), principal: 'alice',
    timeMs: 1_795_000_000_000, signerKeyId: keyId, inline: new Uint8Array(0), ...over,
  };
}

const manifestArb = fc.record({
  bucket: fc.string({ maxLength: 20 }), key: fc.string({ maxLength: 200 }), sequence: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  size: fc.nat(), tombstone: fc.boolean(), k: fc.integer({ min: 1, max: 20 }), m: fc.integer({ min: 0, max: 8 }),
  principal: fc.string({ maxLength: 30 }), inline: fc.uint8Array({ maxLength: 100 }),
});

describe('manifest', () => {
  it('round-trips canonically (decode(encode(x)) == x, one byte form)', () => {
    fc.assert(
      fc.property(manifestArb, (f) => {
        const m = sample({ ...f, placement: Array.from({ length: f.k + f.m }, (_, i) => `disk-${i}`) });
        if (new TextEncoder().encode(m.bucket).length > 63) return;
        const bytes = encodeManifest(m);
        const back = decodeManifest(bytes);
        expect(back).toEqual({ ...m, versionId: new Uint8Array(m.versionId), contentHash: new Uint8Array(m.contentHash), hashTableRoot: new Uint8Array(m.hashTableRoot), signerKeyId: new Uint8Array(m.signerKeyId), inline: new Uint8Array(m.inline) });
        expect(Buffer.compare(encodeManifest(back), bytes)).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('verifies a signed manifest and rejects every single-byte change, a wrong key and an unknown key id', () => {
    const signed = signManifest(sample(), privateKey);
    expect(verifyManifest(signed, trusted).key).toBe('a/b/c.jpg');
    for (let i = 0; i < signed.length; i++) {
      const bad = signed.slice();
      bad[i] ^= 1 << (i % 8);
      expect(() => verifyManifest(bad, trusted), `byte ${i}`).toThrow(ShardVaultError);
    }
    const forged = signManifest(sample(), other.privateKey); // self-consistent, wrong signer
    expect(() => verifyManifest(forged, trusted)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_SIGNATURE' }));
    expect(() => verifyManifest(signed, () => null)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_SIGNATURE' }));
  });

  it('garbage and truncations only ever throw coded errors', () => {
    const good = encodeManifest(sample());
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(good.length), (junk, cut) => {
        for (const input of [junk, good.subarray(0, cut), Uint8Array.from([...good, ...junk.subarray(0, 1)])]) {
          if (input.length === good.length && Buffer.compare(input, good) === 0) continue;
          try {
            decodeManifest(input);
          } catch (err) {
            expect(err).toBeInstanceOf(ShardVaultError);
            expect((err as ShardVaultError).code).toBe('ERR_SV_MANIFEST_FORMAT');
            continue;
          }
          // Only a junk array that happens to be a valid manifest may decode; it must then be canonical.
          expect(Buffer.compare(encodeManifest(decodeManifest(input)), input)).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('enforces bounds when encoding', () => {
    const bad: Array<Partial<Manifest>> = [
      { bucket: 'x'.repeat(64) }, { key: 'k'.repeat(1025) }, { versionId: new Uint8Array(15) }, { sequence: -1n },
      { size: -1 }, { k: 0 }, { m: 256 }, { placement: Array(257).fill('d') }, { principal: 'p'.repeat(129) },
      { inline: new Uint8Array((1 << 20) + 1) }, { signerKeyId: new Uint8Array(0) },
    ];
    for (const over of bad) expect(() => encodeManifest(sample(over)), JSON.stringify(Object.keys(over))).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
  });
});
