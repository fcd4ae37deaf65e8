// Crash at EVERY file-system call of a repair that moves shards off a replaced disk (our LD_PRELOAD shim
// SIGKILLs the child just before call N, UV_THREADPOOL_SIZE=1), then open + read + repair again: every object
// reads back correctly at every crash point (the old head stands until the re-pointing commit, the new one
// after it), the repeated repair finishes the work, and scrub then finds nothing bad.
// Cost: each worker clones the template once with hard links for shard files (repair replaces them by
// rename, never writes one in place) and copies of the small copy-log segments (a recycled segment is
// written in place), and after each crash point resets it by unlinking what the run added, re-linking or
// re-copying what changed and copying the meta directory; workers run children in parallel (as in
// vault-crash.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const dist = join(__dirname, '..', 'dist');
const gcc = spawnSync('gcc', ['--version']).status === 0;
const ready = gcc && native() !== null && existsSync(join(dist, 'lib', 'vault.js'));
const work = mkdtempSync(join(tmpdir(), 'sv-rcrash-'));
const shim = join(work, 'faultshim.so');
const template = join(work, 'template');
const objects = new Map<string, Buffer>([
  ['striped', randomBytes(3 * 4096 * 4 + 77)],
  ['inline', randomBytes(3000)],
  ['striped2', randomBytes(2 * 4096 * 4)],
]);
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  if (!ready) return;
  const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  const disks = Array.from({ length: 7 }, (_, i) => {
    mkdirSync(join(template, `d${i}`), { recursive: true });
    return { path: join(template, `d${i}`) };
  });
  const vault = await Vault.init({ disks, metaDir: join(template, 'meta'), k: 4, m: 2, blockBytes: 4096 });
  await vault.createBucket('b');
  for (const [key, data] of objects) await vault.put('b', key, data);
  const st = await vault.status();
  const victim = st.disks.filter((d) => d.shards === objects.size)[0] ?? st.disks.reduce((a, b) => (b.shards > a.shards ? b : a));
  await vault.close();
  renameSync(victim.path, `${victim.path}-dead`); // failed disk
  mkdirSync(victim.path);
  const v = await Vault.open(join(template, 'meta'));
  mkdirSync(join(template, 'new'));
  await v.replaceDisk(victim.id, { path: join(template, 'new') });
  expect(v.repairQueue().length).toBeGreaterThan(0);
  await v.close();
  rmSync(`${victim.path}-dead`, { recursive: true });
});

const WORKERS = 3;
/** Every file under a pool's disks (not the meta directory), relative to the pool; `dirs` collects directories. */
function poolFiles(pool: string, dirs?: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        dirs?.push(relative(pool, p));
        walk(p);
      } else out.push(relative(pool, p));
    }
  };
  for (const e of readdirSync(pool)) if (e !== 'meta' && statSync(join(pool, e)).isDirectory()) {
    dirs?.push(e);
    walk(join(pool, e));
  }
  return out.sort();
}

function copyMeta(pool: string): void {
  rmSync(join(pool, 'meta'), { recursive: true, force: true });
  cpSync(join(template, 'meta'), join(pool, 'meta'), { recursive: true });
  const meta = join(pool, 'meta', 'pool.json');
  writeFileSync(meta, readFileSync(meta, 'utf8').split(template).join(pool));
}

let templateFiles: string[] = [];
function clonePool(pool: string): void {
  const dirs: string[] = [];
  templateFiles = poolFiles(template, dirs);
  for (const d of dirs) mkdirSync(join(pool, d), { recursive: true });
  for (const f of templateFiles) placeFile(pool, f);
  copyMeta(pool);
}

function placeFile(pool: string, f: string): void {
  if (f.includes('/log/')) copyFileSync(join(template, f), join(pool, f));
  else linkSync(join(template, f), join(pool, f));
}

function resetPool(pool: string): void {
  const keep = new Set(templateFiles);
  const have = new Set(poolFiles(pool));
  for (const f of have) if (!keep.has(f) || f.includes('/log/')) unlinkSync(join(pool, f));
  for (const f of templateFiles) if (!have.has(f) || f.includes('/log/')) placeFile(pool, f);
  copyMeta(pool);
}

function runChild(pool: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'fault', 'repair-child.mjs'), dist, join(pool, 'meta')], {
      env: { ...process.env, LD_PRELOAD: shim, FAULT_PREFIX: `${pool}/`, UV_THREADPOOL_SIZE: '1', UV_USE_IO_URING: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ stdout, stderr, signal }));
  });
}

describe.skipIf(!ready)(`repair under SIGKILL at every file-system call${ready ? '' : ' (skipped: needs gcc, the addon and dist/)'}`, () => {
  it('objects stay readable at every crash point and a second repair completes the move', async () => {
    const t0 = Date.now();
    const pools = Array.from({ length: WORKERS }, (_, w) => join(work, `w${w}`));
    for (const p of pools) clonePool(p);
    const log = join(work, 'calls.log');
    const counting = await runChild(pools[0], { FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(counting.stdout, counting.stderr).toMatch(/repaired .*"failed":0/);
    resetPool(pools[0]);
    const calls = readFileSync(log, 'utf8').trim().split('\n').length;
    expect(calls).toBeGreaterThan(20);
    let finished = 0;
    let next = 1;
    await Promise.all(
      pools.map(async (pool) => {
        for (let nth = next++; nth <= calls; nth = next++) {
          const res = await runChild(pool, { FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'kill' });
          const where = `crash at call ${nth} of ${calls}`;
          expect(res.signal, `${where}: the child was not killed (${res.stderr.slice(0, 300)})`).toBe('SIGKILL');
          if (res.stdout.includes('repaired')) finished++;
          const vault = await Vault.open(join(pool, 'meta'), { orphanGraceMs: 0 });
          try {
            for (const [key, data] of objects) expect(Buffer.from(await vault.getBuffer('b', key)).equals(data), `${where}: ${key}`).toBe(true);
            const again = await vault.repair();
            expect(again.failed, where).toBe(0);
            expect(vault.repairQueue(), where).toEqual([]);
            const st = await vault.status();
            expect(st.disks.filter((d) => d.state === 'removed').every((d) => d.shards === 0), where).toBe(true);
            expect((await vault.scrub()).bad, where).toBe(0);
          } finally {
            await vault.close();
          }
          resetPool(pool);
        }
      }),
    );
    console.log(`repair crash sweep: ${calls} calls, every one a crash point, ${finished} runs finished first; ${Date.now() - t0} ms`);
    expect(finished).toBeLessThan(calls);
  }, 400_000);
});
