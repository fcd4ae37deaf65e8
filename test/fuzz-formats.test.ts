// Fuzz tier (issue 14), stored formats: every parser of bytes read back from a disk or handed in by a client is
// fed mutated valid encodings and random bytes (test/support/fuzz.ts). Short mode here (FUZZ_RUNS, default
// 3000 per target); `npm run fuzz:long` runs 1,000,000 per target and records the figures.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { RECORD_ALIGN, SEGMENT_HEADER_BYTES, encodeRecord, recordBytes, scanSegment } from '../lib/store/local/copylog.js';
import { keyId as keyIdOf } from '../lib/format/ids.js';
import { HASH_TABLE_CONTEXT, copyBytes, openCopy } from '../lib/format/manifest-copy.js';
import { decodeManifest, encodeManifest, signManifest, verifyManifest, type Manifest } from '../lib/format/manifest.js';
import { decodeHeader, encodeHeader } from '../lib/format/shard-header.js';
import { blake3Sync } from '../lib/hash.js';
import { decodeListToken, encodeListToken, listTokenKey } from '../lib/listing.js';
import { FUZZ_RUNS, fuzz, replayFixtures, type FuzzTarget } from './support/fuzz.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = keyIdOf(publicKey);
const trusted = (id: Uint8Array) => (Buffer.compare(id, signer) === 0 ? publicKey : null);

function manifest(i: number): Manifest {
  const k = 1 + (i % 6), m = i % 3, stripeCount = i % 4;
  return {
    bucket: `b${i}`, key: `dir/${'x'.repeat(i * 7)}/é${i}`, versionId: randomBytes(16), sequence: BigInt(i) * 1_000_003n, size: i * 4097,
    contentHash: randomBytes(32), tombstone: i % 5 === 4, k, m, blockBytes: 4096 << (i % 4), stripeCount,
    placement: Array.from({ length: k + m }, (_, j) => `d${j}`), hashTableRoot: blake3Sync(new Uint8Array(stripeCount * (k + m) * 32), { context: HASH_TABLE_CONTEXT }),
    principal: i % 2 ? 'alice' : 'local', timeMs: 1_795_000_000_000 + i, signerKeyId: signer, inline: randomBytes(i % 3 === 0 ? 0 : i * 11),
    ...(i % 2 === 1 ? { contentType: 'text/plain', md5: randomBytes(16), metadata: { owner: `o${i}`, 'x-y': 'z' } } : {}),
  };
}
const manifests = Array.from({ length: 12 }, (_, i) => manifest(i));
const hashTable = (m: Manifest) => new Uint8Array(m.stripeCount * (m.k + m.m) * 32);

const poolId = randomBytes(16);
function segment(records: Uint8Array[], seg = 3): Uint8Array {
  let off = SEGMENT_HEADER_BYTES;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  Buffer.from('SVLG').copy(header, 0);
  header.writeUInt16BE(3, 4);
  header.writeUInt32BE(seg, 8);
  Buffer.from(poolId).copy(header, 12);
  parts.push(header);
  for (const payload of records) {
    const rec = Buffer.alloc(recordBytes(payload.length));
    Buffer.from(encodeRecord(poolId, seg, off, payload)).copy(rec);
    parts.push(rec);
    off += rec.length;
  }
  return new Uint8Array(Buffer.concat(parts));
}

const tokenKey = listTokenKey(privateKey);
const listing = { bucket: 'photos', prefix: 'a/', delimiter: '/' };
const tokenSeeds = ['a/1', 'a/b/', 'a/' + 'z'.repeat(300), 'a/é'].map((last, i) => Buffer.from(encodeListToken(tokenKey, { ...listing, last, isPrefix: i % 2 === 1 })));

