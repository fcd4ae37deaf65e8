/**
 * Repair (issue 11: engine/repair.ts): rebuilds every queued shard from any k shards that verify (the queued
 * one too, when it is still readable: a drained member's shard is copied, not decoded), verifies every rebuilt
 * block against the hash table (decode-then-verify, I3), and writes it durably to its member, or to a
 * replacement chosen within the failure-domain rule when its member is offline, draining or removed (I8).
 *
 * One version at a time, in three steps that plain and multipart objects share:
 * 1. plan: where each queued piece goes (its own member when that is active and usable, else a replacement);
 * 2. rebuild: the named shards of each body, stripe by stripe, onto their (possibly new) members;
 * 3. commit: without a move, the named manifest copies are rewritten and the head re-pointed at them; with one,
 *    the manifest is re-signed with the new placement, written to every copy member and the head re-pointed
 *    (compare-and-set, with the audit record and the completed work), then the moved-away shards are removed.
 * Items of superseded versions are dropped. Memory is one stripe at a time.
 */
import type { Head, RepairItem } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import { encodeHeader } from '../format/shard-header.js';
import { placementKey, replaceShard } from '../placement.js';
import type { ShardName, ShardSink } from '../store/shard-store.js';
import { checkSignal, throwIfAborted } from '../abort.js';
import { bodiesOf, type Body } from './bodies.js';
import type { Engine } from './context.js';
import type { MemberCondition } from './health.js';

export interface RepairResult {
  repaired: number;
  dropped: number;
  moved: number;
  /** Queued pieces that could not be repaired now (their work stays queued). */
  failed: number;
  errors: Array<{ bucket: string; key: string; code: string; message: string }>;
  /** Members that are still work to do, with the command that fixes each. */
  disks: Array<{ id: string; path: string; condition: MemberCondition; hint?: string }>;
}

