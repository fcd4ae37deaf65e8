// Crash at EVERY file-system call of a completeUpload (the LD_PRELOAD shim SIGKILLs the child just before call
// N, UV_THREADPOOL_SIZE=1 so the sequence is deterministic; as test/vault-crash.test.ts), then reopen and check:
//   I1  an acknowledged complete reads back as the whole multipart object;
//   I2  an unacknowledged one leaves the old object (and the upload, which completes when retried) or the
//       whole new object, never an error or a mix; the second open shows what the first did;
//   nothing the committed state references is lost: scrub finds 0 bad shards, the repair queue is empty, and
//   the shard files on the disks are exactly the committed object's plus (old state) the upload's parts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Vault } from '../lib/vault.js';
import { PoolTemplate, poolFiles, runFaultChild } from './support/poolclone.js';
import { faultShimMissing, tier } from './support/tier.js';

const dist = join(__dirname, '..', 'dist');
const { ready, why } = tier('the multipart crash sweep', faultShimMissing('lib/vault.js'));
const work = mkdtempSync(join(tmpdir(), 'sv-mpcrash-'));
const shim = join(work, 'faultshim.so');
const template = join(work, 'template');
const DISKS = 6;
const WORKERS = 3;
const V1 = Buffer.alloc(3 * 4096 * 4 + 100, 0x31); // bkt/mp before the complete (striped)
const PARTS = [Buffer.alloc(20_000, 0x41), Buffer.alloc(17_000, 0x42), Buffer.alloc(5_000, 0x43)];
const MP = Buffer.concat(PARTS);
const OTHER = Buffer.alloc(9000, 0x33);
let tpl: PoolTemplate;

const shardFiles = (pool: string) => poolFiles(pool).filter((f) => /^d\d+\/objects\//.test(f));

type State = 'V1' | 'MP';

async function readMp(vault: Vault, where: string): Promise<State> {
  const got = Buffer.from(await vault.getBuffer('bkt', 'mp')); // any error fails the sweep
  if (got.equals(V1)) return 'V1';
  expect(got.equals(MP), `${where}: bkt/mp read ${got.length} bytes that are no version of it`).toBe(true);
  return 'MP';
}

async function otherWritten(vault: Vault): Promise<boolean> {
  return (await vault.head('bkt', 'other')) !== undefined;
}

beforeAll(async () => {
  if (!ready) return;
  const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  const disks = Array.from({ length: DISKS }, (_, i) => {
    mkdirSync(join(template, `d${i}`), { recursive: true });
    return { path: join(template, `d${i}`) };
  });
  const vault = await Vault.init({ disks, metaDir: join(template, 'meta'), k: 4, m: 2, blockBytes: 4096, minPartBytes: 1 });
  await vault.createBucket('bkt');
  await vault.put('bkt', 'mp', V1);
  const { uploadId } = await vault.createUpload('bkt', 'mp');
  const etags: string[] = [];
  for (const [i, p] of PARTS.entries()) etags.push((await vault.putPart('bkt', 'mp', uploadId, i + 1, p)).etag);
  await vault.close();
  writeFileSync(join(work, 'upload.json'), JSON.stringify({ uploadId, etags })); // beside the pools: the clones share it
  tpl = new PoolTemplate(template);
  expect(shardFiles(template)).toHaveLength(6 + 3 * 6);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** After a crash: what bkt/mp reads as, with recovery and file checks; then, in the old state, the retried complete. */
async function checkAfterCrash(pool: string, where: string): Promise<{ state: State; other: boolean }> {
  let vault = await Vault.open(join(pool, 'meta'), { orphanGraceMs: 0, minPartBytes: 1 });
  let state: State;
  let other: boolean;
  try {
    state = await readMp(vault, where);
    other = await otherWritten(vault);
    const scrub = await vault.scrub();
    expect(scrub.bad, `${where}: scrub`).toBe(0);
    expect((await vault.repairQueue()), `${where}: repair queue`).toEqual([]);
    const loc = (await vault.locate('bkt', 'mp'))!;
    const committed = (loc.parts ?? [{ shards: loc.shards }]).flatMap((p) => p.shards.map((s) => s.shardFile!));
    const uploads = (await vault.listUploads('bkt')).uploads;
    if (state === 'V1') {
      // The upload is still there, with its parts' files, and nothing else of the complete was left.
      expect(uploads.map((u) => u.key), where).toEqual(['mp']);
      expect(shardFiles(pool).length, `${where}: shard files`).toBe(6 + 18);
    } else {
      expect(uploads, where).toEqual([]);
      expect(shardFiles(pool), `${where}: shard files`).toEqual(committed.map((f) => f.slice(pool.length + 1)).sort());
    }
  } finally {
    await vault.close();
  }
  vault = await Vault.open(join(pool, 'meta'), { orphanGraceMs: 0, minPartBytes: 1 });
  try {
    expect(await readMp(vault, `${where}, second open`), `${where}: the second open differs`).toBe(state);
    if (state === 'V1') {
      const uploadId = (await vault.listUploads('bkt')).uploads[0].uploadId;
      const parts = (await vault.listParts('bkt', 'mp', uploadId)).parts;
      expect(parts.map((p) => p.size), where).toEqual(PARTS.map((p) => p.length));
      await vault.completeUpload('bkt', 'mp', uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
      expect(await readMp(vault, `${where}, retried`)).toBe('MP');
    }
  } finally {
    await vault.close();
  }
  return { state, other };
}

describe.skipIf(!ready)(`crash at every file-system call of a completeUpload${why}`, () => {
  it('an acked complete survives; an unacked one leaves the old object and the upload, or the whole new object', async () => {
    const t0 = Date.now();
    const pools = Array.from({ length: WORKERS }, (_, w) => join(work, `w${w}`));
    for (const p of pools) tpl.clone(p);
    const run = (pool: string, env: Record<string, string>) =>
      runFaultChild(join(__dirname, 'fault', 'multipart-child.mjs'), [dist, join(pool, 'meta'), join(work, 'upload.json')], pool, shim, env);
    const log = join(work, 'count.log');
    const counted = await run(pools[0], { FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(counted.stdout, counted.stderr).toContain('done');
    tpl.reset(pools[0]);
    const calls = readFileSync(log, 'utf8').trim().split('\n').length;
    const seen = { acked: 0, old: 0, new: 0 };
    let next = 1;
    await Promise.all(pools.map(async (pool) => {
      for (let nth = next++; nth <= calls; nth = next++) {
        const res = await run(pool, { FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'kill' });
        const where = `complete: crash before call ${nth} of ${calls}`;
        expect(res.signal, `${where}: the child was not killed (${res.stderr.slice(0, 500)})`).toBe('SIGKILL');
        const acked = res.stdout.includes('acked');
        const { state, other } = await checkAfterCrash(pool, where);
        if (acked) expect(state, where).toBe('MP');
        if (other) expect(state, `${where}: bkt/other is written after the ack`).toBe('MP');
        seen.acked += acked ? 1 : 0;
        seen.old += state === 'V1' ? 1 : 0;
        seen.new += state === 'MP' ? 1 : 0;
        tpl.reset(pool);
        expect(readdirSync(join(pool, 'd0')).sort()).toEqual(readdirSync(join(template, 'd0')).sort());
      }
    }));
    console.log(`multipart complete crash sweep: ${calls} calls, every one a crash point; acked ${seen.acked}, old ${seen.old}, new ${seen.new}; ${Date.now() - t0} ms`);
    expect(calls).toBeGreaterThan(30);
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.old + seen.new).toBe(calls);
  }, 300_000);
});
