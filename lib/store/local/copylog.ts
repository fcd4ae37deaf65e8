/**
 * The copy log: where a disk keeps its manifest copies (DESIGN.md 2: signed manifest + hash table, and a small
 * object's bytes inline). A copy is a record appended to a preallocated, zero-filled segment file and made
 * durable with one fdatasync, instead of a new file per copy: creating, fsyncing and naming a file costs a
 * journal commit or two per copy (about 2.2 ms for six disks on one ext4 here), an fdatasync of bytes written
 * over blocks that are already allocated and written costs none (about 0.8 ms). The head of a version names
 * where each of its copies is (CopyRef); trust still comes from the signed manifest the record holds.
 *
 *   <disk>/log/<seg>.seg          segment <seg> (8 hex digits): header block, then records
 *   <disk>/log/.tmp-<seg>.seg     a segment being prepared (zero-filled, fdatasynced, then renamed into place)
 *   <disk>/log/free-<seg>.seg     a dead segment gc kept for reuse (its blocks are written: no zero-fill)
 *
 * Segment header (first SEGMENT_HEADER_BYTES, big-endian): "SVLG" | u16 format | u16 0 | u32 seg | poolId[16]
 * | zeros. Record, at a multiple of RECORD_ALIGN (records never share a 4 KiB block, so a torn write of one
 * cannot damage a neighbour that is already durable): "SVRC" | u32 payload length | u32 seg | u64 offset |
 * poolId[16] | BLAKE3(payload)[32] | u32 0 | payload | zero padding. The header binds a record to its pool and
 * position (a record copied elsewhere reads as missing), and the digest covers the payload, so a torn or
 * half-written record is recognised (a crash can leave one; it belongs to a put that never committed).
 *
 * Concurrency: offsets are reserved synchronously; a record alone on its segment is one O_DSYNC write, and
 * concurrent ones are plain writes whose fdatasyncs are grouped (one running, at most one queued that covers
 * every write finished before it starts). A segment whose write or fdatasync fails is retired at once (never
 * written or synced again, I9: after a failed fdatasync the page cache cannot be trusted); what it held that
 * was durable before stays readable. Appended records stay pinned until the caller unpins them (after its
 * commit, or after giving up), so gc never removes a segment an uncommitted put still points into. N.B. Everything here is stored bytes: change only with a new format.
 */
import { constants } from 'node:fs';
import { open, readdir, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { ErrorCode, ShardVaultError } from '../../errors.js';
import { FORMAT_VERSION } from '../../format/shard-header.js';
import { blake3Sync } from '../../hash.js';
import { fsyncDir } from './shardio.js';

/** Where a copy is: segment number, byte offset of the record, payload length. */
export interface CopyRef {
  seg: number;
  off: number;
  len: number;
}

export const LOG_DIR = 'log';
export const RECORD_ALIGN = 4096;
export const SEGMENT_HEADER_BYTES = RECORD_ALIGN;
export const RECORD_HEADER_BYTES = 72;
const SEG_MAGIC = [0x53, 0x56, 0x4c, 0x47]; // "SVLG"
const REC_MAGIC = [0x53, 0x56, 0x52, 0x43]; // "SVRC"
/** First segment a log prepares after open, doubling up to the cap (small pools and tests stay small). */
const SEGMENT_BYTES_FIRST = 1 << 20;
const SEGMENT_BYTES_MAX = 32 << 20;
/** A record longer than this gets a segment of its own (a hash table of a very large object). */
const SHARED_RECORD_MAX = SEGMENT_BYTES_FIRST / 2;
const ZERO_CHUNK = new Uint8Array(1 << 20);

export function segmentName(seg: number): string {
  return `${seg.toString(16).padStart(8, '0')}.seg`;
}

export function segmentPath(diskPath: string, seg: number): string {
  return join(diskPath, LOG_DIR, segmentName(seg));
}

/** The segment number of a segment file name; 'temporary' for one being prepared; undefined for others. */
export function parseSegmentName(name: string): number | 'temporary' | 'free' | undefined {
  if (name.startsWith('.tmp-')) return 'temporary';
  if (/^free-[0-9a-f]{8}\.seg$/.test(name)) return 'free';
  const g = /^([0-9a-f]{8})\.seg$/.exec(name);
  return g === null ? undefined : parseInt(g[1], 16);
}

export function recordBytes(payloadLength: number): number {
  return Math.ceil((RECORD_HEADER_BYTES + payloadLength) / RECORD_ALIGN) * RECORD_ALIGN;
}

/** BLAKE3 of a payload: computed once per put, written into the record on every disk. */
export function payloadDigest(payload: Uint8Array): Uint8Array {
  return blake3Sync(payload);
}

/** The bytes of a record holding `payload` at byte `off` of segment `seg` (tools and tests forge with it too). */
export function encodeRecord(poolId: Uint8Array, seg: number, off: number, payload: Uint8Array, digest = payloadDigest(payload)): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length); // the padding is already zero on disk
  const v = new DataView(out.buffer);
  out.set(REC_MAGIC, 0);
  v.setUint32(4, payload.length);
  v.setUint32(8, seg);
  v.setBigUint64(12, BigInt(off));
  out.set(poolId, 20);
  out.set(digest, 36);
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

