#!/usr/bin/env node
// CRC benchmark (the S3 flexible checksums): GB/s of each native CRC kernel (crc32, crc32c, crc64nvme) at
// 4 KiB and 1 MiB, single thread, against peers in the same run: Node's zlib.crc32 (Node >= 20.15 / 22.2),
// @aws-crypto/crc32c (the AWS SDK's crc32c, pure JS; devDependency), the AWS SDK's own current checksums
// package (@aws-sdk/checksums, present as a dependency of @aws-sdk/client-s3) when installed, our pure-TS
// fallback, and node:crypto SHA-1/SHA-256 for scale. Kernel rows call the binding directly (one N-API call per
// buffer); "lib/checksum.ts" rows go through createChecksum().update().digest(), what the daemon pays.
// Last, the kernels alone: bench/crc_kernels.cc, a C++ loop over native/crc built here with binding.gyp's
// per-file ISA flags (x86-64 with g++ only), to show what the N-API call costs at 4 KiB.
// `--smoke` runs everything briefly (test/crc-bench-smoke.test.ts).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'lib');
if (!existsSync(join(dist, 'checksum.js'))) {
  console.error('bench/crc.mjs: dist/ is not built; run `npx tsc -p .` first');
  process.exit(2);
}
const { createChecksum } = await import(join(dist, 'checksum.js'));
const { crc32Js, crc32cJs, crc64nvmeJs } = await import(join(dist, 'crc-js.js'));
const { native } = await import(join(dist, 'native.js'));
const { nativeInfo } = await import(join(dist, 'native-info.js'));
const require = createRequire(import.meta.url);

const smoke = process.argv.includes('--smoke');
const targetMs = smoke ? 3 : 200;
const reps = smoke ? 1 : 3;
const info = nativeInfo();

function cpuFlags() {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
    const have = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
    const wanted = ['sse4_2', 'pclmulqdq', 'avx2', 'avx512f', 'avx512vl', 'vpclmulqdq', 'crc32', 'pmull', 'asimd'];
    return wanted.filter((f) => have.has(f)).join(' ') || 'unknown';
  } catch {
    return 'unknown (no /proc/cpuinfo)';
  }
}

console.log(`cpu: ${info.cpu} x ${cpus().length}`);
console.log(`cpu flags: ${cpuFlags()}`);
console.log(`node: ${process.version} (${process.arch})`);
console.log(
  `native: ${info.crc !== null ? `loaded, CRC kernel ${info.crc.chosen} (supported: ${info.crc.supported.join(', ')})` : `unavailable: ${info.reason ?? 'addon without CRCs'}`}`,
);

/** Bytes per nanosecond = GB/s; the best of `reps` timed runs of at least targetMs each. */
function rate(fn, bytes) {
  for (let i = 0; i < 3; i++) fn();
  let best = 0;
  for (let r = 0; r < reps; r++) {
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < targetMs * 1e6) {
      fn();
      calls++;
      elapsed = Number(process.hrtime.bigint() - start);
    }
    best = Math.max(best, (bytes * calls) / elapsed);
  }
  return best;
}

const sizes = [
  ['4 KiB', 4096],
  ['1 MiB', 1 << 20],
];
const bufs = sizes.map(([, n]) => randomBytes(n));

// Each contender: [name, { crc32?, crc32c?, crc64nvme?, sha1?, sha256? } of buf => unknown].
const contenders = [];
const addon = info.crc !== null ? native() : null;
for (const k of info.crc?.supported ?? []) {
  contenders.push([`native ${k}`, {
    crc32: (b) => addon.crc32(b, 0, k),
    crc32c: (b) => addon.crc32c(b, 0, k),
    crc64nvme: (b) => addon.crc64nvme(b, 0n, k),
  }]);
}
const viaLib = (alg) => (b) => createChecksum(alg).update(b).digest();
contenders.push([`lib/checksum.ts (${info.crc?.chosen ?? 'pure TS'})`, {
  crc32: viaLib('crc32'), crc32c: viaLib('crc32c'), crc64nvme: viaLib('crc64nvme'), sha1: viaLib('sha1'), sha256: viaLib('sha256'),
}]);
contenders.push(['pure TS fallback (lib/crc-js.ts)', { crc32: (b) => crc32Js(b), crc32c: (b) => crc32cJs(b), crc64nvme: (b) => crc64nvmeJs(b) }]);
if (typeof zlib.crc32 === 'function') {
  contenders.push(['zlib.crc32 (node:zlib)', { crc32: (b) => zlib.crc32(b) }]);
} else {
  console.log(`note: zlib.crc32 is missing in Node ${process.version} (added in 20.15 / 22.2); row omitted`);
}
try {
  const { AwsCrc32c } = require('@aws-crypto/crc32c');
  contenders.push(['@aws-crypto/crc32c (AWS SDK, JS)', { crc32c: (b) => new AwsCrc32c().update(b) }]);
} catch (err) {
  console.log(`note: @aws-crypto/crc32c not installed (${err.code ?? err.message}); row omitted`);
}
try {
  const sdk = require('@aws-sdk/checksums/crc');
  const sync = (C) => (b) => {
    const h = new C();
    h.update(b);
    return h;
  };
  contenders.push(['@aws-sdk/checksums/crc (AWS SDK current)', { crc32: sync(sdk.Crc32), crc32c: sync(sdk.Crc32c), crc64nvme: sync(sdk.Crc64NvmeJs) }]);
} catch (err) {
  console.log(`note: @aws-sdk/checksums not installed (${err.code ?? err.message}); row omitted`);
}
contenders.push(['node:crypto', { sha1: (b) => createHash('sha1').update(b).digest(), sha256: (b) => createHash('sha256').update(b).digest() }]);

