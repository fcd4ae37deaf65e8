/**
 * Pool setup at the engine's edge (moved out of vault.ts for issue 11): the pool configuration, disk specs and
 * their validation, and where a member is mounted. Pure: the checks of a directory disk before it is formatted
 * are in lib/store/local/preflight.ts, the meta directory's files in lib/meta-dir.ts.
 */
import { isAbsolute, relative, resolve } from 'node:path';

import { rangeError, typeError } from '../errors.js';
import type { MemberConfig } from '../store/shard-store.js';
import { boolean, nonEmptyString, optionsObject, stringRecord } from '../validate.js';

export interface PoolConfig {
  poolId: string;
  /** The pool format this pool writes (lib/format/versions.ts): 3 stays open to release 0.1.0, 4 after finalize. */
  formatVersion: number;
  /** The oldest release that may open the pool; absent in pools made by 0.1.0 (which is then that release). */
  minRelease?: string;
  k: number;
  m: number;
  blockBytes: number;
  failureDomain: string;
  writeQuorum: number;
  disks: MemberConfig[];
}

export interface VaultDiskSpec {
  path: string;
  labels?: Record<string, string>;
  /** Refuse the disk unless `path` is the root of its own filesystem (a mount point): catches a disk that is
   *  not mounted at format time, when its directory would silently be part of the parent filesystem. */
  mountPoint?: boolean;
}

export const DISK_SPEC_KEYS = ['path', 'labels', 'mountPoint'] as const;

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

/**
 * Where a disk is mounted is deployment, not pool state: pool.json's path for a disk id wins over the
 * catalog's, so disks can be mounted elsewhere (the identity check still has to pass).
 */
export function mergePaths(config: PoolConfig, boot: PoolConfig): PoolConfig {
  const paths = new Map(boot.disks.map((d) => [d.id, d.path]));
  return { ...config, disks: config.disks.map((d) => ({ ...d, path: paths.get(d.id) ?? d.path })) };
}
