// Power cut on a loop-mounted xfs disk (`xfs_io -x -c shutdown`: everything not yet on the device is lost,
// fault-harness.md 2a). A sealed shard must survive; a shard cut before sealing must not appear under its
// final name; and with the directory fsync disabled (test-only switch) the sealed name must be lost, which
// proves this test detects a missing directory fsync; an acknowledged catalog commit must survive too.
// Needs root, losetup and xfsprogs; skips otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loopDiskMissing } from './support/loopdisk.js';
import { tier } from './support/tier.js';


const dist = join(__dirname, '..', 'dist');
const { ready, why } = tier('the shard I/O power-cut tier', loopDiskMissing(['losetup', 'mkfs.xfs', 'xfs_io', 'mount', 'umount', 'findmnt'], 'lib/store/local/shardio.js'));

const work = mkdtempSync(join(tmpdir(), 'sv-power-'));
const img = join(work, 'disk.img');
const mnt = join(work, 'mnt');
let dev = '';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
function mounted(): boolean {
  return spawnSync('findmnt', ['-n', '-M', mnt]).status === 0;
}
function mountDisk(): void {
  sh('mount', [dev, mnt]);
}
function powerCycle(): void {
  sh('xfs_io', ['-x', '-c', 'shutdown', mnt]); // no log flush: unsynced state is gone
  sh('umount', [mnt]);
  mountDisk();
}
function child(dir: string, name: string, mode: 'seal' | 'noseal', env: Record<string, string> = {}): void {
  const res = spawnSync(process.execPath, [join(__dirname, 'fault', 'power-child.mjs'), dist, dir, name, mode], {
    encoding: 'utf8',
    env: { ...process.env, UV_USE_IO_URING: '0', ...env },
  });
  if (res.status !== 0 || !res.stdout.includes('done')) throw new Error(`child failed: ${res.stderr}`);
}

beforeAll(() => {
  if (!ready) return;
  sh('truncate', ['-s', '300M', img]); // mkfs.xfs refuses less than 300 MiB
  sh('mkfs.xfs', ['-q', '-f', img]);
  dev = sh('losetup', ['-f', '--show', img]);
  mkdirSync(mnt);
  spawnSync('chattr', ['+i', mnt]); // if the mount vanishes, writes fail instead of landing on /
  mountDisk();
});

afterAll(() => {
  if (ready) {
    if (mounted()) spawnSync('umount', [mnt]);
    if (mounted()) spawnSync('umount', ['-l', mnt]);
    if (dev !== '') spawnSync('losetup', ['-d', dev]);
    spawnSync('chattr', ['-i', mnt]);
  }
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!ready)(`power cut on loop-mounted xfs${why}`, () => {
  it('a sealed shard survives the cut, byte for byte', () => {
    const dir = join(mnt, 'a');
    mkdirSync(dir);
    sh('sync', ['-f', mnt]); // the directory itself exists before the scenario
    child(dir, 'sealed.shard', 'seal');
    powerCycle();
    const file = join(dir, 'sealed.shard');
    expect(existsSync(file)).toBe(true);
    const data = readFileSync(file);
    expect(data.length).toBe(256 * 1024);
    expect(data.every((b) => b === 0x5a)).toBe(true);
  });

  it('a shard cut before sealing never appears under its final name', () => {
    const dir = join(mnt, 'b');
    mkdirSync(dir);
    sh('sync', ['-f', mnt]);
    child(dir, 'unsealed.shard', 'noseal');
    powerCycle();
    expect(existsSync(join(dir, 'unsealed.shard'))).toBe(false);
    // Whatever temporary file survived is garbage for open-time cleanup, never a shard.
    for (const f of readdirSync(dir)) expect(f.startsWith('.tmp-')).toBe(true);
  });

  it('a catalog commit that resolved survives the cut (LMDB opened with overlappingSync: false)', async () => {
    const dir = join(mnt, 'cat');
    mkdirSync(dir);
    sh('sync', ['-f', mnt]);
    const res = spawnSync(process.execPath, [join(__dirname, 'fault', 'catalog-child.mjs'), dist, dir], { encoding: 'utf8' });
    expect(res.stdout, res.stderr).toContain('acked');
    powerCycle();
    const { LmdbCatalog } = await import('../lib/catalog/lmdb.js');
    const cat = await LmdbCatalog.open(dir);
    try {
      expect((await cat.getHead('b', 'k'))?.versionId).toBe('v1');
      expect((await cat.verifyAudit())).toBe(-1);
    } finally {
      await cat.close();
    }
  });

  it('every object a Vault acknowledged survives the cut (shards, manifests, catalog, pool files)', async () => {
    const base = join(mnt, 'vault');
    mkdirSync(base);
    sh('sync', ['-f', mnt]);
    const res = spawnSync(process.execPath, [join(__dirname, 'fault', 'vault-power-child.mjs'), dist, base], {
      encoding: 'utf8',
      env: { ...process.env, UV_USE_IO_URING: '0' },
    });
    expect(res.stdout, res.stderr).toContain('acked 2');
    powerCycle();
    const { Vault } = await import('../lib/vault.js');
    const vault = await Vault.open(join(base, 'meta'));
    try {
      expect(Buffer.from(await vault.getBuffer('bkt', 'one')).equals(Buffer.alloc(100_000, 0x41))).toBe(true);
      expect(Buffer.from(await vault.getBuffer('bkt', 'two')).equals(Buffer.alloc(7, 0x42))).toBe(true);
    } finally {
      await vault.close();
    }
  });

  it('detects a missing directory fsync: with it switched off, the sealed name is lost in the cut', () => {
    const dir = join(mnt, 'c');
    mkdirSync(dir);
    sh('sync', ['-f', mnt]);
    child(dir, 'nodirsync.shard', 'seal', { SHARDVAULT_TEST_SKIP_DIR_FSYNC: '1' });
    powerCycle();
    expect(existsSync(join(dir, 'nodirsync.shard'))).toBe(false);
  });
});
