// Syscall fault injection with our own LD_PRELOAD shim (test/fault/faultshim.c): short writes and EINTR
// must not corrupt or fail a shard; EIO/ENOSPC/EROFS at each call of the writer surface with errno and
// syscall, never leave a partial file under the final name, and a failed fdatasync makes the writer lost
// for good (I9). Children run with UV_THREADPOOL_SIZE=1 so the call sequence is deterministic.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { faultShimMissing, tier } from './support/tier.js';

const root = join(__dirname, '..');
const dist = join(root, 'dist');
const { ready, why } = tier('the shard writer fault sweep', faultShimMissing('lib/store/local/shardio.js'));
const work = mkdtempSync(join(tmpdir(), 'sv-fault-'));
const shim = join(work, 'faultshim.so');

beforeAll(() => {
  if (!ready) return;
  const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`building the shim failed: ${res.stderr}`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface ChildResult {
  ok: boolean;
  stage: string;
  code?: string;
  errno?: number;
  syscall?: string;
  lost?: boolean;
  resealCode?: string;
  resealed?: boolean;
  finalExists: boolean;
  finalCorrect: boolean;
  leftovers: string[];
}

let runs = 0;
function runChild(env: Record<string, string>): ChildResult {
  const dir = mkdtempSync(join(work, `r${runs++}-`));
  const res = spawnSync(process.execPath, [join(__dirname, 'fault', 'writer-child.mjs'), dir, dist], {
    encoding: 'utf8',
    // After whatever is preloaded already: the sanitizer tier preloads ASan/UBSan, which must stay first.
    env: { ...process.env, LD_PRELOAD: [process.env.LD_PRELOAD, shim].filter(Boolean).join(' '), FAULT_PREFIX: dir, UV_THREADPOOL_SIZE: '1', UV_USE_IO_URING: '0', ...env },
  });
  if (res.status !== 0) throw new Error(`child failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as ChildResult;
}

// The writer's calls in order (from FAULT_LOG): open tmp, 3 writes, fdatasync, rename, open dir, fsync dir.
const sequence = ['open', 'write', 'write', 'write', 'fdatasync', 'rename', 'open', 'fsync'];

describe.skipIf(!ready)(`shard writer under injected faults${why}`, () => {
  it('the call sequence is what the table below assumes', () => {
    const log = join(work, 'calls.log');
    const r = runChild({ FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(r.ok).toBe(true);
    const ops = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]);
    expect(ops.slice(0, sequence.length)).toEqual(sequence);
  });

  it('short writes on every write: the sealed file is still exact', () => {
    const r = runChild({ FAULT_OPS: 'write', FAULT_NTH: '1', FAULT_COUNT: '-1', FAULT_ACTION: 'short' });
    expect(r).toMatchObject({ ok: true, finalCorrect: true, leftovers: [] });
  });

  for (let nth = 1; nth <= sequence.length; nth++) {
    it(`EINTR at call ${nth} (${sequence[nth - 1]}) is retried`, () => {
      const r = runChild({ FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'eintr' });
      expect(r).toMatchObject({ ok: true, finalCorrect: true, leftovers: [] });
    });
  }

  for (const errname of ['EIO', 'ENOSPC', 'EROFS']) {
    const errno = { EIO: 5, ENOSPC: 28, EROFS: 30 }[errname]!;
    for (let nth = 1; nth <= sequence.length; nth++) {
      const call = sequence[nth - 1];
      it(`${errname} at call ${nth} (${call}): reported, nothing partial visible, never durable`, () => {
        const r = runChild({ FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'errno', FAULT_ERRNO: errname });
        expect(r.ok).toBe(false);
        expect(r.code).toBe('ERR_SV_IO');
        expect(r.errno).toBe(errno);
        expect(r.leftovers).toEqual([]);
        if (nth <= 6) expect(r.finalExists).toBe(false); // before or at the rename: no final name
        else expect(r.finalCorrect).toBe(true); // dir fsync failed after the rename: complete bytes, but not acked
        if (call === 'write') expect(r.resealCode).toBe('ERR_SV_WRITER_STATE'); // a partial file is never published
        if (call === 'fdatasync' || nth >= 7) {
          // I9: the writer is lost; sealing again is refused instead of "succeeding" on a retried fsync.
          expect(r.lost).toBe(true);
          expect(r.resealCode).toBe('ERR_SV_FSYNC_FAILED');
        }
      });
    }
  }

  // Direct writers (the vault's put path) create the final name at once: open, 3 writes, fdatasync, open dir,
  // fsync dir. A failure anywhere leaves nothing under the final name once the caller aborts, and a failed
  // fdatasync or directory fsync makes the writer lost for good (I9).
  const direct = ['open', 'write', 'write', 'write', 'fdatasync', 'open', 'fsync'];
  it('direct writer: the call sequence is what the table below assumes', () => {
    const log = join(work, 'calls-direct.log');
    const r = runChild({ SV_DIRECT: '1', FAULT_OPS: 'all', FAULT_NTH: '0', FAULT_LOG: log });
    expect(r).toMatchObject({ ok: true, finalCorrect: true, leftovers: [] });
    const ops = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]);
    expect(ops.slice(0, direct.length)).toEqual(direct);
  });
  for (let nth = 1; nth <= direct.length; nth++) {
    const call = direct[nth - 1];
    it(`direct writer, EIO at call ${nth} (${call}): reported, aborted to nothing, never durable`, () => {
      const r = runChild({ SV_DIRECT: '1', FAULT_OPS: 'all', FAULT_NTH: String(nth), FAULT_ACTION: 'errno', FAULT_ERRNO: 'EIO' });
      expect(r).toMatchObject({ ok: false, code: 'ERR_SV_IO', errno: 5, finalExists: false, leftovers: [] });
      if (call === 'fdatasync' || nth >= 6) {
        expect(r.lost).toBe(true);
        expect(r.resealCode).toBe('ERR_SV_FSYNC_FAILED');
      }
    });
  }
});
