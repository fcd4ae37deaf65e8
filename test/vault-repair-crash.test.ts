// Crash at EVERY file-system call of a repair that moves shards off a replaced disk (our LD_PRELOAD shim
// SIGKILLs the child just before call N, UV_THREADPOOL_SIZE=1), then open + read + repair again: every object
// reads back correctly at every crash point (the old head stands until the re-pointing commit, the new one
// after it), the repeated repair finishes the work, and scrub then finds nothing bad.
// Cost: each worker has its own cheaply cloned pool, reset after every crash point (test/support/poolclone.ts), and
// workers run children in parallel.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Vault } from '../lib/vault.js';
import { PoolTemplate, runFaultChild } from './support/poolclone.js';
import { faultShimMissing, tier } from './support/tier.js';

const dist = join(__dirname, '..', 'dist');
const { ready, why } = tier('the repair crash sweep', faultShimMissing('lib/vault.js'));
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
  await vault.createBucket('bkt');
  for (const [key, data] of objects) await vault.put('bkt', key, data);
  const st = await vault.status();
  const victim = st.disks.filter((d) => d.shards === objects.size)[0] ?? st.disks.reduce((a, b) => (b.shards > a.shards ? b : a));
  await vault.close();
  renameSync(victim.path, `${victim.path}-dead`); // failed disk
  mkdirSync(victim.path);
  const v = await Vault.open(join(template, 'meta'));
  mkdirSync(join(template, 'new'));
  await v.replaceDisk(victim.id, { path: join(template, 'new') });
  expect((await v.repairQueue()).length).toBeGreaterThan(0);
  await v.close();
  rmSync(`${victim.path}-dead`, { recursive: true });
});

const WORKERS = 3;
const runChild = (pool: string, env: Record<string, string>) =>
  runFaultChild(join(__dirname, 'fault', 'repair-child.mjs'), [dist, join(pool, 'meta')], pool, shim, env);

describe.skipIf(!ready)(`repair under SIGKILL at every file-system call${why}`, () => {
  it('objects stay readable at every crash point and a second repair completes the move', async () => {
    const t0 = Date.now();
    const pools = Array.from({ length: WORKERS }, (_, w) => join(work, `w${w}`));
    const tpl = new PoolTemplate(template);
    for (const p of pools) tpl.clone(p);
    const log = join(work, 'calls.log');
    const counting = await runChild(pools[0], { FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(counting.stdout, counting.stderr).toMatch(/repaired .*"failed":0/);
    tpl.reset(pools[0]);
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
            for (const [key, data] of objects) expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data), `${where}: ${key}`).toBe(true);
            const again = await vault.repair();
            expect(again.failed, where).toBe(0);
            expect((await vault.repairQueue()), where).toEqual([]);
            const st = await vault.status();
            expect(st.disks.filter((d) => d.state === 'removed').every((d) => d.shards === 0), where).toBe(true);
            expect((await vault.scrub()).bad, where).toBe(0);
          } finally {
            await vault.close();
          }
          tpl.reset(pool);
        }
      }),
    );
    console.log(`repair crash sweep: ${calls} calls, every one a crash point, ${finished} runs finished first; ${Date.now() - t0} ms`);
    expect(finished).toBeLessThan(calls);
  }, 400_000);
});
