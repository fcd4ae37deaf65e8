#!/usr/bin/env node
// BLAKE3 benchmark: our native BLAKE3 (each kernel) vs `b3sum --num-threads 1` (Debian b3sum, timed as a
// whole process on a file in the page cache, so its figure includes process start-up: we time 256 MiB to
// make that small), node:crypto SHA-256 and @noble/hashes blake3 — same run, GB/s. Then the fused 10+4
// encode+hash vs encode alone + hash alone. `--smoke` runs everything briefly.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'lib');
if (!existsSync(join(dist, 'index.js'))) {
  console.error('bench/hash.mjs: dist/ is not built; run `npx tsc -p .` first');
  process.exit(2);
}
const { blake3Sync, nativeInfo, ReedSolomon } = await import(join(dist, 'index.js'));
const { blake3: noble } = await import('@noble/hashes/blake3.js');
const smoke = process.argv.includes('--smoke');
const targetMs = smoke ? 3 : 150;
const info = nativeInfo();
console.log(`cpu: ${info.cpu} x ${cpus().length}`);
console.log(`node: ${process.version} (${process.arch})`);
console.log(`native: ${info.loaded ? `loaded, BLAKE3 kernel ${info.blake3?.chosen} (supported: ${info.blake3?.supported.join(', ')})` : `unavailable: ${info.reason}`}`);

function rate(fn, bytes) {
  for (let i = 0; i < 3; i++) fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - start) < targetMs * 1e6) {
    fn();
    calls++;
  }
  return (bytes * calls) / Number(process.hrtime.bigint() - start);
}

let b3sum = null;
if (spawnSync('sh', ['-c', 'command -v b3sum']).status === 0) {
  const dir = mkdtempSync(join(tmpdir(), 'sv-b3-'));
  const file = join(dir, 'in');
  const size = smoke ? 16 << 20 : 256 << 20;
  writeFileSync(file, randomBytes(size));
  spawnSync('b3sum', ['--num-threads', '1', file]); // warm the page cache
  const runs = [];
  for (let i = 0; i < (smoke ? 1 : 5); i++) {
    const t = process.hrtime.bigint();
    spawnSync('b3sum', ['--num-threads', '1', file]);
    runs.push(size / Number(process.hrtime.bigint() - t));
  }
  rmSync(dir, { recursive: true, force: true });
  b3sum = runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)];
} else {
  console.log('note: b3sum not installed (apt-get install b3sum); column empty');
}

const f = (x) => (x == null ? '—' : x.toFixed(2));
const kernels = info.blake3?.supported ?? [];
console.log(`\nGB/s, single thread (b3sum: ${f(b3sum)} GB/s over ${smoke ? 16 : 256} MiB incl. process start)`);
console.log(`| size | ${kernels.map((k) => `native ${k}`).join(' | ')} | SHA-256 | noble blake3 | best/b3sum | best/SHA-256 |`);
console.log(`|---|${kernels.map(() => '---|').join('')}---|---|---|---|`);
for (const size of [1024, 64 * 1024, 1024 * 1024]) {
  const data = randomBytes(size);
  const ours = kernels.map((k) => rate(() => blake3Sync(data, { kernel: k }), size));
  const sha = rate(() => createHash('sha256').update(data).digest(), size);
  const nob = rate(() => noble(data), size);
  const best = Math.max(...ours);
  console.log(`| ${size >= 1 << 20 ? '1 MiB' : `${size / 1024} KiB`} | ${ours.map(f).join(' | ')} | ${f(sha)} | ${f(nob)} | ${b3sum ? (best / b3sum).toFixed(2) + 'x' : '—'} | ${(best / sha).toFixed(2)}x |`);
}

if (info.loaded) {
  const k = 10, m = 4, size = 64 * 1024;
  const stripes = Array.from({ length: smoke ? 2 : 16 }, () => Array.from({ length: k + m }, () => randomBytes(size)));
  const rs = new ReedSolomon(k, m);
  const bytes = stripes.length * k * size;
  const timeAsync = async (fn) => {
    await fn();
    const t = process.hrtime.bigint();
    let n = 0;
    while (Number(process.hrtime.bigint() - t) < targetMs * 1e6) {
      await fn();
      n++;
    }
    return (bytes * n) / Number(process.hrtime.bigint() - t);
  };
  const fused = await timeAsync(() => rs.encodeAndHash(stripes));
  const separate = await timeAsync(async () => {
    await rs.encodeBatch(stripes);
    for (const s of stripes) for (const b of s) blake3Sync(b);
  });
  const encodeOnly = await timeAsync(() => rs.encodeBatch(stripes));
  console.log(`\n10+4 x 64 KiB, ${stripes.length} stripes per call, GB/s of data: fused encode+hash ${f(fused)}, encode then hash separately ${f(separate)}, encode alone ${f(encodeOnly)}`);
}
console.log('\nbench/hash.mjs: ok');
