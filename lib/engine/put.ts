/**
 * The write path (issue 11: engine/put.ts), as a readable sequence: names -> placement -> sinks -> pipeline ->
 * lock -> manifest -> sign -> seal -> quorum -> commit -> receipt.
 * - writeBody: the stripe pipeline shared by put and putPart -- placement, one create-only shard sink per
 *   member, batches of stripes encoded and hashed in one native call each, appended pipelined with
 *   backpressure, memory bounded by two batches whatever the body's size;
 * - putObject: a striped put -- the body, then under the key's lock the manifest, its signature, every shard
 *   sealed and its manifest copy appended at the same time (both durable before the commit, I1), the write
 *   quorum, and the commit with its signed receipt;
 * - putManifestOnly: a version that lives entirely in its manifest copies (a small object inline, or a
 *   delete's tombstone).
 */
import { createHash, randomBytes } from 'node:crypto';

import type { Head } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError, typeError, type DiskFailure } from '../errors.js';
import { hex, objectId } from '../format/ids.js';
import { HASH_TABLE_CONTEXT } from '../format/manifest-copy.js';
import type { Manifest } from '../format/manifest.js';
import { encodeHeader } from '../format/shard-header.js';
import { blake3Sync, createBlake3 } from '../hash.js';
import { place, placementKey } from '../placement.js';
import type { CopyRef, ShardSink } from '../store/shard-store.js';
import { abortableIterable, checkSignal, throwIfAborted } from '../abort.js';
import { optionsObject } from '../validate.js';
import { copyDigest, type Engine, type Receipt } from './context.js';
import { checkCondition, etagOf, manifestMetadata, objectMetadata, writeCondition, type ManifestMetadata, type PutOptions, type WriteCondition } from './object-meta.js';

/** Objects up to this size live inline in every manifest copy (no shard files). */
export const INLINE_BYTES_MAX = 16 * 1024;

/** What a put body may be: bytes, a Readable, or any (async) iterable of byte chunks. */
export type PutBody = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const STRIPES_PER_BATCH = 16;
/** ...and at most this many data bytes per batch: bounds a put's memory (two batches: one being written while
 *  the next is encoded) whatever the block size; 4+2 x 1 MiB blocks gives 4 stripes (~24 MiB with parity). */
