/**
 * The pool's members over time (issue 11: engine/pool.ts): status (health, space, work per member), adding,
 * draining, replacing and removing members, and rebalancing after members were added. Every change of the
 * pool configuration is one catalog commit with its audit record (I6), then pool.json (Engine.commitConfig).
 */
import { randomBytes } from 'node:crypto';

import type { RepairItem } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import type { FloorStatus } from '../format/floor.js';
import { hex } from '../format/ids.js';
import { checkPoolLayout, place, placementKey } from '../placement.js';
import type { MemberConfig } from '../store/shard-store.js';
import type { Engine } from './context.js';
import type { MemberCondition } from './health.js';
import { checkPrincipal } from './names.js';
import { diskSpec, type VaultDiskSpec } from './pool-setup.js';

export interface PoolStatus {
  pool: { poolId: string; k: number; m: number; blockBytes: number; failureDomain: string; writeQuorum: number };
  /** The catalog: `ok: false` after a failed commit, when it refuses writes until reopened. */
  catalog: { ok: boolean; problem?: string; errno?: number };
  disks: Array<{
    id: string; path: string; state: MemberConfig['state']; condition: MemberCondition; hint?: string; labels: Record<string, string>; ok: boolean; problem?: string;
    errors: { read: number; write: number };
    /** Why the member was last unusable since open, and when it went and came back. */
    lastProblem?: { problem: string; sinceMs: number; restoredMs?: number };
    repairQueued: number; shards: number; sameDeviceAs: string[]; freeBytes?: number; totalBytes?: number; copyLog?: { segments: number; bytes: number };
  }>;
  objects: number;
  objectsAtRisk: number;
  repairQueued: number;
  /** The security floor (Vault.status adds it): `overridden` with the reason and since when after a break-glass lowering. */
  floor?: FloorStatus;
  /** The last recorded effective configuration's digest, and the last change of a security-relevant setting. */
  config?: { digest: string; recordedMs: number; source: string; lastSecurityChange?: { timeMs: number; source: string; settings: string[] } };
}

/** Pool health (Vault.status documents it). */
export async function status(ctx: Engine): Promise<PoolStatus> {
  await ctx.health.checkAll();
  const queue: RepairItem[] = [];
  for await (const q of ctx.catalog.repairQueue()) queue.push(q);
  const atRisk = new Set(queue.map((q) => `${q.bucket}\0${q.key}\0${q.versionId}`));
  const shardsOn = new Map<string, number>();
  let objects = 0;
  for await (const { bucket, key, head } of ctx.catalog.heads({ tombstones: true })) {
    if (!head.tombstone) objects++; // a tombstone's copies are on the members too (they keep deletes deleted)
    for (const id of [...(head.placement ?? []), ...(head.parts ?? []).flatMap((p) => p.placement)]) {
      shardsOn.set(id, (shardsOn.get(id) ?? 0) + 1);
      if (ctx.readable(id) === undefined) atRisk.add(`${bucket}\0${key}\0${head.versionId}`);
    }
  }
  const space = await Promise.all(ctx.config.disks.map(async (d) => {
    const store = ctx.readable(d.id);
    if (store === undefined) return undefined;
    const { freeBytes, totalBytes, copies } = await store.space();
    // The copy store's footprint (segments, preallocated ones included): what gc's compaction works on.
    return { ...(freeBytes !== undefined ? { freeBytes } : {}), ...(totalBytes !== undefined ? { totalBytes } : {}), ...(copies !== undefined ? { copyLog: copies } : {}) };
  }));
  const disks = ctx.config.disks.map((d, i) => {
    const problem = ctx.health.problem(d.id);
    const { condition, hint } = ctx.health.condition(d);
    const lastProblem = ctx.health.lastProblem(d.id);
    return {
      ...(space[i] ?? {}),
      id: d.id, path: d.path, state: d.state, condition, ...(hint !== undefined ? { hint } : {}), labels: d.labels, ok: problem === undefined, ...(problem !== undefined ? { problem } : {}),
      errors: ctx.health.errors(d.id),
      ...(lastProblem !== undefined ? { lastProblem } : {}),
      repairQueued: queue.filter((q) => q.disk === d.id).length, shards: shardsOn.get(d.id) ?? 0,
      // Members on one device fail together: their failure domains are nominal (fine for a demo, not for data).
      sameDeviceAs: ctx.config.disks.filter((x) => x.id !== d.id && x.state !== 'removed' && x.dev === d.dev).map((x) => x.id),
    };
  });
  const { poolId, k, m, blockBytes, failureDomain, writeQuorum } = ctx.config;
  const failure = ctx.catalog.failure;
  const catalog = failure === undefined ? { ok: true } : { ok: false, problem: failure.message, ...(failure.errno !== undefined ? { errno: failure.errno } : {}) };
  return { pool: { poolId, k, m, blockBytes, failureDomain, writeQuorum }, catalog, disks, objects, objectsAtRisk: atRisk.size, repairQueued: queue.length };
}

/**
 * Adds a member (prepared and formatted now; refused when it already belongs to a pool). `replacing`: the
 * member a replacement takes over from (it may have been at the same path).
 */
