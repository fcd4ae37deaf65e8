// Crash at EVERY file-system call of a put and of a delete (our LD_PRELOAD shim SIGKILLs the child just before
// call N, UV_THREADPOOL_SIZE=1 so the call sequence is deterministic), then Vault.open(meta, { orphanGraceMs: 0 })
// and check:
//   I1  an acknowledged put reads back; an acknowledged delete stays deleted;
//   I2  an unacknowledged put leaves the old or the whole new version, an unacknowledged delete the object or
//       nothing, never an error or a mix; whatever the first open after the crash shows stays so after a
//       second open (no resurrection, no rollback);
//   recovery leaves no temporary files and no files of un-acked or superseded versions: the files on the
//   disks are exactly those the committed heads name, and scrub finds 0 bad shards.
// Cost: each worker has its own cheaply cloned pool, reset after every crash point (test/support/poolclone.ts), and
// workers run children in parallel.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Vault } from '../lib/vault.js';
import { PoolTemplate, poolFiles, runFaultChild } from './support/poolclone.js';
import { faultShimMissing, tier } from './support/tier.js';

const dist = join(__dirname, '..', 'dist');
const { ready, why } = tier('the crash sweep', faultShimMissing('lib/vault.js'));
const work = mkdtempSync(join(tmpdir(), 'sv-crash-'));
const shim = join(work, 'faultshim.so');
const template = join(work, 'template');
const DISKS = 6;
const WORKERS = 3;
const V1 = Buffer.alloc(5000, 0x31); // b/k before the put sweep's overwrite (inline)
const V2 = Buffer.alloc(3 * 4096 * 4 + 100, 0x32); // b/k written by the put child (striped)
const D = Buffer.alloc(2 * 4 * 4096 + 7, 0x44); // b/d, deleted by the delete child (striped)
const OTHER = Buffer.alloc(9000, 0x33); // b/other, written by both children after their ack
let tpl: PoolTemplate;

