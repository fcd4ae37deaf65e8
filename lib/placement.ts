/**
 * Shard placement: a pure, deterministic function of the object id and the pool's disks (DESIGN.md 3.2).
 *
 * Shard i goes to the eligible disk with the highest rendezvous score for (object id, i, disk id), where a
 * disk is eligible when it is online, holds no other shard of the object, and its failure domain (the disk's
 * label at the pool's level) holds fewer than `maxShardsPerDomain` shards already. The default cap is m, so
 * losing any one domain loses at most m shards and every object stays readable (I8). Scores are BLAKE3 based
 * and weighted (`-weight / ln(u)`), so adding or removing a disk moves only a proportional share of shards.
 *
 * N.B. Changing the score function or the order of choices moves existing objects' shards: it is part of the
 * pool format.
 */
import { blake3Sync } from './hash.js';
import { ErrorCode, ShardVaultError, typeError } from './errors.js';
import { LIMITS } from './limits.js';
import { integer } from './validate.js';

export interface PlacementDisk {
  id: string;
  /** Failure-domain labels, e.g. { host: 'h1', enclosure: 'e2' }. The level 'disk' is the disk id itself. */
  labels: Readonly<Record<string, string>>;
  /** Offline disks are skipped (default true). */
  online?: boolean;
  /** Relative capacity (default 1). */
  weight?: number;
}

export interface PlacementRule {
  k: number;
  m: number;
  /** Failure-domain level: a label name, or 'disk'. */
  level: string;
  /** Shards of one object allowed in one domain (default m, at least 1). */
  maxShardsPerDomain?: number;
}

const SCORE_PREFIX = new TextEncoder().encode('shardvault/placement/v1\0');
const encoder = new TextEncoder();

export function domainOf(disk: PlacementDisk, level: string): string {
  if (level === 'disk') return disk.id;
  const d = disk.labels[level];
  if (typeof d !== 'string' || d.length === 0) {
    throw new ShardVaultError(ErrorCode.PLACEMENT, `disk ${disk.id} has no "${level}" label`);
  }
  return d;
}

function checkRule(rule: PlacementRule): Required<PlacementRule> {
  if (rule === null || typeof rule !== 'object') throw typeError('rule', 'a placement rule', rule);
  const k = integer('rule.k', rule.k, 1, LIMITS.shardCountDataMax);
  const m = integer('rule.m', rule.m, 0, LIMITS.shardCountParityMax);
  if (typeof rule.level !== 'string' || rule.level.length === 0) throw typeError('rule.level', 'a label name', rule.level);
  const cap = integer('rule.maxShardsPerDomain', rule.maxShardsPerDomain ?? Math.max(1, m), 1, k + m);
  return { k, m, level: rule.level, maxShardsPerDomain: cap };
}

function checkDisks(disks: readonly PlacementDisk[]): void {
  if (!Array.isArray(disks)) throw typeError('disks', 'an array of disks', disks);
  const seen = new Set<string>();
  for (const d of disks) {
    if (d === null || typeof d !== 'object' || typeof d.id !== 'string' || d.id.length === 0) {
      throw typeError('disks[]', 'a disk with a string id', d);
    }
    if (seen.has(d.id)) throw new ShardVaultError(ErrorCode.PLACEMENT, `disk id ${d.id} appears twice`);
    seen.add(d.id);
    if (d.weight !== undefined && !(typeof d.weight === 'number' && d.weight > 0 && Number.isFinite(d.weight))) {
      throw typeError(`disks[${d.id}].weight`, 'a positive number', d.weight);
    }
  }
}

/** Rendezvous score of (object, shard index, disk): larger wins. */
function score(objectId: Uint8Array, shard: number, disk: PlacementDisk): number {
  const id = encoder.encode(disk.id);
  const msg = new Uint8Array(SCORE_PREFIX.length + 4 + objectId.length + 4 + id.length);
  const view = new DataView(msg.buffer);
  let at = 0;
  msg.set(SCORE_PREFIX, at);
  at += SCORE_PREFIX.length;
  view.setUint32(at, objectId.length);
  msg.set(objectId, (at += 4));
  at += objectId.length;
  view.setUint32(at, shard);
  msg.set(id, (at += 4));
  const h = blake3Sync(msg);
  // 53 random bits -> u in (0, 1); weighted rendezvous: -w / ln(u).
  const hi = (h[0] << 13) | (h[1] << 5) | (h[2] >>> 3); // 21 bits
  const lo = (h[3] << 24) | (h[4] << 16) | (h[5] << 8) | h[6]; // 32 bits
  const u = ((hi >>> 0) * 2 ** 32 + (lo >>> 0) + 1) / (2 ** 53 + 2);
  return -(disk.weight ?? 1) / Math.log(u);
}

/**
 * The placement key of one striped body of bucket/key: `id` is the version id (a plain object, and the manifest
 * copies of every version) or the part id (a part of a multipart object), hex. What place() and replaceShard()
 * hash. N.B. Existing placements were chosen with it: changing it moves nothing, but rebalance would then want
 * to move every shard.
 */
