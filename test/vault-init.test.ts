// The library's edge for daemon builders (issue 10): Vault.init validates every option with a named error and
// refuses unknown keys, checks every disk before writing anything and rolls back what it wrote when a disk
// fails (no disk left marked for a pool that never existed), stores disk paths absolute (a pool opens from any
// directory), and bucket names follow S3's rules.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { bucketNameProblem } from '../lib/validate.js';
import { Vault } from '../lib/vault.js';
import { have, isRoot, tier } from './support/tier.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-init-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

function diskDirs(count = 6): { base: string; disks: Array<{ path: string }> } {
  const base = join(root, `p${n++}`);
  const disks = Array.from({ length: count }, (_, i) => {
    mkdirSync(join(base, `d${i}`), { recursive: true });
    return { path: join(base, `d${i}`) };
  });
  return { base, disks };
}

/** Every disk directory is as empty as before the init, and the meta directory was not made. */
function untouched(base: string, disks: Array<{ path: string }>): void {
  for (const d of disks) if (existsSync(d.path)) expect(readdirSync(d.path), d.path).toEqual([]);
  expect(existsSync(join(base, 'meta')), 'meta directory').toBe(false);
}

describe.skipIf(!hasNative)(`Vault.init: options${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  const cases: Array<[string, (base: string, disks: Array<{ path: string }>) => unknown, string, RegExp?]> = [
    ['no options', () => undefined, 'ERR_SV_INVALID_ARG_TYPE'],
    ['options not an object', () => 'x', 'ERR_SV_INVALID_ARG_TYPE'],
    ['metaDir missing', (_b, disks) => ({ disks, k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /metaDir is required/],
    ['metaDir empty', (_b, disks) => ({ disks, metaDir: '', k: 4, m: 2 }), 'ERR_SV_OUT_OF_RANGE', /metaDir/],
    ['k missing', (b, disks) => ({ disks, metaDir: join(b, 'meta'), m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /k is required/],
    ['disks missing', (b) => ({ metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /disks is required/],
    ['unknown option (a typo)', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 4, m: 2, blockSize: 4096 }), 'ERR_SV_UNKNOWN_OPTION', /blockSize/],
    ['disks not an array', (b) => ({ disks: 'd0,d1', metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /disks/],
    ['disks empty', (b) => ({ disks: [], metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_OUT_OF_RANGE', /disks/],
    ['disk spec with an unknown key', (b, disks) => ({ disks: [...disks.slice(1), { path: disks[0].path, label: {} }], metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_UNKNOWN_OPTION', /disks\[5\]/],
    ['disk path not a string', (b, disks) => ({ disks: [...disks.slice(1), { path: 42 }], metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /disks\[5\]\.path/],
    ['disk spec null', (b, disks) => ({ disks: [...disks.slice(1), null], metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /disks\[5\]/],
    ['label value not a string', (b, disks) => ({ disks: disks.map((d) => ({ ...d, labels: { host: 1 } })), metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /labels\.host/],
    ['mountPoint not a boolean', (b, disks) => ({ disks: disks.map((d) => ({ ...d, mountPoint: 'yes' })), metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_INVALID_ARG_TYPE', /mountPoint/],
    ['k zero', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 0, m: 2 }), 'ERR_SV_OUT_OF_RANGE', /for k/],
    ['k fractional', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 1.5, m: 2 }), 'ERR_SV_OUT_OF_RANGE', /for k/],
    ['m zero', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 4, m: 0 }), 'ERR_SV_OUT_OF_RANGE', /for m/],
    ['k + m over 256', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 200, m: 57 }), 'ERR_SV_OUT_OF_RANGE', /for m/],
    ['blockBytes zero', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 4, m: 2, blockBytes: 0 }), 'ERR_SV_OUT_OF_RANGE', /blockBytes/],
    ['blockBytes a string', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 4, m: 2, blockBytes: '4096' }), 'ERR_SV_INVALID_ARG_TYPE', /blockBytes/],
    ['writeQuorum k', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 4, m: 2, writeQuorum: 4 }), 'ERR_SV_OUT_OF_RANGE', /writeQuorum/],
    ['failureDomain empty', (b, disks) => ({ disks, metaDir: join(b, 'meta'), k: 4, m: 2, failureDomain: '' }), 'ERR_SV_OUT_OF_RANGE', /failureDomain/],
    ['too few disks', (b, disks) => ({ disks: disks.slice(0, 5), metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_PLACEMENT'],
    ['the same disk twice', (b, disks) => ({ disks: [...disks.slice(0, 5), { path: `${disks[0].path}/.` }], metaDir: join(b, 'meta'), k: 4, m: 2 }), 'ERR_SV_OUT_OF_RANGE', /disks\[0\] and disks\[5\]/],
    ['metaDir inside a disk', (_b, disks) => ({ disks, metaDir: join(disks[2].path, 'meta'), k: 4, m: 2 }), 'ERR_SV_OUT_OF_RANGE', /overlap/],
  ];
  it.each(cases)('%s: a named error, nothing written', async (_what, make, code, message) => {
    const { base, disks } = diskDirs();
    const err = await Vault.init(make(base, disks) as never).then(() => undefined, (e: unknown) => e as Error & { code: string });
    expect(err).toBeDefined();
    expect(err!.code).toBe(code);
    if (message !== undefined) expect(err!.message).toMatch(message);
    for (const d of disks) expect(readdirSync(d.path)).toEqual([]);
    expect(existsSync(join(disks[2].path, 'meta'))).toBe(false);
    untouched(base, disks);
  });

  it('Vault.open validates its options and metaDir the same way', async () => {
    const { base, disks } = diskDirs();
    const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k: 4, m: 2, blockBytes: 4096 });
    await vault.close();
    await expect(Vault.open(undefined as never)).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE', message: expect.stringMatching(/metaDir is required/) });
    await expect(Vault.open(join(base, 'meta'), { readonly: true } as never)).rejects.toMatchObject({ code: 'ERR_SV_UNKNOWN_OPTION', message: expect.stringMatching(/readonly/) });
    await expect(Vault.open(join(base, 'meta'), { recover: 'full' } as never)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringMatching(/recover/) });
    await expect(Vault.open(join(base, 'meta'), { orphanGraceMs: -1 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringMatching(/orphanGraceMs/) });
    await expect(Vault.open(join(base, 'meta'), { readOnly: 1 } as never)).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE', message: expect.stringMatching(/readOnly/) });
    await expect(Vault.open(join(base, 'nothing-here'))).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND', message: expect.stringMatching(/no pool/) });
    (await Vault.open(join(base, 'meta'))).close();
  });
});

describe.skipIf(!hasNative)('Vault.init: all or nothing', () => {
  it('a disk that is a file, or not empty, or already in a pool: refused before anything is written, the error names it', async () => {
    let { base, disks } = diskDirs();
    rmSync(disks[4].path, { recursive: true });
    writeFileSync(disks[4].path, 'not a directory');
    await expect(Vault.init({ disks, metaDir: join(base, 'meta'), k: 4, m: 2 })).rejects.toMatchObject({ message: expect.stringMatching(/disks\[4\].*not a directory/) });
    untouched(base, disks.filter((_, i) => i !== 4));

    ({ base, disks } = diskDirs());
    writeFileSync(join(disks[3].path, 'precious.txt'), 'user data');
    await expect(Vault.init({ disks, metaDir: join(base, 'meta'), k: 4, m: 2 })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY', message: expect.stringMatching(/disks\[3\].*not empty.*precious\.txt/) });
    untouched(base, disks.filter((_, i) => i !== 3));
    expect(readdirSync(disks[3].path)).toEqual(['precious.txt']);

    // lost+found (a fresh ext4) is fine; a path that does not exist yet is created.
    ({ base, disks } = diskDirs());
    mkdirSync(join(disks[0].path, 'lost+found'));
    rmSync(disks[1].path, { recursive: true });
    const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k: 4, m: 2, blockBytes: 4096 });
    await vault.close();
    expect(existsSync(join(disks[1].path, 'disk.json'))).toBe(true);
    // Now each of them belongs to a pool: a second init over five of them and one fresh disk refuses, naming one.
    const fresh = join(base, 'fresh');
    mkdirSync(fresh);
    await expect(Vault.init({ disks: [{ path: fresh }, ...disks.slice(1)], metaDir: join(base, 'meta2'), k: 4, m: 2 })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY', message: expect.stringMatching(/disks\[1\] .*already belongs to a pool/) });
    expect(readdirSync(fresh)).toEqual([]);
    expect(existsSync(join(base, 'meta2'))).toBe(false);
    // A meta directory that already holds a pool is refused too, before any disk is touched.
    const others = Array.from({ length: 6 }, (_, i) => join(base, `o${i}`));
    for (const o of others) mkdirSync(o);
    await expect(Vault.init({ disks: others.map((path) => ({ path })), metaDir: join(base, 'meta'), k: 4, m: 2 })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY', message: expect.stringMatching(/already holds a pool/) });
    for (const o of others) expect(readdirSync(o)).toEqual([]);
  });

  const { ready: canMount, why: mountWhy } = tier('the tmpfs mount cases', [isRoot() ? null : 'root (to mount a tmpfs)', have('mount') ? null : 'mount']);
  const mountTmpfs = (dir: string, opts: string): boolean => {
    mkdirSync(dir);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'svinit', dir], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`skipped: mount -t tmpfs -o ${opts} failed: ${r.stderr}`);
      return false;
    }
    mounts.push(dir);
    return true;
  };
  const unmount = (dir: string) => {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]); // still busy: detach it anyway
    mounts.splice(mounts.indexOf(dir), 1);
  };
  it.skipIf(!canMount)(`a read-only disk or meta directory is refused up front, naming the errno${mountWhy}`, async () => {
    const { base, disks } = diskDirs();
    const ro = join(base, 'ro');
    if (!mountTmpfs(ro, 'ro,size=1m')) return;
    try {
      const err = await Vault.init({ disks: [...disks.slice(0, 5), { path: ro }], metaDir: join(base, 'meta'), k: 4, m: 2 }).then(() => undefined, (e: unknown) => e as Error & { code: string; path?: string });
      expect(err?.message).toMatch(/disks\[5\].*EROFS/);
      expect(err?.path).toBe(ro);
      untouched(base, disks);
      const err2 = await Vault.init({ disks, metaDir: join(ro, 'meta'), k: 4, m: 2 }).then(() => undefined, (e: unknown) => e as Error);
      expect(err2?.message).toMatch(/metaDir.*EROFS/);
      untouched(base, disks);
    } finally {
      unmount(ro);
    }
  });

  it.skipIf(!canMount)(`a disk or meta directory that runs out of space while being written: everything written is rolled back${mountWhy}`, async () => {
    const { base, disks } = diskDirs();
    const tiny = join(base, 'tiny'); // 20 inodes: the 256 fan-out directories do not fit
    const onePage = join(base, 'onepage'); // one page: pool.key fits, pool.json does not
    if (!mountTmpfs(tiny, 'size=1m,nr_inodes=20')) return;
    try {
      if (!mountTmpfs(onePage, 'size=4k')) return;
      const err = await Vault.init({ disks: [...disks.slice(0, 5), { path: tiny }], metaDir: join(base, 'meta'), k: 4, m: 2 }).then(() => undefined, (e: unknown) => e as Error & { code: string; path?: string });
      expect(err?.message).toMatch(/disks\[5\].*ENOSPC/);
      // The five good disks were formatted (in parallel) and are empty again; the tiny one too; no meta directory.
      untouched(base, disks.slice(0, 5));
      expect(readdirSync(tiny)).toEqual([]);
      const err2 = await Vault.init({ disks, metaDir: join(onePage, 'meta'), k: 4, m: 2 }).then(() => undefined, (e: unknown) => e as Error);
      expect(err2?.message).toMatch(/ENOSPC|no space/);
      untouched(base, disks); // every disk was formatted before the meta directory failed: all rolled back
      expect(readdirSync(onePage)).toEqual([]);
    } finally {
      unmount(tiny);
      if (mounts.includes(onePage)) unmount(onePage);
    }
  });
});

describe.skipIf(!hasNative)('disk paths are stored absolute', () => {
  it('a pool made with relative paths from one directory opens from another', async () => {
    const { base } = diskDirs(0);
    mkdirSync(base);
    const home = process.cwd();
    process.chdir(base);
    try {
      for (let i = 0; i < 6; i++) mkdirSync(`disk${i}`);
      const vault = await Vault.init({ disks: Array.from({ length: 6 }, (_, i) => ({ path: `disk${i}` })), metaDir: 'meta', k: 4, m: 2, blockBytes: 4096 });
      await vault.createBucket('bkt');
      await vault.put('bkt', 'k', Buffer.alloc(50_000, 7));
      await vault.close();
      const pool = JSON.parse(readFileSync(join(base, 'meta', 'pool.json'), 'utf8')) as { disks: Array<{ path: string }> };
      expect(pool.disks.map((d) => d.path)).toEqual(Array.from({ length: 6 }, (_, i) => join(base, `disk${i}`)));
      expect(pool.disks.every((d) => isAbsolute(d.path))).toBe(true);
    } finally {
      process.chdir(home);
    }
    process.chdir(tmpdir());
    try {
      const vault = await Vault.open(join(base, 'meta'));
      expect((await vault.status()).disks.every((d) => d.ok)).toBe(true);
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(Buffer.alloc(50_000, 7))).toBe(true);
      await vault.close();
    } finally {
      process.chdir(home);
    }
  });

  it('a pool made before (relative paths in pool.json) still opens from the directory it was made in', async () => {
    const { base } = diskDirs(0);
    mkdirSync(base);
    const home = process.cwd();
    process.chdir(base);
    try {
      for (let i = 0; i < 6; i++) mkdirSync(`disk${i}`);
      const vault = await Vault.init({ disks: Array.from({ length: 6 }, (_, i) => ({ path: `disk${i}` })), metaDir: 'meta', k: 4, m: 2, blockBytes: 4096 });
      await vault.createBucket('bkt');
      await vault.put('bkt', 'k', Buffer.alloc(50_000, 8));
      await vault.close();
      // Rewrite pool.json as an older release wrote it: paths as given at init (relative to its cwd).
      const file = join(base, 'meta', 'pool.json');
      const pool = JSON.parse(readFileSync(file, 'utf8')) as { disks: Array<{ path: string }> };
      for (const d of pool.disks) d.path = d.path.slice(base.length + 1);
      writeFileSync(file, JSON.stringify(pool));
      const again = await Vault.open('meta');
      expect((await again.status()).disks.every((d) => d.ok)).toBe(true);
      expect(Buffer.from(await again.getBuffer('bkt', 'k')).equals(Buffer.alloc(50_000, 8))).toBe(true);
      await again.close();
    } finally {
      process.chdir(home);
    }
  });
});

describe('bucket names follow S3 rules', () => {
  it.each([
    ['ab', /3 to 63/],
    ['a'.repeat(64), /3 to 63/],
    ['Bucket', /lowercase/],
    ['my_bucket', /lowercase/],
    ['-bucket', /start and end/],
    ['bucket.', /start and end/],
    ['my..bucket', /adjacent dots/],
    ['192.168.1.1', /IP address/],
    ['xn--bucket', /prefix "xn--"/],
    ['sthree-bucket', /prefix/],
    ['bucket-s3alias', /suffix "-s3alias"/],
    ['bucket--ol-s3', /suffix "--ol-s3"/],
  ])('%s is refused', (name, rule) => {
    expect(bucketNameProblem(name)).toMatch(rule);
  });
  it.each(['bkt', 'my-bucket', 'my.bucket.2024', 'a'.repeat(63), '123', '1.2.3'])('%s is fine', (name) => {
    expect(bucketNameProblem(name)).toBeUndefined();
  });

  it.skipIf(!hasNative)('at the edge: createBucket refuses with ERR_SV_INVALID_BUCKET_NAME naming the rule; every call taking a bucket too, except for buckets that already exist', async () => {
    const { base, disks } = diskDirs();
    const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k: 4, m: 2, blockBytes: 4096 });
    await expect(vault.createBucket('My_Bucket')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME', message: expect.stringMatching(/lowercase/) });
    await expect(vault.createBucket('10.0.0.1')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME', message: expect.stringMatching(/IP address/) });
    await expect(vault.put('Nope', 'k', Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME' });
    await expect(vault.getBuffer('Nope', 'k')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME' });
    await expect(vault.head('Nope', 'k')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME' });
    await expect(vault.delete('Nope', 'k')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME' });
    await expect(vault.deleteBucket('Nope')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_BUCKET_NAME' });
    await expect(vault.put('nope', 'k', Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
    await vault.createBucket('bkt');
    await expect(vault.createBucket('bkt')).rejects.toMatchObject({ code: 'ERR_SV_BUCKET_EXISTS' });
    await vault.put('bkt', 'k', Buffer.from('x'));
    await expect(vault.deleteBucket('bkt')).rejects.toMatchObject({ code: 'ERR_SV_BUCKET_NOT_EMPTY' });
    expect((await vault.listBuckets())).toEqual(['bkt']);
    await vault.close();
    // A bucket made before the rules (as an older release could: 'b') stays usable.
    const cat = await LmdbCatalog.open(join(base, 'meta', 'catalog'));
    await cat.createBucket('b', 'local', 1);
    await cat.close();
    const again = await Vault.open(join(base, 'meta'));
    await again.put('b', 'old', Buffer.from('still works'));
    expect(Buffer.from(await again.getBuffer('b', 'old')).toString()).toBe('still works');
    await again.delete('b', 'old');
    await again.deleteBucket('b');
    await again.close();
  });
});
