// Child for the power-cut test: writes `name` in `dir` through lib/shardio and either seals it or stops
// before sealing; prints "done" once its calls have returned. Usage: power-child.mjs dist dir name seal|noseal
import { join } from 'node:path';

const [distDir, dir, name, mode] = process.argv.slice(2);
const { openShardWriter } = await import(join(distDir, 'lib', 'store', 'local', 'shardio.js'));
const w = await openShardWriter(dir, name);
await w.append(Buffer.alloc(256 * 1024, 0x5a));
if (mode === 'seal') await w.seal();
console.log('done');
// noseal: exit without seal or abort, as a crash would (the temporary file stays, unsynced)
process.exit(0);
