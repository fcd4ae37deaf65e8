/**
 * MemoryStore: a ShardStore held in memory, for fast engine tests. It keeps the contract of a directory disk
 * (lib/store/local/local-store.ts) where the engine can tell: create-only names, durable only once sealed,
 * verified ranged reads (per-block ok flags, ERR_SV_SHORT_READ), copies in containers that a sweep removes once
 * nothing references them. On top, faults a test turns on: an operation kind failing with an errno (once,
 * always, every Nth call), a flipped bit in returned shard bytes or copies, a condition reported by check(),
 * and crash(), which loses what a power cut would lose.
 */
import { constants } from 'node:os';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { blake3Sync } from '../hash.js';
import { checkRecord, checkShardName } from './names.js';
import type {
  CopyRef, MemberConfig, ReadVerify, ShardName, ShardRead, ShardSink, ShardStore, StoreProblem, StoreProvider, StoreSpace, StoredItem, SweepResult,
} from './shard-store.js';

/** The operation kinds a fault can hit; a sink's pwrite counts as an append (both are writes to the shard). */
export type FaultOp = 'create' | 'append' | 'seal' | 'read' | 'appendCopy' | 'readCopy' | 'remove' | 'check' | 'writeRecord' | 'readRecord';
/** once: the next call only; always: every call; a number n: every nth call (the nth, the 2nth, ...). */
export type FaultWhen = 'once' | 'always' | number;

interface Fault { errnoName: string; when: FaultWhen; calls: number }
interface Flip { when: FaultWhen; calls: number; byte: number }

export interface MemoryStoreOptions {
  /** The clock of mtimes (deterministic tests pass their own). */
  now?: () => number;
  /** Copies per container before a new one is started. */
  copiesPerContainer?: number;
  totalBytes?: number;
  /** Whose member the store is: a problem here is what check() reports before any injected condition. */
  identity?: () => StoreProblem | undefined;
}

interface Shard { data: Uint8Array; mtimeMs: number }
interface Container { records: Map<number, { payload: Uint8Array; digest: Uint8Array }>; mtimeMs: number }

const key = (n: ShardName) => {
  const { oid, id, shard } = checkShardName(n);
  return `${oid}.${id}.s${shard}`;
};

function ioError(errnoName: string, syscall: string, what: string): ShardVaultError {
  const errno = (constants.errno as Record<string, number>)[errnoName];
  return new ShardVaultError(ErrorCode.IO, `${syscall} ${what}: ${errnoName}`, { ...(errno !== undefined ? { errno: -errno } : {}), syscall });
}

function copyRef(ref: CopyRef): { seg: number; off: number; len: number } {
  const valid = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof ref !== 'object' || ref === null || !valid(ref.seg) || !valid(ref.off) || !valid(ref.len)) {
    throw new ShardVaultError(ErrorCode.CORRUPT, 'malformed copy reference (expected non-negative integers seg, off, len)');
  }
  return { seg: ref.seg, off: ref.off, len: ref.len };
}

/** Whether a knob with this schedule fires on this call (calls counted from 1). */
function fires(k: { when: FaultWhen; calls: number }): boolean {
  k.calls++;
  if (k.when === 'always') return true;
  if (k.when === 'once') return k.calls === 1;
  return k.calls % k.when === 0;
}

export class MemoryStore implements ShardStore {
  readonly id: string;
  readonly #now: () => number;
  readonly #perContainer: number;
  readonly #totalBytes: number;
  readonly #identity: () => StoreProblem | undefined;
  readonly #shards = new Map<string, Shard>();
  /** Sinks not yet sealed or aborted: listed as temporaries, lost in a crash. */
  readonly #pending = new Map<number, { name: ShardName; mtimeMs: number; lost: boolean }>();
  #nextSink = 0;
  readonly #containers = new Map<number, Container>();
  #nextSeg = 0;
  /** The container being appended to (in-process state, like the copy log's current segment). */
  #current: number | undefined;
  readonly #pins = new Map<number, number>();
  readonly #unpinnedMs = new Map<number, number>();
  readonly #faults = new Map<FaultOp, Fault>();
  /** Pool records: replaced whole, so a crash keeps the old or the new bytes (as rename does on a disk). */
  readonly #records = new Map<string, Uint8Array>();
  readonly #flips = new Map<'shard' | 'copy', Flip>();
  #condition: StoreProblem | undefined;

