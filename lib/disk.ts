/**
 * Pool disks: formatting (identity file, fan-out directories and the copy log directory, all durable), identity checks at open, and the
 * small durable-file helpers the vault uses for its own metadata. A disk whose identity file, pool id or
 * st_dev does not match is not used: an unmounted mount point is silently the root filesystem otherwise
 * (research/fault-harness.md 1c).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open as fsOpen, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { ErrorCode, ShardVaultError } from './errors.js';
import { LOG_DIR } from './copylog.js';
import { FORMAT_VERSION, fanoutDirs } from './layout.js';
import { statDisk } from './shardio.js';

export interface DiskConfig {
  id: string;
  path: string;
  labels: Record<string, string>;
  dev: number;
  /** active: takes new shards; draining: read only, its shards are being moved; removed: gone from the pool. */
  state: 'active' | 'draining' | 'removed';
}

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
 * sealed file inside a directory whose own entry was never synced can vanish in a power cut).
 */
export async function mkdirDurable(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  let dir = path;
  const parents: string[] = [];
  for (;;) {
    const parent = join(dir, '..');
    parents.push(parent);
    if (dir === first || parent === dir) break;
    dir = parent;
  }
  for (const p of parents) await fsyncPath(p);
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
  await Promise.all(fanoutDirs().map((f) => mkdir(join(objects, f), { recursive: true })));
  await fsyncPath(objects);
  await mkdirDurable(join(disk.path, LOG_DIR));
  disk.dev = statDisk(disk.path).dev;
  await writeFileDurable(
    join(disk.path, 'disk.json'),
    JSON.stringify({ diskId: disk.id, poolId, formatVersion: FORMAT_VERSION, dev: disk.dev, labels: disk.labels }),
  );
}

/** Why a disk cannot be used right now, or undefined when its identity and device match. */
export async function diskProblem(disk: DiskConfig, poolId: string): Promise<string | undefined> {
  try {
    const identity = JSON.parse(await readFile(join(disk.path, 'disk.json'), 'utf8')) as { diskId?: unknown; poolId?: unknown; formatVersion?: unknown };
    if (identity.diskId !== disk.id || identity.poolId !== poolId) return `identity file names another disk or pool`;
    if (identity.formatVersion !== FORMAT_VERSION) return `format version ${String(identity.formatVersion)}, expected ${FORMAT_VERSION}`;
    if (statDisk(disk.path).dev !== disk.dev) return 'different device (not mounted?)';
    return undefined;
  } catch (err) {
    return `unreadable identity: ${(err as Error).message}`;
  }
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
