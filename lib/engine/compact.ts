/**
 * Compaction of the members' copy stores (issue 11: engine/compact.ts), for stores that have one
 * (ShardStore.compaction: a directory disk's copy log). A container the store calls sparse -- old enough, not
 * being written, live records under half of it -- has its live copies moved: each is read and verified
 * against its head first (a bad one is left for scrub and repair), appended durably, and the head re-pointed
 * by compare-and-set on version, manifest hash and copies (a head that moved meanwhile is left alone). The gc
 * walk then sweeps the container once nothing points into it. Returns the number of copies moved.
 */
import type { CopyRef } from '../store/shard-store.js';
import { ErrorCode } from '../errors.js';
import type { Engine } from './context.js';

export async function compact(ctx: Engine, graceMs: number, now: number): Promise<number> {
  const live = new Map<string, CopyRef[]>(); // member -> the copies current heads name there
  for await (const { head } of ctx.catalog.heads({ tombstones: true })) {
    head.copies?.forEach((r, i) => {
      const diskId = head.placement?.[i];
      if (r === null || diskId === undefined) return;
      const refs = live.get(diskId);
      if (refs === undefined) live.set(diskId, [r]);
      else refs.push(r);
    });
  }
  const sparse = new Map<string, (ref: CopyRef) => boolean>();
  for (const d of ctx.config.disks) {
    const store = ctx.readable(d.id);
    if (store?.compaction === undefined || d.state !== 'active') continue; // a draining member's copies move by repair
    const found = await store.compaction.sparse(live.get(d.id) ?? [], graceMs, now);
    if (found.count > 0) sparse.set(d.id, (ref) => found.has(ref));
  }
  if (sparse.size === 0) return 0;
  let moved = 0;
  for await (const { bucket, key, head } of ctx.catalog.heads({ tombstones: true })) {
    const placement = head.placement;
    const copies = head.copies;
    if (placement === undefined || copies === undefined) continue;
    const shards = copies.flatMap((r, i) => (r !== null && sparse.get(placement[i])?.(r) === true ? [i] : []));
    if (shards.length === 0) continue;
    const fresh: Array<CopyRef | undefined> = [];
    const diskIds: string[] = [];
    try {
      const next = copies.slice();
      for (const i of shards) {
        const loaded = await ctx.readCopy(placement[i], copies[i], head);
        if (loaded === undefined) continue; // bad: scrub reports it, repair writes a new one
        const ref = await ctx.writeCopy(placement[i], loaded.copy);
        if (ref === undefined) continue;
        fresh.push(ref);
        diskIds.push(placement[i]);
        next[i] = ref;
      }
      if (fresh.length === 0) continue;
      await ctx.catalog.replaceManifest(bucket, key, { versionId: head.versionId, manifestHash: head.manifestHash, copies }, { ...head, copies: next }, [],
        { action: 'gc.compact', principal: 'gc', timeMs: Date.now(), detail: `${fresh.length} copies` });
      moved += fresh.length;
    } catch (err) {
      if ((err as { code?: string }).code !== ErrorCode.CONFLICT) throw err; // moved meanwhile: its records are someone else's now
    } finally {
      ctx.unpin(diskIds, fresh);
    }
  }
  return moved;
}