/** Shard files and copy-log segments of a pool (what puts, deletes and recovery touch), relative to the pool. */
const objectFiles = (pool: string) => poolFiles(pool).filter((f) => /^d\d+\/(objects|log)\//.test(f));

function resetPool(pool: string): void {
  tpl.reset(pool);
  for (let i = 0; i < DISKS; i++) expect(readdirSync(join(pool, `d${i}`)).sort()).toEqual(readdirSync(join(template, `d${i}`)).sort());
}

const runChild = (pool: string, mode: 'put' | 'delete', env: Record<string, string>) =>
  runFaultChild(join(__dirname, 'fault', 'vault-child.mjs'), [dist, join(pool, 'meta'), mode], pool, shim, env);

type Bytes = 'absent' | 'V1' | 'V2' | 'D' | 'OTHER';
const NAMED: Array<[Exclude<Bytes, 'absent'>, Buffer]> = [['V1', V1], ['V2', V2], ['D', D], ['OTHER', OTHER]];

/** What bucket b/key reads as; any error other than NOT_FOUND (or bytes that are none of ours) fails. */
async function readAs(vault: Vault, key: string, where: string): Promise<Bytes> {
  try {
    const got = Buffer.from(await vault.getBuffer('bkt', key));
    const name = NAMED.find(([, b]) => b.equals(got))?.[0];
    expect(name, `${where}: b/${key} read ${got.length} bytes that are no version of it`).toBeDefined();
    return name!;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_SV_NOT_FOUND') throw new Error(`${where}: b/${key}: ${String(err)}`);
    expect((await vault.list('bkt')).objects.map((o) => o.key), where).not.toContain(key);
    return 'absent';
  }
}

const recovered = { temporary: 0, orphans: 0, superseded: 0 };

/** Opens after a crash and checks recovery; returns what each key reads as. */
async function checkAfterCrash(pool: string, where: string): Promise<Record<'k' | 'd' | 'other', Bytes>> {
  const vault = await Vault.open(join(pool, 'meta'), { orphanGraceMs: 0 });
  recovered.temporary += vault.lastRecovery.temporaryRemoved;
  recovered.orphans += vault.lastRecovery.orphansRemoved;
  recovered.superseded += vault.lastRecovery.supersededRemoved;
  try {
    const state = { k: await readAs(vault, 'k', where), d: await readAs(vault, 'd', where), other: await readAs(vault, 'other', where) };
    // The files on the disks are exactly those of the committed heads: no temporary files, no orphans of an
    // un-acked version, nothing superseded (grace 0), and none of the heads' files missing.
    const expected: string[] = [];
    for (const key of ['k', 'd', 'other']) {
      expected.push(...((await vault.locate('bkt', key))?.shards ?? []).flatMap((s) => [s.copy!.file, ...(s.shardFile !== undefined ? [s.shardFile] : [])]).map((f) => relative(pool, f)));
    }
    // Dead segments may be kept as free segments for reuse (a few per disk); nothing else may be left.
    const files = objectFiles(pool);
    expect(files.filter((f) => !/\/log\/free-[0-9a-f]{8}\.seg$/.test(f)), `${where}: files on the disks after recovery`).toEqual([...new Set(expected)].sort());
    const scrub = await vault.scrub();
    expect(scrub.bad, `${where}: scrub`).toBe(0);
    expect(scrub.objects).toBe(Object.values(state).filter((s) => s !== 'absent').length);
    expect((await vault.repairQueue()), `${where}: repair queue`).toEqual([]);
    return state;
  } finally {
    await vault.close();
  }
}

async function reopenState(pool: string, where: string): Promise<Record<'k' | 'd' | 'other', Bytes>> {
  const vault = await Vault.open(join(pool, 'meta'), { orphanGraceMs: 0 });
  try {
    return { k: await readAs(vault, 'k', where), d: await readAs(vault, 'd', where), other: await readAs(vault, 'other', where) };
  } finally {
    await vault.close();
  }
}

const seq = (log: string) =>
  readFileSync(log, 'utf8').trim().split('\n').map((l) => {
    const [, op, path] = l.split(' ');
    // Version ids and temporary names are random, and so is the placement (it hashes the version id): the
    // sequence of operations on kinds of file is what must repeat.
    return `${op} ${path.replace(/[0-9a-f]{16,}/g, 'X').replace(/\/d\d\//, '/dN/').replace(/\.([ms])\d(?=$|-)/, '.$1N')}`;
  });

beforeAll(async () => {
  if (!ready) return;
  const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  const disks = Array.from({ length: DISKS }, (_, i) => {
    mkdirSync(join(template, `d${i}`), { recursive: true });
    return { path: join(template, `d${i}`) };
  });
  const vault = await Vault.init({ disks, metaDir: join(template, 'meta'), k: 4, m: 2, blockBytes: 4096 });
  await vault.createBucket('bkt');
  await vault.put('bkt', 'k', V1);
  await vault.put('bkt', 'd', D);
  await vault.close();
  tpl = new PoolTemplate(template);
  expect(objectFiles(template)).toHaveLength(6 + 6); // b/d's shard files, one copy-log segment per disk (copies of b/k and b/d)
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Kills the child at every call 1..calls (calls from a counting run), WORKERS at a time; returns per-point results. */
async function sweep(mode: 'put' | 'delete', check: (nth: number, acked: boolean, done: boolean, first: Record<string, Bytes>, second: Record<string, Bytes>) => void): Promise<number> {
  const pools = Array.from({ length: WORKERS }, (_, w) => join(work, `${mode}-w${w}`));
  for (const p of pools) tpl.clone(p);
  // Counting runs, twice: the sequence of matching calls must be the same (else "call N" means nothing).
  const logs = [join(work, `${mode}-a.log`), join(work, `${mode}-b.log`)];
  for (const log of logs) {
    const res = await runChild(pools[0], mode, { FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(res.stdout, res.stderr).toContain('done');
    resetPool(pools[0]);
  }
  expect(seq(logs[1])).toEqual(seq(logs[0]));
  const calls = seq(logs[0]).length;
  let next = 1;
  await Promise.all(
    pools.map(async (pool) => {
      for (let nth = next++; nth <= calls; nth = next++) {
        const res = await runChild(pool, mode, { FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'kill' });
        const where = `${mode}: crash before call ${nth} of ${calls}`;
        expect(res.signal, `${where}: the child was not killed (${res.stderr.slice(0, 500)})`).toBe('SIGKILL');
        const acked = res.stdout.includes('acked');
        const done = res.stdout.includes('done');
        const first = await checkAfterCrash(pool, where);
        const second = await reopenState(pool, `${where}, second open`);
        expect(second, `${where}: what the first open showed changed at the second`).toEqual(first);
        check(nth, acked, done, first, second);
        resetPool(pool);
      }
    }),
  );
  return calls;
}

describe.skipIf(!ready)(`crash at every file-system call${why}`, () => {
  it('put: acked puts survive; unacked ones leave old-or-new, never a mix; recovery removes every leftover', async () => {
    const t0 = Date.now();
    const seen = { acked: 0, old: 0, new: 0, other: 0 };
    const calls = await sweep('put', (nth, acked, done, s) => {
      const where = `put: crash before call ${nth}`;
      if (acked) expect(s.k, where).toBe('V2');
      else expect(['V1', 'V2'], where).toContain(s.k);
      expect(s.d, where).toBe('D');
      if (done) expect(s.other, where).toBe('OTHER');
      else expect(['absent', 'OTHER'], where).toContain(s.other);
      if (s.other === 'OTHER') expect(s.k, `${where}: b/other is written after the ack of b/k`).toBe('V2');
      seen.acked += acked ? 1 : 0;
      seen.old += s.k === 'V1' ? 1 : 0;
      seen.new += s.k === 'V2' ? 1 : 0;
      seen.other += s.other === 'OTHER' ? 1 : 0;
    });
    console.log(`put crash sweep: ${calls} calls, every one a crash point; acked ${seen.acked}, old ${seen.old}, new ${seen.new}, other written ${seen.other}; ${Date.now() - t0} ms`);
    // The sweep really crashed before and after the commit point, and after the ack.
    expect(calls).toBeGreaterThan(100);
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.acked).toBeLessThanOrEqual(seen.new);
    expect(seen.old + seen.new).toBe(calls);
    // ...and recovery had real leftovers to remove: files of un-acked versions (a put creates its shard files
    // under their final names, so torn ones are orphans, not temporary files; copy-log segments being prepared
    // are temporary files, and segments that only hold uncommitted copies go as unreferenced).
    expect(recovered.orphans).toBeGreaterThan(0);
    console.log(`recovery so far removed ${JSON.stringify(recovered)}`);
  }, 170_000);

  it('delete: an acked delete stays deleted; before the ack old-or-deleted, never an error or a resurrection', async () => {
    const t0 = Date.now();
    const seen = { acked: 0, old: 0, deleted: 0 };
    const calls = await sweep('delete', (nth, acked, done, s) => {
      const where = `delete: crash before call ${nth}`;
      if (acked) expect(s.d, where).toBe('absent');
      else expect(['D', 'absent'], where).toContain(s.d);
      expect(s.k, where).toBe('V1');
      if (done) expect(s.other, where).toBe('OTHER');
      else expect(['absent', 'OTHER'], where).toContain(s.other);
      if (s.other === 'OTHER') expect(s.d, where).toBe('absent');
      seen.acked += acked ? 1 : 0;
      seen.old += s.d === 'D' ? 1 : 0;
      seen.deleted += s.d === 'absent' ? 1 : 0;
    });
    console.log(`delete crash sweep: ${calls} calls, every one a crash point; acked ${seen.acked}, still there ${seen.old}, deleted ${seen.deleted}; ${Date.now() - t0} ms`);
    expect(calls).toBeGreaterThan(40);
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.acked).toBeLessThanOrEqual(seen.deleted);
  }, 170_000);
});
