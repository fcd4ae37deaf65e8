/**
 * ShardStore: one member of a pool, as the engine sees it (docs/architecture.md, "Seams"). Today a directory
 * disk (lib/store/local/), later an S3 endpoint (issue 16); the engine (lib/engine/) talks to this interface
 * only, never to paths or `node:fs`.
 *
 * Shard-shaped, not file-system-shaped:
 * - a shard is named by (object id, version-or-part id, shard index) and written once through a create-only
 *   sink: `append`/`pwrite` then `seal`, which resolves only once the shard is durable under its name (I1); a
 *   failed sink is final (I9: the engine never retries the same sink, it drops the member from that write);
 * - reads are ranged and verified: with `verify`, one ok flag per block, so a bad block is an erasure, not an
 *   error;
 * - manifest copies are appended to the member's copy store and named by an opaque CopyRef that the catalog
 *   keeps as given (it never looks inside);
 * - garbage is found by listing (`listShards`) and by sweeping copies nothing references (`sweepCopies`);
 * - what only a local disk can do (compaction of its copy log, file paths for tools) is an optional member.
 */

/** Where a manifest copy is on one store: opaque to the engine and the catalog, meaningful to its store only. */
export type CopyRef = Readonly<Record<string, number>>;

/** A shard's name on its store: object id (hex), the version id or part id (hex) naming its files, shard index. */
export interface ShardName {
  readonly oid: string;
  readonly id: string;
  readonly shard: number;
}

/** Why a store cannot be used now (see DiskCondition in lib/store/local/disk.ts for the local meanings). */
export type StoreCondition = 'missing' | 'empty' | 'foreign' | 'wrong-device' | 'unreadable';

export interface StoreProblem {
  condition: StoreCondition;
  problem: string;
  /** The errno name behind it (ENOENT, EIO, ...), when there is one. */
  errnoName?: string;
}

/** A create-only shard being written. */
export interface ShardSink {
  append(bytes: Uint8Array): Promise<void>;
  /** Overwrites bytes already appended (the header's hash-table root, known only at the end). */
  pwrite(bytes: Uint8Array, offset: number): Promise<void>;
  /** Durable under the shard's name once this resolves. `replace` (repair) lets it take the place of a bad one. */
  seal(): Promise<void>;
  /** Removes what was written; never throws for a sink that already failed. */
  abort(): Promise<void>;
}

export interface ReadVerify {
  blockBytes: number;
  /** One 32-byte BLAKE3 digest per block, concatenated. */
  expectedHashes: Uint8Array;
}

export interface ShardRead {
  data: Uint8Array;
  /** Per block: whether it matched its digest (present only when verifying). */
  ok?: boolean[];
}

/** What a store holds, as a listing for gc: its shards (with their age) and leftovers of interrupted writes. */
export type StoredItem =
  | { kind: 'shard'; name: ShardName; mtimeMs: number }
  | { kind: 'temporary'; handle: string; mtimeMs: number };

export interface SweepResult {
  /** Copy containers (segments) removed or recycled because no live reference points into them. */
  removed: number;
  /** Temporary copy-store files removed. */
  temporaryRemoved: number;
  /** Whether the container a reference points into is still there (a copy whose container is gone is lost). */
  holds(ref: CopyRef): boolean;
}

export interface StoreSpace {
  freeBytes?: number;
  totalBytes?: number;
  /** The copy store's footprint (segments and bytes, preallocated ones included). */
  copies?: { segments: number; bytes: number };
}

/** Local-only: the copy log's compaction (a remote store has nothing to compact). */
export interface CopyCompaction {
  /**
   * Of the references in `live` (every copy on this store that current heads name), the ones that sit in a
   * container old enough (`graceMs`), not being written, and mostly dead (live bytes under half): the engine
   * moves those copies (read, append again, re-point the head). `count`: how many containers are sparse.
   */
  sparse(live: Iterable<CopyRef>, graceMs: number, nowMs: number): Promise<{ count: number; has(ref: CopyRef): boolean }>;
}

/** Local-only: where things are, for tools and tests (`Vault.locate`). */
export interface StorePaths {
  shardFile(name: ShardName): string;
  copyRecord(ref: CopyRef): { file: string; offset: number; length: number };
}

export interface ShardStore {
  /** The pool member's id (DiskConfig.id for a directory disk). */
  readonly id: string;

