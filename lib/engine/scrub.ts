/**
 * Scrub (issue 11: engine/scrub.ts): reads every block of every live object (data and parity, in bounded
 * pieces) and checks it against the hash table, checks each shard's header names this pool, object, version,
 * shard, k, m and block size and that the shard ends after its last block, and checks every manifest copy;
 * bad or missing ones are queued for repair. Rate-limited (bytes per second), abortable, reports progress
 * after each object; the cursor is kept in the catalog every 64 objects and on abort, so `resume: true`
 * continues where an aborted or interrupted scrub stopped. Read-only pools verify only.
 */
import type { RepairItem } from '../catalog/catalog.js';
import { ErrorCode } from '../errors.js';
import { hex } from '../format/ids.js';
import { blockHash } from '../format/manifest-copy.js';
import { HEADER_BYTES, decodeHeader } from '../format/shard-header.js';
import { abortableDelay, checkSignal, throwIfAborted } from '../abort.js';
import { bodiesOf, type Body } from './bodies.js';
import type { Engine } from './context.js';
import { badItems } from './get.js';
import type { MemberCondition } from './health.js';

export interface ScrubProgress {
  objects: number;
  bytes: number;
  bad: number;
  /** Objects whose manifest is signed only by a revoked key (not bad shards: queued for `repair --resign`);
   *  present once one was met. */
  revoked?: number;
  /** The last object checked: `scrub({ resume: true })` continues after it. */
  last?: { bucket: string; key: string };
  /** In the result (not in progress reports): disks that could not be scrubbed or need work (missing, emptied,
   *  foreign, unmounted, unreadable, draining), each with the command that fixes it. */
  disks?: Array<{ id: string; path: string; condition: MemberCondition; hint?: string }>;
}

export interface ScrubOptions {
  rateBytesPerSec?: number;
  signal?: AbortSignal;
  resume?: boolean;
  onProgress?: (p: ScrubProgress) => void;
}

/** Scrub reads a shard in pieces of at most this many bytes (memory is bounded whatever the object size, I7). */
const SCRUB_READ_BYTES_MAX = 16 << 20;
const SCRUB_CURSOR = 'scrub.cursor';

