// A put that fails removes its own leftovers before it rejects (issue 10): shard files (sealed or not) and the
// manifest copies it appended, whatever made it fail: an abort, a source stream error, a disk out of space
// mid-stream (a real ENOSPC on a size-limited tmpfs, root tier) or while writing its manifest copies. The
// error names the disk, the errno and what ran out. After each rejection the disk directories are walked:
// no file of that put remains, and no copy-log record of it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LOG_DIR, parseSegmentName, scanSegment, segmentPath } from '../lib/store/local/copylog.js';
import { hex, objectId } from '../lib/format/ids.js';
import { objectDir } from '../lib/store/local/layout.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { have, isRoot, tier } from './support/tier.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-putfail-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

async function makeVault(diskPath?: (i: number, base: string) => string | undefined) {
  const base = join(root, `p${n++}`);
  const disks = Array.from({ length: 6 }, (_, i) => {
    const path = diskPath?.(i, base) ?? join(base, `d${i}`);
    mkdirSync(path, { recursive: true });
    return { path };
  });
  const metaDir = join(base, 'meta');
  const vault = await Vault.init({ disks, metaDir, k: 4, m: 2, blockBytes: 1 << 16 });
  await vault.createBucket('bkt');
  const poolId = Buffer.from((JSON.parse(readFileSync(join(metaDir, 'pool.json'), 'utf8')) as { poolId: string }).poolId, 'hex');
  return { vault, disks, base, poolId };
}

/** What the pool's disks hold: every file under objects/ and every intact copy-log record (disk, seg, offset). */
function contents(disks: Array<{ path: string }>, poolId: Uint8Array): { files: string[]; records: string[] } {
  const files: string[] = [];
  const records: string[] = [];
  disks.forEach((d, i) => {
    for (const f of readdirSync(join(d.path, 'objects'), { recursive: true }) as string[]) if (/\./.test(f)) files.push(`${i}/${f}`);
    for (const f of readdirSync(join(d.path, LOG_DIR))) {
      const seg = parseSegmentName(f);
      if (typeof seg !== 'number') continue;
      for (const { ref } of scanSegment(readFileSync(segmentPath(d.path, seg)), seg, poolId)) records.push(`${i}/${seg}/${ref.off}`);
    }
  });
  return { files: files.sort(), records: records.sort() };
}