function encodeSegmentHeader(poolId: Uint8Array, seg: number): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set(SEG_MAGIC, 0);
  v.setUint16(4, FORMAT_VERSION);
  v.setUint32(8, seg);
  out.set(poolId, 12);
  return out;
}

/** The payload of the record at `off` in `bytes` (a read of the record or of a whole segment), or why not. */
function decodeRecord(bytes: Uint8Array, at: number, poolId: Uint8Array, seg: number, off: number, expectedLength?: number): Uint8Array | string {
  if (bytes.length - at < RECORD_HEADER_BYTES) return 'short read';
  if (REC_MAGIC.some((c, i) => bytes[at + i] !== c)) return 'no record there';
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_BYTES);
  const len = v.getUint32(4);
  if (v.getUint32(8) !== seg || v.getBigUint64(12) !== BigInt(off)) return 'record of another position (moved or left from an earlier use)';
  if (Buffer.compare(bytes.subarray(at + 20, at + 36), poolId) !== 0) return 'record of another pool';
  if (expectedLength !== undefined && len !== expectedLength) return 'record length differs from the reference';
  if (len > bytes.length - at - RECORD_HEADER_BYTES) return 'record runs past the end';
  const payload = bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len);
  if (Buffer.compare(payloadDigest(payload), bytes.subarray(at + 36, at + 68)) !== 0) return 'payload digest mismatch (torn or altered)';
  return payload;
}

/** Reads and checks the record `ref` names on the disk at `diskPath`; throws ERR_SV_CORRUPT or an I/O error. */
export async function readRecord(diskPath: string, ref: CopyRef, poolId: Uint8Array): Promise<Uint8Array> {
  if (!Number.isSafeInteger(ref.off) || ref.off < SEGMENT_HEADER_BYTES || ref.off % RECORD_ALIGN !== 0 || !Number.isSafeInteger(ref.len) || ref.len < 0) {
    throw new ShardVaultError(ErrorCode.CORRUPT, 'copy reference out of range');
  }
  const fh = await open(segmentPath(diskPath, ref.seg), 'r');
  try {
    const buf = new Uint8Array(RECORD_HEADER_BYTES + ref.len);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, ref.off + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    const r = decodeRecord(buf.subarray(0, got), 0, poolId, ref.seg, ref.off, ref.len);
    if (typeof r === 'string') throw new ShardVaultError(ErrorCode.CORRUPT, `copy at ${segmentName(ref.seg)}+${ref.off}: ${r}`);
    return r;
  } finally {
    await fh.close();
  }
}

