// Child for the power-cut test: commits one head to a catalog at argv[3] and prints "acked" once commit()
// has resolved (the point where the engine would acknowledge). Usage: catalog-child.mjs dist path
import { join } from 'node:path';

const [distDir, path] = process.argv.slice(2);
const { LmdbCatalog } = await import(join(distDir, 'lib', 'catalog', 'lmdb.js'));
const cat = await LmdbCatalog.open(path);
await cat.createBucket('b', 'alice', 1);
await cat.commit({
  bucket: 'b', key: 'k', expectedSequence: 0n,
  head: { versionId: 'v1', sequence: 1n, manifestHash: 'ab', tombstone: false },
  audit: { action: 'put', principal: 'alice', timeMs: 2 },
});
console.log('acked');
process.exit(0); // no close(): a crash right after the ack