export async function scrub(ctx: Engine, options: ScrubOptions): Promise<ScrubProgress> {
  checkSignal(options.signal);
  throwIfAborted(options.signal, 'scrub');
  const readOnly = ctx.settings.readOnly;
  const progress: ScrubProgress = { objects: 0, bytes: 0, bad: 0 };
  await ctx.health.checkAll(); // a member emptied or gone since open is reported (and its shards not counted as scrubbed)
  const started = Date.now();
  const after = options.resume === true ? await ctx.catalog.getMeta<{ bucket: string; key: string }>(SCRUB_CURSOR) : undefined;
  // Read-only: verify only; nothing is queued and the cursor is not saved.
  const saveCursor = async () => (readOnly ? undefined : ctx.catalog.setMeta(SCRUB_CURSOR, progress.last));
  const counted = () => {
    options.onProgress?.({ ...progress });
    ctx.events.emit('scrubProgress', { ...progress });
  };
  for await (const { bucket, key, head } of ctx.catalog.heads({ after })) {
    if (options.signal?.aborted) {
      if (progress.last !== undefined) await saveCursor();
      throwIfAborted(options.signal, 'scrub');
    }
    const current = await ctx.catalog.getHead(bucket, key);
    if (current === undefined || current.versionId !== head.versionId) continue; // overwritten meanwhile
    const bad = new Map<string, RepairItem>();
    let loaded;
    try {
      loaded = await ctx.loadManifest(bucket, key, head);
    } catch (err) {
      // A revoked signer: the shards may be fine, the manifest needs re-signing (loadManifest queued it).
      // Otherwise no copy verifies: nothing can be rebuilt from here; counted, and reads report ERR_SV_CORRUPT.
      if ((err as { code?: string }).code === ErrorCode.KEY_REVOKED) progress.revoked = (progress.revoked ?? 0) + 1;
      else progress.bad += head.placement?.length ?? 1;
      progress.objects++;
      progress.last = { bucket, key };
      counted();
      continue;
    }
    const { manifest, hashTable } = loaded;
    const { k, m, blockBytes, stripeCount, placement } = manifest;
    const n = k + m;
    let bodies: Body[];
    try {
      bodies = stripeCount === 0 ? [] : bodiesOf(manifest, hashTable);
    } catch {
      bodies = []; // a multipart manifest whose content hash does not match its parts: every read refuses it
      progress.bad += placement.length;
    }
    const addBad = badItems(bad, bucket, key, head.versionId, manifest);
    const checkShard = async (body: Body, id: string, i: number) => {
      const store = ctx.readable(id);
      if (store === undefined) return; // offline member: not scrubbed now
      const name = { oid: body.oid, id: body.vid, shard: i };
      try {
        const h = decodeHeader((await store.readShard(name, 0, HEADER_BYTES)).data);
        // The header must bind what the manifest says (k, m and block size too: a flipped field there is
        // bit rot that reads never touch), and the shard must end after its last block.
        if (h === undefined || h.shard !== i || Buffer.compare(h.objectId, body.oidBytes) !== 0 || Buffer.compare(h.versionId, body.versionId) !== 0 || hex(h.poolId) !== ctx.config.poolId ||
          h.k !== k || h.m !== m || h.blockBytes !== blockBytes || Buffer.compare(h.hashTableRoot, body.hashTableRoot) !== 0 ||
          (await store.statShard(name))?.size !== HEADER_BYTES + body.stripeCount * blockBytes) {
          addBad(i, body.part);
          return;
        }
        const perRead = Math.max(1, Math.floor(SCRUB_READ_BYTES_MAX / blockBytes));
        for (let s = 0; s < body.stripeCount; s += perRead) {
          const count = Math.min(perRead, body.stripeCount - s);
          const expected = new Uint8Array(count * 32);
          for (let j = 0; j < count; j++) expected.set(blockHash(body.hashTable, n, s + j, i), j * 32);
          const r = await store.readShard(name, HEADER_BYTES + s * blockBytes, count * blockBytes, { blockBytes, expectedHashes: expected });
          if (r.ok!.some((ok) => !ok)) {
            addBad(i, body.part);
            return;
          }
        }
      } catch {
        addBad(i, body.part);
      }
    };
    await Promise.all(
      placement.map(async (id, i) => {
        if (ctx.readable(id) === undefined) return; // offline member: not scrubbed now
        if ((await ctx.readCopy(id, head.copies?.[i], head)) === undefined) addBad(i);
      }),
    );
    // Parts one after another (memory and I/O stay those of one body), each body's shards in parallel.
    for (const body of bodies) await Promise.all(body.placement.map((id, i) => checkShard(body, id, i)));
    if (!readOnly) await ctx.queueRepair([...bad.values()], 'scrub', 'scrub');
    progress.objects++;
    progress.bytes += stripeCount === 0 ? manifest.size * n : stripeCount * blockBytes * n;
    progress.bad += bad.size;
    progress.last = { bucket, key };
    counted();
    if (progress.objects % 64 === 0) await saveCursor();
    if (options.rateBytesPerSec !== undefined) {
      const aheadMs = (progress.bytes / options.rateBytesPerSec) * 1000 - (Date.now() - started);
      if (aheadMs > 0) {
        try {
          await abortableDelay(aheadMs, options.signal, 'scrub');
        } catch (err) {
          await saveCursor();
          throw err;
        }
      }
    }
  }
  if (!readOnly) await ctx.catalog.setMeta(SCRUB_CURSOR, undefined); // a finished pass starts from the beginning next time
  return { ...progress, disks: ctx.health.toFix() };
}