  /** Identity and health: undefined when the store is this pool's member and usable. */
  check(): Promise<StoreProblem | undefined>;

  /** A new shard, create-only. `replace`: repair's rewrite of a shard whose old file is bad or stale. */
  createShard(name: ShardName, options?: { replace?: boolean }): Promise<ShardSink>;
  /** Exactly [offset, offset + length) of a sealed shard; a shard that ends early is ERR_SV_SHORT_READ. */
  readShard(name: ShardName, offset: number, length: number, verify?: ReadVerify): Promise<ShardRead>;
  /** Size and age of a shard, or undefined when absent. */
  statShard(name: ShardName): Promise<{ size: number; mtimeMs: number } | undefined>;
  /** Removes a shard: true when removed, false when it was absent or could not be removed. */
  removeShard(name: ShardName): Promise<boolean>;
  /** Every shard and temporary leftover on the store (gc's walk); items that are not ours are never listed. */
  listShards(): AsyncIterable<StoredItem>;
  /** Removes a temporary leftover that listShards returned. */
  removeTemporary(handle: string): Promise<void>;

  /** Appends one manifest copy durably; the reference stays pinned (kept from sweeps) until unpinCopy. */
  appendCopy(copy: Uint8Array, digest?: Uint8Array): Promise<CopyRef>;
  /** The payload of a copy, checked against its record (torn, moved or foreign records are errors). */
  readCopy(ref: CopyRef): Promise<Uint8Array>;
  /** Erases a copy that was never committed (a failed put's). */
  eraseCopy(ref: CopyRef): Promise<void>;
  unpinCopy(ref: CopyRef): void;
  /** Every intact copy on the store (catalog rebuild); torn records are skipped. */
  scanCopies(): AsyncIterable<{ ref: CopyRef; payload: Uint8Array }>;
  /**
   * Removes copy containers that no reference in `live` points into, that are older than `graceMs` and that
   * this process is not writing; `removeTemporary` removes every temporary copy-store file at once (open after
   * a crash), else only those older than the grace.
   */
  sweepCopies(live: Iterable<CopyRef>, options: { graceMs: number; nowMs: number; removeTemporary: boolean }): Promise<SweepResult>;

  /**
   * Pool records (issue 13): small signed pool-wide records (the public key ring, the security floor) kept on
   * every member, so a catalog rebuild can verify without the meta directory. `name` and the size are as
   * lib/store/names.ts checkRecord takes them; a write replaces the previous record atomically and durably (a
   * crash leaves the old or the new bytes, never a mix). The store does not interpret them: they are signed,
   * and readers verify them. readRecord gives undefined when the member holds no such record.
   */
  writeRecord(name: string, bytes: Uint8Array): Promise<void>;
  readRecord(name: string): Promise<Uint8Array | undefined>;

  /** Free and total space, and the copy store's footprint. */
  space(): Promise<StoreSpace>;

  readonly compaction?: CopyCompaction;
  readonly paths?: StorePaths;

  /** Releases open files and handles; the store can be used again afterwards (it reopens lazily). */
  close(): Promise<void>;
}

/** A pool member as the pool configuration describes it (the catalog's `pool.config`, pool.json). */
export interface MemberConfig {
  id: string;
  path: string;
  labels: Record<string, string>;
  dev: number;
  /** active: takes new shards; draining: read only, its shards are being moved; removed: gone from the pool. */
  state: 'active' | 'draining' | 'removed';
}

/** How the engine gets at its members' stores (Vault wires the implementation in: lib/store/local/ today). */
export interface StoreProvider {
  /** The store of member `member` of pool `poolId` (cheap: nothing is opened until used). */
  open(member: MemberConfig, poolId: string): ShardStore;
  /**
   * Checks a new member before it is added: refused when it belongs to a pool, or is not a mount point when
   * `mountPoint` asks for one. A member this pool formatted in an add that never committed (`isMember` says
   * its id is not in the pool) is taken back.
   */
  prepare(spec: { path: string; mountPoint?: boolean }, poolId: string, isMember: (memberId: string) => boolean): Promise<void>;
  /** Makes `member` a member of `poolId` (refused when it belongs to a pool); sets `member.dev` where it applies. */
  format(member: MemberConfig, poolId: string): Promise<void>;
}