const targets: Array<FuzzTarget<unknown>> = [
  {
    name: 'manifest-decode',
    seeds: manifests.map(encodeManifest),
    parse: (b) => decodeManifest(b),
    codes: ['ERR_SV_MANIFEST_FORMAT'],
  },
  {
    name: 'manifest-verify',
    seeds: manifests.map((m) => signManifest(m, privateKey)),
    parse: (b) => verifyManifest(b, trusted),
    codes: ['ERR_SV_MANIFEST_FORMAT', 'ERR_SV_MANIFEST_SIGNATURE'],
  },
  {
    name: 'manifest-copy',
    seeds: manifests.map((m) => copyBytes(signManifest(m, privateKey), hashTable(m))),
    parse: (b) => { const c = openCopy(b, trusted); return { hash: c.manifestHash, table: c.hashTable.length }; },
    codes: ['ERR_SV_MANIFEST_FORMAT', 'ERR_SV_MANIFEST_SIGNATURE', 'ERR_SV_CORRUPT'],
  },
  {
    name: 'shard-header',
    seeds: [0, 1, 2].map((i) => encodeHeader({ shard: i, k: 4, m: 2, blockBytes: 1 << (16 + i), poolId, objectId: randomBytes(16), versionId: randomBytes(16), hashTableRoot: randomBytes(32) })),
    parse: (b) => decodeHeader(b) ?? null,
  },
  {
    name: 'copylog-segment',
    seeds: [segment([randomBytes(100)]), segment([randomBytes(10), randomBytes(RECORD_ALIGN), randomBytes(7)]), segment([])],
    parse: (b) => [...scanSegment(b, 3, poolId)].map((r) => ({ ...r.ref, digest: Buffer.from(blake3Sync(r.payload)).toString('hex') })),
    maxBytes: 4 * RECORD_ALIGN + SEGMENT_HEADER_BYTES,
  },
  {
    name: 'list-token',
    seeds: tokenSeeds,
    parse: (b) => decodeListToken(tokenKey, Buffer.from(b).toString('latin1'), listing),
    codes: ['ERR_SV_INVALID_TOKEN'],
  },
  {
    // The same decoder past its tag: payloads mutated and then tagged with the pool's key, as if the key leaked.
    name: 'list-token-tagged',
    seeds: tokenSeeds.map((t) => { const raw = Buffer.from(t.toString(), 'base64url'); return raw.subarray(0, raw.length - 16); }),
    parse: (payload) => {
      const tag = blake3Sync(payload, { key: tokenKey }).subarray(0, 16);
      return decodeListToken(tokenKey, Buffer.concat([payload, tag]).toString('base64url'), listing);
    },
    codes: ['ERR_SV_INVALID_TOKEN'],
  },
];

describe('fuzz tier: stored formats', () => {
  it('the seeds parse (a target whose seeds are rejected fuzzes nothing)', () => {
    for (const t of targets) for (const s of t.seeds) expect(() => t.parse(s), t.name).not.toThrow();
  });

  it('the harness fails a parser that throws without a stable code, or answers differently twice', () => {
    const seeds = [new Uint8Array([1, 2, 3])];
    expect(() => fuzz({ name: 'selftest-uncoded', seeds, parse: (b) => { if (b.length !== 3) throw new RangeError('offset out of bounds'); return 1; } }, 200, { saveFailures: false }))
      .toThrow(/without a stable code/);
    let n = 0;
    expect(() => fuzz({ name: 'selftest-unstable', seeds, parse: () => n++ }, 200, { saveFailures: false })).toThrow(/differ/);
  });

  for (const t of targets) {
    it(`${t.name}: ${FUZZ_RUNS} inputs, no crash, stable codes, bounded memory`, () => {
      replayFixtures(t);
      const stats = fuzz(t);
      // Both outcomes must occur, or the distribution is not reaching the parser's checks.
      if (t.name !== 'copylog-segment' && t.name !== 'shard-header') expect(Object.keys(stats.rejected).length, t.name).toBeGreaterThan(0);
      expect(stats.accepted, t.name).toBeGreaterThan(0);
    }, 600_000);
  }
});
