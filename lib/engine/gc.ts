/**
 * Garbage collection and recovery (issue 11: engine/gc.ts). First the garbage queue: superseded versions'
 * shards where their last head put them (no walk), expired multipart uploads ended as if aborted. Then,
 * unless `walk: false`, every usable member is walked through its store's listing: temporary leftovers go
 * (with `removeTemporary`: only at open, when no writer of this pool can be running), shards of versions
 * never committed (a crash between sealing and the commit), of superseded versions, and ones the current head
 * no longer names (moved by repair), each once older than `graceMs`; copy containers that no current head and
 * no queued garbage points into are swept (ShardStore.sweepCopies); mostly dead ones are compacted first
 * (lib/engine/compact.ts). Last, repair is queued for every head whose shards or manifest copies are missing
 * on usable members. Cost: one listing per member, one catalog lookup per shard and one pass over the heads.
 */
import type { Head, RepairItem } from '../catalog/catalog.js';
import { ErrorCode } from '../errors.js';
import { hex, objectId } from '../format/ids.js';
import type { CopyRef, ShardName, SweepResult } from '../store/shard-store.js';
import { compact } from './compact.js';
import type { Engine } from './context.js';

export interface GcResult {
  temporaryRemoved: number;
  orphansRemoved: number;
  supersededRemoved: number;
  staleRemoved: number;
  /** Copy containers (copy-log segments) no live or queued version points into: removed, or kept for reuse. */
  segmentsRemoved: number;
  /** Live copies moved out of mostly-dead containers (compaction), so those can go. */
  copiesCompacted: number;
  repairQueued: number;
}

export interface GcOptions {
  graceMs?: number;
  removeTemporary?: boolean;
  walk?: boolean;
  compact?: boolean;
}

/** The key of a shard in the walk's `seen` set. */
const seenKey = (diskId: string, n: ShardName) => `${diskId}/${n.oid}.${n.id}.${n.shard}`;

