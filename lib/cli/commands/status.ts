/**
 * `status`: one line per disk (condition, failure domain, used/free in the units of the progress bars, shards,
 * queued repair, problem), a summary line, then what to do, each with the command that does it.
 */
import type { Command } from 'commander';

import type { Vault } from '../../vault.js';
import { Ctx, metaOption, poolFacts, withVault } from '../context.js';
import { diskAction, diskCondition, poolActions, type Action, type DiskCondition } from '../health.js';
import { formatBytes } from '../units.js';

type LibraryStatus = Awaited<ReturnType<Vault['status']>>;
type LibraryDisk = LibraryStatus['disks'][number];

/** A status() disk with what the CLI adds (JSON field names, see docs/cli.md). */
export type DiskView = LibraryDisk & {
  condition: DiskCondition;
  /** The disk's failure domain: its label at the pool's level (its id when the level is `disk`); null: unlabelled. */
  domain: string | null;
  usedBytes?: number;
  /** What to do about this disk (absent when nothing). */
  hint?: string;
  /** Errors counted on this disk, when the library reports them. */
  errors?: number;
};

export interface StatusView {
  k?: number;
  m?: number;
  failureDomain: string;
  disks: DiskView[];
  objects: number;
  objectsAtRisk: number;
  repairQueued: number;
  actions: Action[];
}

/** The library's status() with conditions, domains and actions added (shared by status, scrub and repair). */
export async function statusView(ctx: Ctx, v: Vault): Promise<StatusView> {
  const s = await v.status();
  const facts = await poolFacts(ctx.meta);
  const level = (s as { failureDomain?: unknown }).failureDomain;
  const failureDomain = typeof level === 'string' ? level : facts?.failureDomain ?? 'disk';
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
  return {
    ...(facts !== undefined ? { k: facts.k, m: facts.m } : {}),
    failureDomain,
    disks,
    objects: s.objects,
    objectsAtRisk: s.objectsAtRisk,
    repairQueued: s.repairQueued,
    actions: poolActions(s.disks, s.repairQueued, suggest),
  };
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
    `pool ${ctx.meta}: ${s.k !== undefined ? `${s.k}+${s.m}, ` : ''}failure domain "${s.failureDomain}", ${shown.length} disk(s): ${counts}${removed > 0 ? ` (${removed} removed, not shown)` : ''}`,
  ];
  const withErrors = shown.some((d) => typeof d.errors === 'number');
  // With the level `disk`, each disk is its own domain: the column would repeat the id.
  const byLabel = s.failureDomain !== 'disk';
  const header = ['DISK', 'STATE', ...(byLabel ? [s.failureDomain.toUpperCase()] : []), 'USED', 'FREE', 'SHARDS', 'TO REPAIR', ...(withErrors ? ['ERRORS'] : []), 'PROBLEM'];
  const rows = shown.map((d) => [
    d.id, d.condition, ...(byLabel ? [d.domain ?? '-'] : []),
    d.usedBytes !== undefined ? formatBytes(d.usedBytes) : '-', d.freeBytes !== undefined ? formatBytes(d.freeBytes) : '-',
    String(d.shards), String(d.repairQueued), ...(withErrors ? [typeof d.errors === 'number' ? String(d.errors) : '-'] : []), problemText(d),
  ]);
  lines.push(...table([header, ...rows]));
  lines.push(`objects ${s.objects}, at risk ${s.objectsAtRisk}, repair queued ${s.repairQueued}`);
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
    .action((_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      return withVault(ctx, async (v) => {
        const s = await statusView(ctx, v);
        ctx.result(s, statusLines(ctx, s));
      });
    });
}
