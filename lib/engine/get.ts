/**
 * The read side of the stripe layout (issue 11: engine/get.ts): a verified block and stripe reader that get
 * and repair share (decode-then-verify, I3), and the range reader over a manifest's striped bodies that get
 * streams. Takes its collaborators as a context (the codec, where a shard file is, error counting).
 */
import type { ReedSolomon } from '../codec.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import { blockHash } from '../format/manifest-copy.js';
import { HEADER_BYTES } from '../format/shard-header.js';
import { blake3Sync, createBlake3 } from '../hash.js';
import { readRange } from '../store/local/shardio.js';
import { throwIfAborted } from '../abort.js';
import type { Body } from './bodies.js';

/** What a StripeReader needs from the Vault that runs it. */
export interface StripeReadContext {
  readonly codec: ReedSolomon;
  /** The shard file of shard `shard` of body `vid` of object `oid` on a readable disk, or undefined. */
  shardPath(diskId: string, oid: string, vid: string, shard: number): string | undefined;
  countError(diskId: string, kind: 'read' | 'write'): void;
}

export class StripeReader {
  readonly #ctx: StripeReadContext;

  constructor(ctx: StripeReadContext) {
    this.#ctx = ctx;
  }

  /** Reads block `stripe` of shard `shard`, verified; an unreadable or mismatching block is an erasure. */
  async readBlock(placement: string[], oid: string, vid: string, shard: number, stripe: number, blockBytes: number, expected: Uint8Array): Promise<{ data: Uint8Array; ok: boolean }> {
    const file = this.#ctx.shardPath(placement[shard], oid, vid, shard);
    if (file === undefined) return { data: new Uint8Array(blockBytes), ok: false };
    try {
      const r = await readRange(file, HEADER_BYTES + stripe * blockBytes, blockBytes, { blockBytes, expectedHashes: expected });
      return { data: r.data, ok: r.ok![0] }; // r.data is the buffer the pool thread read into: no copy
    } catch {
      this.#ctx.countError(placement[shard], 'read');
      return { data: new Uint8Array(blockBytes), ok: false };
    }
  }

  /**
   * Reads stripe `s`: the data blocks in `need` first (default all k; a range read asks only for the blocks it
   * covers); when any is bad, every other block too, then reconstructs the missing needed blocks (or every
   * missing block with `allBlocks`) and verifies the rebuilt blocks (decode-then-verify, I3). Returns the k + m
   * blocks (complete where asked for) and which shards were found bad.
   */
  async readStripe(body: Body, s: number, allBlocks: boolean, need?: readonly number[]): Promise<{ blocks: Uint8Array[]; bad: number[] }> {
    const { k, m, blockBytes, placement, bucket, key, oid, vid, hashTable } = body;
    const n = k + m;
    const blocks: Uint8Array[] = new Array(n);
    const present: boolean[] = new Array(n).fill(false);
    const read = async (i: number) => {
      const r = await this.readBlock(placement, oid, vid, i, s, blockBytes, blockHash(hashTable, n, s, i));
      blocks[i] = r.data;
      present[i] = r.ok;
    };
    const wanted = allBlocks ? Array.from({ length: n }, (_, i) => i) : need ?? Array.from({ length: k }, (_, i) => i);
    await Promise.all(wanted.map(read));
    if (!allBlocks && wanted.every((i) => present[i])) return { blocks, bad: [] };
    await Promise.all(Array.from({ length: n }, (_, i) => i).filter((i) => !wanted.includes(i)).map(read));
    const bad = present.flatMap((p, i) => (p ? [] : [i]));
    const good = n - bad.length;
    if (good < k) {
      throw new ShardVaultError(ErrorCode.CORRUPT, `stripe ${s} of ${bucket}/${key}: only ${good} of ${n} blocks verify, ${k} needed`);
    }
    const targets = wanted.filter((i) => !present[i]);
    if (targets.length > 0) {
      await this.#ctx.codec.reconstruct(blocks, { present, targets });
      for (const t of targets) {
        if (Buffer.compare(blake3Sync(blocks[t]), blockHash(hashTable, n, s, t)) !== 0) {
          throw new ShardVaultError(ErrorCode.CORRUPT, `stripe ${s} block ${t} of ${bucket}/${key} does not verify after reconstruction`);
        }
      }
    }
    return { blocks, bad };
  }
}

/**
 * Streams bytes [start, end) of an object made of `bodies` (one for a plain object, one per part), stripe by
 * stripe: only the stripes of the range are read, and only the data blocks each stripe's piece covers unless
 * one is bad; a body read whole is checked against its content hash before its last piece is delivered. Bad
 * shards met go to `addBad(shard, part)`; `report` runs once, before the range's last piece is yielded.
 */
export async function* readBodies(reader: StripeReader, bodies: Body[], range: { bucket: string; key: string; start: number; end: number; signal?: AbortSignal }, addBad: (shard: number, part?: number) => void, report: () => Promise<void>): AsyncGenerator<Uint8Array> {
  const { bucket, key, start, end, signal } = range;
  if (bodies.length === 0) return;
  const { k, blockBytes } = bodies[0];
  const stripeBytes = k * blockBytes;
  const overlaps = (b: Body) => Math.min(end, b.offset + b.size) > Math.max(start, b.offset);
  let lastBody = -1;
  bodies.forEach((b, i) => {
    if (overlaps(b)) lastBody = i;
  });
  for (const [bi, body] of bodies.entries()) {
    if (!overlaps(body)) continue;
    // This body's part of the range, in body coordinates; its content hash is checked when it is read whole.
    const bStart = Math.max(start, body.offset) - body.offset;
    const bEnd = Math.min(end, body.offset + body.size) - body.offset;
    const content = bStart === 0 && bEnd === body.size ? createBlake3() : null;
    const firstStripe = Math.floor(bStart / stripeBytes);
    const lastStripe = Math.floor((bEnd - 1) / stripeBytes);
    for (let s = firstStripe; s <= lastStripe; s++) {
      throwIfAborted(signal, 'get');
      const from = Math.max(bStart - s * stripeBytes, 0);
      const to = Math.min(bEnd - s * stripeBytes, stripeBytes);
      const need = Array.from({ length: k }, (_, i) => i).filter((i) => i * blockBytes < to && (i + 1) * blockBytes > from);
      const { blocks, bad: badHere } = await reader.readStripe(body, s, false, need);
      for (const b of badHere) addBad(b, body.part);
      // The range's part of each data block, as views (no copy): one piece per block.
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < k; i++) {
        const lo = Math.max(from, i * blockBytes);
        const hi = Math.min(to, (i + 1) * blockBytes);
        if (hi > lo) pieces.push(blocks[i].subarray(lo - i * blockBytes, hi - i * blockBytes));
      }
      if (content !== null) await content.updateAsync(pieces); // on the pool: the main thread stays free
      if (content !== null && s === lastStripe && Buffer.compare(content.digest(), body.contentHash) !== 0) {
        throw new ShardVaultError(ErrorCode.CORRUPT, `${bucket}/${key}${body.part !== undefined ? ` part ${body.part + 1}` : ''}: content hash mismatch`);
      }
      if (bi === lastBody && s === lastStripe) await report();
      for (const piece of pieces) yield piece;
    }
  }
}
