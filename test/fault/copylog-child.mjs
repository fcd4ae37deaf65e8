// Child for the copy-log fault sweep: appends 4 records one after another to a fresh copy log (the first
// prepares its segment), then reads back every record whose append resolved. Prints one JSON line:
// { appends: [{ ok, seg?, off?, code? }], reads: [true | error message] }.
// Usage: copylog-child.mjs dist diskDir
import { join } from 'node:path';

const [distDir, disk] = process.argv.slice(2);
const { CopyLog, readRecord } = await import(join(distDir, 'lib', 'store', 'local', 'copylog.js'));
const poolId = Buffer.alloc(16, 7);
const log = new CopyLog(disk, poolId);
const payload = (i) => Buffer.alloc(5000 + i, 0x41 + i);
const appends = [];
const refs = [];
for (let i = 0; i < 4; i++) {
  try {
    const ref = await log.append(payload(i));
    appends.push({ ok: true, seg: ref.seg, off: ref.off });
    refs.push([i, ref]);
  } catch (err) {
    appends.push({ ok: false, code: err.code ?? 'unknown', errno: err.errno, message: err.message });
  }
}
await log.close();
const reads = [];
for (const [i, ref] of refs) {
  try {
    const got = await readRecord(disk, ref, poolId);
    reads.push(Buffer.compare(got, payload(i)) === 0 ? true : 'different bytes');
  } catch (err) {
    reads.push(String(err.message));
  }
}
console.log(JSON.stringify({ appends, reads }));
