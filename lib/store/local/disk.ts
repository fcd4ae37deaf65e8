/**
 * Pool disks: formatting (identity file, fan-out directories and the copy log directory, all durable), identity checks at open, and the
 * small durable-file helpers the vault uses for its own metadata. A disk whose identity file, pool id or
 * st_dev does not match is not used: an unmounted mount point is silently the root filesystem otherwise
 * (research/fault-harness.md 1c).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open as fsOpen, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { ErrorCode, ShardVaultError } from '../../errors.js';
import { LOG_DIR } from './copylog.js';
import { FORMAT_VERSION } from '../../format/shard-header.js';
import { fanoutDirs } from './layout.js';
import { statDisk } from './shardio.js';
import type { MemberConfig } from '../shard-store.js';

/** A directory disk as the pool configuration describes it: a pool member (lib/store/shard-store.ts). */
export type DiskConfig = MemberConfig;

export async function fsyncPath(path: string): Promise<void> {
  const fh = await fsOpen(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p whose new directory entries are durable: each directory created gets its parent fsynced (a
 * sealed file inside a directory whose own entry was never synced can vanish in a power cut). Returns the
 * first directory it created (undefined when `path` existed), so a caller can undo exactly that.
 */
export async function mkdirDurable(path: string): Promise<string | undefined> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return undefined;
  let dir = path;
  const parents: string[] = [];
  for (;;) {
    const parent = join(dir, '..');
    parents.push(parent);
    if (dir === first || parent === dir) break;
    dir = parent;
  }
  for (const p of parents) await fsyncPath(p);
  return first;
}

/** Write to a temporary name, fsync, rename over `path`, fsync the directory. */
export async function writeFileDurable(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await fsyncPath(tmp);
  await rename(tmp, path);
  await fsyncPath(join(path, '..'));
}

/** Formats one disk: refuses one that already has an identity; makes the fan-out directories durable. */
export async function formatDisk(disk: DiskConfig, poolId: string): Promise<void> {
  if (existsSync(join(disk.path, 'disk.json'))) {
    throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${disk.path} already belongs to a pool`);
  }
  const objects = join(disk.path, 'objects');
  await mkdirDurable(objects);
  // Not recursive: Node's recursive mkdir reports ENOSPC as ENOENT; the parent exists, EEXIST is a re-format.
  await Promise.all(fanoutDirs().map((f) => mkdir(join(objects, f)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  })));
  await fsyncPath(objects);
  await mkdirDurable(join(disk.path, LOG_DIR));
  disk.dev = statDisk(disk.path).dev;
  await writeFileDurable(
    join(disk.path, 'disk.json'),
    JSON.stringify({ diskId: disk.id, poolId, formatVersion: FORMAT_VERSION, dev: disk.dev, labels: disk.labels }),
  );
}

/**
 * What is wrong with a pool disk, as a condition an operator can act on:
 * - missing: the directory is gone (unmounted mount point removed, deleted);
 * - empty: the directory exists but holds no identity file (emptied, or a new blank disk mounted there);
 * - foreign: the identity file names another pool or another disk (disks swapped, or a disk of another pool);
 * - wrong-device: the identity matches but the directory is on another device than at format time (the disk
 *   is not mounted and an old copy of its files is on the parent filesystem);
 * - unreadable: the identity file cannot be read or parsed (EIO, EACCES, torn), or has another format version.
 */
export type DiskCondition = 'missing' | 'empty' | 'foreign' | 'wrong-device' | 'unreadable';

export async function diskCondition(disk: DiskConfig, poolId: string): Promise<{ condition: DiskCondition; problem: string; errnoName?: string } | undefined> {
  let text: string;
  try {
    text = await readFile(join(disk.path, 'disk.json'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const dir = await stat(disk.path).then((st) => (st.isDirectory() ? 'dir' : 'other'), (e: NodeJS.ErrnoException) => e.code ?? 'error');
      if (dir === 'ENOENT' || dir === 'ENOTDIR') return { condition: 'missing', problem: `directory ${disk.path} does not exist`, errnoName: dir };
      if (dir === 'dir') return { condition: 'empty', problem: `no identity file in ${disk.path} (emptied, or a new disk)` };
      if (dir === 'other') return { condition: 'unreadable', problem: `${disk.path} is not a directory` };
      return { condition: 'unreadable', problem: `${disk.path}: ${dir}`, errnoName: dir };
    }
    return { condition: 'unreadable', problem: `unreadable identity: ${(err as Error).message}`, ...(code !== undefined ? { errnoName: code } : {}) };
  }
  let identity: { diskId?: unknown; poolId?: unknown; formatVersion?: unknown };
  try {
    identity = JSON.parse(text) as typeof identity;
  } catch (err) {
    return { condition: 'unreadable', problem: `unreadable identity: ${(err as Error).message}` };
  }
  if (identity.poolId !== poolId) return { condition: 'foreign', problem: `identity file names pool ${String(identity.poolId)}, not this pool` };
  if (identity.diskId !== disk.id) return { condition: 'foreign', problem: `identity file names disk ${String(identity.diskId)} of this pool, not ${disk.id} (disks swapped?)` };
  if (identity.formatVersion !== FORMAT_VERSION) return { condition: 'unreadable', problem: `format version ${String(identity.formatVersion)}, expected ${FORMAT_VERSION}` };
  try {
    if (statDisk(disk.path).dev !== disk.dev) return { condition: 'wrong-device', problem: 'different device (not mounted?)' };
  } catch (err) {
    return { condition: 'unreadable', problem: `stat: ${(err as Error).message}` };
  }
  return undefined;
}

/** Why a disk cannot be used right now, or undefined when its identity and device match. */
export async function diskProblem(disk: DiskConfig, poolId: string): Promise<string | undefined> {
  return (await diskCondition(disk, poolId))?.problem;
}

const openHere = new Set<string>();

/**
 * One open Vault per pool: open() removes every temporary file and gc removes young-enough orphans, which is
 * only safe when no other writer exists. The lock is a file holding the owner's pid and start time, created
 * with O_EXCL and made durable; close removes it. A lock whose owner is gone (it crashed, or the machine lost
 * power) is taken over and reported as `uncleanShutdown`, which is when open runs its recovery walk.
 */
export async function lockPool(metaDir: string): Promise<{ release: () => Promise<void>; uncleanShutdown: boolean }> {
  const path = join(metaDir, 'lock');
  const key = resolve(path);
  if (openHere.has(key)) throw new ShardVaultError(ErrorCode.POOL_BUSY, `pool ${metaDir} is already open in this process`);
  let uncleanShutdown = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsOpen(path, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid} ${startTime(process.pid) ?? ''}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncPath(metaDir); // a power cut must not lose the mark that the pool is open
      openHere.add(key);
      const release = async () => {
        openHere.delete(key);
        await unlink(path).catch(() => undefined);
      };
      return { release, uncleanShutdown };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText, started] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
      const owner = Number(pidText);
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner, started)) {
        throw new ShardVaultError(ErrorCode.POOL_BUSY, `pool ${metaDir} is open by process ${owner}`);
      }
      await unlink(path).catch(() => undefined); // stale: its owner is gone
      uncleanShutdown = true;
    }
  }
  throw new ShardVaultError(ErrorCode.POOL_BUSY, `could not take the lock of pool ${metaDir}`);
}

/** Whether `pid` is alive and, when the lock recorded it, is the same process (not a reused pid after a reboot). */
function alive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return started === undefined || started === '' || now === undefined || now === started;
}

/** The process start time in clock ticks since boot (Linux /proc/PID/stat field 22), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
