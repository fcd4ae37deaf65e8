/**
 * Pool health as an operator reads it: each disk's condition (one word), and what to do about it (a sentence
 * with the command that fixes it). `status`, `scrub` and `repair` all show this, so a missing or emptied disk
 * directory is reported as work to do by whichever command the operator runs.
 *
 * The library's status() reports each disk's `condition` (used as it is); without one (the offline view, read
 * from pool.json when the pool cannot open) it is derived from `state`, `ok` and the `problem` text.
 */
import { existsSync } from 'node:fs';

export const DISK_CONDITIONS = ['online', 'draining', 'removed', 'missing', 'empty', 'foreign', 'wrong-device', 'unreadable'] as const;
export type DiskCondition = (typeof DISK_CONDITIONS)[number];

/** The fields of a status() disk this module reads (`condition` and `hint` optional: newer libraries set them). */
export interface DiskHealthInput {
  id: string;
  path: string;
  state: string;
  ok: boolean;
  problem?: string;
  shards: number;
  repairQueued: number;
  condition?: unknown;
  hint?: unknown;
}

const isCondition = (c: unknown): c is DiskCondition => typeof c === 'string' && (DISK_CONDITIONS as readonly string[]).includes(c);

/** One word for a disk's condition. `exists` is injectable for tests. */
export function diskCondition(d: DiskHealthInput, exists: (path: string) => boolean = existsSync): DiskCondition {
  if (isCondition(d.condition)) return d.condition;
  if (d.state === 'removed') return 'removed';
  if (d.ok) return d.state === 'draining' ? 'draining' : 'online';
  const problem = d.problem ?? '';
  if (/another disk or pool/.test(problem)) return 'foreign';
  if (/different device/.test(problem)) return 'wrong-device';
  // diskProblem reads <path>/disk.json: ENOENT is a directory that is gone, or one that is there but empty.
  if (/ENOENT/.test(problem)) return exists(d.path) ? 'empty' : 'missing';
  return 'unreadable';
}

/** Something the operator should do, with the command that does it when there is one. */
export interface Action {
  disk?: string;
  message: string;
  command?: string;
}

/** What to do about one disk, or undefined when it needs nothing. `suggest` formats a shardvault command. */
export function diskAction(d: DiskHealthInput, condition: DiskCondition, suggest: (args: string) => string): Action | undefined {
  const replace = suggest(`disk replace ${d.id} PATH`);
  const held = d.shards > 0 ? `; it holds ${d.shards} shard(s), rebuilt elsewhere once replaced` : '';
  // The CLI words its own advice (its commands carry this run's --meta); the library's `hint` says the same for
  // embedders and stays in the JSON disk entries.
  const withHint = (message: string, command?: string): Action => ({ disk: d.id, message, ...(command !== undefined ? { command } : {}) });
  switch (condition) {
    case 'online':
    case 'removed':
      return undefined;
    case 'draining':
      return d.shards > 0
        ? withHint(`disk ${d.id} draining, ${d.shards} shard(s) still on it: run \`${suggest('repair')}\`, then \`${suggest(`disk rm ${d.id}`)}\``, suggest('repair'))
        : withHint(`disk ${d.id} drained: run \`${suggest(`disk rm ${d.id}`)}\``, suggest(`disk rm ${d.id}`));
    case 'missing':
      return withHint(`disk ${d.id} missing (${d.path} does not exist): mount it back there, or run \`${replace}\`${held}`, replace);
    case 'empty':
      return withHint(`disk ${d.id} empty (${d.path} has no disk.json: wiped, or its filesystem not mounted): mount it back, or run \`${replace}\`${held}`, replace);
    case 'wrong-device':
      return withHint(`disk ${d.id} at ${d.path} is on another device than at format (not mounted?): mount it, or run \`${replace}\``, replace);
    case 'foreign':
      return withHint(`disk ${d.id}: ${d.path} holds another disk's or pool's identity: mount the right disk there, or run \`${replace}\``, replace);
    case 'unreadable':
      return withHint(`disk ${d.id} unreadable (${d.problem ?? 'unknown problem'}): check ${d.path}, or run \`${replace}\``, replace);
  }
}

/** Every action for a pool: one per disk that needs one, then queued repair work. */
export function poolActions(disks: readonly DiskHealthInput[], repairQueued: number, suggest: (args: string) => string, exists?: (path: string) => boolean): Action[] {
  const actions: Action[] = [];
  for (const d of disks) {
    const a = diskAction(d, diskCondition(d, exists), suggest);
    if (a !== undefined) actions.push(a);
  }
  if (repairQueued > 0) actions.push({ message: `${repairQueued} shard(s) queued for repair: run \`${suggest('repair')}\``, command: suggest('repair') });
  return actions;
}
