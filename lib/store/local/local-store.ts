/**
 * LocalStore: a directory disk as a ShardStore (lib/store/shard-store.ts). Each member does what lib/vault.ts
 * does with paths and node:fs today, so the engine can be switched over to the seam without changing a stored
 * byte: shard files under objects/<ff>/ (lib/store/local/layout.ts), written through the durable writer
 * (lib/store/local/shardio.ts), manifest copies in the disk's copy log (lib/store/local/copylog.ts).
 */
import { readdir, readFile, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { ErrorCode, ShardVaultError } from '../../errors.js';
import type {
  CopyRef, MemberConfig, ReadVerify, ShardName, ShardRead, ShardSink, ShardStore, StoreProblem, StoreProvider, StoreSpace, StoredItem, SweepResult,
} from '../shard-store.js';
import {
  CopyLog, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, listSegments, readRecord, recordBytes, releaseSegment, scanSegment, segmentPath,
  type CopyRef as LogRef,
} from './copylog.js';
import { diskCondition, formatDisk, mkdirDurable, writeFileDurable } from './disk.js';
import { RECORDS_DIR, fanoutDirs, objectDir, parseFileName, shardFileName } from './layout.js';
import { openShardWriter, readRange } from './shardio.js';
import { RECORD_BYTES_MAX, checkRecord, checkShardName } from '../names.js';
import { prepareDisk } from './preflight.js';

/**
 * The copy-log reference inside an opaque CopyRef. The catalog hands back whatever it stored, so a reference
 * that is not one of ours (a torn catalog value, another store's) is refused as corrupt instead of reaching
 * the file system as a NaN offset or a negative segment number.
 */
function logRef(ref: CopyRef): LogRef {
  const valid = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof ref !== 'object' || ref === null || !valid(ref.seg) || !valid(ref.off) || !valid(ref.len)) {
    throw new ShardVaultError(ErrorCode.CORRUPT, 'malformed copy reference (expected non-negative integers seg, off, len)');
  }
  return { seg: ref.seg, off: ref.off, len: ref.len };
}

export class LocalStore implements ShardStore {
  readonly id: string;
  readonly #member: MemberConfig;
  readonly #poolId: string;
  readonly #poolIdBytes: Uint8Array;
  /** The disk's copy log, opened at the first copy written (as Vault.#log). */
  #log: CopyLog | undefined;

