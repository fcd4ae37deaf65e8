// The catalog's own I/O errors are a state, not a crash. With our LD_PRELOAD shim (test/fault/faultshim.c)
// failing one call on the catalog's files (EIO or ENOSPC on a pwrite/write/fdatasync of LMDB's commit, at every
// such call of six puts), the child process must live: the put whose commit failed rejects with
// ERR_SV_CATALOG_FAILED carrying the errno, every later write is refused with the same code (the catalog's
// state on disk is unknown, I9), reads go on or fail coded (LMDB's MDB_PANIC), status() reports it. Reopened afterwards (no shim), every acked
// object reads back exact, an unacked one is absent or exact (never torn), and repair + scrub end clean.
// A persistent read error on the catalog at open is a clean ERR_SV_CATALOG_FAILED too (lmdb-js would crash:
// docs/upstream/lmdb-js.md). Before this, each of these ended the process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const root = join(__dirname, '..');
const dist = join(root, 'dist');
const work = mkdtempSync(join(tmpdir(), 'sv-catfault-'));
const shim = join(work, 'faultshim.so');
let reason: string | undefined;
if (native() === null) reason = 'native addon missing';
else if (!existsSync(join(dist, 'lib', 'index.js'))) reason = 'dist/ not built (npx tsc)';
else if (process.platform !== 'linux') reason = 'LD_PRELOAD shim is Linux-only';

