/**
 * The stripe pipeline of a put (issue 11: engine/put.ts), shared by put and putPart: placement, one shard
 * writer per disk, batches of stripes encoded and hashed in one native call each, appended pipelined with
 * backpressure, memory bounded by two batches whatever the body's size. It takes its collaborators as a
 * context (the pool's coding parameters, the codec, disk health, placement, error reporting and the failed
 * put's clean-up) instead of reaching into Vault; Vault keeps the commit (seal, manifest copies, catalog).
 */
import type { createHash } from 'node:crypto';
import { join } from 'node:path';

import type { ReedSolomon } from '../codec.js';
import type { CopyRef } from '../store/local/copylog.js';
import type { DiskConfig } from '../store/local/disk.js';
import { typeError, type DiskFailure, type ShardVaultError } from '../errors.js';
import type { DiskDroppedEvent } from '../events.js';
import { hex, objectId } from '../format/ids.js';
import { encodeHeader } from '../format/shard-header.js';
import { createBlake3 } from '../hash.js';
import { objectDir, shardFileName } from '../store/local/layout.js';
import { place, placementKey, type PlacementDisk } from '../placement.js';
import { openShardWriter, type ShardWriter } from '../store/local/shardio.js';
import { throwIfAborted } from '../abort.js';

/** What writeBody needs from the Vault that runs it. */
export interface StripeWriteContext {
  readonly config: { k: number; m: number; blockBytes: number; poolId: string; writeQuorum: number };
  readonly codec: ReedSolomon;
  /** Re-checks unusable disks whose backoff has passed (before placing). */
  reprobe(): Promise<void>;
  placementDisks(): PlacementDisk[];
  rule(): { k: number; m: number; level: string };
  /** A disk that can be read and written now. */
  readable(id: string): DiskConfig | undefined;
  countError(diskId: string, kind: 'read' | 'write'): void;
  failure(diskId: string, shard: number, during: string, err: unknown): DiskFailure;
  quorumError(bucket: string, key: string, failures: DiskFailure[], sealed: number, n: number): ShardVaultError;
  diskDropped(disk: string, op: DiskDroppedEvent['op'], err: unknown): void;
  cleanUpFailedPut(bucket: string, key: string, vid: string, placement: string[], shardFiles: Array<string | undefined>, refs: ReadonlyArray<CopyRef | undefined>): Promise<string>;
}

const STRIPES_PER_BATCH = 16;
/** ...and at most this many data bytes per batch: bounds a put's memory (two batches: one being written while
 *  the next is encoded) whatever the block size; 4+2 x 1 MiB blocks gives 4 stripes (~24 MiB with parity). */
const BATCH_DATA_BYTES_MAX = 16 << 20;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A striped body written by writeBody: its shard writers are open (not sealed) and its bytes hashed. */
export interface BodyWrite {
  vid: string;
  placement: string[];
  writers: Array<ShardWriter | null>;
  alive: boolean[];
  shardFiles: Array<string | undefined>;
  size: number;
  stripeCount: number;
  hashTable: Uint8Array;
  contentHash: Uint8Array;
  md5: Uint8Array | undefined;
  header: (shard: number, hashTableRoot: Uint8Array) => Uint8Array;
  drop: (i: number, during: string, err: unknown) => void;
  abortAll: () => Promise<void>;
  lostError: () => ShardVaultError;
}

/**
 * The stripe pipeline of a striped body (a put's object, or a part of a multipart upload): placement, one
 * shard writer per disk (created under its final name, `versionId` naming the files), batches of stripes
 * encoded and hashed in one native call each, appended pipelined with backpressure. Resolves with the open
 * (not yet sealed) writers and what the manifest needs; on any failure (source error, abort, bad chunk, lost
 * quorum, `md5Checked` throwing) every shard file it created is removed before it rejects.
 */
