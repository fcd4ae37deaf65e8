// Manifest encoding and signatures: canonical round trip, every single-byte change of a signed manifest is
// rejected, garbage never throws anything but a coded ShardVaultError, bounds are enforced.
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ShardVaultError } from '../lib/errors.js';
import { CHECKSUM_ALGORITHMS, CHECKSUM_DIGEST_BYTES, partStripes, decodeManifest, encodeManifest, signManifest, verifyManifest, type Manifest } from '../lib/format/manifest.js';

const v1Fixture = JSON.parse(readFileSync(new URL('./vectors/manifest-v1.json', import.meta.url), 'utf8')) as {
  publicKeySpki: string;
  manifests: Array<{ name: string; signed: string; expect: Record<string, unknown> }>;
};

const v2Fixture = JSON.parse(readFileSync(new URL('./vectors/manifest-v2.json', import.meta.url), 'utf8')) as typeof v1Fixture;

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
const metadataArb = fc.record({
  contentType: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
  md5: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
  metadata: fc.option(fc.dictionary(fc.stringMatching(/^[a-z0-9_.~-]{1,12}$/), fc.string({ maxLength: 40 }), { maxKeys: 8 }), { nil: undefined }),
});
const withMeta = (over: Partial<Manifest> = {}) => sample({ contentType: 'image/jpeg', md5: randomBytes(16), metadata: { 'x-owner': 'alice', camera: 'Nikon é' }, ...over });

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

  it('reads the committed v1 fixture (written by the v1-only encoder): decodes, verifies, and re-encodes to the same bytes', () => {
    const pub = createPublicKey({ key: Buffer.from(v1Fixture.publicKeySpki, 'hex'), format: 'der', type: 'spki' });
    for (const f of v1Fixture.manifests) {
      const signed = Buffer.from(f.signed, 'hex');
      expect(signed.readUInt16BE(4), f.name).toBe(1);
      const m = verifyManifest(signed, () => pub);
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      expect({ ...m, sequence: String(m.sequence), versionId: hex(m.versionId), contentHash: hex(m.contentHash), hashTableRoot: hex(m.hashTableRoot), signerKeyId: hex(m.signerKeyId), inline: hex(m.inline) }, f.name).toEqual(f.expect);
      expect(m.contentType ?? m.md5 ?? m.metadata).toBeUndefined();
      // Today's encoder still writes a manifest without metadata as v1, byte for byte.
      expect(Buffer.compare(encodeManifest(m), signed.subarray(0, signed.length - 64)), f.name).toBe(0);
    }
  });

  it('round-trips v2 (metadata) canonically; only manifests with metadata are v2', () => {
    fc.assert(
      fc.property(metadataArb, (meta) => {
        const m = sample(meta);
        const bytes = encodeManifest(m);
        const v2 = meta.contentType !== undefined || meta.md5 !== undefined || Object.keys(meta.metadata ?? {}).length > 0;
        expect(Buffer.from(bytes).readUInt16BE(4)).toBe(v2 ? 2 : 1);
        const back = decodeManifest(bytes);
        expect(back.contentType).toBe(meta.contentType);
        expect(back.md5 === undefined ? undefined : Buffer.from(back.md5)).toEqual(meta.md5 === undefined ? undefined : Buffer.from(meta.md5));
        expect(back.metadata ?? {}).toEqual(meta.metadata ?? {});
        expect(Buffer.compare(encodeManifest(back), bytes)).toBe(0);
      }),
      { numRuns: 200 },
    );
    const odd = decodeManifest(encodeManifest(withMeta({ metadata: Object.fromEntries([['__proto__', 'x'], ['constructor', 'y']]) })));
    expect(Object.getPrototypeOf(odd.metadata)).toBe(Object.prototype); // a name is never a prototype
    expect(Object.entries(odd.metadata!)).toEqual([['__proto__', 'x'], ['constructor', 'y']]);
  });

  it('refuses non-canonical or oversized v2 metadata', () => {
    const good = Buffer.from(encodeManifest(withMeta({ md5: undefined, contentType: undefined, metadata: { a: '1', b: '2' } })));
    // Swap the two entries (a, b -> b, a): not ascending.
    const at = good.indexOf(Buffer.from([1, 0x61, 0, 1, 0x31, 1, 0x62, 0, 1, 0x32]));
    expect(at).toBeGreaterThan(0);
    const swapped = Buffer.from(good);
    Buffer.from([1, 0x62, 0, 1, 0x32, 1, 0x61, 0, 1, 0x31]).copy(swapped, at);
    expect(() => decodeManifest(swapped)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    // A v2 with no metadata at all must have been v1.
    const v1 = Buffer.from(encodeManifest(sample()));
    const empty = Buffer.concat([v1, Buffer.from([0, 0, 0])]);
    empty.writeUInt16BE(2, 4);
    expect(() => decodeManifest(empty)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    for (const over of [{ metadata: { big: 'v'.repeat(2046) } }, { metadata: { UPPER: 'x' } }, { contentType: 'x'.repeat(256) }, { md5: new Uint8Array(15) }]) {
      expect(() => encodeManifest(withMeta(over)), JSON.stringify(Object.keys(over))).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    }
    expect(() => encodeManifest(withMeta({ metadata: { big: 'v'.repeat(2045) } }))).not.toThrow();
  });

  it('v2 bytes truncated, mutated or extended only ever throw ERR_SV_MANIFEST_FORMAT (or decode canonically)', () => {
    const good = encodeManifest(withMeta());
    fc.assert(
      fc.property(fc.nat(good.length), fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 8 }), (cut, edits, tail) => {
        const mutated = Uint8Array.from(good);
        for (const [i, v] of edits) mutated[i] = v;
        for (const input of [good.subarray(0, cut), mutated, Uint8Array.from([...good, ...tail])]) {
          if (Buffer.compare(input, good) === 0) continue;
          try {
            decodeManifest(input);
          } catch (err) {
            expect(err).toBeInstanceOf(ShardVaultError);
            expect((err as ShardVaultError).code).toBe('ERR_SV_MANIFEST_FORMAT');
            continue;
          }
          expect(Buffer.compare(encodeManifest(decodeManifest(input)), input)).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('verifies a signed manifest and rejects every single-byte change, a wrong key and an unknown key id', () => {
    for (const v2 of [withMeta(), withMeta({ metadata: undefined, contentType: undefined })]) {
      const s2 = signManifest(v2, privateKey);
      expect(verifyManifest(s2, trusted).metadata).toEqual(v2.metadata);
      for (let i = 0; i < s2.length; i++) {
        const bad = s2.slice();
        bad[i] ^= 1 << (i % 8);
        expect(() => verifyManifest(bad, trusted), `v2 byte ${i}`).toThrow(ShardVaultError);
      }
    }
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

  it('reads the committed v2 fixture (written by the encoder before v3): decodes, verifies, and re-encodes to the same bytes', () => {
    const pub = createPublicKey({ key: Buffer.from(v2Fixture.publicKeySpki, 'hex'), format: 'der', type: 'spki' });
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    for (const f of v2Fixture.manifests) {
      const signed = Buffer.from(f.signed, 'hex');
      expect(signed.readUInt16BE(4), f.name).toBe(2);
      const m = verifyManifest(signed, () => pub);
      expect({ ...m, sequence: String(m.sequence), versionId: hex(m.versionId), contentHash: hex(m.contentHash), hashTableRoot: hex(m.hashTableRoot), signerKeyId: hex(m.signerKeyId), inline: hex(m.inline), ...(m.md5 !== undefined ? { md5: hex(m.md5) } : {}) }, f.name).toEqual(f.expect);
      expect(m.headers ?? m.checksum).toBeUndefined();
      // Today's encoder writes a manifest with metadata but no v3 field as v2, byte for byte.
      expect(Buffer.compare(encodeManifest(m), signed.subarray(0, signed.length - 64)), f.name).toBe(0);
    }
  });

  const headersArb = fc.record({
    contentEncoding: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,40}$/), { nil: undefined }),
    contentDisposition: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,80}$/), { nil: undefined }),
    cacheControl: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,40}$/), { nil: undefined }),
    expires: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,40}$/), { nil: undefined }),
    contentLanguage: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,20}$/), { nil: undefined }),
  });
  const checksumArb = fc.option(fc.constantFrom(...CHECKSUM_ALGORITHMS).chain((algorithm) => fc.record({ algorithm: fc.constant(algorithm), digest: fc.uint8Array({ minLength: CHECKSUM_DIGEST_BYTES[algorithm], maxLength: CHECKSUM_DIGEST_BYTES[algorithm] }) })), { nil: undefined });
  const strip = (h: Record<string, string | undefined>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined));

  it('round-trips v3 (system headers, checksum) canonically; only manifests with a v3 field are v3', () => {
    fc.assert(
      fc.property(headersArb, checksumArb, metadataArb, (h, checksum, meta) => {
        const headers = strip(h);
        const m = sample({ ...meta, ...(Object.keys(headers).length > 0 ? { headers } : {}), ...(checksum !== undefined ? { checksum } : {}) });
        const bytes = encodeManifest(m);
        const v3 = Object.keys(headers).length > 0 || checksum !== undefined;
        const v2 = meta.contentType !== undefined || meta.md5 !== undefined || Object.keys(meta.metadata ?? {}).length > 0;
        expect(Buffer.from(bytes).readUInt16BE(4)).toBe(v3 ? 3 : v2 ? 2 : 1);
        const back = decodeManifest(bytes);
        expect(back.headers ?? {}).toEqual(headers);
        expect(back.checksum === undefined ? undefined : { algorithm: back.checksum.algorithm, digest: Buffer.from(back.checksum.digest) }).toEqual(checksum === undefined ? undefined : { algorithm: checksum.algorithm, digest: Buffer.from(checksum.digest) });
        expect(back.contentType).toBe(meta.contentType);
        expect(Buffer.compare(encodeManifest(back), bytes)).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses non-canonical, unknown or oversized v3 fields; v3 bytes mutated only ever throw ERR_SV_MANIFEST_FORMAT (or decode canonically)', () => {
    const v1 = Buffer.from(encodeManifest(sample()));
    const asV3 = (tail: number[]) => {
      const b = Buffer.concat([v1, Buffer.from([0, 0, 0]), Buffer.from(tail)]); // empty v2 block, then the v3 block
      b.writeUInt16BE(3, 4);
      return b;
    };
    const ok = asV3([1, 0b100, 0, 2, 0x6e, 0x6f]); // cacheControl "no"
    expect(decodeManifest(ok).headers).toEqual({ cacheControl: 'no' });
    for (const [tail, why] of [
      [[0], 'ext 0: must have been v1'], [[4], 'unknown ext bit'], [[1, 0], 'empty header mask'], [[1, 0x20, 0, 1, 0x61], 'unknown header bit'],
      [[1, 1, 0, 0], 'empty header value'], [[1, 1, 0, 1, 0x0a], 'LF in a header'], [[1, 1, 0x04, 0x01], 'header longer than 1024'],
      [[2, 0, 1, 2, 3, 4], 'checksum algorithm 0'], [[2, 6, 1, 2, 3, 4], 'unknown checksum algorithm'], [[2, 1, 1, 2, 3], 'short crc32'], [[2, 1, 1, 2, 3, 4, 5], 'trailing byte'],
    ] as Array<[number[], string]>) {
      expect(() => decodeManifest(asV3(tail)), why).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    }
    for (const over of [{ headers: { cacheControl: 'x'.repeat(1025) } }, { headers: { expires: 'a\r\nb' } }, { checksum: { algorithm: 'sha1' as const, digest: new Uint8Array(19) } }, { checksum: { algorithm: 'md5' as never, digest: new Uint8Array(16) } }]) {
      expect(() => encodeManifest(sample(over)), JSON.stringify(Object.keys(over))).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    }
    const good = encodeManifest(withMeta({ headers: { contentEncoding: 'gzip', expires: 'never' }, checksum: { algorithm: 'crc32', digest: Uint8Array.of(1, 2, 3, 4) } }));
    fc.assert(
      fc.property(fc.nat(good.length), fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 8 }), (cut, edits, tail) => {
        const mutated = Uint8Array.from(good);
        for (const [i, v] of edits) mutated[i] = v;
        for (const input of [good.subarray(0, cut), mutated, Uint8Array.from([...good, ...tail])]) {
          if (Buffer.compare(input, good) === 0) continue;
          try {
            decodeManifest(input);
          } catch (err) {
            expect(err).toBeInstanceOf(ShardVaultError);
            expect((err as ShardVaultError).code).toBe('ERR_SV_MANIFEST_FORMAT');
            continue;
          }
          expect(Buffer.compare(encodeManifest(decodeManifest(input)), input)).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
    // The signature covers the v3 fields: every flipped bit is refused.
    const s3 = signManifest(withMeta({ headers: { cacheControl: 'max-age=1' }, checksum: { algorithm: 'crc32c', digest: Uint8Array.of(9, 8, 7, 6) } }), privateKey);
    for (let i = 0; i < s3.length; i++) {
      const bad = s3.slice();
      bad[i] ^= 1 << (i % 8);
      expect(() => verifyManifest(bad, trusted), `v3 byte ${i}`).toThrow(ShardVaultError);
    }
  });

  const partsOf = (sizes: number[], k: number, blockBytes: number, disks: string[][]) => {
    const parts = sizes.map((size, i) => ({ number: i * 2 + 1, partId: randomBytes(16), size, contentHash: randomBytes(32), md5: randomBytes(16), placement: disks[i % disks.length] }));
    const stripeCount = sizes.reduce((t, size) => t + partStripes(size, k, blockBytes), 0);
    return { parts, size: sizes.reduce((a, b) => a + b, 0), stripeCount };
  };

  it('round-trips v4 (multipart parts) canonically, with v2/v3 fields or without', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 12 }), fc.boolean(), fc.boolean(), (sizes, meta, headers) => {
        const placements = [['d0', 'd1', 'd2', 'd3', 'd4', 'd5'], ['d5', 'd6', 'd0', 'd7', 'd8', 'd1'], ['x', 'y', 'z', 'd0', 'd1', 'd2']];
        const { parts, size, stripeCount } = partsOf(sizes, 4, 1 << 20, placements);
        const m = sample({ parts, size, stripeCount, ...(meta ? { contentType: 'a/b', md5: randomBytes(16) } : {}), ...(headers ? { headers: { cacheControl: 'x' } } : {}) });
        const bytes = encodeManifest(m);
        expect(Buffer.from(bytes).readUInt16BE(4)).toBe(4);
        const back = decodeManifest(bytes);
        expect(back.parts!.map((p) => ({ ...p, partId: Buffer.from(p.partId), contentHash: Buffer.from(p.contentHash), md5: Buffer.from(p.md5) })))
          .toEqual(parts.map((p) => ({ ...p, partId: Buffer.from(p.partId), contentHash: Buffer.from(p.contentHash), md5: Buffer.from(p.md5) })));
        expect(Buffer.compare(encodeManifest(back), bytes)).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses inconsistent v4 manifests (sums, order, placement, tombstone, inline) and mutated bytes only throw ERR_SV_MANIFEST_FORMAT', () => {
    const pl = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
    const { parts, size, stripeCount } = partsOf([5 << 20, 5 << 20, 1234], 4, 1 << 20, [pl]);
    const ok = { parts, size, stripeCount };
    expect(() => encodeManifest(sample(ok))).not.toThrow();
    const bad: Array<[Partial<Manifest>, string]> = [
      [{ ...ok, size: size + 1 }, 'size is not the sum'],
      [{ ...ok, stripeCount: stripeCount + 1 }, 'stripeCount is not the sum'],
      [{ ...ok, parts: [parts[1], parts[0], parts[2]] }, 'part numbers out of order'],
      [{ ...ok, parts: parts.map((p) => ({ ...p, number: 1 })) }, 'part numbers repeat'],
      [{ ...ok, parts: [{ ...parts[0], number: 10_001 }], size: parts[0].size, stripeCount: 2 }, 'part number above 10000'],
      [{ ...ok, parts: parts.map((p) => ({ ...p, placement: pl.slice(1) })) }, 'part placement of the wrong length'],
      [{ ...ok, parts: [] , size: 0, stripeCount: 0 }, 'no parts'],
      [{ ...ok, tombstone: true }, 'a tombstone'],
      [{ ...ok, inline: new Uint8Array(1) }, 'inline data'],
      [{ ...ok, parts: parts.map((p) => ({ ...p, partId: new Uint8Array(15) })) }, 'short part id'],
    ];
    for (const [over, why] of bad) expect(() => encodeManifest(sample(over)), why).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    const good = encodeManifest(sample({ ...ok, parts: parts.map((p, i) => ({ ...p, placement: i === 1 ? ['d9', 'd1', 'd2', 'd3', 'd4', 'd5'] : pl })) }));
    fc.assert(
      fc.property(fc.nat(good.length), fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 8 }), (cut, edits, tail) => {
        const mutated = Uint8Array.from(good);
        for (const [i, v] of edits) mutated[i] = v;
        for (const input of [good.subarray(0, cut), mutated, Uint8Array.from([...good, ...tail])]) {
          if (Buffer.compare(input, good) === 0) continue;
          try {
            decodeManifest(input);
          } catch (err) {
            expect(err).toBeInstanceOf(ShardVaultError);
            expect((err as ShardVaultError).code).toBe('ERR_SV_MANIFEST_FORMAT');
            continue;
          }
          expect(Buffer.compare(encodeManifest(decodeManifest(input)), input)).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
