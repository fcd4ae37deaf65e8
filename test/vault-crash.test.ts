// Crash at every file-system call of a put (our LD_PRELOAD shim SIGKILLs the writer just before call N,
// UV_THREADPOOL_SIZE=1), then open + recover + read: an acknowledged put is always readable (I1 for crashes);
// an unacknowledged one leaves the old version or the whole new one, never a mix or an error, and no
// temporary files survive recovery (I2).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const dist = join(__dirname, '..', 'dist');
const gcc = spawnSync('gcc', ['--version']).status === 0;
const ready = gcc && native() !== null && existsSync(join(dist, 'lib', 'vault.js'));
const work = mkdtempSync(join(tmpdir(), 'sv-crash-'));
const shim = join(work, 'faultshim.so');
const template = join(work, 'template');
const V1 = Buffer.alloc(5000, 0x31);
const V2 = Buffer.alloc(3 * 4096 * 4 + 100, 0x32);

beforeAll(async () => {
  if (!ready) return;
  const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  const disks = Array.from({ length: 6 }, (_, i) => {
    mkdirSync(join(template, `d${i}`), { recursive: true });
    return { path: join(template, `d${i}`) };
  });
  const vault = await Vault.init({ disks, metaDir: join(template, 'meta'), k: 4, m: 2, blockBytes: 4096 });
  await vault.createBucket('b');
  await vault.put('b', 'k', V1);
  await vault.close();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function runChild(pool: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [join(__dirname, 'fault', 'vault-child.mjs'), dist, join(pool, 'meta')], {
    encoding: 'utf8',
    env: { ...process.env, LD_PRELOAD: shim, FAULT_PREFIX: pool, UV_THREADPOOL_SIZE: '1', UV_USE_IO_URING: '0', ...env },
  });
}

let copies = 0;
function freshPool(): string {
  // The disks record their st_dev, and a copy stays on the same filesystem, so copies open fine.
  const pool = join(work, `run${copies++}`);
  cpSync(template, pool, { recursive: true });
  // Paths inside pool.json point at the template: rewrite them for this copy.
  const meta = join(pool, 'meta', 'pool.json');
  const text = readFileSync(meta, 'utf8').split(template).join(pool);
  writeFileSync(meta, text);
  return pool;
}

describe.skipIf(!ready)(`put under SIGKILL at every file-system call${ready ? '' : ' (skipped: needs gcc, the addon and dist/)'}`, () => {
  it('acked puts survive; unacked ones leave old-or-new, never a mix; recovery removes leftovers', async () => {
    const log = join(work, 'calls.log');
    const counting = runChild(freshPool(), { FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(counting.stdout, counting.stderr).toContain('acked');
    const calls = readFileSync(log, 'utf8').trim().split('\n').length;
    expect(calls).toBeGreaterThan(20);
    const step = Math.max(1, Math.ceil(calls / 60)); // bounded run time: at most ~60 crash points
    let acked = 0;
    let oldSeen = 0;
    let newSeen = 0;
    for (let nth = 1; nth <= calls; nth += step) {
      const pool = freshPool();
      const res = runChild(pool, { FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'kill' });
      const wasAcked = res.stdout.includes('acked');
      const vault = await Vault.open(join(pool, 'meta'), { orphanGraceMs: 0 });
      try {
        const got = Buffer.from(await vault.get('b', 'k'));
        if (wasAcked) expect(got.equals(V2), `crash at call ${nth} after ack`).toBe(true);
        else expect(got.equals(V1) || got.equals(V2), `crash at call ${nth}: neither version`).toBe(true);
        if (got.equals(V1)) oldSeen++;
        else newSeen++;
        if (wasAcked) acked++;
        for (let i = 0; i < 6; i++) {
          const objects = join(pool, `d${i}`, 'objects');
          for (const dir of readdirSync(objects)) {
            for (const f of readdirSync(join(objects, dir))) expect(f.startsWith('.tmp-'), `call ${nth}: ${f} left`).toBe(false);
          }
        }
      } finally {
        await vault.close();
      }
      rmSync(pool, { recursive: true, force: true });
    }
    console.log(`crash sweep: ${calls} calls, step ${step}, acked ${acked}, old ${oldSeen}, new ${newSeen}`);
    // The sweep must really have crashed before and after the commit point.
    expect(oldSeen).toBeGreaterThan(0);
    expect(newSeen).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThanOrEqual(newSeen);
  });
});