beforeAll(() => {
  if (reason !== undefined) return;
  const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (res.status !== 0) reason = `gcc could not build the shim: ${res.stderr}`;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const data = (i: number) => Buffer.alloc(i % 2 === 0 ? 100 : 100_000, i + 1);

async function freshPool(name: string): Promise<string> {
  const dir = join(work, name);
  const disks = [0, 1, 2].map((i) => join(dir, `d${i}`));
  for (const d of disks) mkdirSync(d, { recursive: true });
  const meta = join(dir, 'meta');
  const v = await Vault.init({ disks: disks.map((path) => ({ path })), metaDir: meta, k: 2, m: 1, blockBytes: 16384 });
  await v.createBucket('bkt');
  await v.close();
  return meta;
}

interface ChildOut {
  open: { ok: boolean; code?: string; errno?: number };
  puts: Array<{ key: string; ok: boolean; code?: string; errno?: number; syscall?: string; message?: string }>;
  after: { ok: boolean; code?: string } | null;
  read: boolean | string | null;
  catalog: { ok: boolean; problem?: string; errno?: number } | null;
}

function child(meta: string, fault: Record<string, string>): { status: number | null; signal: NodeJS.Signals | null; out?: ChildOut; stderr: string } {
  const res = spawnSync(process.execPath, [join(__dirname, 'fault', 'catalog-fault-child.mjs'), dist, meta], {
    encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, LD_PRELOAD: shim, FAULT_PREFIX: join(meta, 'catalog'), UV_USE_IO_URING: '0', UV_THREADPOOL_SIZE: '1', ...fault },
  });
  const line = res.stdout.trim().split('\n').pop();
  let out: ChildOut | undefined;
  try {
    out = line ? (JSON.parse(line) as ChildOut) : undefined;
  } catch {
    out = undefined;
  }
  return { status: res.status, signal: res.signal, out, stderr: res.stderr };
}

/** Reopens without the shim: acked objects exact, unacked absent or exact, and clean after repair + scrub. */
async function checkAfter(meta: string, out: ChildOut, where: string): Promise<void> {
  const v = await Vault.open(meta);
  try {
    for (const p of out.puts) {
      const i = Number(p.key.slice(1));
      let got: Buffer | string;
      try {
        got = Buffer.from(await v.getBuffer('bkt', p.key));
      } catch (err) {
        got = (err as { code: string }).code;
      }
      if (p.ok) expect(Buffer.isBuffer(got) && got.equals(data(i)), `${where}: acked ${p.key}: ${String(got)}`).toBe(true);
      else expect(got === 'ERR_SV_NOT_FOUND' || (Buffer.isBuffer(got) && got.equals(data(i))), `${where}: unacked ${p.key}: ${String(got)}`).toBe(true);
    }
    await v.repair();
    const scrub = await v.scrub();
    expect(scrub.bad, where).toBe(0);
  } finally {
    await v.close();
  }
}

describe('catalog I/O errors', () => {
  it('EIO or ENOSPC at every write or sync of the catalog: no crash, a coded error, writes fenced, nothing lost', async () => {
    if (reason !== undefined) {
      console.log(`vault-catalog-faults: skipped, ${reason}`);
      return;
    }
    // Count the catalog's write and sync calls of the six puts (the sweep's points).
    const countMeta = await freshPool('count');
    const log = join(work, 'count.log');
    const counted = child(countMeta, { FAULT_OPS: 'write,pwrite,fdatasync,fsync', FAULT_NTH: '0', FAULT_LOG: log });
    expect(counted.status, counted.stderr).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n').length;
    expect(calls).toBeGreaterThanOrEqual(12); // at least a write and a sync per commit
    const points: Array<{ nth: number; errno: string }> = [];
    for (let nth = 1; nth <= calls; nth++) points.push({ nth, errno: nth % 3 === 0 ? 'ENOSPC' : 'EIO' });
    let failedPuts = 0;
    for (const { nth, errno } of points) {
      const where = `${errno} at catalog call ${nth} of ${calls}`;
      const meta = await freshPool(`p${nth}`);
      const r = child(meta, { FAULT_OPS: 'write,pwrite,fdatasync,fsync', FAULT_NTH: String(nth), FAULT_ACTION: 'errno', FAULT_ERRNO: errno });
      expect(r.signal, `${where}: ${r.stderr}`).toBeNull();
      expect(r.status, `${where}: ${r.stderr}`).toBe(0);
      expect(r.out, `${where}: ${r.stderr}`).toBeDefined();
      const out = r.out!;
      const firstBad = out.puts.findIndex((p) => !p.ok);
      if (firstBad === -1) {
        // The six puts were stored; the failed call was the seventh write's (or one LMDB does not need).
        if (out.after?.ok === false) {
          expect(out.after, where).toEqual({ ok: false, code: 'ERR_SV_CATALOG_FAILED' });
          expect(out.catalog, where).toMatchObject({ ok: false });
        } else {
          expect(out.catalog, where).toEqual({ ok: true });
        }
      } else {
        failedPuts++;
        const bad = out.puts[firstBad];
        expect(bad, where).toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
        expect(bad.message, where).toMatch(errno);
        for (const p of out.puts.slice(firstBad + 1)) expect(p, `${where}: fenced`).toMatchObject({ ok: false, code: 'ERR_SV_CATALOG_FAILED' });
        expect(out.after, where).toEqual({ ok: false, code: 'ERR_SV_CATALOG_FAILED' });
        expect(out.catalog, where).toMatchObject({ ok: false, problem: expect.stringMatching(errno) });
        // Reads go on from what LMDB has, unless it panicked (a failed meta-page write): then they fail, coded.
        if (firstBad > 0) expect([true, 'ERR_SV_CATALOG_FAILED'], `${where}: read after the failure`).toContain(out.read);
      }
      await checkAfter(meta, out, where);
      rmSync(join(meta, '..'), { recursive: true, force: true });
    }
    expect(failedPuts, 'the sweep must hit commits').toBeGreaterThan(points.length / 2);
  }, 600_000);

  it('a persistent read error on the catalog at open is ERR_SV_CATALOG_FAILED, not a crash', async () => {
    if (reason !== undefined) {
      console.log(`vault-catalog-faults: skipped, ${reason}`);
      return;
    }
    const meta = await freshPool('open');
    const r = child(meta, { FAULT_OPS: 'pread', FAULT_NTH: '1', FAULT_COUNT: '-1', FAULT_ACTION: 'errno', FAULT_ERRNO: 'EIO' });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.out?.open).toMatchObject({ ok: false, code: 'ERR_SV_CATALOG_FAILED', errno: 5 });
    // The fault gone, the pool opens as it was.
    await checkAfter(meta, { ...r.out!, puts: [] }, 'after the open fault');
  }, 120_000);
});
