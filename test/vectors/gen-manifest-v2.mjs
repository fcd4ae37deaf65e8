// Writes test/vectors/manifest-v2.json: signed v2 manifests (object metadata: content type, MD5, user
// metadata), as written by the encoder before manifest v3 (system headers, checksums; commit c4d8595), with
// the fixed Ed25519 key of gen-manifest-v1.mjs (seed 0x01..0x20), so the bytes are reproducible. Today's
// encoder still writes v2 for a manifest with metadata but no v3 field: rerunning this after `npx tsc` must
// reproduce the file byte for byte (test/manifest.test.ts checks that too).
// Usage: node test/vectors/gen-manifest-v2.mjs > test/vectors/manifest-v2.json
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';

const dist = join(new URL('../..', import.meta.url).pathname, 'dist', 'lib');
const { signManifest } = await import(join(dist, 'format', 'manifest.js'));

const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
const publicKey = createPublicKey(privateKey);
const bytes = (n, f) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);
const striped = {
  bucket: 'photos', key: '2024/07/é-☃-\u{1F600}.jpg', versionId: bytes(16, (i) => i * 5 + 3), sequence: 9n, size: 5_000_000,
  contentHash: bytes(32, (i) => 200 - i), tombstone: false, k: 4, m: 2, blockBytes: 1 << 20, stripeCount: 2,
  placement: ['disk-0-aaaa', 'disk-1-bbbb', 'disk-2-cccc', 'disk-3-dddd', 'disk-4-eeee', 'disk-5-ffff'],
  hashTableRoot: bytes(32, (i) => i * 11), principal: 'bob', timeMs: 1_796_000_000_000, signerKeyId: bytes(16, (i) => 0xa0 + i),
  inline: new Uint8Array(0), contentType: 'image/jpeg', md5: bytes(16, (i) => i * 13 + 7), metadata: { camera: 'Nikon é', 'x-owner': 'alice' },
};
const inlineType = { ...striped, key: 'note.txt', sequence: 1n, size: 5, stripeCount: 0, inline: new TextEncoder().encode('hello'), md5: undefined, metadata: undefined, contentType: 'text/plain' };
delete inlineType.md5;
delete inlineType.metadata;
const hex = (b) => Buffer.from(b).toString('hex');
const expect = (m) => ({ ...m, sequence: String(m.sequence), versionId: hex(m.versionId), contentHash: hex(m.contentHash), hashTableRoot: hex(m.hashTableRoot), signerKeyId: hex(m.signerKeyId), inline: hex(m.inline), ...(m.md5 !== undefined ? { md5: hex(m.md5) } : {}) });
console.log(JSON.stringify({
  comment: 'Signed v2 manifests (canonical bytes || Ed25519 signature over "shardvault/manifest/v1\\0" || bytes). Regenerate: node test/vectors/gen-manifest-v2.mjs',
  publicKeySpki: hex(publicKey.export({ format: 'der', type: 'spki' })),
  manifests: [
    { name: 'striped object with metadata and md5', signed: hex(signManifest(striped, privateKey)), expect: expect(striped) },
    { name: 'inline object with a content type', signed: hex(signManifest(inlineType, privateKey)), expect: expect(inlineType) },
  ],
}, null, 2));
