#!/usr/bin/env node
// Codec benchmark: single thread, hot cache, GB/s of DATA in (k x shard bytes per call), every contender in
// the same run so ratios are paired: ISA-L 2.30 (bench/isal_bench.c), @ronomon/reed-solomon,
// reed-solomon 3.1.2 (pure JS), our pure-TS codec and our native codec (sync, and async through the pool).
// Not a test: numbers go to bench/RESULTS.md. `--smoke` runs every contender briefly (CI runs it).
// Usage: npx tsc -p . && bench/setup-peers.sh && node bench/codec.mjs [--smoke] [--reps N] [--ms N]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
{
  const wanted = ['sse4_2', 'ssse3', 'pclmulqdq', 'avx', 'avx2', 'avx512f', 'avx512bw', 'avx512vl', 'gfni', 'vpclmulqdq', 'asimd', 'pmull'];
  let have = [];
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
    const flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
    have = wanted.filter((w) => flags.has(w));
  } catch { /* not Linux */ }
  console.log(`cpu flags (relevant): ${have.join(' ') || 'unknown'}`);
}
console.log(`node: ${process.version} (${process.arch}), napi ${process.versions.napi}`);
console.log(`native: ${info.loaded ? `loaded, kernel ${info.codec.chosen} (supported: ${info.codec.supported.join(', ')})` : `unavailable: ${info.reason}`}`);
console.log(`mode: ${smoke ? 'smoke' : 'full'}, ${targetMs} ms per sample, median of ${reps}`);

// ---- timing -------------------------------------------------------------------------------------------
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
/** One sample: GB/s of `bytesPerCall` over calls of `fn` for targetMs, after a warm-up (and JIT tier-up). */
async function rateOnce(fn, bytesPerCall, isAsync = false) {
  for (let i = 0; i < 3; i++) isAsync ? await fn() : fn();
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
  return (bytesPerCall * calls) / (Number(elapsedNs) / 1e9) / 1e9;
}

/** The median of `reps` samples. */
async function rate(fn, bytesPerCall, isAsync) {
  const samples = [];
  for (let r = 0; r < reps; r++) samples.push(await rateOnce(fn, bytesPerCall, isAsync));
  return median(samples);
}

// ---- peers ----------------------------------------------------------------------------------------------
const KB = 1024;
const shapes = [[4, 2], [10, 4], [16, 4]];
const sizes = smoke ? [4 * KB, 64 * KB] : [4 * KB, 64 * KB, 1024 * KB];
const cases = shapes.flatMap(([k, m]) => sizes.map((size) => ({ k, m, size })));

