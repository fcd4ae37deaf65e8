#!/usr/bin/env node
// Codec benchmark: single thread, hot cache, GB/s of DATA in (k x shard bytes per call), every contender in
// the same run so ratios are paired: ISA-L 2.30 (bench/isal_bench.c), @ronomon/reed-solomon,
// reed-solomon 3.1.2 (pure JS), our pure-TS codec and our native codec (sync, and async through the pool).
// Not a test: numbers go to bench/RESULTS.md. `--smoke` runs every contender briefly (CI runs it).
// Usage: npx tsc -p . && bench/setup-peers.sh && node bench/codec.mjs [--smoke] [--reps N] [--ms N]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const targetMs = opt('--ms', smoke ? 3 : 80);
const reps = opt('--reps', smoke ? 1 : 5);

const dist = join(here, '..', 'dist', 'lib');
if (!existsSync(join(dist, 'index.js'))) {
  console.error('bench/codec.mjs: dist/ is not built; run `npx tsc -p .` first');
  process.exit(2);
}
const { ReedSolomon, nativeInfo } = await import(join(dist, 'index.js'));
const info = nativeInfo();

console.log(`cpu: ${info.cpu} x ${cpus().length}`);
console.log(`node: ${process.version} (${process.arch}), napi ${process.versions.napi}`);
console.log(`native: ${info.loaded ? `loaded, kernel ${info.codec.chosen} (supported: ${info.codec.supported.join(', ')})` : `unavailable: ${info.reason}`}`);
console.log(`mode: ${smoke ? 'smoke' : 'full'}, ${targetMs} ms per sample, median of ${reps}`);

// ---- timing -------------------------------------------------------------------------------------------
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
async function rate(fn, bytesPerCall, isAsync) {
  const samples = [];
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < 3; i++) isAsync ? await fn() : fn(); // warm-up (and JIT tier-up)
    let calls = 0;
    let batch = 1;
    const start = process.hrtime.bigint();
    let elapsedNs = 0n;
    while (elapsedNs < BigInt(targetMs * 1e6)) {
      for (let i = 0; i < batch; i++) isAsync ? await fn() : fn();
      calls += batch;
      batch = Math.min(batch * 2, 1 << 16);
      elapsedNs = process.hrtime.bigint() - start;
    }
    samples.push((bytesPerCall * calls) / (Number(elapsedNs) / 1e9) / 1e9);
  }
  return median(samples);
}

// ---- peers ----------------------------------------------------------------------------------------------
const KB = 1024;
const shapes = [[4, 2], [10, 4], [16, 4]];
const sizes = smoke ? [4 * KB, 64 * KB] : [4 * KB, 64 * KB, 1024 * KB];
const cases = shapes.flatMap(([k, m]) => sizes.map((size) => ({ k, m, size })));

const isal = new Map();
const isalBin = join(here, '.peers', 'isal_bench');
if (existsSync(isalBin)) {
  const res = spawnSync(isalBin, [String(targetMs), ...cases.map((c) => `${c.k}:${c.m}:${c.size}`)], { encoding: 'utf8' });
  for (const line of res.stdout.split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    isal.set(`${r.op}/${r.k}/${r.m}/${r.size}`, r.gbps);
  }
} else {
  console.log('note: ISA-L harness missing (bench/setup-peers.sh needs libisal-dev); ISA-L column empty');
}

let ronomon = null;
try {
  ronomon = require('@ronomon/reed-solomon');
} catch (err) {
  console.log(`note: @ronomon/reed-solomon unavailable (${err.message})`);
}
let rs312 = null;
try {
  rs312 = require(join(here, '.peers', 'node_modules', 'reed-solomon'));
} catch {
  console.log('note: reed-solomon@3.1.2 not installed (run bench/setup-peers.sh); column empty');
}

function shardsFor(k, m, size) {
  return Array.from({ length: k + m }, (_, i) => {
    const b = Buffer.alloc(size);
    if (i < k) for (let j = 0; j < size; j += 4096) b[j] = (i * 31 + j) & 255;
    return b;
  });
}

