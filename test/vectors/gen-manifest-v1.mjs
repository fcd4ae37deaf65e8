// Writes test/vectors/manifest-v1.json: a signed v1 manifest (inline object) and a signed v1 tombstone, as
// written by releases before manifest v2 (issue 10), with a fixed Ed25519 key (seed 0x01..0x20) so the bytes
// are reproducible (Ed25519 signatures are deterministic). The fixture was produced by the v1-only encoder
// (commit 61f76b7); today's encoder still writes v1 for a manifest without metadata, so rerunning this after
// `npx tsc` must reproduce the file byte for byte (test/manifest.test.ts checks that too).
// Usage: node test/vectors/gen-manifest-v1.mjs > test/vectors/manifest-v1.json
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';

const dist = join(new URL('../..', import.meta.url).pathname, 'dist', 'lib');
const { signManifest } = await import(join(dist, 'format', 'manifest.js'));

const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
const publicKey = createPublicKey(privateKey);
const bytes = (n, f) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);
const base = {
  bucket: 'photos', key: '2024/07/é-☃-\u{1F600}.jpg', versionId: bytes(16, (i) => i * 7 + 1), sequence: 42n, size: 11,
  contentHash: bytes(32, (i) => 255 - i), tombstone: false, k: 4, m: 2, blockBytes: 1 << 20, stripeCount: 0,
  placement: ['disk-0-aaaa', 'disk-1-bbbb', 'disk-2-cccc', 'disk-3-dddd', 'disk-4-eeee', 'disk-5-ffff'],
  hashTableRoot: bytes(32, (i) => i * 3), principal: 'alice', timeMs: 1_795_000_000_000, signerKeyId: bytes(16, (i) => 0xa0 + i),
  inline: new TextEncoder().encode('hello world'),
};
const tombstone = { ...base, key: 'gone', sequence: 43n, size: 0, tombstone: true, inline: new Uint8Array(0) };
const hex = (b) => Buffer.from(b).toString('hex');
console.log(JSON.stringify({
  comment: 'Signed v1 manifests (canonical bytes || Ed25519 signature over "shardvault/manifest/v1\\0" || bytes). Regenerate: node test/vectors/gen-manifest-v1.mjs',
  publicKeySpki: hex(publicKey.export({ format: 'der', type: 'spki' })),
  manifests: [
    { name: 'inline object', signed: hex(signManifest(base, privateKey)), expect: { ...base, sequence: String(base.sequence), versionId: hex(base.versionId), contentHash: hex(base.contentHash), hashTableRoot: hex(base.hashTableRoot), signerKeyId: hex(base.signerKeyId), inline: hex(base.inline) } },
    { name: 'tombstone', signed: hex(signManifest(tombstone, privateKey)), expect: { ...tombstone, sequence: String(tombstone.sequence), versionId: hex(tombstone.versionId), contentHash: hex(tombstone.contentHash), hashTableRoot: hex(tombstone.hashTableRoot), signerKeyId: hex(tombstone.signerKeyId), inline: '' } },
  ],
}, null, 2));