// ISA-L runs in rounds alternating with ours (the per-ISA table below), and each figure is the median of its
// rounds, so a machine that gets busier halfway through moves both sides. Keys: op/isa/k/m/size.
const isalSamples = new Map();
const isalBin = join(here, '.peers', 'isal_bench');
function isalRound() {
  if (!existsSync(isalBin)) return;
  const res = spawnSync(isalBin, [String(targetMs), ...cases.map((c) => `${c.k}:${c.m}:${c.size}`)], { encoding: 'utf8' });
  for (const line of res.stdout.split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    const key = `${r.op}/${r.isa}/${r.k}/${r.m}/${r.size}`;
    if (!isalSamples.has(key)) isalSamples.set(key, []);
    isalSamples.get(key).push(r.gbps);
  }
}
const isalRate = (op, isa, k, m, size) => {
  const xs = isalSamples.get(`${op}/${isa}/${k}/${m}/${size}`);
  return xs ? median(xs) : null;
};
if (existsSync(isalBin)) {
  isalRound();
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
  // The dispatcher's figures (ec_encode_data, as users call it) for the tables below.
  for (const op of ['encode', 'decode1', 'decodem']) row.isal[op] = isalRate(op, 'dispatch', k, m, size);
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

// ---- per ISA: each of our kernels against ISA-L's kernel for the same ISA (issue 15) ----------------------
// ISA-L 2.30 has no GFNI path, so the GFNI kernels are set against ISA-L's kernel of the same vector width.
// Alternating rounds: one ISA-L round, then one round of every kernel of ours, `reps` times; medians.
const PEER = { avx2: 'avx2', avx512: 'avx512', gfni256: 'avx2', gfni512: 'avx512', scalar: 'base', ssse3: 'sse', neon: null };
const targetFor = (kernel, size) => (kernel === 'avx2' || kernel === 'avx512' ? (size <= 4 * KB ? 1.0 : 1.3) : null);
if (info.loaded && existsSync(isalBin)) {
  const kernels = info.codec.supported.filter((kn) => kn !== 'scalar' || !smoke);
  const perIsaCases = cases.filter((c) => (c.k === 10 && c.m === 4) || (c.k === 4 && c.m === 2));
  const ours = new Map();
  const saved = reps;
  for (let round = 0; round < saved; round++) {
    if (round > 0) isalRound();
    for (const kn of kernels) {
      for (const { k, m, size } of perIsaCases) {
        const rs = new ReedSolomon(k, m, { kernel: kn });
        const shards = shardsFor(k, m, size);
        const stripe = Buffer.concat(shards);
        const plan1 = rs.plan({ present: shards.map((_, i) => i !== 0), targets: [0] });
        const lostM = Array.from({ length: m }, (_, i) => i);
        const planM = rs.plan({ present: shards.map((_, i) => !lostM.includes(i)), targets: lostM });
        // One sample per round of each (the median over rounds is taken below).
        const sample = async (what, fn) => {
          const key = `${what}/${kn}/${k}/${m}/${size}`;
          if (!ours.has(key)) ours.set(key, []);
          ours.get(key).push(await rateOnce(fn, k * size));
        };
        await sample('shards', () => rs.encodeSync(shards));
        await sample('stripe', () => rs.encodeStripe(stripe));
        await sample('decode1', () => rs.reconstructStripe(stripe, plan1));
        await sample('decodem', () => rs.reconstructStripe(stripe, planM));
      }
    }
  }
  console.log('\nencode per ISA through the JS API, GB/s of data in: encodeSync (k + m buffers) and encodeStripe (one buffer);');
  console.log('ISA-L: the entry point of the same ISA; XOR: the same bytes read and written with XOR only (a ceiling)');
  console.log('| kernel | k+m | shard | ours, k+m buffers | ours, one buffer | ISA-L (entry) | one buffer / ISA-L | XOR ceiling | ours/XOR | target | met |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const missed = [];
  const get = (what, kn, k, m, size) => median(ours.get(`${what}/${kn}/${k}/${m}/${size}`));
  for (const kn of kernels) {
    const peer = PEER[kn] ?? null;
    for (const { k, m, size } of perIsaCases) {
      const o = get('stripe', kn, k, m, size);
      const p = peer ? isalRate('encode', peer, k, m, size) : null;
      const x = isalRate('xor', 'xor-avx2', k, m, size);
      const t = targetFor(kn, size);
      const met = t === null || p === null ? '' : o / p >= t ? 'yes' : 'no';
      if (met === 'no') missed.push(`${kn} ${k}+${m} ${sz(size)} (${(o / p).toFixed(2)}x < ${t}x)`);
      console.log(`| ${kn} | ${k}+${m} | ${sz(size)} | ${f(get('shards', kn, k, m, size))} | ${f(o)} | ${p === null ? '—' : `${f(p)} (${peer})`} | ${ratio(o, p)} | ${f(x)} | ${ratio(o, x)} | ${t === null ? '' : `≥ ${t}x`} | ${met} |`);
    }
  }
  console.log('\nreconstruct per kernel with a cached plan (reconstructStripe), GB/s of data in; ISA-L: ec_encode_data with cached decode tables');
  console.log('| kernel | k+m | shard | ours e=1 | ISA-L e=1 | ratio | ours e=m | ISA-L e=m | ratio | target ≥ 1.2x met |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const kn of kernels) {
    for (const { k, m, size } of perIsaCases) {
      const [o1, om] = [get('decode1', kn, k, m, size), get('decodem', kn, k, m, size)];
      const [p1, pm] = [isalRate('decode1', 'dispatch', k, m, size), isalRate('decodem', 'dispatch', k, m, size)];
      const ok = p1 && pm ? (o1 / p1 >= 1.2 && om / pm >= 1.2 ? 'yes' : 'no') : '';
      if (ok === 'no' && info.codec.chosen === kn) missed.push(`reconstruct ${kn} ${k}+${m} ${sz(size)} (${(o1 / p1).toFixed(2)}x, ${(om / pm).toFixed(2)}x < 1.2x)`);
      console.log(`| ${kn} | ${k}+${m} | ${sz(size)} | ${f(o1)} | ${f(p1)} | ${ratio(o1, p1)} | ${f(om)} | ${f(pm)} | ${ratio(om, pm)} | ${ok} |`);
    }
  }
  const absent = Object.keys(PEER).filter((kn) => !info.codec.supported.includes(kn) && kn !== 'ssse3');
  console.log(`per-ISA targets: ${missed.length === 0 ? 'all met' : `missed: ${missed.join('; ')}`}; kernels this CPU cannot run (no row): ${absent.join(', ') || 'none'}`);
} else {
  console.log('\nper-ISA table skipped: needs the addon and the ISA-L harness (bench/setup-peers.sh)');
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
  const tinyStripe = Buffer.concat(tiny);
  const stripeUs = await perCall(() => rs.encodeStripe(tinyStripe), false);
  const asyncUs = await perCall(() => rs.encodeBatch([tiny]), true);
  console.log(`\nper-call overhead (4+2, 8-byte shards): encodeSync ${syncUs.toFixed(2)} us, encodeStripe (one buffer) ${stripeUs.toFixed(2)} us, async (pool round trip) ${asyncUs.toFixed(1)} us`);
}
console.log('\nbench/codec.mjs: ok');
