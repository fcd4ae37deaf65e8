/**
 * A directory disk before it becomes a pool member (lib/store/local/): init's preflight of each disk (nothing is
 * written before every check passed), the check of a disk being added, and undoing a disk's formatting.
 */
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { ErrorCode, ShardVaultError, diskError, type ErrorCodeValue } from '../../errors.js';
import { LOG_DIR } from './copylog.js';
import { statDisk } from './shardio.js';

export interface DiskSpecCheck {
  path: string;
  mountPoint?: boolean;
}

/** Refuses a disk that already belongs to a pool, or that is not a mount point when it says it must be. */
export function checkDiskSpec(spec: DiskSpecCheck, path: string): void {
  if (existsSync(join(path, 'disk.json'))) throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${path} already belongs to a pool`);
  if (spec.mountPoint === true && statDisk(path).dev === statDisk(join(path, '..')).dev) {
    throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${path} is not a mount point (same device as its parent): is the disk mounted?`);
  }
}

/**
 * The check of a disk being added to pool `poolId`: a disk this pool formatted in an add that crashed before
 * its commit (its identity names this pool and an id `isMember` does not know) is formatted again; any other
 * identity, or a directory that is not the mount point it must be, is refused.
 */
export async function prepareDisk(spec: DiskSpecCheck, poolId: string, isMember: (diskId: string) => boolean): Promise<void> {
  const identity = await readFile(join(spec.path, 'disk.json'), 'utf8').then((t) => JSON.parse(t) as { poolId?: string; diskId?: string }, () => undefined);
  if (identity?.poolId === poolId && (typeof identity.diskId !== 'string' || !isMember(identity.diskId))) await unlink(join(spec.path, 'disk.json'));
  checkDiskSpec(spec, spec.path);
}

/**
 * Checks one disk before anything is written: a directory (or a path that can be created), empty apart
 * from `lost+found` and not part of a pool, a mount point when `mountPoint` says so. Returns whether it exists.
 */
export async function preflightDisk(name: string, spec: DiskSpecCheck, path: string): Promise<boolean> {
  const fail = (why: string, code: ErrorCodeValue = ErrorCode.DISK_IDENTITY) => new ShardVaultError(code, `${name} (${path}): ${why}`, { path });
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw diskError(name, path, err, 'checking');
    if (spec.mountPoint === true) throw fail('does not exist, and must be a mount point (is the disk mounted?)');
    await writableAncestor(name, path);
    return false; // created at format time
  }
  if (!st.isDirectory()) throw fail('is not a directory', ErrorCode.OUT_OF_RANGE);
  const entries = await readdir(path).catch((err: unknown) => {
    throw diskError(name, path, err, 'listing');
  });
  await access(path, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) => {
    throw diskError(name, path, err, 'checking it is writable');
  });
  if (entries.includes('disk.json')) throw fail('already belongs to a pool (disk.json)');
  const other = entries.filter((e) => e !== 'lost+found');
  if (other.length > 0) throw fail(`is not empty (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', ...' : ''}): a pool disk must start empty`);
  if (spec.mountPoint === true && statDisk(path).dev === statDisk(join(path, '..')).dev) {
    throw fail('is not a mount point (same device as its parent): is the disk mounted?');
  }
  return true;
}

/** For a path init will create: its nearest existing ancestor must be a directory this process can write. */
export async function writableAncestor(name: string, path: string): Promise<void> {
  let dir = path;
  for (;;) {
    const parent = join(dir, '..');
    if (parent === dir) return;
    dir = parent;
    const st = await stat(dir).catch(() => null);
    if (st === null) continue;
    if (!st.isDirectory()) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${name} (${path}): ${dir} is not a directory`, { path });
    await access(dir, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) => {
      throw diskError(name, path, err, `checking ${dir} is writable`);
    });
    return;
  }
}

/** Undoes formatDisk on a directory that existed (and was empty) before: what formatting made goes. */
export async function unformatDisk(path: string): Promise<void> {
  for (const f of await readdir(path).catch(() => [] as string[])) {
    if (f === 'disk.json' || f.startsWith('disk.json.tmp-') || f === 'objects' || f === LOG_DIR) await rm(join(path, f), { recursive: true, force: true });
  }
}