export async function gc(ctx: Engine, options: GcOptions): Promise<GcResult> {
  ctx.writable('gc');
  const graceMs = options.graceMs ?? 60 * 60 * 1000;
  const result: GcResult = { temporaryRemoved: 0, orphansRemoved: 0, supersededRemoved: 0, staleRemoved: 0, segmentsRemoved: 0, copiesCompacted: 0, repairQueued: 0 };
  const now = Date.now();
  // Expired multipart uploads end as if aborted: their parts' files join the garbage queue below.
  const expired = [];
  for await (const u of ctx.catalog.allUploads()) if (now - u.upload.initiatedMs > ctx.settings.uploadTtlMs) expired.push(u);
  for (const u of expired) {
    await ctx.catalog.abortUpload(u.bucket, u.key, u.uploadId, 'multipart.expire', 'gc', now).catch((err: { code?: string }) => {
      if (err.code !== ErrorCode.NO_SUCH_UPLOAD) throw err; // completed or aborted meanwhile
    });
  }
  // First the garbage queue: superseded versions' shards where their last head put them (no walk). Their
  // manifest copies are records in copy containers: dead space until the walk sweeps a container.
  const done: string[] = [];
  for await (const g of ctx.catalog.garbageQueue()) {
    if (now - g.supersededMs < graceMs) continue;
    const oid = hex(objectId(g.bucket, g.key));
    // A plain version's shards are named by its version id; a multipart version's by its parts' ids (a part
    // queued on its own -- replaced, unused by a Complete, aborted -- is an entry named by its part id).
    const bodies = g.head.parts ?? (g.head.striped === true ? [{ partId: g.head.versionId, placement: g.head.placement ?? [] }] : []);
    for (const b of bodies) {
      await Promise.all(b.placement.map(async (diskId, i) => {
        const store = ctx.readable(diskId);
        if (store !== undefined && (await store.removeShard({ oid, id: b.partId, shard: i }))) result.supersededRemoved++;
      }));
    }
    done.push(g.head.versionId); // what an offline member still holds, the walk removes when it is back
  }
  await ctx.catalog.completeGarbage(done);
  if (options.walk === false) return result;
  if (options.compact !== false) result.copiesCompacted = await compact(ctx, graceMs, now);
  const seen = new Set<string>(); // shards the current heads name, by seenKey
  const old = (mtimeMs: number, sinceMs: number) => now - Math.max(mtimeMs, sinceMs) >= graceMs;
  // Copies something still points into, per member: current heads (tombstones too: they keep deletes
  // deleted) and superseded versions still in the garbage queue (readers that started on them, within the grace).
  const live = new Map<string, CopyRef[]>();
  const refer = (head: Head) => head.copies?.forEach((r, i) => {
    const diskId = head.placement?.[i];
    if (r === null || diskId === undefined) return;
    const refs = live.get(diskId);
    if (refs === undefined) live.set(diskId, [r]);
    else refs.push(r);
  });
  for await (const { head } of ctx.catalog.heads({ tombstones: true })) refer(head);
  for await (const g of ctx.catalog.garbageQueue()) refer(g.head);
  const swept = new Map<string, SweepResult>();
  // Members in parallel (independent devices); within a member, its listing in order.
  await Promise.all(ctx.config.disks.map(async (d) => {
    const store = ctx.readable(d.id);
    if (store === undefined) return;
    const sweep = await store.sweepCopies(live.get(d.id) ?? [], { graceMs, nowMs: now, removeTemporary: options.removeTemporary === true });
    result.segmentsRemoved += sweep.removed;
    result.temporaryRemoved += sweep.temporaryRemoved;
    swept.set(d.id, sweep);
    for await (const item of store.listShards()) {
      if (item.kind === 'temporary') {
        if (options.removeTemporary === true || old(item.mtimeMs, 0)) {
          await store.removeTemporary(item.handle).catch(() => undefined);
          result.temporaryRemoved++;
        }
        continue;
      }
      const { name, mtimeMs } = item;
      const owner = await ctx.catalog.versionOwner(name.id);
      if (owner === undefined) {
        if (old(mtimeMs, 0) && (await store.removeShard(name))) result.orphansRemoved++;
        continue;
      }
      if (owner.uploadId !== undefined) {
        // A part of an upload in progress: kept while it is that part number's current upload.
        const current = (await ctx.catalog.getUpload(owner.bucket, owner.key, owner.uploadId)) !== undefined &&
          (await ctx.catalog.getPart(owner.uploadId, owner.partNumber ?? 0))?.partId === name.id;
        if (!current && old(mtimeMs, 0) && (await store.removeShard(name))) result.supersededRemoved++;
        continue;
      }
      const head = await ctx.catalog.getHead(owner.bucket, owner.key);
      const version = owner.partOf ?? name.id; // a part of a multipart version belongs to it
      if (head === undefined || head.versionId !== version) {
        if (old(mtimeMs, head?.committedMs ?? 0) && (await store.removeShard(name))) result.supersededRemoved++;
        continue;
      }
      const shardPlacement = owner.partOf !== undefined ? head.parts?.find((p) => p.partId === name.id)?.placement ?? [] : head.placement;
      if (shardPlacement === undefined || shardPlacement[name.shard] === d.id) {
        seen.add(seenKey(d.id, name));
      } else if (old(mtimeMs, head.committedMs ?? 0) && (await store.removeShard(name))) {
        result.staleRemoved++;
      }
    }
  }));
  // Heads short of pieces on usable members (lost shards, a copy never written by a degraded write, a crash
  // in the middle of a repair) go to repair. A copy counts when its container is there; scrub reads the records.
  const work: RepairItem[] = [];
  for await (const { bucket, key, head } of ctx.catalog.heads({ tombstones: true })) {
    if (head.placement === undefined) continue;
    const oid = hex(objectId(bucket, key));
    head.placement.forEach((diskId, shard) => {
      if (ctx.readable(diskId) === undefined) return;
      const ref = head.copies?.[shard] ?? null;
      const copyOk = ref !== null && swept.get(diskId)?.holds(ref) === true;
      const shardOk = head.striped !== true || head.parts !== undefined || seen.has(seenKey(diskId, { oid, id: head.versionId, shard }));
      if (!copyOk || !shardOk) work.push({ bucket, key, versionId: head.versionId, disk: diskId, shard });
    });
    head.parts?.forEach((p, part) => p.placement.forEach((diskId, shard) => {
      if (ctx.readable(diskId) !== undefined && !seen.has(seenKey(diskId, { oid, id: p.partId, shard }))) work.push({ bucket, key, versionId: head.versionId, disk: diskId, shard, part });
    }));
  }
  const before = await countQueued(ctx);
  for (const group of groupBy(work, (w) => `${w.bucket}\0${w.key}\0${w.versionId}`)) await ctx.queueRepair(group, 'gc', 'gc');
  result.repairQueued = (await countQueued(ctx)) - before;
  return result;
}

async function countQueued(ctx: Engine): Promise<number> {
  let n = 0;
  for await (const _ of ctx.catalog.repairQueue()) n++;
  return n;
}

function groupBy<T>(items: T[], keyOf: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const id = keyOf(it);
    const g = groups.get(id);
    if (g === undefined) groups.set(id, [it]);
    else g.push(it);
  }
  return [...groups.values()];
}
