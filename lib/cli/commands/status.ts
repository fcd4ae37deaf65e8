/**
 * `status`: one line per disk (condition, failure domain, used/free in the units of the progress bars, shards,
 * queued repair, problem), a summary line, then what to do, each with the command that does it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command } from 'commander';

import { diskCondition as libraryDiskCondition, type DiskConfig } from '../../store/local/disk.js';
import { ErrorCode } from '../../errors.js';
import type { Vault } from '../../vault.js';
import { Ctx, dataOption, endpointOption, metaOption, regionOption, withVault } from '../context.js';
import { CliError } from '../errors.js';
import { diskAction, diskCondition, poolActions, type Action, type DiskCondition } from '../health.js';
import { formatBytes } from '../units.js';

type LibraryStatus = Awaited<ReturnType<Vault['status']>>;
type LibraryDisk = LibraryStatus['disks'][number];

/** A status() disk with what the CLI adds (JSON field names, see docs/cli.md). */
export type DiskView = Omit<LibraryDisk, 'shards' | 'repairQueued' | 'errors'> & {
  /** null when the pool did not open (unknown). */
  shards: number | null;
  repairQueued: number | null;
  condition: DiskCondition;
  /** The disk's failure domain: its label at the pool's level (its id when the level is `disk`); null: unlabelled. */
  domain: string | null;
  usedBytes?: number;
  /** What to do about this disk (absent when nothing). */
  hint?: string;
  /** I/O errors counted on this disk since the pool was opened (absent when the pool did not open). */
  errors?: { read: number; write: number };
};

export interface StatusView {
  /** false: the pool did not open (too few usable disks); disks are then checked from pool.json alone, and
   *  objects, objectsAtRisk and repairQueued are null (unknown until it opens). */
  poolOpen: boolean;
  k?: number;
  m?: number;
  /** The catalog's health (absent when the pool did not open). */
  catalog?: { ok: boolean; problem?: string; errno?: number };
  failureDomain: string;
  disks: DiskView[];
  objects: number | null;
  objectsAtRisk: number | null;
  repairQueued: number | null;
  /** The pool's security floor (absent when the pool did not open, or none is recorded yet). */
  floor?: LibraryStatus['floor'];
  actions: Action[];
}

/** The library's status() with conditions, domains and actions added (shared by status, scrub and repair). */
export async function statusView(ctx: Ctx, v: Vault): Promise<StatusView> {
  return statusViewOf(ctx, await v.status());
}

/** The status view of a status() result: read here, or answered by the daemon's admin API (GET status). */
export function statusViewOf(ctx: Ctx, s: LibraryStatus): StatusView {
  const failureDomain = s.pool.failureDomain;
  const suggest = (a: string) => ctx.suggest(a);
  const disks = s.disks.map((d): DiskView => {
    const condition = diskCondition(d);
    const action = diskAction(d, condition, suggest);
    return {
      ...d,
      condition,
      domain: failureDomain === 'disk' ? d.id : d.labels[failureDomain] ?? null,
      ...(d.totalBytes !== undefined && d.freeBytes !== undefined ? { usedBytes: d.totalBytes - d.freeBytes } : {}),
      ...(action !== undefined ? { hint: action.message } : {}),
    };
  });
  // Status opens read-only, which works with any number of usable disks; the pool itself (reads and writes)
  // needs k. Say so first, and `status` then exits 5 like a failed read-write open would.
  const usable = disks.filter((d) => d.condition === 'online' || d.condition === 'draining').length;
  const actions = poolActions(s.disks, s.repairQueued, suggest);
  if (!s.catalog.ok) {
    actions.unshift({ message: `the catalog failed: ${s.catalog.problem ?? 'unknown error'}; check the meta directory's disk, then reopen the pool (any command does)` });
  }
  if (s.floor?.overridden === true) {
    const p = s.floor.previous;
    actions.push({ message: `the security floor is overridden since ${new Date(s.floor.sinceMs ?? 0).toISOString()} (break-glass: ${s.floor.reason ?? ''}); raise it back when the reason is gone${p !== undefined ? `: \`${suggest(`config floor raise --k ${p.k} --m ${p.m} --write-quorum k+${p.writeQuorumAboveK}`)}\`` : ''} (docs/runbooks/security-floor-override.md)` });
  }
  if (usable < s.pool.k) {
    actions.unshift({ message: `the pool opens with ${s.pool.k} usable disks (${usable} now): bring disks back first; until then nothing can be read or written` });
  }
  return {
    poolOpen: usable >= s.pool.k,
    k: s.pool.k,
    m: s.pool.m,
    catalog: s.catalog,
    failureDomain,
    disks,
    objects: s.objects,
    objectsAtRisk: s.objectsAtRisk,
    repairQueued: s.repairQueued,
    ...(s.floor !== undefined ? { floor: s.floor } : {}),
    actions,
  };
}

/**
 * When the pool does not open because too few disks are usable, status still shows each disk, from pool.json
 * (kept in step with the catalog by every disk change) and the same identity check the open does. The only
 * fix then is to bring disks back: `disk replace` needs an open pool.
 */
async function offlineView(ctx: Ctx): Promise<StatusView | undefined> {
  let boot: { poolId: string; k: number; m: number; failureDomain: string; disks: DiskConfig[] };
  try {
    boot = JSON.parse(await readFile(join(ctx.meta, 'pool.json'), 'utf8')) as typeof boot;
    if (!Array.isArray(boot.disks)) return undefined;
  } catch {
    return undefined;
  }
  const disks = await Promise.all(
    boot.disks.map(async (d): Promise<DiskView> => {
      const found = d.state === 'removed' ? { condition: 'removed' as const, problem: 'removed from the pool' } : await libraryDiskCondition(d, boot.poolId);
      const problem = found?.problem;
      const base = { id: d.id, path: d.path, state: d.state, labels: d.labels, ok: problem === undefined, ...(problem !== undefined ? { problem } : {}), repairQueued: 0, shards: 0, sameDeviceAs: [] };
      const condition = found?.condition ?? (d.state === 'draining' ? 'draining' : 'online');
      const where = condition === 'missing' || condition === 'empty' || condition === 'wrong-device' ? `mount it back at ${d.path}` : `fix ${d.path}`;
      return {
        ...base, shards: null, repairQueued: null, condition, domain: boot.failureDomain === 'disk' ? d.id : d.labels[boot.failureDomain] ?? null,
        ...(condition !== 'online' && condition !== 'draining' && condition !== 'removed' ? { hint: `disk ${d.id} ${condition}: ${where}` } : {}),
      };
    }),
  );
  const usable = disks.filter((d) => d.condition === 'online' || d.condition === 'draining').length;
  const actions: Action[] = disks.flatMap((d) => (d.hint !== undefined ? [{ disk: d.id, message: d.hint }] : []));
  actions.push({ message: `the pool opens with ${boot.k} usable disks (${usable} now); then run \`${ctx.suggest('status')}\``, command: ctx.suggest('status') });
  return { poolOpen: false, k: boot.k, m: boot.m, failureDomain: boot.failureDomain, disks, objects: null, objectsAtRisk: null, repairQueued: null, actions };
}

