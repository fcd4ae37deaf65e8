// Child for the multipart crash sweep: opens an existing pool that has an upload of bkt/mp in progress (its id
// and part ETags in the JSON file named), completes it, prints "acked" once completeUpload resolved, then
// writes another object and prints "done" (so crash points also fall after the acknowledged commit).
// Usage: multipart-child.mjs dist metaDir uploadJson
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [distDir, meta, uploadJson] = process.argv.slice(2);
const { Vault } = await import(join(distDir, 'lib', 'vault.js'));
const { uploadId, etags } = JSON.parse(readFileSync(uploadJson, 'utf8'));
const vault = await Vault.open(meta, { orphanGraceMs: 3600_000, minPartBytes: 1 });
await vault.completeUpload('bkt', 'mp', uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
console.log('acked');
await vault.put('bkt', 'other', Buffer.alloc(9000, 0x33));
console.log('done');
process.exit(0);
