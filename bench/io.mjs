#!/usr/bin/env node
// Durable write benchmark: sealed shard files of 4 KiB, 256 KiB and 4 MiB through the addon (open O_EXCL,
// write loop, fdatasync, create-only rename, directory fsync) vs the same sequence with node:fs
// (open, write, fsync, rename, directory fsync), and sequential throughput vs
// `dd if=/dev/zero bs=1M oflag=direct conv=fsync`. Same run, same directory (BENCH_DIR, default a temp dir
// under the current working directory's filesystem). `--smoke` runs briefly.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'lib');
if (!existsSync(join(dist, 'index.js'))) {
  console.error('bench/io.mjs: dist/ is not built; run `npx tsc -p .` first');
  process.exit(2);
}
const { nativeInfo } = await import(join(dist, 'index.js'));
const { openShardWriter } = await import(join(dist, 'entry', 'io.js'));
const smoke = process.argv.includes('--smoke');
const base = process.env.BENCH_DIR ?? join(here, '.out');
spawnSync('mkdir', ['-p', base]);
const dir = mkdtempSync(join(base, 'io-'));
const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim();
const info = nativeInfo();
console.log(`cpu: ${info.cpu} x ${cpus().length}`);
console.log(`node: ${process.version} (${process.arch})`);
console.log(`native: ${info.loaded ? 'loaded' : `unavailable: ${info.reason}`}`);
console.log(`dir: ${dir} (${fsType})`);

async function nodeFsSealed(name, data) {
  const tmp = join(dir, `.n-${name}`);
  const fh = await open(tmp, 'wx', 0o600);
  await fh.write(data);
  await fh.sync();
  await fh.close();
  await rename(tmp, join(dir, name));
  const d = await open(dir, 'r');
  await d.sync();
  await d.close();
}

async function nativeSealed(name, data) {
  const w = await openShardWriter(dir, name);
  await w.append(data);
  await w.seal();
}

let seq = 0;
async function perSecond(fn, data, seconds) {
  await fn(`w${seq++}`, data);
  const t = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - t) < seconds * 1e9) {
    await fn(`f${seq++}`, data);
    n++;
  }
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

console.log('\nsealed files per second (one at a time) and MB/s');
console.log('| size | addon files/s | node:fs files/s | addon/node:fs | addon MB/s |');
console.log('|---|---|---|---|---|');
for (const size of [4096, 256 * 1024, 4 * 1024 * 1024]) {
  const data = randomBytes(size);
  const secs = smoke ? 0.1 : size >= 4 << 20 ? 3 : 2;
  const ours = await perSecond(nativeSealed, data, secs);
  const theirs = await perSecond(nodeFsSealed, data, secs);
  const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
  console.log(`| ${label} | ${ours.toFixed(0)} | ${theirs.toFixed(0)} | ${(ours / theirs).toFixed(2)}x | ${((ours * size) / 1e6).toFixed(1)} |`);
}

// Sequential: one large shard written in 1 MiB appends, then sealed, vs dd with O_DIRECT + final fsync.
const totalMiB = smoke ? 8 : 256;
const chunk = randomBytes(1 << 20);
let t = process.hrtime.bigint();
const w = await openShardWriter(dir, 'seq.shard');
for (let i = 0; i < totalMiB; i++) await w.append(chunk);
await w.seal();
const oursSeq = (totalMiB * 1.048576) / (Number(process.hrtime.bigint() - t) / 1e9);
t = process.hrtime.bigint();
const dd = spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'dd.out')}`, 'bs=1M', `count=${totalMiB}`, 'oflag=direct', 'conv=fsync'], { encoding: 'utf8' });
const ddSeq = dd.status === 0 ? (totalMiB * 1.048576) / (Number(process.hrtime.bigint() - t) / 1e9) : null;
console.log(`\nsequential ${totalMiB} MiB sealed: addon ${oursSeq.toFixed(0)} MB/s, dd oflag=direct conv=fsync ${ddSeq === null ? '—' : ddSeq.toFixed(0)} MB/s${ddSeq ? ` (${(oursSeq / ddSeq).toFixed(2)}x)` : ''}`);
rmSync(dir, { recursive: true, force: true });
console.log('\nbench/io.mjs: ok');