const BATCH_DATA_BYTES_MAX = 16 << 20;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A striped body written by writeBody: its shard writers are open (not sealed) and its bytes hashed. */
export interface BodyWrite {
  vid: string;
  placement: string[];
  oid: string;
  sinks: Array<ShardSink | null>;
  alive: boolean[];
  /** Which shards were created (removed again when the write does not commit). */
  created: boolean[];
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
export async function writeBody(ctx: Engine, bucket: string, key: string, versionId: Uint8Array, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal: AbortSignal | undefined, md5: ReturnType<typeof createHash> | undefined, md5Checked: () => Uint8Array | undefined, what: 'put' | 'putPart'): Promise<BodyWrite> {
  const { k, m, blockBytes, poolId } = ctx.config;
  const n = k + m;
  const vid = hex(versionId);
  const oidBytes = objectId(bucket, key);
  const oid = hex(oidBytes);
  await ctx.health.reprobe();
  const placement = place(placementKey(bucket, key, vid), ctx.placementDisks(), ctx.rule());
  const stripeBytes = k * blockBytes;
  const stripesPerBatch = Math.max(1, Math.min(STRIPES_PER_BATCH, Math.floor(BATCH_DATA_BYTES_MAX / stripeBytes)));
  const header = (shard: number, hashTableRoot: Uint8Array) =>
    encodeHeader({ shard, k, m, blockBytes, poolId: Buffer.from(poolId, 'hex'), objectId: oidBytes, versionId, hashTableRoot });

  // Open one writer per shard; a disk that fails any step drops out (I9: never retried on the same file).
  const alive = new Array<boolean>(n).fill(true);
  // Why each disk dropped out (the first failure per shard), and the shard files this put created: on any
  // failure before the commit, they are removed before the put rejects (cleanUpFailedPut).
  const failures = new Map<number, DiskFailure>();
  const drop = (i: number, during: string, err: unknown) => {
    alive[i] = false;
    if (!during.includes('manifest copy')) ctx.health.countError(placement[i], 'write'); // writeCopy counted those
    if (!failures.has(i)) failures.set(i, ctx.failure(placement[i], i, during, err));
  };
  const created = new Array<boolean>(n).fill(false);
  const quorumLost = () => alive.filter(Boolean).length < ctx.config.writeQuorum;
  const lostError = () => ctx.quorumError(bucket, key, [...failures.values()], alive.filter(Boolean).length, n);
  const sinks = await Promise.all(
    placement.map(async (id, i) => {
      let w: ShardSink | undefined;
      try {
        const store = ctx.readable(id);
        if (store === undefined) throw new ShardVaultError(ErrorCode.IO, `disk is not usable: ${ctx.health.problem(id) ?? 'not in the pool'}`);
        w = await store.createShard({ oid, id: vid, shard: i });
        created[i] = true;
        await w.append(header(i, new Uint8Array(32))); // rewritten with the hash-table root before sealing
        return w;
      } catch (err) {
        await w?.abort().catch(() => undefined);
        drop(i, w === undefined ? 'creating shard' : 'writing shard', err);
        ctx.health.dropped(id, 'open', err);
        return null;
      }
    }),
  );
  const abortAll = async () => {
    await Promise.all(sinks.map((w) => w?.abort().catch(() => undefined)));
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
      sinks.map(async (w, i) => {
        if (w === null || !alive[i]) return;
        try {
          for (const st of stripes) await w.append(st[i]);
        } catch (err) {
          drop(i, 'writing shard', err);
          ctx.health.dropped(placement[i], 'append', err);
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
    const note = await ctx.cleanUpFailedPut(bucket, key, vid, oid, placement, created, []);
    if (note !== '' && err instanceof Error) err.message += note;
    throw err;
  }
  const hashTable = new Uint8Array(fingerprintChunks.length * 32);
  fingerprintChunks.forEach((h, i) => hashTable.set(h, i * 32));
  return {
    vid, oid, placement, sinks, alive, created, size, stripeCount, hashTable, contentHash: content.digest(), md5: bodyMd5, header, drop, abortAll, lostError,
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

/**
 * Stores `data` under bucket/key; resolves with a signed receipt once everything is durable and committed
 * (Vault.put documents the contract). `stats.bytes` is set to the object's size.
 */
export async function putObject(ctx: Engine, bucket: string, key: string, data: PutBody, options: PutOptions | string, stats: { bytes: number }): Promise<Receipt> {
  const o = typeof options === 'string' ? { principal: options } : optionsObject<PutOptions>('options', options, ['principal', 'signal', 'contentType', 'metadata', 'md5', 'computeMd5', 'ifNoneMatch', 'ifMatch', 'headers', 'checksum']);
  const { principal = 'local', signal } = o;
  checkSignal(signal);
  const meta = objectMetadata(o);
  const condition = writeCondition(o);
  // MD5 costs 250-420 MiB/s of main-thread CPU here (docs/api.md): only when asked for or declared.
  const md5 = meta.computeMd5 || meta.md5Expected !== undefined ? createHash('md5') : undefined;
  const md5Checked = (): Uint8Array | undefined => {
    if (md5 === undefined) return undefined;
    const got = md5.digest();
    if (meta.md5Expected !== undefined && !got.equals(meta.md5Expected)) {
      throw new ShardVaultError(ErrorCode.BAD_DIGEST, `${bucket}/${key}: the body's MD5 ${got.toString('hex')} is not the declared ${meta.md5Expected.toString('hex')}`);
    }
    return got;
  };
  throwIfAborted(signal, 'put');
  await ctx.checkObjectName(bucket, key, principal);
  // Before any byte is written: a put into a missing bucket would otherwise stream the whole object first.
  if (!(await ctx.catalog.hasBucket(bucket))) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
  // The cheap early answer to a conditional put (decided again under the key's lock at commit).
  checkCondition(bucket, key, await ctx.catalog.getHead(bucket, key), condition);
  let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
  if (source === null || typeof source !== 'object' || (!(Symbol.asyncIterator in source) && !(Symbol.iterator in source))) {
    throw typeError('data', 'a Uint8Array, a Readable or an iterable of Uint8Array', data);
  }
  const { k, m, blockBytes } = ctx.config;
  const n = k + m;
  if (!(data instanceof Uint8Array)) {
    source = abortableIterable(source, signal, 'put'); // an abort ends a put even while its source is stalled
    // A stream that ends within the inline threshold is a small object like any other.
    const peeked = await peekSmall(source, INLINE_BYTES_MAX);
    if (peeked.whole !== undefined) data = peeked.whole;
    else source = peeked.rest;
  }
  if (data instanceof Uint8Array && data.length <= INLINE_BYTES_MAX) {
    // Small objects live inline in every manifest copy: one sealed record per member instead of a shard and a
    // record, and each of the k + m copies holds all of it (any one surviving copy serves the object).
    throwIfAborted(signal, 'put');
    md5?.update(data);
    stats.bytes = data.length;
    return (await putManifestOnly(ctx, bucket, key, data, false, principal, manifestMetadata(meta, md5Checked()), condition))!;
  }
  const versionId = randomBytes(16);
  const { vid, oid, placement, sinks, alive, created, size, stripeCount, hashTable, contentHash, md5: bodyMd5, header, drop, abortAll, lostError } =
    await writeBody(ctx, bucket, key, versionId, source, signal, md5, md5Checked, 'put');
  // From here to the commit, one writer per key in this process: the sequence is taken from the head now, so
  // concurrent puts of one key commit one after the other (last writer wins) instead of failing the CAS.
  const release = await ctx.keyLock.acquire(bucket, key);
  try {
    const head = await ctx.catalog.getHead(bucket, key);
    try {
      checkCondition(bucket, key, head, condition); // the compare-and-set: decided under the lock, before any seal
    } catch (err) {
      await abortAll();
      await ctx.cleanUpFailedPut(bucket, key, vid, oid, placement, created, []);
      throw err;
    }
    const sequence = (head?.sequence ?? 0n) + 1n;
    const manifest: Manifest = {
      bucket, key, versionId, sequence, size, contentHash, tombstone: false, k, m,
      blockBytes, stripeCount, placement, hashTableRoot: blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }), principal,
      timeMs: Date.now(), signerKeyId: ctx.keyId, inline: new Uint8Array(0), ...manifestMetadata(meta, bodyMd5),
    };
    const { manifestHash, copy } = ctx.sign(manifest, hashTable);
    // Seal every member: the shard (header with the hash-table root, durable) and, at the same time, its
    // manifest copy appended to the member's copy store; both durable before the commit.
    const refs = new Array<CopyRef | undefined>(n).fill(undefined);
    const digest = copyDigest(copy);
    try {
      await Promise.all(
        sinks.map(async (w, i) => {
          if (w === null || !alive[i]) {
            await w?.abort().catch(() => undefined);
            alive[i] = false;
            return;
          }
          const sealShard = async () => {
            try {
              await w.pwrite(header(i, manifest.hashTableRoot), 0);
              await w.seal();
              return true;
            } catch (err) {
              await w.abort().catch(() => undefined);
              drop(i, 'sealing shard', err);
              ctx.health.dropped(placement[i], 'seal', err);
              return false;
            }
          };
          const [sealed, ref] = await Promise.all([sealShard(), ctx.writeCopy(placement[i], copy, digest, (err) => drop(i, 'writing the manifest copy', err))]);
          refs[i] = ref;
          alive[i] = sealed && ref !== undefined;
        }),
      );
      const durable = placement.filter((_, i) => alive[i]);
      if (durable.length < ctx.config.writeQuorum) throw lostError();
      const committedMs = Date.now();
      const repairWork = placement.flatMap((disk, shard) => (alive[shard] ? [] : [{ disk, shard }]));
      const receipt = await ctx.commitWithReceipt({
        bucket, key, expectedSequence: head?.sequence ?? 0n,
        head: { versionId: vid, sequence, manifestHash, tombstone: false, placement, copies: refs.map((r, i) => (alive[i] ? r! : null)), striped: true, committedMs, size, timeMs: manifest.timeMs, ...etagOf(manifest) },
        audit: { action: 'put', principal, timeMs: manifest.timeMs, detail: `size=${size}` },
        repair: repairWork,
      }, durable, durable.length < n);
      stats.bytes = size;
      return receipt;
    } catch (err) {
      return await ctx.abandonWrite(err, bucket, key, vid, oid, placement, created, refs); // too few sealed, or the commit failed
    } finally {
      ctx.unpin(placement, refs);
    }
  } finally {
    release();
  }
}

/**
 * Writes a version that lives entirely in its manifest copies (a tombstone, or a small object inline,
 * DESIGN.md 2): one signed copy per member of the placement, sealed durably, then the flushed commit. A
 * tombstone over nothing (no head, or a deleted one) writes nothing and resolves undefined.
 */
export async function putManifestOnly(ctx: Engine, bucket: string, key: string, inline: Uint8Array, tombstone: boolean, principal: string, meta: ManifestMetadata = {}, condition: WriteCondition = {}): Promise<Receipt | undefined> {
  await ctx.health.reprobe();
  const release = await ctx.keyLock.acquire(bucket, key);
  try {
    const head = await ctx.catalog.getHead(bucket, key);
    checkCondition(bucket, key, head, condition); // under the lock, before anything is written
    if (tombstone && (head === undefined || head.tombstone)) return undefined; // nothing to delete
    return await putManifestOnlyLocked(ctx, bucket, key, head, inline, tombstone, principal, meta);
  } finally {
    release();
  }
}

async function putManifestOnlyLocked(ctx: Engine, bucket: string, key: string, head: Head | undefined, inline: Uint8Array, tombstone: boolean, principal: string, meta: ManifestMetadata): Promise<Receipt> {
  const { k, m, blockBytes } = ctx.config;
  const versionId = randomBytes(16);
  const vid = hex(versionId);
  const sequence = (head?.sequence ?? 0n) + 1n;
  const placement = place(placementKey(bucket, key, vid), ctx.placementDisks(), ctx.rule());
  const manifest: Manifest = {
    bucket, key, versionId, sequence, size: inline.length, contentHash: blake3Sync(inline), tombstone, k, m,
    blockBytes, stripeCount: 0, placement, hashTableRoot: blake3Sync(new Uint8Array(0), { context: HASH_TABLE_CONTEXT }),
    principal, timeMs: Date.now(), signerKeyId: ctx.keyId, inline: inline.slice(), ...meta,
  };
  const { manifestHash, copy } = ctx.sign(manifest, new Uint8Array(0));
  const digest = copyDigest(copy);
  const failures: DiskFailure[] = [];
  const refs = await Promise.all(placement.map((id, i) => ctx.writeCopy(id, copy, digest, (err) => failures.push(ctx.failure(id, i, 'writing the manifest copy', err)))));
  try {
    const durable = placement.filter((_, i) => refs[i] !== undefined);
    if (durable.length < ctx.config.writeQuorum) throw ctx.quorumError(bucket, key, failures, durable.length, k + m);
    const repairWork = placement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ disk, shard }]));
    return await ctx.commitWithReceipt({
      bucket, key, expectedSequence: head?.sequence ?? 0n,
      head: { versionId: vid, sequence, manifestHash, tombstone, placement, copies: refs.map((r) => r ?? null), striped: false, committedMs: Date.now(), size: inline.length, timeMs: manifest.timeMs, ...etagOf(manifest) },
      audit: { action: tombstone ? 'delete' : 'put', principal, timeMs: manifest.timeMs, detail: tombstone ? undefined : `size=${inline.length} inline` },
      repair: repairWork,
    }, durable, durable.length < k + m);
  } catch (err) {
    return await ctx.abandonWrite(err, bucket, key, vid, hex(objectId(bucket, key)), placement, [], refs);
  } finally {
    ctx.unpin(placement, refs);
  }
}