/**
 * Every intact record of a segment's bytes (catalog rebuild): tried at each aligned offset, since a torn
 * record's length cannot be trusted to skip over it.
 */
export function* scanSegment(bytes: Uint8Array, seg: number, poolId: Uint8Array): Generator<{ ref: CopyRef; payload: Uint8Array }> {
  if (bytes.length < SEGMENT_HEADER_BYTES || SEG_MAGIC.some((c, i) => bytes[i] !== c) || Buffer.compare(bytes.subarray(12, 28), poolId) !== 0) return;
  for (let off = SEGMENT_HEADER_BYTES; off + RECORD_HEADER_BYTES <= bytes.length; off += RECORD_ALIGN) {
    if (bytes[off] !== REC_MAGIC[0]) continue;
    const r = decodeRecord(bytes, off, poolId, seg, off);
    if (typeof r === 'string') continue;
    yield { ref: { seg, off, len: r.length }, payload: r };
    off += recordBytes(r.length) - RECORD_ALIGN;
  }
}

interface Segment {
  seg: number;
  fh: FileHandle;
  /** The same file opened O_DSYNC. */
  dsync: FileHandle;
  size: number;
  next: number;
  /** Writes and syncs in flight: the handle is closed once the segment is retired and this reaches 0. */
  ops: number;
  retired: boolean;
  broken: boolean;
  syncing?: Promise<void>;
  queuedSync?: Promise<void>;
}

/** The copy log of one disk, for the one process that holds the pool lock. */
export class CopyLog {
  readonly #diskPath: string;
  readonly #dir: string;
  readonly #dev: number | undefined;
  readonly #poolId: Uint8Array;
  #nextSeg: number | undefined;
  #segBytes = SEGMENT_BYTES_FIRST;
  #current: Segment | undefined;
  #spare: Promise<Segment> | undefined;
  #rolling: Promise<void> | undefined;
  readonly #pins = new Map<number, number>();
  readonly #unpinnedMs = new Map<number, number>();
  /** Segments this log is writing or preparing: never garbage while this process may still write them. */
  readonly #live = new Set<number>();
  #closed = false;

  constructor(diskPath: string, poolId: Uint8Array, dev?: number) {
    this.#diskPath = diskPath;
    this.#dir = join(diskPath, LOG_DIR);
    this.#poolId = poolId;
    this.#dev = dev;
  }