  constructor(id: string, options: MemoryStoreOptions = {}) {
    this.id = id;
    this.#now = options.now ?? Date.now;
    this.#perContainer = options.copiesPerContainer ?? 4;
    this.#totalBytes = options.totalBytes ?? 1 << 30;
    this.#identity = options.identity ?? (() => undefined);
  }

  /** Makes operation `op` fail with errno `errnoName` (EIO, ENOSPC, ...) on the calls `when` names. */
  fail(op: FaultOp, errnoName: string, when: FaultWhen = 'once'): void {
    if (typeof when === 'number' && (!Number.isInteger(when) || when < 1)) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'every Nth needs an integer N >= 1');
    this.#faults.set(op, { errnoName, when, calls: 0 });
  }

  /** Flips the low bit of byte `byte` of what readShard or readCopy returns, on the calls `when` names. */
  flipBit(kind: 'shard' | 'copy', when: FaultWhen = 'once', byte = 0): void {
    this.#flips.set(kind, { when, calls: 0, byte });
  }

  /** What check() reports (undefined: healthy). */
  setCondition(problem: StoreProblem | undefined): void {
    this.#condition = problem;
  }

  clearFaults(): void {
    this.#faults.clear();
    this.#flips.clear();
    this.#condition = undefined;
  }

  /**
   * A power cut: unsealed shards are gone and their sinks fail from now on; pins, recent unpins and the
   * container being appended to (this process's state) are forgotten. Sealed shards and appended copies stay.
   */
  crash(): void {
    for (const p of this.#pending.values()) p.lost = true;
    this.#pending.clear();
    this.#pins.clear();
    this.#unpinnedMs.clear();
    this.#current = undefined;
  }

  #inject(op: FaultOp, what: string): void {
    const f = this.#faults.get(op);
    if (f !== undefined && fires(f)) throw ioError(f.errnoName, op, what);
  }

  #flip(kind: 'shard' | 'copy', bytes: Uint8Array): Uint8Array {
    const f = this.#flips.get(kind);
    if (f === undefined || bytes.length === 0 || !fires(f)) return bytes;
    const out = bytes.slice();
    out[Math.min(f.byte, out.length - 1)] ^= 1;
    return out;
  }

  async check(): Promise<StoreProblem | undefined> {
    const f = this.#faults.get('check');
    if (f !== undefined && fires(f)) return { condition: 'unreadable', problem: `unreadable identity: ${f.errnoName} (injected)`, errnoName: f.errnoName };
    return this.#identity() ?? this.#condition;
  }

  async createShard(name: ShardName, options?: { replace?: boolean }): Promise<ShardSink> {
    const k = key(name);
    const replace = options?.replace === true;
    this.#inject('create', k);
    if (!replace && this.#shards.has(k)) throw ioError('EEXIST', 'open', k);
    const handle = this.#nextSink++;
    const state = { name, mtimeMs: this.#now(), lost: false };
    this.#pending.set(handle, state);
    let data = new Uint8Array(0);
    let failed = false;
    let closed = false;
    const guard = (op: FaultOp | undefined, body: () => void) => {
      if (closed) throw new ShardVaultError(ErrorCode.WRITER_STATE, 'shard writer already sealed or aborted');
      if (state.lost) throw ioError('EIO', op ?? 'write', `${k} (lost in a crash)`);
      // A failed sink is final (I9): nothing more goes through it but abort.
      if (failed) throw new ShardVaultError(ErrorCode.WRITER_STATE, `shard writer for ${k} failed earlier`);
      try {
        if (op !== undefined) this.#inject(op, k);
        body();
      } catch (err) {
        failed = true;
        throw err;
      }
    };
    return {
      append: async (bytes) => guard('append', () => {
        const next = new Uint8Array(data.length + bytes.length);
        next.set(data);
        next.set(bytes, data.length);
        data = next;
      }),
      pwrite: async (bytes, offset) => guard('append', () => {
        if (!Number.isSafeInteger(offset) || offset < 0 || offset + bytes.length > data.length) {
          throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'pwrite past what was appended');
        }
        data.set(bytes, offset);
      }),
      seal: async () => guard('seal', () => {
        if (!replace && this.#shards.has(k)) throw ioError('EEXIST', 'rename', k);
        this.#shards.set(k, { data, mtimeMs: this.#now() });
        this.#pending.delete(handle);
        closed = true;
      }),
      abort: async () => {
        this.#pending.delete(handle);
        closed = true;
      },
    };
  }

  async readShard(name: ShardName, offset: number, length: number, verify?: ReadVerify): Promise<ShardRead> {
    const k = key(name);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0 || length > 2 ** 30) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'offset and length must be non-negative integers (length up to 1 GiB)');
    }
    if (verify !== undefined) {
      const blocks = Math.ceil(length / verify.blockBytes);
      if (!Number.isInteger(verify.blockBytes) || verify.blockBytes < 1 || length === 0 || verify.expectedHashes.length !== blocks * 32) {
        throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `options.expectedHashes must hold ${blocks} 32-byte digests`);
      }
    }
    this.#inject('read', k);
    const s = this.#shards.get(k);
    if (s === undefined) throw ioError('ENOENT', 'open', k);
    if (offset + length > s.data.length) throw new ShardVaultError(ErrorCode.SHORT_READ, `${k}: ${length} bytes at ${offset} asked, the shard ends at ${s.data.length}`);
    const data = this.#flip('shard', s.data.slice(offset, offset + length));
    if (verify === undefined) return { data };
    const ok: boolean[] = [];
    for (let at = 0, b = 0; at < length; at += verify.blockBytes, b++) {
      const digest = blake3Sync(data.subarray(at, Math.min(length, at + verify.blockBytes)));
      ok.push(Buffer.compare(digest, verify.expectedHashes.subarray(b * 32, b * 32 + 32)) === 0);
    }
    return { data, ok };
  }

  async statShard(name: ShardName): Promise<{ size: number; mtimeMs: number } | undefined> {
    const s = this.#shards.get(key(name));
    return s === undefined ? undefined : { size: s.data.length, mtimeMs: s.mtimeMs };
  }

  async removeShard(name: ShardName): Promise<boolean> {
    const k = key(name);
    try {
      this.#inject('remove', k);
    } catch {
      return false; // as LocalStore: a shard that could not be removed is reported, not thrown
    }
    return this.#shards.delete(k);
  }

  async *listShards(): AsyncIterable<StoredItem> {
    for (const [k, s] of [...this.#shards]) {
      const [oid, id, shard] = k.split('.');
      yield { kind: 'shard', name: { oid, id, shard: Number(shard.slice(1)) }, mtimeMs: s.mtimeMs };
    }
    for (const [handle, p] of [...this.#pending]) yield { kind: 'temporary', handle: `sink-${handle}`, mtimeMs: p.mtimeMs };
  }

  async removeTemporary(handle: string): Promise<void> {
    const g = /^sink-(\d+)$/.exec(String(handle));
    if (g === null) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `not a temporary of store ${this.id}: ${String(handle)}`);
    const p = this.#pending.get(Number(g[1]));
    if (p !== undefined) p.lost = true;
    this.#pending.delete(Number(g[1]));
  }

  async appendCopy(copy: Uint8Array, digest?: Uint8Array): Promise<CopyRef> {
    this.#inject('appendCopy', 'copy');
    let seg = this.#current;
    if (seg === undefined || this.#containers.get(seg) === undefined || this.#containers.get(seg)!.records.size >= this.#perContainer) {
      seg = this.#nextSeg++;
      this.#containers.set(seg, { records: new Map(), mtimeMs: this.#now() });
      this.#current = seg;
    }
    const c = this.#containers.get(seg)!;
    const off = c.records.size === 0 ? 0 : Math.max(...c.records.keys()) + 1;
    c.records.set(off, { payload: copy.slice(), digest: (digest ?? blake3Sync(copy)).slice() });
    c.mtimeMs = this.#now();
    this.#pins.set(seg, (this.#pins.get(seg) ?? 0) + 1);
    return { seg, off, len: copy.length };
  }

  async readCopy(ref: CopyRef): Promise<Uint8Array> {
    const { seg, off, len } = copyRef(ref);
    this.#inject('readCopy', `copy ${seg}+${off}`);
    const c = this.#containers.get(seg);
    if (c === undefined) throw ioError('ENOENT', 'open', `copy container ${seg}`);
    const r = c.records.get(off);
    if (r === undefined || r.payload.length !== len) throw new ShardVaultError(ErrorCode.CORRUPT, `copy at ${seg}+${off}: no record of that length (erased or moved)`);
    const payload = this.#flip('copy', r.payload);
    if (Buffer.compare(blake3Sync(payload), r.digest) !== 0) throw new ShardVaultError(ErrorCode.CORRUPT, `copy at ${seg}+${off}: payload digest mismatch (torn or altered)`);
    return payload.slice();
  }

  async eraseCopy(ref: CopyRef): Promise<void> {
    const { seg, off } = copyRef(ref);
    this.#containers.get(seg)?.records.delete(off);
  }

  unpinCopy(ref: CopyRef): void {
    const { seg } = copyRef(ref);
    this.#unpinnedMs.set(seg, this.#now());
    const n = (this.#pins.get(seg) ?? 0) - 1;
    if (n <= 0) this.#pins.delete(seg);
    else this.#pins.set(seg, n);
  }

  async *scanCopies(): AsyncIterable<{ ref: CopyRef; payload: Uint8Array }> {
    for (const [seg, c] of [...this.#containers]) {
      for (const [off, r] of [...c.records]) yield { ref: { seg, off, len: r.payload.length }, payload: r.payload.slice() };
    }
  }

  async sweepCopies(live: Iterable<CopyRef>, options: { graceMs: number; nowMs: number; removeTemporary: boolean }): Promise<SweepResult> {
    const referenced = new Set<number>();
    for (const r of live) referenced.add(copyRef(r).seg);
    let removed = 0;
    for (const [seg, c] of [...this.#containers]) {
      // As the copy log: pinned, being written, or released at or after the walk began is in use.
      const inUse = this.#pins.has(seg) || seg === this.#current || (this.#unpinnedMs.get(seg) ?? -Infinity) >= options.nowMs;
      if (referenced.has(seg) || inUse || options.nowMs - c.mtimeMs < options.graceMs) continue;
      this.#containers.delete(seg);
      removed++;
    }
    // Memory has no temporary copy-store files (an append is all or nothing).
    return { removed, temporaryRemoved: 0, holds: (ref) => this.#containers.has(copyRef(ref).seg) };
  }

  async writeRecord(name: string, bytes: Uint8Array): Promise<void> {
    checkRecord(name, bytes);
    this.#inject('writeRecord', name);
    this.#records.set(name, bytes.slice());
  }

  async readRecord(name: string): Promise<Uint8Array | undefined> {
    checkRecord(name);
    this.#inject('readRecord', name);
    return this.#records.get(name)?.slice();
  }

  async space(): Promise<StoreSpace> {
    let used = 0;
    for (const s of this.#shards.values()) used += s.data.length;
    let copyBytes = 0;
    for (const c of this.#containers.values()) for (const r of c.records.values()) copyBytes += r.payload.length;
    return { totalBytes: this.#totalBytes, freeBytes: Math.max(0, this.#totalBytes - used - copyBytes), copies: { segments: this.#containers.size, bytes: copyBytes } };
  }

  async close(): Promise<void> {
    // Nothing is open: the container being appended to is retired, as the copy log's current segment is.
    this.#current = undefined;
  }
}

/**
 * A provider of MemoryStores, one per member and pool, kept so that a reopened member finds its data. Its
 * check() reports identity as a directory disk's does: never formatted is empty, another pool's is foreign.
 */
export function memoryStores(options: MemoryStoreOptions = {}): StoreProvider & { stores: Map<string, MemoryStore> } {
  const stores = new Map<string, MemoryStore>(); // `${poolId}/${member id}`
  const formatted = new Map<string, string>(); // member id -> pool id
  return {
    stores,
    open(member: MemberConfig, poolId: string): ShardStore {
      const at = `${poolId}/${member.id}`;
      let s = stores.get(at);
      if (s === undefined) {
        s = new MemoryStore(member.id, {
          ...options,
          identity: () => {
            const owner = formatted.get(member.id);
            if (owner === undefined) return { condition: 'empty', problem: `memory store ${member.id} was never formatted` };
            if (owner !== poolId) return { condition: 'foreign', problem: `memory store ${member.id} belongs to pool ${owner}, not this pool` };
            return undefined;
          },
        });
        stores.set(at, s);
      }
      return s;
    },
    // A memory store has no directory to check: a new member is any id not formatted for a pool yet.
    async prepare(): Promise<void> {},
    async format(member: MemberConfig, poolId: string): Promise<void> {
      if (formatted.has(member.id)) throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `memory store ${member.id} already belongs to a pool`);
      formatted.set(member.id, poolId);
    },
  };
}