// Every contender must agree before it is timed (a fast wrong CRC is worth nothing).
const probe = bufs[0].subarray(1, 3001);
const expected = { crc32: crc32Js(probe), crc32c: crc32cJs(probe), crc64nvme: crc64nvmeJs(probe) };
for (const [name, fns] of contenders) {
  for (const alg of ['crc32', 'crc32c', 'crc64nvme']) {
    if (fns[alg] === undefined || name.startsWith('lib/') || name.startsWith('@')) continue;
    const got = fns[alg](probe);
    if (got !== expected[alg]) {
      console.error(`bench/crc.mjs: ${name} ${alg} gave ${got}, expected ${expected[alg]}`);
      process.exit(1);
    }
  }
}

const f = (x) => (x === undefined ? '—' : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const algs = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];
for (let s = 0; s < sizes.length; s++) {
  const [label, n] = sizes[s];
  console.log(`\nGB/s, single thread, ${label} buffers`);
  const width = Math.max(...contenders.map(([name]) => name.length));
  console.log(`${'contender'.padEnd(width)}  ${algs.map((a) => a.padStart(9)).join(' ')}`);
  for (const [name, fns] of contenders) {
    const cells = algs.map((a) => (fns[a] === undefined ? undefined : rate(() => fns[a](bufs[s]), n)));
    console.log(`${name.padEnd(width)}  ${cells.map((c) => f(c).padStart(9)).join(' ')}`);
  }
}
// The kernels alone, in C++.
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (process.arch === 'x64' && have('g++')) {
  const root = join(here, '..');
  const out = join(here, '.out');
  mkdirSync(out, { recursive: true });
  const exe = join(out, 'crc_kernels');
  const cxx = ['-O3', '-std=c++17', `-I${join(root, 'native')}`];
  const isa = {
    'crc_pclmul.cc': ['-msse4.2', '-mpclmul'],
    'crc_vpclmul256.cc': ['-msse4.2', '-mpclmul', '-mavx2', '-mvpclmulqdq'],
    'crc_vpclmul512.cc': ['-msse4.2', '-mpclmul', '-mavx2', '-mavx512f', '-mavx512bw', '-mavx512vl', '-mvpclmulqdq'],
  };
  const objs = [];
  let ok = true;
  for (const [file, flags] of Object.entries(isa)) {
    const obj = join(out, file.replace('.cc', '.o'));
    const r = spawnSync('g++', [...cxx, ...flags, '-c', join(root, 'native', 'crc', file), '-o', obj], { encoding: 'utf8' });
    if (r.status !== 0) {
      ok = false;
      console.log(`note: g++ failed on ${file}; C++ table omitted\n${r.stderr}`);
      break;
    }
    objs.push(obj);
  }
  const sources = ['bench/crc_kernels.cc', 'native/crc/crc_table.cc', 'native/crc/crc_dispatch.cc', 'native/common/cpu_features.cc', 'native/common/kernel_select.cc'];
  if (ok) {
    const r = spawnSync('g++', [...cxx, '-o', exe, ...sources.map((f) => join(root, f)), ...objs], { encoding: 'utf8' });
    if (r.status !== 0) {
      ok = false;
      console.log(`note: g++ failed linking bench/crc_kernels.cc; C++ table omitted\n${r.stderr}`);
    }
  }
  if (ok) {
    for (const [label, n] of sizes) {
      const r = spawnSync(exe, [String(n), String(smoke ? 2 : 100)], { encoding: 'utf8', env: { ...process.env, SHARDVAULT_CRC_KERNEL: '' } });
      if (r.status !== 0) {
        console.error(`bench/crc.mjs: ${exe} failed (${r.status ?? r.signal}): ${r.stderr}`);
        process.exit(1);
      }
      console.log(`\nGB/s, single thread, ${label} buffers, kernels alone (C++ loop, no N-API)`);
      console.log(`${'kernel'.padEnd(12)}  ${['crc32', 'crc32c', 'crc64nvme'].map((a) => a.padStart(9)).join(' ')}`);
      for (const line of r.stdout.trim().split('\n')) {
        const [k, ...v] = line.trim().split(/\s+/);
        console.log(`${k.padEnd(12)}  ${v.map((x) => f(Number(x)).padStart(9)).join(' ')}`);
      }
    }
  }
} else {
  console.log('note: the C++ kernels-alone table needs x86-64 and g++; omitted');
}
console.log('\nbench/crc.mjs: ok');
