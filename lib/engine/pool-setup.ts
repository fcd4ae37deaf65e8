/**
 * Pool setup at the engine's edge (moved out of vault.ts for issue 11): the pool configuration, disk specs
 * and their validation, init's preflight of the meta directory and of each disk (nothing written before every
 * check passed), undoing a disk's formatting, pool.json, and disk errors that keep errno, syscall and path.
 */
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { getSystemErrorName } from 'node:util';

import { LOG_DIR } from '../store/local/copylog.js';
import type { DiskConfig } from '../store/local/disk.js';
import { ErrorCode, ShardVaultError, rangeError, typeError, type ErrorCodeValue } from '../errors.js';
import { statDisk } from '../store/local/shardio.js';
import { boolean, nonEmptyString, optionsObject, stringRecord } from '../validate.js';

export interface PoolConfig {
  poolId: string;
  formatVersion: number;
  k: number;
  m: number;
  blockBytes: number;
  failureDomain: string;
  writeQuorum: number;
  disks: DiskConfig[];
}

export interface VaultDiskSpec {
  path: string;
  labels?: Record<string, string>;
  /** Refuse the disk unless `path` is the root of its own filesystem (a mount point): catches a disk that is
   *  not mounted at format time, when its directory would silently be part of the parent filesystem. */
  mountPoint?: boolean;
}

export const DISK_SPEC_KEYS = ['path', 'labels', 'mountPoint'] as const;

/** Refuses a disk that already belongs to a pool, or that is not a mount point when it says it must be. */
export function checkDiskSpec(spec: VaultDiskSpec, path: string): void {
  if (existsSync(join(path, 'disk.json'))) throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${path} already belongs to a pool`);
  if (spec.mountPoint === true && statDisk(path).dev === statDisk(join(path, '..')).dev) {
    throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${path} is not a mount point (same device as its parent): is the disk mounted?`);
  }
}

export function required<T>(name: string, value: T | undefined): T {
  if (value === undefined) {
    const err = typeError(name, 'a value', value);
    err.message = `${name} is required`;
    throw err;
  }
  return value;
}

/** The disk specs of init: a non-empty array of { path, labels?, mountPoint? }, paths resolved to absolute. */
export function diskSpecs(name: string, value: unknown): VaultDiskSpec[] {
  if (!Array.isArray(value)) throw typeError(name, 'an array of { path, labels?, mountPoint? }', value);
  if (value.length === 0) throw rangeError(name, 'at least one disk', value);
  return value.map((spec: unknown, i) => diskSpec(`${name}[${i}]`, spec));
}

export function diskSpec(name: string, spec: unknown): VaultDiskSpec {
  if (spec === undefined || spec === null) throw typeError(name, 'a { path, labels?, mountPoint? } disk', spec);
  const d = optionsObject<VaultDiskSpec>(name, spec, DISK_SPEC_KEYS);
  const path = resolve(nonEmptyString(`${name}.path`, d.path));
  const labels = d.labels === undefined ? undefined : stringRecord(`${name}.labels`, d.labels);
  const mountPoint = d.mountPoint === undefined ? undefined : boolean(`${name}.mountPoint`, d.mountPoint);
  return { path, ...(labels !== undefined ? { labels } : {}), ...(mountPoint !== undefined ? { mountPoint } : {}) };
}

/** Whether `inner` is `outer` or inside it (absolute paths). */
export function within(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Refuses a meta directory that already holds (part of) a pool or is not a directory. Writes nothing. */
export async function preflightMetaDir(metaDir: string): Promise<void> {
  const st = await stat(metaDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw diskError('metaDir', metaDir, err, 'checking');
  });
  if (st === null) return writableAncestor('metaDir', metaDir);
  if (!st.isDirectory()) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `metaDir ${metaDir} is not a directory`, { path: metaDir });
  await access(metaDir, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) => {
    throw diskError('metaDir', metaDir, err, 'checking it is writable');
  });
  for (const f of ['pool.json', 'pool.key', 'catalog']) {
    if (existsSync(join(metaDir, f))) throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `metaDir ${metaDir} already holds a pool (${f})`, { path: metaDir });
  }
}

/**
 * Checks one disk before anything is written: a directory (or a path that can be created), empty apart
 * from `lost+found` and not part of a pool, a mount point when `mountPoint` says so. Returns whether it exists.
 */
export async function preflightDisk(name: string, spec: VaultDiskSpec, path: string): Promise<boolean> {
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

/** An error of one disk, naming it and keeping errno, syscall and path. */
export function diskError(name: string, path: string, err: unknown, during: string): ShardVaultError {
  const e = err as NodeJS.ErrnoException & { code?: string };
  if (err instanceof ShardVaultError && err.message.startsWith(name)) return err;
  const errnoName = errnoNameOf(e);
  const code = typeof e.code === 'string' && e.code.startsWith('ERR_SV_') ? (e.code as ErrorCodeValue) : ErrorCode.IO;
  return new ShardVaultError(code, `${name} (${path}): ${errnoName !== undefined ? `${errnoName} while ${during}: ` : `${during}: `}${e.message ?? String(err)}`, {
    cause: err, path, ...(typeof e.errno === 'number' ? { errno: e.errno } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}),
  });
}

/** The errno name of a Node or addon error (ENOSPC, EIO, ...), or undefined. */
export function errnoNameOf(e: { code?: unknown; errno?: unknown }): string | undefined {
  if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  if (typeof e.errno === 'number' && e.errno !== 0) {
    try {
      return getSystemErrorName(-Math.abs(e.errno));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export async function readPoolJson(metaDir: string): Promise<PoolConfig> {
  let text: string;
  try {
    text = await readFile(join(metaDir, 'pool.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ShardVaultError(ErrorCode.NOT_FOUND, `no pool in ${metaDir} (no pool.json there)`, { path: metaDir, cause: err });
    throw diskError('metaDir', metaDir, err, 'reading pool.json');
  }
  return JSON.parse(text) as PoolConfig;
}

/**
 * Where a disk is mounted is deployment, not pool state: pool.json's path for a disk id wins over the
 * catalog's, so disks can be mounted elsewhere (the identity check still has to pass).
 */
export function mergePaths(config: PoolConfig, boot: PoolConfig): PoolConfig {
  const paths = new Map(boot.disks.map((d) => [d.id, d.path]));
  return { ...config, disks: config.disks.map((d) => ({ ...d, path: paths.get(d.id) ?? d.path })) };
}