function problemText(d: DiskView): string {
  if (d.condition === 'missing') return `${d.path} not found`;
  if (d.condition === 'empty') return `no disk.json in ${d.path}`;
  return d.problem ?? '';
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** The human lines of a status view. */
export function statusLines(ctx: Ctx, s: StatusView): string[] {
  const shown = s.disks.filter((d) => d.condition !== 'removed');
  const removed = s.disks.length - shown.length;
  const byCondition = new Map<string, number>();
  for (const d of shown) byCondition.set(d.condition, (byCondition.get(d.condition) ?? 0) + 1);
  const counts = [...byCondition].map(([c, n]) => `${n} ${c}`).join(', ');
  const lines = [
    `pool ${ctx.where}: ${s.k !== undefined ? `${s.k}+${s.m}, ` : ''}failure domain "${s.failureDomain}", ${shown.length} disk(s): ${counts}${removed > 0 ? ` (${removed} removed, not shown)` : ''}${s.poolOpen ? '' : '; the pool cannot open'}`,
  ];
  const count = (n: number | null) => (n === null ? '?' : String(n));
  const withErrors = shown.some((d) => d.errors !== undefined);
  // With the level `disk`, each disk is its own domain: the column would repeat the id.
  const byLabel = s.failureDomain !== 'disk';
  const header = ['DISK', 'STATE', ...(byLabel ? [s.failureDomain.toUpperCase()] : []), 'USED', 'FREE', 'SHARDS', 'TO REPAIR', ...(withErrors ? ['ERRORS'] : []), 'PROBLEM'];
  const rows = shown.map((d) => [
    d.id, d.condition, ...(byLabel ? [d.domain ?? '-'] : []),
    d.usedBytes !== undefined ? formatBytes(d.usedBytes) : '-', d.freeBytes !== undefined ? formatBytes(d.freeBytes) : '-',
    count(d.shards), count(d.repairQueued), ...(withErrors ? [d.errors !== undefined ? `${d.errors.read}r ${d.errors.write}w` : '-'] : []), problemText(d),
  ]);
  lines.push(...table([header, ...rows]));
  lines.push(s.objects !== null ? `objects ${s.objects}, at risk ${s.objectsAtRisk}, repair queued ${s.repairQueued}` : 'objects ?, at risk ?, repair queued ? (known once the pool opens)');
  const shared = shown.filter((d) => d.condition === 'online' && d.sameDeviceAs.length > 0);
  if (s.actions.length === 0) lines.push('nothing to do: every disk is online and no repair is queued');
  else lines.push('what to do:', ...s.actions.map((a) => `  ${a.message}`));
  if (shared.length > 0) lines.push(`note: ${shared.length} disk(s) share a device with another disk: their failure domains are nominal (one device failure takes them together)`);
  return lines;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per-disk state and health, objects at risk, queued repair work, and what to do')
    .option(...metaOption)
    .option(...dataOption)
    .option(...endpointOption)
    .option(...regionOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      let view: StatusView;
      const remote = ctx.remote();
      if (remote !== undefined) {
        view = statusViewOf(ctx, await remote.get<LibraryStatus>('status'));
      } else {
        try {
          view = await withVault(ctx, (v) => statusView(ctx, v), { readOnly: true });
        } catch (err) {
          // The pool did not open at all: show its disks from pool.json anyway, then fail with the open's error.
          const offline = (err as { code?: string }).code === ErrorCode.DISK_IDENTITY ? await offlineView(ctx) : undefined;
          if (offline !== undefined) ctx.result(offline, statusLines(ctx, offline));
          throw err;
        }
      }
      ctx.result(view, statusLines(ctx, view));
      if (!view.poolOpen) {
        const usable = view.disks.filter((d) => d.condition === 'online' || d.condition === 'draining').length;
        throw new CliError(ErrorCode.DISK_IDENTITY, `only ${usable} disk(s) usable, the pool needs ${view.k}`, 'bring the missing disks back (mount them at their paths), then run `shardvault status` again');
      }
    });
}