export function placementKey(bucket: string, key: string, id: string): string {
  return `${bucket}\0${key}\0${id}`;
}

/**
 * Disk id for each of the k + m shards of `objectId`. Throws ERR_SV_PLACEMENT when the rule cannot be met
 * with the online disks.
 */
export function place(objectId: Uint8Array | string, disks: readonly PlacementDisk[], rule: PlacementRule): string[] {
  const r = checkRule(rule);
  checkDisks(disks);
  const id = typeof objectId === 'string' ? encoder.encode(objectId) : objectId;
  if (!(id instanceof Uint8Array)) throw typeError('objectId', 'a string or Uint8Array', objectId);
  const n = r.k + r.m;
  const online = disks.filter((d) => d.online !== false);
  const domains = new Map(online.map((d) => [d.id, domainOf(d, r.level)]));
  const perDomain = new Map<string, number>();
  const used = new Set<string>();
  const out: string[] = [];
  for (let shard = 0; shard < n; shard++) {
    let best: PlacementDisk | null = null;
    let bestScore = -Infinity;
    for (const d of online) {
      if (used.has(d.id) || (perDomain.get(domains.get(d.id)!) ?? 0) >= r.maxShardsPerDomain) continue;
      const s = score(id, shard, d);
      if (s > bestScore || (s === bestScore && best !== null && d.id < best.id)) {
        best = d;
        bestScore = s;
      }
    }
    if (best === null) {
      throw new ShardVaultError(
        ErrorCode.PLACEMENT,
        `cannot place shard ${shard} of ${n}: ${online.length} online disks in ${new Set(domains.values()).size} "${r.level}" domains, at most ${r.maxShardsPerDomain} shards per domain`,
      );
    }
    used.add(best.id);
    const dom = domains.get(best.id)!;
    perDomain.set(dom, (perDomain.get(dom) ?? 0) + 1);
    out.push(best.id);
  }
  return out;
}

/**
 * Init-time check that the pool can hold every object under its rule with all disks online, and that losing
 * any one domain loses at most m shards (I8).
 */
export function checkPoolLayout(disks: readonly PlacementDisk[], rule: PlacementRule): void {
  const r = checkRule(rule);
  checkDisks(disks);
  if (r.maxShardsPerDomain > r.m && r.m > 0) {
    throw new ShardVaultError(
      ErrorCode.PLACEMENT,
      `maxShardsPerDomain ${r.maxShardsPerDomain} > m = ${r.m}: losing one "${r.level}" domain could lose the object`,
    );
  }
  const counts = new Map<string, number>();
  for (const d of disks) counts.set(domainOf(d, r.level), (counts.get(domainOf(d, r.level)) ?? 0) + 1);
  let capacity = 0;
  for (const c of counts.values()) capacity += Math.min(c, r.maxShardsPerDomain);
  if (capacity < r.k + r.m) {
    throw new ShardVaultError(
      ErrorCode.PLACEMENT,
      `${disks.length} disks in ${counts.size} "${r.level}" domains hold at most ${capacity} shards of one object at ${r.maxShardsPerDomain} per domain; k + m = ${r.k + r.m}`,
    );
  }
}

/**
 * A new disk for shard `shard` of an object whose other shards stay where `current` has them (repair onto a
 * replacement, drain): the eligible disk with the highest rendezvous score for that shard, where eligible
 * means online, not already holding a shard of the object, and its domain still under the cap once the other
 * shards are counted (I8 is kept). `prefer` (a replacement disk) wins when it is eligible. Throws
 * ERR_SV_PLACEMENT when no disk qualifies.
 */
export function replaceShard(
  objectId: Uint8Array | string,
  current: readonly string[],
  shard: number,
  disks: readonly PlacementDisk[],
  rule: PlacementRule,
  prefer?: string,
): string {
  const r = checkRule(rule);
  checkDisks(disks);
  const id = typeof objectId === 'string' ? encoder.encode(objectId) : objectId;
  const byId = new Map(disks.map((d) => [d.id, d]));
  const perDomain = new Map<string, number>();
  current.forEach((diskId, i) => {
    const d = byId.get(diskId);
    if (i === shard || d === undefined) return;
    const dom = domainOf(d, r.level);
    perDomain.set(dom, (perDomain.get(dom) ?? 0) + 1);
  });
  const others = new Set(current.filter((_, i) => i !== shard));
  const eligible = disks.filter(
    (d) => d.online !== false && !others.has(d.id) && d.id !== current[shard] && (perDomain.get(domainOf(d, r.level)) ?? 0) < r.maxShardsPerDomain,
  );
  const preferred = eligible.find((d) => d.id === prefer);
  if (preferred !== undefined) return preferred.id;
  let best: PlacementDisk | null = null;
  let bestScore = -Infinity;
  for (const d of eligible) {
    const s = score(id, shard, d);
    if (s > bestScore || (s === bestScore && best !== null && d.id < best.id)) {
      best = d;
      bestScore = s;
    }
  }
  if (best === null) {
    throw new ShardVaultError(ErrorCode.PLACEMENT, `no online disk can take shard ${shard} without breaking the "${r.level}" rule`);
  }
  return best.id;
}