export interface RepairOptions {
  principal?: string;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

type Outcome = { repaired: number; moved: number; failed: number };

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function repair(ctx: Engine, options: RepairOptions | string): Promise<RepairResult> {
  ctx.writable('repair');
  const { principal = 'repair', signal, onProgress } = typeof options === 'string' ? { principal: options } : options;
  checkSignal(signal);
  throwIfAborted(signal, 'repair');
  const started = performance.now();
  const result = { repaired: 0, dropped: 0, moved: 0, failed: 0, errors: [] as RepairResult['errors'] };
  const byVersion = new Map<string, RepairItem[]>();
  let total = 0;
  for await (const it of ctx.catalog.repairQueue()) {
    const id = `${it.bucket}\0${it.key}\0${it.versionId}`;
    byVersion.set(id, [...(byVersion.get(id) ?? []), it]);
    total++;
  }
  let done = 0;
  for (const group of byVersion.values()) {
    throwIfAborted(signal, 'repair');
    const { bucket, key, versionId } = group[0];
    const head = await ctx.catalog.getHead(bucket, key);
    if (head === undefined || head.versionId !== versionId) {
      await ctx.catalog.completeRepair(group, 'repair.drop', principal, Date.now());
      result.dropped += group.length;
    } else {
      try {
        const outcome = await repairVersion(ctx, bucket, key, head, group, principal);
        result.repaired += outcome.repaired;
        result.moved += outcome.moved;
        result.failed += outcome.failed;
      } catch (err) {
        // One object that cannot be repaired now (fewer than k good shards, no eligible member, a put that
        // superseded it meanwhile) must not stop the others; its work stays queued.
        const e = err as { code?: string; message?: string };
        result.failed += group.length;
        result.errors.push({ bucket, key, code: e.code ?? 'ERR_SV_IO', message: e.message ?? String(err) });
      }
    }
    done += group.length;
    onProgress?.({ done, total });
  }
  ctx.events.emit('repair', { repaired: result.repaired, dropped: result.dropped, moved: result.moved, failed: result.failed, durationMs: performance.now() - started });
  // Members that are still work to do (missing, emptied, ...): what repair alone cannot fix, with the command that does.
  await ctx.health.checkAll();
  return { ...result, disks: ctx.health.toFix() };
}

async function repairVersion(ctx: Engine, bucket: string, key: string, head: Head, group: RepairItem[], principal: string): Promise<Outcome> {
  const loaded = await ctx.loadManifest(bucket, key, head);
  const { manifest, hashTable } = loaded;
  const parts = manifest.parts;
  const bodies = manifest.stripeCount > 0 || parts !== undefined ? bodiesOf(manifest, hashTable) : [];
  const vid = head.versionId;
  // The placements being planned: the manifest copies' (for a plain object also its shards'), and each part's.
  const copyPlacement = manifest.placement.slice();
  const partPlacement = (parts ?? []).map((p) => p.placement.slice());
  const placementOf = (g: RepairItem) => (g.part === undefined ? copyPlacement : partPlacement[g.part]);
  // 1. Plan. Each piece goes back to its member when that is active and usable and no other destination is
  // asked for (rebalance names one); else to a replacement within the rule. A piece on a healthy member whose
  // asked-for destination the rule refuses stays, and there is nothing to do for it.
  const skipped: RepairItem[] = [];
  const work: RepairItem[] = [];
  for (const g of group) {
    const pl = placementOf(g);
    if (pl === undefined || g.shard >= pl.length || (g.part !== undefined && parts === undefined)) {
      skipped.push(g); // names no piece of this version
      continue;
    }
    const d = ctx.member(pl[g.shard]);
    const healthy = d !== undefined && d.state === 'active' && ctx.health.usable(d);
    if (healthy && (g.to === undefined || g.to === d.id)) {
      work.push(g);
      continue;
    }
    const placementId = g.part === undefined ? vid : bodies[g.part].vid;
    const to = replaceShard(placementKey(bucket, key, placementId), pl, g.shard, ctx.placementDisks(), ctx.rule(), g.to);
    if (healthy && to !== g.to) {
      skipped.push(g);
      continue;
    }
    pl[g.shard] = to;
    work.push(g);
  }
  if (skipped.length > 0) await ctx.catalog.completeRepair(skipped, 'repair.skip', principal, Date.now());
  if (work.length === 0) return { repaired: 0, moved: 0, failed: 0 };
  // 2. Rebuild the named shards, body by body (a plain object's one body carries the copies' placement).
  for (const body of bodies) {
    const pl = body.part === undefined ? copyPlacement : partPlacement[body.part];
    const targets = [...new Set(work.filter((g) => g.part === body.part).map((g) => g.shard))].sort((a, b) => a - b);
    if (targets.length > 0) await rebuildShards(ctx, body, targets, pl);
  }
  // 3. Commit.
  const copyTargets = [...new Set(work.filter((g) => g.part === undefined).map((g) => g.shard))].sort((a, b) => a - b);
  const movedCopies = copyPlacement.flatMap((id, i) => (id !== manifest.placement[i] ? [i] : []));
  const movedParts = partPlacement.flatMap((pl, pi) => pl.flatMap((id, i) => (id !== parts![pi].placement[i] ? [{ pi, i }] : [])));
  if (movedCopies.length === 0 && movedParts.length === 0) return rewriteCopies(ctx, bucket, key, head, work, copyPlacement, copyTargets, loaded.copy, principal);
  const moved: Manifest = { ...manifest, placement: copyPlacement, ...(parts !== undefined ? { parts: parts.map((p, pi) => ({ ...p, placement: partPlacement[pi] })) } : {}) };
  const detail = parts === undefined
    ? movedCopies.map((t) => `${t}:${manifest.placement[t]}->${copyPlacement[t]}`).join(',')
    : [...movedCopies.map((t) => `copy ${t}:${manifest.placement[t]}->${copyPlacement[t]}`), ...movedParts.map(({ pi, i }) => `part ${pi + 1} shard ${i}:${parts[pi].placement[i]}->${partPlacement[pi][i]}`)].join(',');
  // Shards left behind by the move: a plain object's moved shards (named by the version), a part's by the part.
  const vacated = [
    ...(parts === undefined && bodies.length > 0 ? movedCopies.map((i) => ({ diskId: manifest.placement[i], name: { oid: bodies[0].oid, id: vid, shard: i } })) : []),
    ...movedParts.map(({ pi, i }) => ({ diskId: parts![pi].placement[i], name: { oid: bodies[pi].oid, id: bodies[pi].vid, shard: i } })),
  ];
  return moveManifest(ctx, bucket, key, head, work, moved, hashTable, copyTargets, detail, vacated, movedCopies.length + movedParts.length, principal);
}

/**
 * Writes shards `targets` of `body` onto the members `placement` names, from verified stripes (all k + m blocks
 * come back verified: shards moved off a readable member are read like any other), each through a sink that
 * may replace the old shard there (corrupt or stale), sealed durably before this resolves.
 */
async function rebuildShards(ctx: Engine, body: Body, targets: number[], placement: readonly string[]): Promise<void> {
  const { k, m, blockBytes } = body;
  const sinks: ShardSink[] = [];
  try {
    for (const t of targets) {
      const store = ctx.readable(placement[t]);
      if (store === undefined) throw new ShardVaultError(ErrorCode.IO, `disk ${placement[t]} is not usable`);
      const w = await store.createShard({ oid: body.oid, id: body.vid, shard: t }, { replace: true });
      sinks.push(w);
      await w.append(encodeHeader({ shard: t, k, m, blockBytes, poolId: Buffer.from(ctx.config.poolId, 'hex'), objectId: body.oidBytes, versionId: body.versionId, hashTableRoot: body.hashTableRoot }));
    }
    for (let s = 0; s < body.stripeCount; s++) {
      const { blocks } = await ctx.reader.readStripe(body, s, true);
      await Promise.all(targets.map((t, j) => sinks[j].append(blocks[t])));
      if (s % 4 === 3) await yieldToLoop();
    }
    await Promise.all(sinks.map((w) => w.seal()));
  } catch (err) {
    await Promise.all(sinks.map((w) => w.abort().catch(() => undefined)));
    throw err;
  }
}

/**
 * No move: each named copy member gets a fresh copy of the same manifest (the old record is torn, stale,
 * missing or simply superseded by it), and the head is re-pointed at the new records with the completed work,
 * compare-and-set. Rebuilt part shards count as fixed; a copy that could not be written stays queued.
 */
async function rewriteCopies(ctx: Engine, bucket: string, key: string, head: Head, work: RepairItem[], copyPlacement: string[], copyTargets: number[], copy: Uint8Array, principal: string): Promise<Outcome> {
  const refs = await Promise.all(copyTargets.map((t) => ctx.writeCopy(copyPlacement[t], copy)));
  try {
    const fixed = work.filter((g) => g.part !== undefined || refs[copyTargets.indexOf(g.shard)] !== undefined);
    const copies = copyPlacement.map((_, i) => head.copies?.[i] ?? null);
    copyTargets.forEach((t, j) => {
      if (refs[j] !== undefined) copies[t] = refs[j]!;
    });
    if (fixed.length > 0) {
      await ctx.catalog.replaceManifest(bucket, key, { versionId: head.versionId, manifestHash: head.manifestHash, copies: head.copies ?? null }, { ...head, copies }, fixed,
        { action: 'repair', principal, timeMs: Date.now(), detail: fixed.map((g) => (g.part === undefined ? String(g.shard) : `${g.shard}p${g.part}`)).join(',') });
    }
    return { repaired: fixed.length, moved: 0, failed: work.length - fixed.length };
  } finally {
    ctx.unpin(copyTargets.map((t) => copyPlacement[t]), refs);
  }
}

/**
 * A move: the manifest re-signed with the new placements goes to every copy member as new records (the copies
 * the head still names stay valid until the commit), then the head is re-pointed; copies that could not be
 * written are queued, and the shards left on the old members are removed (what cannot be reached is left to
 * gc). Nothing changes when a named copy target or the write quorum fails: the old head still stands.
 */
async function moveManifest(ctx: Engine, bucket: string, key: string, head: Head, work: RepairItem[], moved: Manifest, hashTable: Uint8Array, copyTargets: number[], detail: string, vacated: Array<{ diskId: string; name: ShardName }>, movedCount: number, principal: string): Promise<Outcome> {
  const { manifestHash, copy } = ctx.sign(moved, hashTable);
  const refs = await Promise.all(moved.placement.map((id) => ctx.writeCopy(id, copy)));
  try {
    const sealedCount = refs.filter((r) => r !== undefined).length;
    if (copyTargets.some((t) => refs[t] === undefined) || sealedCount < ctx.config.writeQuorum) {
      return { repaired: 0, moved: 0, failed: work.length }; // the new records are dead space
    }
    const missing = moved.placement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ bucket, key, versionId: head.versionId, disk, shard }]));
    await ctx.catalog.replaceManifest(
      bucket, key, { versionId: head.versionId, manifestHash: head.manifestHash, copies: head.copies ?? null },
      {
        ...head, manifestHash, placement: moved.placement, copies: refs.map((r) => r ?? null), committedMs: Date.now(),
        ...(head.parts !== undefined && moved.parts !== undefined ? { parts: head.parts.map((p, pi) => ({ partId: p.partId, placement: moved.parts![pi].placement })) } : {}),
      },
      work,
      { action: 'repair.move', principal, timeMs: Date.now(), detail },
    );
    await ctx.queueRepair(missing, principal, 'repair');
  } finally {
    ctx.unpin(moved.placement, refs);
  }
  await Promise.all(vacated.map(async ({ diskId, name }) => {
    await ctx.readable(diskId)?.removeShard(name).catch(() => false);
  }));
  return { repaired: work.length, moved: movedCount, failed: 0 };
}