  /**
   * Appends `payload` as one record and resolves once it is durable, with its reference, pinned (see unpin).
   * Throws when the disk fails any step; the record is then not durable and the caller drops this disk.
   */
  async append(payload: Uint8Array, digest = payloadDigest(payload)): Promise<CopyRef> {
    try {
      return await this.#append(payload, digest);
    } catch (err) {
      throw ioError(err, this.#diskPath);
    }
  }

  async #append(payload: Uint8Array, digest: Uint8Array): Promise<CopyRef> {
    if (this.#closed) throw new ShardVaultError(ErrorCode.IO, 'copy log closed');
    const slot = recordBytes(payload.length);
    if (slot > SHARED_RECORD_MAX) return this.#appendAlone(payload, digest);
    const { s, off } = await this.#reserve(slot);
    const ref = { seg: s.seg, off, len: payload.length };
    this.#pin(ref.seg);
    s.ops++;
    try {
      const rec = encodeRecord(this.#poolId, s.seg, off, payload, digest);
      if (s.ops === 1 && s.syncing === undefined) {
        // Alone on the segment: one O_DSYNC write is durable when it returns (one thread-pool trip, and on
        // a device with FUA no cache flush at all). With others in flight, plain writes share a grouped sync.
        await writeAll(s.dsync, rec, off);
      } else {
        await writeAll(s.fh, rec, off);
        await this.#sync(s);
      }
      return ref;
    } catch (err) {
      s.broken = true;
      this.unpin(ref);
      throw err;
    } finally {
      this.#opDone(s);
    }
  }

  /**
   * Erases a record this process appended and no head points to (a put that failed before its commit), so
   * that neither a catalog rebuild nor anything else can take it for a copy: a record alone in its segment
   * goes with its segment file; a record in a shared segment has its header overwritten with zeros (the
   * record's blocks are its own, RECORD_ALIGN; no other record is touched) and fdatasynced. Throws when the
   * disk refuses; the record is then dead space until gc removes its segment. Call before unpinning it.
   */
  async erase(ref: CopyRef): Promise<void> {
    const file = segmentPath(this.#diskPath, ref.seg);
    if (ref.off === SEGMENT_HEADER_BYTES && recordBytes(ref.len) > SHARED_RECORD_MAX) {
      await unlink(file);
      await fsyncDir(this.#dir);
      return;
    }
    const fh = await open(file, 'r+');
    try {
      await writeAll(fh, new Uint8Array(RECORD_HEADER_BYTES), ref.off);
      await fh.datasync();
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** Releases the pin of an appended record: its segment may be collected once nothing live points into it. */
  unpin(ref: CopyRef): void {
    this.#unpinnedMs.set(ref.seg, Date.now());
    const n = (this.#pins.get(ref.seg) ?? 0) - 1;
    if (n <= 0) this.#pins.delete(ref.seg);
    else this.#pins.set(ref.seg, n);
  }

  /**
   * Whether this process may still write segment `seg`, has uncommitted records in it, or released one at or
   * after `sinceMs` (a commit a gc walk that started then may not have seen).
   */
  inUse(seg: number, sinceMs: number): boolean {
    return this.#pins.has(seg) || this.#live.has(seg) || (this.#unpinnedMs.get(seg) ?? -Infinity) >= sinceMs;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#rolling?.catch(() => undefined);
    const spare = await this.#spare?.catch(() => undefined);
    const current = this.#current;
    this.#current = undefined;
    this.#spare = undefined;
    // The current segment is cut back to what was written (its zeroed tail is free space again, and gc sees
    // how full it really is); a prepared spare was never written: it goes. Neither needs to be durable: a
    // longer file or a leftover spare after a power cut is only zeros that gc accounts for later.
    if (current !== undefined) {
      this.#retire(current);
      if (current.ops === 0 && !current.broken) await truncate(segmentPath(this.#diskPath, current.seg), current.next).catch(() => undefined);
    }
    if (spare !== undefined) {
      this.#retire(spare);
      await unlink(segmentPath(this.#diskPath, spare.seg)).catch(() => undefined);
    }
  }

  #pin(seg: number): void {
    this.#pins.set(seg, (this.#pins.get(seg) ?? 0) + 1);
  }

  #opDone(s: Segment): void {
    s.ops--;
    if (s.retired && s.ops === 0) void closeSegment(s);
  }

  #retire(s: Segment): void {
    s.retired = true;
    this.#live.delete(s.seg);
    if (s.ops === 0) void closeSegment(s);
  }

  async #reserve(slot: number): Promise<{ s: Segment; off: number }> {
    for (;;) {
      const s = this.#current;
      if (s !== undefined && !s.broken && !s.retired && s.next + slot <= s.size) {
        const off = s.next;
        s.next += slot;
        // Past half: the next segment is prepared in the background, so a roll-over rarely waits.
        if (s.next > s.size / 2 && this.#spare === undefined) this.#spare = this.#startPrepare();
        return { s, off };
      }
      this.#rolling ??= (async () => {
        const next = this.#spare ?? this.#startPrepare();
        this.#spare = undefined;
        const seg = await next;
        if (this.#current !== undefined) this.#retire(this.#current);
        this.#current = seg;
      })().finally(() => {
        this.#rolling = undefined;
      });
      await this.#rolling;
    }
  }

  #startPrepare(): Promise<Segment> {
    const size = this.#segBytes;
    this.#segBytes = Math.min(SEGMENT_BYTES_MAX, this.#segBytes * 2);
    const p = this.#prepare(size);
    p.catch(() => undefined); // a failed background preparation is reported to the append that needs it
    return p;
  }

  async #segmentNumber(): Promise<number> {
    if (this.#nextSeg === undefined) {
      let max = -1;
      for (const f of await readdir(this.#dir)) {
        const n = parseSegmentName(f);
        if (n === 'temporary') await unlink(join(this.#dir, f)).catch(() => undefined); // this process holds the lock
        // A free segment's last number (and so every number its old records name: each reuse takes a higher
        // one) is never given out again.
        else if (n === 'free') max = Math.max(max, parseInt(f.slice(5, 13), 16));
        else if (n !== undefined) max = Math.max(max, n);
      }
      this.#nextSeg ??= max + 1;
    }
    const seg = this.#nextSeg++;
    this.#live.add(seg);
    return seg;
  }

  /**
   * A new segment file: header, then `body` (zeros for a shared segment, or one record), fdatasynced under a
   * temporary name, renamed into place, directory fsynced. Removed again when any step fails.
   */
  async #create(seg: number, body: (fh: FileHandle) => Promise<void>, recycled?: string): Promise<string> {
    const tmp = join(this.#dir, `.tmp-${segmentName(seg)}`);
    const final = join(this.#dir, segmentName(seg));
    try {
      if (recycled !== undefined) await rename(recycled, tmp);
      const fh = await open(tmp, recycled !== undefined ? 'r+' : 'wx', 0o600);
      try {
        if (this.#dev !== undefined && (await fh.stat()).dev !== this.#dev) throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${this.#diskPath} is on another device now`);
        await writeAll(fh, encodeSegmentHeader(this.#poolId, seg), 0);
        await body(fh);
        await fh.datasync();
      } finally {
        await fh.close().catch(() => undefined);
      }
      await rename(tmp, final);
      await fsyncDir(this.#dir);
      return final;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      this.#live.delete(seg);
      throw err;
    }
  }

  /**
   * A shared segment of `size` bytes, zero-filled so appends overwrite allocated, written blocks; or a free
   * segment gc recycled (its blocks are written already), under a new number with a new header, whatever its
   * size. The records left in a recycled segment name their old segment number, so they are not records of
   * the new one: reads and scans skip them.
   */
  async #prepare(size: number): Promise<Segment> {
    const free = (await listSegments(this.#diskPath)).free[0];
    if (free !== undefined) {
      const seg = await this.#segmentNumber();
      try {
        const final = await this.#create(seg, async () => undefined, free.path);
        return await this.#openShared(seg, final, free.size);
      } catch {
        // Gone meanwhile, or unusable: a fresh one below.
      }
    }
    const seg = await this.#segmentNumber();
    const final = await this.#create(seg, async (fh) => {
      for (let at = SEGMENT_HEADER_BYTES; at < size; at += ZERO_CHUNK.length) await writeAll(fh, ZERO_CHUNK.subarray(0, Math.min(ZERO_CHUNK.length, size - at)), at);
    });
    return this.#openShared(seg, final, size);
  }

  async #openShared(seg: number, final: string, size: number): Promise<Segment> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(final, 'r+');
      const dsync = await open(final, constants.O_RDWR | constants.O_DSYNC);
      return { seg, fh, dsync, size, next: SEGMENT_HEADER_BYTES, ops: 0, retired: false, broken: false };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      this.#live.delete(seg);
      throw err;
    }
  }

  /** A record too long to share a segment gets one of its own (as costly as a file per copy, and as rare). */
  async #appendAlone(payload: Uint8Array, digest: Uint8Array): Promise<CopyRef> {
    const seg = await this.#segmentNumber();
    const ref = { seg, off: SEGMENT_HEADER_BYTES, len: payload.length };
    this.#pin(seg); // before it leaves #live: a gc walk must never see it unpinned and unowned
    try {
      await this.#create(seg, (fh) => writeAll(fh, encodeRecord(this.#poolId, seg, SEGMENT_HEADER_BYTES, payload, digest), SEGMENT_HEADER_BYTES));
    } catch (err) {
      this.unpin(ref);
      throw err;
    } finally {
      this.#live.delete(seg);
    }
    return ref;
  }

  /** Resolves once every write to `s` that finished before the call is durable (grouped fdatasync). */
  #sync(s: Segment): Promise<void> {
    const run = (): Promise<void> => {
      if (s.broken) return Promise.reject(new ShardVaultError(ErrorCode.IO, `segment ${segmentName(s.seg)} failed earlier`));
      s.ops++;
      const p = s.fh.datasync().catch((err: unknown) => {
        s.broken = true;
        throw err;
      }).finally(() => {
        if (s.syncing === p) s.syncing = undefined;
        this.#opDone(s);
      });
      s.syncing = p;
      return p;
    };
    if (s.syncing === undefined) return run();
    // A sync is running: it may have started before this write finished, so this one needs the next sync.
    s.queuedSync ??= s.syncing.catch(() => undefined).then(() => {
      s.queuedSync = undefined;
      return run();
    });
    return s.queuedSync;
  }
}

/** Segment numbers present on a disk (gc, rebuild); temporary ones separately. */
export async function listSegments(diskPath: string): Promise<{ segments: number[]; temporary: string[]; free: Array<{ path: string; size: number }> }> {
  const segments: number[] = [];
  const temporary: string[] = [];
  const free: Array<{ path: string; size: number }> = [];
  for (const f of await readdir(join(diskPath, LOG_DIR)).catch(() => [] as string[])) {
    const n = parseSegmentName(f);
    if (n === 'temporary') temporary.push(join(diskPath, LOG_DIR, f));
    else if (n === 'free') {
      const path = join(diskPath, LOG_DIR, f);
      const st = await stat(path).catch(() => null);
      if (st !== null) free.push({ path, size: st.size });
    } else if (n !== undefined) segments.push(n);
  }
  return { segments: segments.sort((a, b) => a - b), temporary, free };
}

/** Free segments kept per disk for reuse (each up to SEGMENT_BYTES_MAX); more are removed. */
export const FREE_SEGMENTS_MAX = 4;

/**
 * Retires a dead segment (nothing points into it): kept as a free segment for reuse when it is at least a
 * first segment's size and fewer than FREE_SEGMENTS_MAX are kept, else removed. Returns which.
 */
export async function releaseSegment(diskPath: string, seg: number, freeCount: number): Promise<'recycled' | 'removed'> {
  const file = segmentPath(diskPath, seg);
  const st = await stat(file).catch(() => null);
  if (st !== null && st.size >= SEGMENT_BYTES_FIRST && freeCount < FREE_SEGMENTS_MAX) {
    try {
      await rename(file, join(diskPath, LOG_DIR, `free-${segmentName(seg)}`));
      return 'recycled';
    } catch {
      // fall through: removed
    }
  }
  await unlink(file).catch(() => undefined);
  return 'removed';
}

/** Any failure of an append as ERR_SV_IO (errno name, syscall and path kept), whatever layer raised it. */
function ioError(err: unknown, diskPath: string): ShardVaultError {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof ShardVaultError || (typeof e.code === 'string' && e.code.startsWith('ERR_SV_'))) return err as ShardVaultError; // the addon's
  return new ShardVaultError(ErrorCode.IO, `copy log on ${diskPath}: ${e.code ?? ''} ${e.message}`.trim(), {
    cause: err, ...(typeof e.errno === 'number' ? { errno: -Math.abs(e.errno) } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}), ...(e.path !== undefined ? { path: e.path } : {}),
  });
}

async function closeSegment(s: Segment): Promise<void> {
  await Promise.all([s.fh.close().catch(() => undefined), s.dsync.close().catch(() => undefined)]);
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) done += (await fh.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
}