export async function addDisk(ctx: Engine, specIn: VaultDiskSpec, principal: string, replacing?: string): Promise<string> {
  ctx.writable('addDisk');
  const spec = diskSpec('disk', specIn); // path resolved to absolute, stored so
  const config = ctx.config;
  await ctx.storeProvider.prepare(spec, config.poolId, (id) => config.disks.some((d) => d.id === id));
  const disk: MemberConfig = { id: `disk-${config.disks.length}-${hex(randomBytes(4))}`, path: spec.path, labels: spec.labels ?? {}, dev: 0, state: 'active' };
  if (config.disks.some((d) => d.path === disk.path && d.state !== 'removed' && d.id !== replacing)) {
    throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${disk.path} is already a disk of this pool`);
  }
  const next = { ...config, disks: [...config.disks, disk] };
  checkPoolLayout(next.disks.filter((d) => d.state === 'active' && d.id !== replacing), ctx.rule()); // labels must name the domain level
  await ctx.storeProvider.format(disk, config.poolId);
  await ctx.commitConfig(next, 'disk.add', principal, `${disk.id} ${disk.path} ${JSON.stringify(disk.labels)}`);
  return disk.id;
}

function liveMember(ctx: Engine, diskId: string): MemberConfig {
  const d = ctx.member(diskId);
  if (d === undefined || d.state === 'removed') throw new ShardVaultError(ErrorCode.NO_SUCH_DISK, `no disk ${diskId} in the pool`);
  return d;
}

/** Drains a member: no new shards, and every shard it holds queued for repair to move (Vault.drainDisk). */
export async function drainDisk(ctx: Engine, diskId: string, principal: string): Promise<number> {
  ctx.writable('drainDisk');
  const d = liveMember(ctx, diskId);
  if (d.state === 'active') {
    const next = { ...ctx.config, disks: ctx.config.disks.map((x) => (x.id === diskId ? { ...x, state: 'draining' as const } : x)) };
    checkPoolLayout(next.disks.filter((x) => x.state === 'active'), ctx.rule());
    await ctx.commitConfig(next, 'disk.drain', principal, diskId);
  }
  return queueShardsOf(ctx, diskId, undefined, principal);
}

/** Replaces a member by a new one and queues its shards for repair onto it (Vault.replaceDisk). */
export async function replaceDisk(ctx: Engine, diskId: string, spec: VaultDiskSpec, principal: string): Promise<string> {
  ctx.writable('replaceDisk');
  liveMember(ctx, diskId);
  const newId = await addDisk(ctx, spec, principal, diskId);
  const next = { ...ctx.config, disks: ctx.config.disks.map((x) => (x.id === diskId ? { ...x, state: 'removed' as const } : x)) };
  await ctx.commitConfig(next, 'disk.remove', principal, `${diskId} replaced by ${newId}`);
  await queueShardsOf(ctx, diskId, newId, principal);
  return newId;
}

/** Removes a drained member; refused while any current version still has a shard on it. */
export async function removeDisk(ctx: Engine, diskId: string, principal: string): Promise<void> {
  ctx.writable('removeDisk');
  liveMember(ctx, diskId);
  for await (const { head } of ctx.catalog.heads({ tombstones: true })) {
    if (head.placement?.includes(diskId) || head.parts?.some((p) => p.placement.includes(diskId))) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `disk ${diskId} still holds shards; drain it and run repair first`);
    }
  }
  const next = { ...ctx.config, disks: ctx.config.disks.map((x) => (x.id === diskId ? { ...x, state: 'removed' as const } : x)) };
  await ctx.commitConfig(next, 'disk.remove', principal, diskId);
}

/** Queues the shards that rendezvous placement would now put elsewhere (Vault.rebalance). */
export async function rebalance(ctx: Engine, principal: string): Promise<number> {
  ctx.writable('rebalance');
  checkPrincipal(principal);
  const disks = ctx.placementDisks();
  let queued = 0;
  for await (const { bucket, key, head } of ctx.catalog.heads({ tombstones: true })) {
    if (head.placement === undefined) continue;
    // The copies (and a plain object's shards) by the version id; each part of a multipart object by its own id.
    const sets: Array<{ current: string[]; id: string; part?: number }> = [{ current: head.placement, id: head.versionId }, ...(head.parts ?? []).map((p, part) => ({ current: p.placement, id: p.partId, part }))];
    const items: RepairItem[] = [];
    for (const { current, id: placementId, part } of sets) {
      const ideal = place(placementKey(bucket, key, placementId), disks, ctx.rule());
      const fill = ideal.filter((id) => !current.includes(id));
      const vacate = current.flatMap((id, shard) => (ideal.includes(id) ? [] : [{ id, shard }]));
      items.push(...vacate.slice(0, fill.length).map(({ id, shard }, j) => ({ bucket, key, versionId: head.versionId, disk: id, shard, to: fill[j], ...(part !== undefined ? { part } : {}) })));
    }
    await ctx.queueRepair(items, principal, 'rebalance');
    queued += items.length;
  }
  return queued;
}

async function queueShardsOf(ctx: Engine, diskId: string, to: string | undefined, principal: string): Promise<number> {
  let queued = 0;
  for await (const { bucket, key, head } of ctx.catalog.heads({ tombstones: true })) {
    const items: RepairItem[] = (head.placement ?? []).flatMap((id, shard) => (id === diskId ? [{ bucket, key, versionId: head.versionId, disk: id, shard, ...(to !== undefined ? { to } : {}) }] : []));
    head.parts?.forEach((p, part) => p.placement.forEach((id, shard) => {
      if (id === diskId) items.push({ bucket, key, versionId: head.versionId, disk: id, shard, part, ...(to !== undefined ? { to } : {}) });
    }));
    await ctx.queueRepair(items, principal, to !== undefined ? 'replace' : 'drain');
    queued += items.length;
  }
  return queued;
}
