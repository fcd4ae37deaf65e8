// Child process for the fault tests: writes one shard file through lib/store/local/shardio (built dist/) into argv[2]
// and prints one JSON line describing what happened (SV_DIRECT=1: a direct writer, created under its final
// name). Run under test/fault/faultshim.so.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, distDir] = process.argv.slice(2);
const { openShardWriter } = await import(join(distDir, 'lib', 'store', 'local', 'shardio.js'));
const blocks = [0, 1, 2].map((i) => Buffer.alloc(96 * 1024 + i * 1000, 0x41 + i));
const expected = Buffer.concat(blocks);
const result = { stage: 'open' };
let writer;
try {
  writer = await openShardWriter(dir, 'shard.bin', { direct: process.env.SV_DIRECT === '1' });
  result.stage = 'append';
  for (const b of blocks) await writer.append(b);
  result.stage = 'seal';
  await writer.seal();
  result.stage = 'sealed';
  result.ok = true;
} catch (err) {
  result.ok = false;
  result.code = err.code;
  result.errno = err.errno;
  result.syscall = err.syscall;
  if (writer !== undefined) {
    result.lost = writer.state.lost;
    // After a failed fsync the writer must refuse to seal ever again (I9).
    try {
      await writer.seal();
      result.resealed = true;
    } catch (err2) {
      result.resealCode = err2.code;
    }
    await writer.abort().catch(() => undefined);
  }
}
const final = join(dir, 'shard.bin');
result.finalExists = existsSync(final);
result.finalCorrect = result.finalExists && readFileSync(final).equals(expected);
result.leftovers = readdirSync(dir).filter((f) => f.startsWith('.tmp-'));
console.log(JSON.stringify(result));