  readonly compaction = { sparse: (live: Iterable<CopyRef>, graceMs: number, nowMs: number) => this.#sparse(live, graceMs, nowMs) };
  readonly paths = {
    shardFile: (name: ShardName) => this.#shardFile(name),
    copyRecord: (ref: CopyRef) => {
      const r = logRef(ref);
      return { file: segmentPath(this.#member.path, r.seg), offset: r.off, length: RECORD_HEADER_BYTES + r.len };
    },
  };

  constructor(member: MemberConfig, poolId: string) {
    this.id = member.id;
    this.#member = member;
    this.#poolId = poolId;
    this.#poolIdBytes = Buffer.from(poolId, 'hex');
  }

  async check(): Promise<StoreProblem | undefined> {
    return diskCondition(this.#member, this.#poolId);
  }

  async createShard(name: ShardName, options?: { replace?: boolean }): Promise<ShardSink> {
    const { oid, id, shard } = checkShardName(name);
    const replace = options?.replace === true;
    // A new shard is created under its final name (its visibility is the catalog's commit); a repair's rewrite
    // goes through a temporary file renamed over the bad one, so a crash never leaves the old one torn.
    const w = await openShardWriter(objectDir(this.#member.path, oid), shardFileName(oid, id, shard), { expectDev: this.#member.dev, direct: !replace });
    return {
      append: (bytes) => w.append(bytes),
      pwrite: (bytes, offset) => w.pwrite(bytes, offset),
      seal: () => (replace ? w.seal({ replace: true }) : w.seal()),
      abort: () => w.abort().catch(() => undefined),
    };
  }

  async readShard(name: ShardName, offset: number, length: number, verify?: ReadVerify): Promise<ShardRead> {
    const file = this.#shardFile(name);
    return readRange(file, offset, length, verify === undefined ? undefined : { blockBytes: verify.blockBytes, expectedHashes: verify.expectedHashes });
  }

  async statShard(name: ShardName): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const st = await stat(this.#shardFile(name));
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeShard(name: ShardName): Promise<boolean> {
    return unlink(this.#shardFile(name)).then(() => true, () => false);
  }

  async *listShards(): AsyncIterable<StoredItem> {
    for (const fan of fanoutDirs()) {
      const dir = join(this.#member.path, 'objects', fan);
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        const parsed = parseFileName(f);
        if (parsed.kind === 'unknown') continue; // not ours: never listed, so never removed
        const file = join(dir, f);
        const st = await stat(file).catch(() => null);
        if (st === null) continue; // gone meanwhile (a writer sealed or aborted it)
        if (parsed.kind === 'temporary') yield { kind: 'temporary', handle: file, mtimeMs: st.mtimeMs };
        else yield { kind: 'shard', name: { oid: parsed.oid, id: parsed.versionId, shard: parsed.shard }, mtimeMs: st.mtimeMs };
      }
    }
  }

  async removeTemporary(handle: string): Promise<void> {
    // The handle is a path listShards made: anything else (outside the fan-out directories, not a writer's
    // temporary name) is refused rather than unlinked.
    const fan = typeof handle === 'string' ? basename(dirname(handle)) : '';
    if (typeof handle !== 'string' || parseFileName(basename(handle)).kind !== 'temporary' || dirname(handle) !== join(this.#member.path, 'objects', fan) ||
      !fanoutDirs().includes(fan)) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `not a temporary file of store ${this.id}: ${String(handle)}`);
    }
    await unlink(handle).catch(() => undefined);
  }

  async appendCopy(copy: Uint8Array, digest?: Uint8Array): Promise<CopyRef> {
    const { seg, off, len } = await this.#openLog().append(copy, digest);
    return { seg, off, len };
  }

  async readCopy(ref: CopyRef): Promise<Uint8Array> {
    return readRecord(this.#member.path, logRef(ref), this.#poolIdBytes);
  }

  async eraseCopy(ref: CopyRef): Promise<void> {
    return this.#openLog().erase(logRef(ref));
  }

  unpinCopy(ref: CopyRef): void {
    const r = logRef(ref); // refused even when no log is open, so a bad reference never passes unnoticed
    this.#log?.unpin(r);
  }

  async *scanCopies(): AsyncIterable<{ ref: CopyRef; payload: Uint8Array }> {
    for (const seg of (await listSegments(this.#member.path)).segments) {
      const bytes = await readFile(segmentPath(this.#member.path, seg)).catch(() => undefined);
      if (bytes === undefined) continue;
      // Torn records (a crash mid-append) are not records: the scan skips them.
      for (const { ref: { off, len }, payload } of scanSegment(bytes, seg, this.#poolIdBytes)) yield { ref: { seg, off, len }, payload };
    }
  }

  async sweepCopies(live: Iterable<CopyRef>, options: { graceMs: number; nowMs: number; removeTemporary: boolean }): Promise<SweepResult> {
    const { graceMs, nowMs, removeTemporary } = options;
    const referenced = new Set<number>();
    for (const r of live) referenced.add(logRef(r).seg);
    const old = async (file: string) => {
      const st = await stat(file).catch(() => null);
      return st !== null && nowMs - st.mtimeMs >= graceMs;
    };
    const { segments, temporary, free } = await listSegments(this.#member.path);
    let freeCount = free.length;
    let temporaryRemoved = 0;
    for (const file of temporary) {
      if (this.#log !== undefined && !removeTemporary) continue; // this process may be preparing it
      if (removeTemporary || (await old(file))) {
        await unlink(file).catch(() => undefined);
        temporaryRemoved++;
      }
    }
    const present = new Set<number>();
    let removed = 0;
    for (const seg of segments) {
      if (referenced.has(seg) || this.#log?.inUse(seg, nowMs) === true || !(await old(segmentPath(this.#member.path, seg)))) {
        present.add(seg);
        continue;
      }
      // Dead: kept for reuse (up to a few per disk; no zero-fill for the next segment) or removed.
      if ((await releaseSegment(this.#member.path, seg, freeCount)) === 'recycled') freeCount++;
      removed++;
    }
    return { removed, temporaryRemoved, holds: (ref) => present.has(logRef(ref).seg) };
  }

  async writeRecord(name: string, bytes: Uint8Array): Promise<void> {
    checkRecord(name, bytes);
    // Made on first use: disks formatted before pool records existed have no such directory.
    await mkdirDurable(join(this.#member.path, RECORDS_DIR));
    await writeFileDurable(join(this.#member.path, RECORDS_DIR, name), bytes, 0o644);
  }

  async readRecord(name: string): Promise<Uint8Array | undefined> {
    checkRecord(name);
    const path = join(this.#member.path, RECORDS_DIR, name);
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) return undefined;
    // Bounded before reading: a record file grown by someone else is refused, not read into memory whole.
    if (st.size > RECORD_BYTES_MAX) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `pool record ${path} is ${st.size} bytes, more than ${RECORD_BYTES_MAX}`);
    return new Uint8Array(await readFile(path));
  }

  async space(): Promise<StoreSpace> {
    const fs = await statfs(this.#member.path).catch(() => undefined);
    // Space the copy log takes (segments, preallocated ones included), what gc's compaction works on.
    const { segments } = await listSegments(this.#member.path);
    let bytes = 0;
    for (const seg of segments) bytes += (await stat(segmentPath(this.#member.path, seg)).catch(() => ({ size: 0 }))).size;
    return { ...(fs === undefined ? {} : { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize }), copies: { segments: segments.length, bytes } };
  }

  async close(): Promise<void> {
    const log = this.#log;
    this.#log = undefined;
    await log?.close();
  }

  #openLog(): CopyLog {
    this.#log ??= new CopyLog(this.#member.path, this.#poolIdBytes, this.#member.dev);
    return this.#log;
  }

  #shardFile(name: ShardName): string {
    const { oid, id, shard } = checkShardName(name);
    return join(objectDir(this.#member.path, oid), shardFileName(oid, id, shard));
  }

  /** The sparse-segment part of Vault.#compact: old, not being written, and under half live. */
  async #sparse(live: Iterable<CopyRef>, graceMs: number, nowMs: number): Promise<{ count: number; has(ref: CopyRef): boolean }> {
    const used = new Map<number, number>(); // seg -> live record bytes
    for (const ref of live) {
      const r = logRef(ref);
      used.set(r.seg, (used.get(r.seg) ?? 0) + recordBytes(r.len));
    }
    const sparse = new Set<number>();
    for (const seg of (await listSegments(this.#member.path)).segments) {
      const bytes = used.get(seg);
      if (bytes === undefined || this.#log?.inUse(seg, nowMs) === true) continue;
      const st = await stat(segmentPath(this.#member.path, seg)).catch(() => null);
      if (st === null || nowMs - st.mtimeMs < graceMs || st.size <= SEGMENT_HEADER_BYTES) continue;
      if (bytes < (st.size - SEGMENT_HEADER_BYTES) / 2) sparse.add(seg);
    }
    return { count: sparse.size, has: (ref) => sparse.has(logRef(ref).seg) };
  }
}

/** Directory disks: the pool members of a Vault today. */
export const localStores: StoreProvider = {
  open: (member, poolId) => new LocalStore(member, poolId),
  prepare: (spec, poolId, isMember) => prepareDisk(spec, poolId, isMember),
  format: (member, poolId) => formatDisk(member, poolId),
};