export async function writeBody(ctx: StripeWriteContext, bucket: string, key: string, versionId: Uint8Array, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal: AbortSignal | undefined, md5: ReturnType<typeof createHash> | undefined, md5Checked: () => Uint8Array | undefined, what: 'put' | 'putPart'): Promise<BodyWrite> {
  const { k, m, blockBytes, poolId } = ctx.config;
  const n = k + m;
  const vid = hex(versionId);
  const oidBytes = objectId(bucket, key);
  const oid = hex(oidBytes);
  await ctx.reprobe();
  const placement = place(placementKey(bucket, key, vid), ctx.placementDisks(), ctx.rule());
  const stripeBytes = k * blockBytes;
  const stripesPerBatch = Math.max(1, Math.min(STRIPES_PER_BATCH, Math.floor(BATCH_DATA_BYTES_MAX / stripeBytes)));
  const header = (shard: number, hashTableRoot: Uint8Array) =>
    encodeHeader({ shard, k, m, blockBytes, poolId: Buffer.from(poolId, 'hex'), objectId: oidBytes, versionId, hashTableRoot });

  // Open one writer per shard; a disk that fails any step drops out (I9: never retried on the same file).
  const alive = new Array<boolean>(n).fill(true);
  // Why each disk dropped out (the first failure per shard), and the shard files this put created: on any
  // failure before the commit, they are removed before the put rejects (#cleanUpFailedPut).
  const failures = new Map<number, DiskFailure>();
  const drop = (i: number, during: string, err: unknown) => {
    alive[i] = false;
    if (!during.includes('manifest copy')) ctx.countError(placement[i], 'write'); // #writeCopy counted those
    if (!failures.has(i)) failures.set(i, ctx.failure(placement[i], i, during, err));
  };
  const shardFiles = new Array<string | undefined>(n).fill(undefined);
  const quorumLost = () => alive.filter(Boolean).length < ctx.config.writeQuorum;
  const lostError = () => ctx.quorumError(bucket, key, [...failures.values()], alive.filter(Boolean).length, n);
  const writers = await Promise.all(
    placement.map(async (id, i) => {
      const d = ctx.readable(id)!;
      let w: ShardWriter | undefined;
      try {
        const dir = objectDir(d.path, oid);
        w = await openShardWriter(dir, shardFileName(oid, vid, i), { expectDev: d.dev, direct: true }); // see #writeCopy
        shardFiles[i] = join(dir, shardFileName(oid, vid, i));
        await w.append(header(i, new Uint8Array(32))); // rewritten with the hash-table root before sealing
        return w;
      } catch (err) {
        await w?.abort().catch(() => undefined);
        drop(i, w === undefined ? 'creating shard' : 'writing shard', err);
        ctx.diskDropped(id, 'open', err);
        return null;
      }
    }),
  );
  const abortAll = async () => {
    await Promise.all(writers.map((w) => w?.abort().catch(() => undefined)));
  };
  const content = createBlake3();
  const fingerprintChunks: Uint8Array[] = [];
  let size = 0;
  let stripeCount = 0;
  let batch: Uint8Array[][] = [];
  // The object bytes of each stripe of the batch (the last stripe without its zero padding): hashed into the
  // content hash on the thread pool, beside the encode+hash job, never on the main thread.
  let batchContent: Uint8Array[] = [];
  // Stripe buffers (k data blocks in one buffer + m parity blocks) of flushed batches, reused: a 4 GiB put
  // would otherwise allocate (and page-fault, and garbage-collect) 6 GiB of fresh buffers.
  const spare: Array<{ stripe: Uint8Array; parity: Uint8Array[] }> = [];
  const takeStripe = () => spare.pop() ?? { stripe: new Uint8Array(stripeBytes), parity: Array.from({ length: m }, () => new Uint8Array(blockBytes)) };
  let current = takeStripe();
  let stripe = current.stripe;
  let filled = 0;
  const inBatch: Array<typeof current> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const stripes = batch;
    const contentChunks = batchContent;
    const buffers = inBatch.splice(0);
    batch = [];
    batchContent = [];
    const [fingerprints] = await Promise.all([ctx.codec.encodeAndHash(stripes), content.updateAsync(contentChunks)]);
    for (const fp of fingerprints) for (const h of fp) fingerprintChunks.push(h.slice());
    // Pipelined: this batch's writes start once the previous batch's have returned (appends to a shard file
    // stay in order) and run while the next batch is read and encoded. At most two batches are in memory.
    await writing;
    // Too few disks left to reach the write quorum: stop now instead of streaming the rest of the object.
    if (quorumLost()) throw lostError();
    writing = Promise.all(
      writers.map(async (w, i) => {
        if (w === null || !alive[i]) return;
        try {
          for (const st of stripes) await w.append(st[i]);
        } catch (err) {
          drop(i, 'writing shard', err);
          ctx.diskDropped(placement[i], 'append', err);
        }
      }),
    ).then(() => {
      spare.push(...buffers); // every append has returned: the kernel holds its own copy of the bytes
    });
  };
  let writing: Promise<void> = Promise.resolve(); // never rejects: a failed append drops its disk (alive)
  let bodyMd5: Uint8Array | undefined;
  const closeStripe = async () => {
    // A Readable's chunks arrive as microtasks: without this, a whole batch (64 MiB of copying and content
    // hashing) would run without letting timers or I/O callbacks in. Yield once per stripe (~2 ms of work).
    await yieldToLoop();
    if (filled < stripeBytes) stripe.fill(0, filled); // zero padding (a reused buffer holds old bytes)
    const blocks = Array.from({ length: n }, (_, i) =>
      i < k ? stripe.subarray(i * blockBytes, (i + 1) * blockBytes) : current.parity[i - k],
    );
    batch.push(blocks);
    if (filled > 0) batchContent.push(stripe.subarray(0, filled));
    inBatch.push(current);
    stripeCount++;
    current = takeStripe();
    stripe = current.stripe;
    filled = 0;
    if (batch.length >= stripesPerBatch) await flush();
  };
  try {
    if (quorumLost()) throw lostError();
    for await (const chunkIn of source as AsyncIterable<Uint8Array>) {
      throwIfAborted(signal, what);
      if (!(chunkIn instanceof Uint8Array)) throw typeError('data chunk', 'a Uint8Array', chunkIn);
      md5?.update(chunkIn);
      size += chunkIn.length;
      let at = 0;
      while (at < chunkIn.length) {
        const take = Math.min(stripeBytes - filled, chunkIn.length - at);
        stripe.set(chunkIn.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === stripeBytes) await closeStripe();
      }
    }
    if (filled > 0 || stripeCount === 0) await closeStripe(); // the last stripe is zero-padded
    await flush();
    await writing;
    throwIfAborted(signal, what);
    if (quorumLost()) throw lostError();
    bodyMd5 = md5Checked(); // a mismatch aborts every shard file: nothing was committed or appended
  } catch (err) {
    // Source error, abort, bad chunk or lost quorum: every shard file this put created goes before it rejects.
    await writing;
    await abortAll();
    const note = await ctx.cleanUpFailedPut(bucket, key, vid, placement, shardFiles, []);
    if (note !== '' && err instanceof Error) err.message += note;
    throw err;
  }
  const hashTable = new Uint8Array(fingerprintChunks.length * 32);
  fingerprintChunks.forEach((h, i) => hashTable.set(h, i * 32));
  return {
    vid, placement, writers, alive, shardFiles, size, stripeCount, hashTable, contentHash: content.digest(), md5: bodyMd5, header, drop, abortAll, lostError,
  };
}

/**
 * Reads a byte stream until it ends or passes `max` bytes: `whole` when it ended within `max`, else `rest`,
 * which yields what was read and then the remainder of the same iterator (nothing is read twice).
 */
export async function peekSmall(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, max: number): Promise<{ whole?: Uint8Array; rest: AsyncIterable<Uint8Array> }> {
  const it = Symbol.asyncIterator in source ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  const head: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const r = await it.next();
    if (r.done === true) return { whole: Buffer.concat(head), rest: (async function* () {})() };
    if (!(r.value instanceof Uint8Array)) throw typeError('data chunk', 'a Uint8Array', r.value);
    head.push(r.value);
    total += r.value.length;
    if (total > max) break;
  }
  return {
    rest: (async function* () {
      try {
        yield* head;
        for (;;) {
          const r = await it.next();
          if (r.done === true) return;
          yield r.value;
        }
      } finally {
        await it.return?.(); // a put that stops early releases the source (a Readable is destroyed)
      }
    })(),
  };
}