// ---- run ------------------------------------------------------------------------------------------------
const rows = [];
for (const { k, m, size } of cases) {
  const data = k * size;
  const row = { shape: `${k}+${m}`, size, isal: {}, native: {}, js: null, ronomon: null, rs312: null };
  const shards = shardsFor(k, m, size);
  if (info.loaded) {
    const rs = new ReedSolomon(k, m);
    row.native.encode = await rate(() => rs.encodeSync(shards), data, false);
    // Async through the pool: one stripe per call, so the ~25 us hop is included.
    row.native.encodeAsync = await rate(() => rs.encodeBatch([shards]), data, true);
    // Batched async: 16 stripes per pool call (what the engine does).
    const batch = Array.from({ length: smoke ? 4 : 16 }, () => shardsFor(k, m, size));
    row.native.encodeBatch16 = await rate(() => rs.encodeBatch(batch), data * batch.length, true);
    rs.encodeSync(shards);
    for (const [label, lost] of [['decode1', [0]], ['decodem', Array.from({ length: m }, (_, i) => i)]]) {
      const present = shards.map((_, i) => !lost.includes(i));
      row.native[label] = await rate(() => rs.reconstructSync(shards, { present, targets: lost }), data, false);
    }
  }
  if (!smoke || size <= 4 * KB) {
    const js = new ReedSolomon(k, m, { backend: 'js' });
    row.js = await rate(() => js.encodeSync(shards), data, false);
  }
  if (ronomon !== null && k <= ronomon.MAX_K && m <= ronomon.MAX_M) {
    const ctx = ronomon.create(k, m);
    const buffer = Buffer.alloc(size * k, 7);
    const parity = Buffer.alloc(size * m);
    const sources = (1 << k) - 1;
    const targets = ((1 << (k + m)) - 1) ^ sources;
    row.ronomon = await rate(
      () =>
        new Promise((resolve, reject) =>
          ronomon.encode(ctx, sources, targets, buffer, 0, size * k, parity, 0, size * m, (e) => (e ? reject(e) : resolve())),
        ),
      data,
      true,
    );
  }
  if (rs312 !== null && (!smoke || size <= 4 * KB)) {
    const codec = new rs312(k, m);
    const buffer = Buffer.alloc(size * (k + m), 3);
    row.rs312 = await rate(
      () =>
        new Promise((resolve, reject) =>
          codec.encode(buffer, 0, buffer.length, size, 0, size, (e) => (e ? reject(e) : resolve())),
        ),
      data,
      true,
    );
  }
  for (const op of ['encode', 'decode1', 'decodem']) row.isal[op] = isal.get(`${op}/${k}/${m}/${size}`) ?? null;
  rows.push(row);
  if (!smoke) process.stderr.write('.');
}
if (!smoke) process.stderr.write('\n');

// ---- report ---------------------------------------------------------------------------------------------
const f = (x) => (x === null || x === undefined ? '—' : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const ratio = (a, b) => (a == null || b == null || b === 0 ? '—' : `${(a / b).toFixed(2)}x`);
const sz = (s) => (s >= 1024 * KB ? `${s / (1024 * KB)} MiB` : `${s / KB} KiB`);

console.log('\nencode, GB/s of data in (single thread, hot cache)');
console.log('| k+m | shard | ISA-L | native sync | native async 1 | native async x16 | pure TS | ronomon | rs 3.1.2 | native/ISA-L | async1/ISA-L | native/ronomon | TS/rs3.1.2 |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.shape} | ${sz(r.size)} | ${f(r.isal.encode)} | ${f(r.native.encode)} | ${f(r.native.encodeAsync)} | ${f(r.native.encodeBatch16)} | ${f(r.js)} | ${f(r.ronomon)} | ${f(r.rs312)} | ${ratio(r.native.encode, r.isal.encode)} | ${ratio(r.native.encodeAsync, r.isal.encode)} | ${ratio(r.native.encode, r.ronomon)} | ${ratio(r.js, r.rs312)} |`,
  );
}
console.log('\nreconstruct (first e data shards lost), GB/s of data in; ISA-L with cached decode tables');
console.log('| k+m | shard | ISA-L e=1 | native e=1 | ratio | ISA-L e=m | native e=m | ratio |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.shape} | ${sz(r.size)} | ${f(r.isal.decode1)} | ${f(r.native.decode1)} | ${ratio(r.native.decode1, r.isal.decode1)} | ${f(r.isal.decodem)} | ${f(r.native.decodem)} | ${ratio(r.native.decodem, r.isal.decodem)} |`,
  );
}

if (info.loaded) {
  const rs = new ReedSolomon(4, 2);
  const tiny = shardsFor(4, 2, 8);
  const perCall = async (fn, isAsync) => {
    const n = smoke ? 200 : 20000;
    for (let i = 0; i < 100; i++) isAsync ? await fn() : fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) isAsync ? await fn() : fn();
    return Number(process.hrtime.bigint() - t0) / n / 1000;
  };
  const syncUs = await perCall(() => rs.encodeSync(tiny), false);
  const asyncUs = await perCall(() => rs.encodeBatch([tiny]), true);
  console.log(`\nper-call overhead (4+2, 8-byte shards): sync ${syncUs.toFixed(2)} us, async (pool round trip) ${asyncUs.toFixed(1)} us`);
}
console.log('\nbench/codec.mjs: ok');