describe.skipIf(!hasNative)(`failed put cleans up after itself${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('abort mid-stream: no shard file and no manifest copy of it remain, the old version reads', async () => {
    const { vault, disks, poolId } = await makeVault();
    await vault.put('bkt', 'k', Buffer.alloc(300_000, 1));
    const before = contents(disks, poolId);
    const ac = new AbortController();
    async function* body() {
      for (let i = 0; i < 64; i++) {
        if (i === 40) ac.abort();
        yield randomBytes(64 * 1024);
      }
    }
    await expect(vault.put('bkt', 'k', body(), { signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_SV_ABORTED' });
    expect(contents(disks, poolId)).toEqual(before);
    expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(Buffer.alloc(300_000, 1))).toBe(true);
    await vault.close();
  });

  it('source stream error and a bad chunk: nothing of the put remains', async () => {
    const { vault, disks, poolId } = await makeVault();
    const before = contents(disks, poolId);
    async function* failing() {
      for (let i = 0; i < 30; i++) yield randomBytes(64 * 1024);
      throw new Error('upstream connection reset');
    }
    await expect(vault.put('bkt', 'k', failing())).rejects.toThrow(/upstream connection reset/);
    expect(contents(disks, poolId)).toEqual(before);
    async function* badChunk() {
      for (let i = 0; i < 30; i++) yield randomBytes(64 * 1024);
      yield 'not bytes' as unknown as Uint8Array;
    }
    await expect(vault.put('bkt', 'k', badChunk())).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    expect(contents(disks, poolId)).toEqual(before);
    expect(await vault.head('bkt', 'k')).toBeUndefined();
    await vault.close();
  });

  const { ready: root_, why: rootWhy } = tier('the size-limited tmpfs cases', [isRoot() ? null : 'root (to mount a size-limited tmpfs)']);
  const mountTmpfs = (dir: string, size: string): boolean => {
    mkdirSync(dir, { recursive: true });
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'svputfail', dir], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`skipped: mount -t tmpfs -o size=${size} failed: ${r.stderr}`);
      return false;
    }
    mounts.push(dir);
    return true;
  };
  const unmount = (dir: string) => {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]); // still busy: detach it anyway
    mounts.splice(mounts.indexOf(dir), 1);
  };

  const { ready: chattr, why: chattrWhy } = tier('the immutable-directory case', [isRoot() ? null : 'root', have('chattr') ? null : 'chattr']);
  it.skipIf(!chattr)(`a shard file that cannot be removed (its directory made immutable) is queued for gc, and the error says so${chattrWhy}`, async () => {
    const { vault, disks, poolId } = await makeVault();
    const before = contents(disks, poolId);
    const dir = objectDir(disks[1].path, hex(objectId('bkt', 'stuck')));
    const ac = new AbortController();
    async function* body() {
      for (let i = 0; i < 64; i++) {
        if (i === 20) {
          // The put's shard files exist by now; from here the directory refuses unlink (EPERM), even for root.
          expect(spawnSync('chattr', ['+i', dir]).status).toBe(0);
          ac.abort();
        }
        yield randomBytes(64 * 1024);
      }
    }
    try {
      const err = await vault.put('bkt', 'stuck', body(), { signal: ac.signal }).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(err?.code).toBe('ERR_SV_ABORTED');
      expect(err?.message).toMatch(/left for gc \(queued\): shard \d on disk-1-/);
      const left = contents(disks, poolId).files.filter((f) => !before.files.includes(f));
      expect(left).toHaveLength(1); // only the one gc has to remove; the other five went at once
      expect(left[0]).toMatch(/^1\//);
    } finally {
      spawnSync('chattr', ['-i', dir]);
    }
    const gc = await vault.gc({ walk: false });
    expect(gc.supersededRemoved).toBe(1);
    expect(contents(disks, poolId)).toEqual(before);
    await vault.close();
  });

  it.skipIf(!root_)(`ENOSPC mid-stream on one disk (2 MiB tmpfs): ERR_SV_NO_SPACE naming disk, errno and shard; every disk clean${rootWhy}`, async () => {
    const base = join(root, `p${n++}`);
    const small = join(base, 'small');
    expect(mountTmpfs(small, '2m')).toBe(true);
    try {
      const specs = Array.from({ length: 6 }, (_, i) => ({ path: i === 3 ? small : join(base, `d${i}`) }));
      for (const sp of specs) mkdirSync(sp.path, { recursive: true });
      const v = await Vault.init({ disks: specs, metaDir: join(base, 'meta'), k: 4, m: 2, blockBytes: 1 << 16 });
      const pid = Buffer.from((JSON.parse(readFileSync(join(base, 'meta', 'pool.json'), 'utf8')) as { poolId: string }).poolId, 'hex');
      await v.createBucket('bkt');
      await v.put('bkt', 'k', Buffer.from('old'));
      const before = contents(specs, pid);
      const diskId = (await v.status()).disks[3].id;
      let pulled = 0;
      async function* big() {
        for (let i = 0; i < 768; i++) {
          pulled++;
          yield Buffer.alloc(64 * 1024, i); // 48 MiB: 12 MiB per shard, far more than the 2 MiB disk holds
        }
      }
      const err = await v.put('bkt', 'k', big()).then(() => undefined, (e: unknown) => e as Error & { code: string; disk?: string; errno?: number; disks?: Array<{ disk: string; errnoName?: string; shard?: number }> });
      expect(err?.code).toBe('ERR_SV_NO_SPACE');
      expect(err?.message).toMatch(new RegExp(`disk ${diskId} \\(${small.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): ENOSPC while writing shard \\d of bkt/k: no space left on device`));
      expect(err?.disk).toBe(diskId);
      expect(err?.disks?.[0]).toMatchObject({ disk: diskId, errnoName: 'ENOSPC' });
      expect(pulled).toBeLessThan(768); // stopped early: the quorum was lost, the rest of the stream was never read
      expect(contents(specs, pid)).toEqual(before);
      expect(Buffer.from(await v.getBuffer('bkt', 'k')).toString()).toBe('old');
      expect((await v.status()).disks[3].errors.write).toBeGreaterThan(0); // counted against the disk since open
      const free = statfsSync(small);
      expect(free.bavail * free.bsize).toBeGreaterThan(900 * 1024); // the space came back (the old version's 1 MiB copy-log segment stays)
      await v.close();
    } finally {
      unmount(small);
    }
  });

  it.skipIf(!root_)(`ENOSPC while appending the manifest copies (shards sealed on every disk): sealed shards and the other copies removed${rootWhy}`, async () => {
    const base = join(root, `p${n++}`);
    const small = join(base, 'small');
    expect(mountTmpfs(small, '2m')).toBe(true);
    try {
      const specs = Array.from({ length: 6 }, (_, i) => ({ path: i === 2 ? small : join(base, `d${i}`) }));
      for (const sp of specs) mkdirSync(sp.path, { recursive: true });
      const v = await Vault.init({ disks: specs, metaDir: join(base, 'meta'), k: 4, m: 2, blockBytes: 1 << 16 });
      const pid = Buffer.from((JSON.parse(readFileSync(join(base, 'meta', 'pool.json'), 'utf8')) as { poolId: string }).poolId, 'hex');
      await v.createBucket('bkt');
      // Fill the small disk but for ~400 KiB: a 300 KiB shard fits, a fresh 1 MiB copy-log segment does not.
      const st = statfsSync(small);
      writeFileSync(join(small, 'filler'), Buffer.alloc(st.bavail * st.bsize - 400 * 1024));
      const before = contents(specs, pid);
      const data = randomBytes(4 * 300 * 1024);
      const err = await v.put('bkt', 'obj', data).then(() => undefined, (e: unknown) => e as Error & { code: string; disks?: Array<{ during: string; errnoName?: string }> });
      expect(err?.code).toBe('ERR_SV_NO_SPACE');
      expect(err?.message).toMatch(/ENOSPC while writing the manifest copy of bkt\/obj: no space left on device/);
      expect(err?.disks).toEqual([expect.objectContaining({ during: 'writing the manifest copy', errnoName: 'ENOSPC' })]);
      expect(contents(specs, pid)).toEqual(before); // five sealed shard files and five appended copies: all gone
      // Inline objects (manifest copies only) too.
      const err2 = await v.put('bkt', 'small', Buffer.from('tiny')).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(err2?.code).toBe('ERR_SV_NO_SPACE');
      expect(contents(specs, pid)).toEqual(before);
      await v.close();
      // Nothing for a catalog rebuild to bring back either.
      const rebuilt = await Vault.rebuildCatalog(join(base, 'meta'));
      expect(rebuilt.objects).toBe(0);
    } finally {
      unmount(small);
    }
  });
});
