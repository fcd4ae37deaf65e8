// The copy log (lib/store/local/copylog.ts) on its own: concurrent appends across segment roll-overs, records too long to
// share a segment, torn / moved / foreign records, pins, and EIO / ENOSPC injected at every write-side call
// of an append (our LD_PRELOAD shim): a failed append is reported, never read back as a good record, every
// resolved one reads back, and a segment whose write or sync failed is never written again (I9).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CopyLog, FREE_SEGMENTS_MAX, LOG_DIR, RECORD_ALIGN, RECORD_HEADER_BYTES, listSegments, readRecord, releaseSegment, recordBytes, scanSegment, segmentPath, type CopyRef } from '../lib/store/local/copylog.js';
import { native } from '../lib/native.js';
import { readRegion, writeRegion } from './support/copies.js';
import { faultShimMissing, tier } from './support/tier.js';

const work = mkdtempSync(join(tmpdir(), 'sv-copylog-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const POOL = Buffer.alloc(16, 7);
let disks = 0;
function disk(): string {
  const d = join(work, `d${disks++}`);
  mkdirSync(join(d, LOG_DIR), { recursive: true });
  return d;
}
const payload = (i: number, len = 3000 + (i % 7) * 700) => Buffer.alloc(len, (i * 37) & 0xff);

describe.skipIf(native() === null)('copy log', () => {
  it('concurrent appends over several roll-overs: every record reads back, slots never overlap, segments grow', async () => {
    const d = disk();
    const log = new CopyLog(d, POOL);
    const refs: CopyRef[] = [];
    for (let batch = 0; batch < 20; batch++) {
      refs.push(...(await Promise.all(Array.from({ length: 32 }, (_, j) => log.append(payload(batch * 32 + j))))));
    }
    for (const r of refs) log.unpin(r);
    await log.close();
    for (const [i, r] of refs.entries()) expect(Buffer.compare(await readRecord(d, r, POOL), payload(i)), `record ${i}`).toBe(0);
    const slots = refs.map((r) => `${r.seg}:${r.off}`);
    expect(new Set(slots).size).toBe(refs.length);
    for (const seg of new Set(refs.map((r) => r.seg))) {
      const inSeg = refs.filter((r) => r.seg === seg).sort((a, b) => a.off - b.off);
      for (let i = 1; i < inSeg.length; i++) expect(inSeg[i].off).toBeGreaterThanOrEqual(inSeg[i - 1].off + recordBytes(inSeg[i - 1].len));
      const size = statSync(segmentPath(d, seg)).size;
      expect(inSeg.at(-1)!.off + recordBytes(inSeg.at(-1)!.len)).toBeLessThanOrEqual(size);
      // A scan of the whole segment (catalog rebuild) finds exactly these records.
      expect([...scanSegment(readFileSync(segmentPath(d, seg)), seg, POOL)].map((x) => x.ref.off)).toEqual(inSeg.map((r) => r.off));
    }
    const sizes = [...new Set(refs.map((r) => r.seg))].map((seg) => statSync(segmentPath(d, seg)).size);
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(sizes[1]).toBe(2 * sizes[0]); // 1 MiB, 2 MiB, 4 MiB, ...
    expect(readdirSync(join(d, LOG_DIR)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('a record too long to share a segment gets one of its own', async () => {
    const d = disk();
    const log = new CopyLog(d, POOL);
    const small = await log.append(payload(1));
    const big = await log.append(payload(2, 3 << 20));
    const after = await log.append(payload(3));
    await log.close();
    expect(big.seg).not.toBe(small.seg);
    expect(after.seg).toBe(small.seg); // the shared segment goes on
    expect(statSync(segmentPath(d, big.seg)).size).toBe(RECORD_ALIGN + RECORD_HEADER_BYTES + (3 << 20));
    expect(Buffer.compare(await readRecord(d, big, POOL), payload(2, 3 << 20))).toBe(0);
  });

  it('torn, moved and foreign records read as corrupt; a scan skips them and keeps their neighbours', async () => {
    const d = disk();
    const log = new CopyLog(d, POOL);
    const refs = [];
    for (let i = 0; i < 4; i++) refs.push(await log.append(payload(i, 5000)));
    await log.close();
    const file = segmentPath(d, refs[0].seg);
    writeRegion(file, refs[1].off + 2000, Buffer.alloc(100)); // torn
    const moved = readRegion(file, refs[2].off, 40 + refs[2].len);
    writeRegion(file, refs[3].off, moved); // record 2's bytes where record 3 was
    await expect(readRecord(d, refs[1], POOL)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    await expect(readRecord(d, refs[3], POOL)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    await expect(readRecord(d, refs[0], Buffer.alloc(16, 8))).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' }); // another pool
    await expect(readRecord(d, { ...refs[0], len: refs[0].len - 1 }, POOL)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    await expect(readRecord(d, { ...refs[0], off: refs[0].off + 1 }, POOL)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    expect(Buffer.compare(await readRecord(d, refs[0], POOL), payload(0, 5000))).toBe(0);
    expect(Buffer.compare(await readRecord(d, refs[2], POOL), payload(2, 5000))).toBe(0);
    expect([...scanSegment(readFileSync(file), refs[0].seg, POOL)].map((x) => x.ref.off)).toEqual([refs[0].off, refs[2].off]);
    expect([...scanSegment(readFileSync(file), refs[0].seg, Buffer.alloc(16, 8))]).toEqual([]);
  });

  it('a released segment is reused without zero-filling: new number, same blocks, its old records invisible', async () => {
    const d = disk();
    const first = new CopyLog(d, POOL);
    const old: CopyRef[] = [];
    while (old.length === 0 || old.at(-1)!.seg === old[0].seg) old.push(await first.append(payload(old.length, 200_000))); // fill segment 0, roll to 1
    for (const r of old) first.unpin(r);
    await first.close();
    const seg0 = old[0].seg;
    const ino = statSync(segmentPath(d, seg0)).ino;
    expect(statSync(segmentPath(d, seg0)).size).toBe(1 << 20); // full, never cut back: worth keeping
    expect(await releaseSegment(d, seg0, 0)).toBe('recycled');
    expect((await listSegments(d)).free).toHaveLength(1);
    expect(await releaseSegment(d, old.at(-1)!.seg, 0)).toBe('removed'); // cut back at close: too small to keep
    const next = new CopyLog(d, POOL);
    const fresh = await next.append(payload(99, 5000));
    await next.close();
    expect(fresh.seg).toBeGreaterThan(seg0); // above the number its old records name (a removed one's may come back: its file is gone)
    expect(statSync(segmentPath(d, fresh.seg)).ino).toBe(ino); // the same file, renamed
    expect((await listSegments(d)).free).toEqual([]);
    expect(Buffer.compare(await readRecord(d, fresh, POOL), payload(99, 5000))).toBe(0);
    // The old records are still in its blocks, but no longer records of any segment.
    const bytes = readFileSync(segmentPath(d, fresh.seg));
    expect([...scanSegment(bytes, fresh.seg, POOL)].map((x) => x.ref.off)).toEqual([fresh.off]);
    for (const r of old.filter((x) => x.seg === seg0 && x.off !== fresh.off)) {
      await expect(readRecord(d, { ...r, seg: fresh.seg }, POOL)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    }
    expect(await releaseSegment(d, fresh.seg, FREE_SEGMENTS_MAX)).toBe('removed'); // enough kept already
  });

  it('pins: a segment with an uncommitted record, or the one being written, is in use; a released one is not', async () => {
    const d = disk();
    const log = new CopyLog(d, POOL);
    const first = await log.append(payload(0, 300_000));
    expect(log.inUse(first.seg, Date.now())).toBe(true);
    const refs = [first];
    while (refs.at(-1)!.seg === first.seg) refs.push(await log.append(payload(refs.length, 300_000))); // rolls over
    for (const r of refs) log.unpin(r);
    const later = Date.now() + 1;
    expect(log.inUse(first.seg, later)).toBe(false); // retired, nothing pinned, released before `later`
    expect(log.inUse(first.seg, 0)).toBe(true); // a gc walk that started before the release must keep it
    expect(log.inUse(refs.at(-1)!.seg, later)).toBe(true); // the current segment
    await log.close();
  });
});

// ------------------------------------------------------------------------------- injected faults

const dist = join(__dirname, '..', 'dist');
const { ready, why } = tier('the copy log fault sweep', faultShimMissing('lib/store/local/copylog.js'));
const shim = join(work, 'faultshim.so');
const OPS = 'write,pwrite,fdatasync,fsync,rename'; // the write side; the read-back in the child is not hit

interface Child {
  appends: Array<{ ok: boolean; seg?: number; off?: number; code?: string; message?: string }>;
  reads: Array<true | string>;
}
function runChild(env: Record<string, string>): Child {
  const d = disk();
  const res = spawnSync(process.execPath, [join(__dirname, 'fault', 'copylog-child.mjs'), dist, d], {
    encoding: 'utf8',
    env: { ...process.env, LD_PRELOAD: shim, FAULT_PREFIX: `${d}/`, UV_THREADPOOL_SIZE: '1', UV_USE_IO_URING: '0', ...env },
  });
  if (res.status !== 0) throw new Error(`child failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as Child;
}

describe.skipIf(!ready)(`copy log under injected faults${why}`, () => {
  beforeAll(() => {
    const res = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, join(__dirname, 'fault', 'faultshim.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`building the shim failed: ${res.stderr}`);
  });

  it.each(['EIO', 'ENOSPC'])('%s at every write-side call: reported, never a bad record, a failed segment is never written again', (errname) => {
    const log = join(work, `calls-${errname}.log`);
    const clean = runChild({ FAULT_OPS: OPS, FAULT_NTH: '0', FAULT_LOG: log });
    expect(clean.appends.every((a) => a.ok)).toBe(true);
    expect(clean.reads.every((r) => r === true)).toBe(true);
    const calls = readFileSync(log, 'utf8').trim().split('\n').length;
    expect(calls).toBeGreaterThan(6); // prepare: header, zeros, fdatasync, rename, dir fsync; then the records
    let failures = 0;
    for (let nth = 1; nth <= calls; nth++) {
      const r = runChild({ FAULT_OPS: OPS, FAULT_NTH: String(nth), FAULT_ACTION: 'errno', FAULT_ERRNO: errname });
      const where = `${errname} at call ${nth} of ${calls}`;
      expect(r.appends.some((a) => !a.ok), `${where}: the fault was not reported`).toBe(true);
      expect(r.reads.every((x) => x === true), `${where}: a resolved append does not read back: ${JSON.stringify(r.reads)}`).toBe(true);
      // After a failure, later records go to a segment numbered above every segment used before it.
      let maxBefore = -1;
      let limit = -Infinity; // every segment used before the latest failure
      for (const a of r.appends) {
        if (!a.ok) {
          limit = maxBefore;
          failures++;
          continue;
        }
        expect(a.seg!, `${where}: wrote into a segment used before the failure`).toBeGreaterThan(limit);
        maxBefore = Math.max(maxBefore, a.seg!);
      }
      // One injected fault, one failed append: the next append after it succeeds (a new segment if need be).
      expect(r.appends.filter((a) => !a.ok), `${where}: ${JSON.stringify(r.appends)}`).toHaveLength(1);
      for (const a of r.appends.filter((x) => !x.ok)) {
        expect(a.code, where).toBe('ERR_SV_IO'); // one stable code, the errno name in the message
        expect(a.message, where).toMatch(errname === 'EIO' ? /EIO|Input\/output error/ : /ENOSPC|No space left on device/);
      }
    }
    expect(failures).toBeGreaterThanOrEqual(calls);
  });
});
