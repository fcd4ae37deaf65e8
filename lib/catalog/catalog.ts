/**
 * The Catalog seam (issue 11): the commit point of the engine (DESIGN.md 2, 3.5) as an interface any backend
 * implements -- LMDB today (lib/catalog/lmdb.ts), PostgreSQL later. Heads with compare-and-set, the version
 * index, buckets, multipart uploads, the repair and garbage queues, pool metadata and the hash-chained audit
 * log (lib/catalog/audit-chain.ts, identical in every backend).
 *
 * Every read returns a promise (a networked backend cannot answer synchronously); walks (heads, queues, the
 * audit log) are async iterables read a page at a time. Every mutation is one transaction that has reached
 * stable storage when its promise resolves (I1, I2, I6); a failed one fences the catalog (`failure`) until it
 * is reopened, because its outcome is unknown (I9). Copy references are the stores' opaque CopyRef values:
 * stored and returned as given, never interpreted. test/support/catalog-contract.ts is the contract.
 */
import type { ShardVaultError } from '../errors.js';
import type { CopyRef } from '../store/shard-store.js';

export interface Head {
  versionId: string; // hex
  sequence: bigint;
  manifestHash: string; // hex
  tombstone: boolean;
  /** Shard index -> disk id, as in the manifest the head names (where to look first; trust is the manifest). */
  placement?: string[];
  /** Shard index -> where that disk's manifest copy is in its copy log (null: not written, repair queued). */
  copies?: Array<CopyRef | null>;
  /** Whether the version has shard files (false: inline or tombstone, all in the manifest copies). */
  striped?: boolean;
  /** When this head was committed (or last re-pointed by repair): superseded files are kept a grace period after. */
  committedMs?: number;
  /** The version's size, time and ETag (as its manifest says; absent in heads written before issue 10: list()
   *  then reads the manifest). */
  size?: number;
  timeMs?: number;
  etag?: string;
  /** A multipart object: each part's id (its shard files are named with it) and placement, in order, as the
   *  (v4) manifest says. `placement` and `copies` are then where the manifest copies are. */
  parts?: Array<{ partId: string; placement: string[] }>;
}

export interface AuditRecord {
  index: number;
  prevHash: string; // hex, 64 zeros for the first record
  timeMs: number;
  action: string;
  principal: string;
  bucket?: string;
  key?: string;
  versionId?: string;
  detail?: string;
  /** Evidence records appended through Vault.appendAudit (the daemon's: auth failures, key changes): what the
   *  action was aimed at, its outcome, the request id and the source address. Engine records have none. */
  target?: string;
  result?: string;
  requestId?: string;
  source?: string;
  hash: string; // hex: BLAKE3(derive "shardvault/audit/v1", canonical record without `hash`)
}

export interface CommitRequest {
  bucket: string;
  key: string;
  /** The head sequence the writer read (0n when the key had none): compare-and-set. */
  expectedSequence: bigint;
  head: Head;
  audit: { action: string; principal: string; timeMs: number; detail?: string };
  /** Shards to rebuild later (degraded write): disk id + shard index (+ part index of a multipart object). */
  repair?: Array<{ disk: string; shard: number; part?: number }>;
}

/** Whose a version id (or a part id) is: a version of bucket/key; a part of the upload `uploadId` (number
 *  `partNumber`) in progress; or a part of the multipart version `partOf`. */
export interface VersionOwner {
  bucket: string;
  key: string;
  sequence: bigint;
  uploadId?: string;
  partNumber?: number;
  partOf?: string;
}

/** A multipart upload in progress (table `upload`, key bucket/key/uploadId). */
export interface UploadRecord {
  initiatedMs: number;
  principal: string;
  contentType?: string;
  metadata?: Record<string, string>;
  headers?: Record<string, string>;
}

/** One uploaded part (table `part`, key uploadId/partNumber): durable shard files and its hash table. */
export interface PartRecord {
  partId: string; // hex, 16 bytes
  size: number;
  md5: string; // hex
  contentHash: string; // hex
  placement: string[];
  /** Shards that did not seal (a degraded part): queued for repair when a Complete uses the part. */
  missing: number[];
  /** The part's hash table (k + m BLAKE3 digests per stripe). */
  hashTable: Uint8Array;
  timeMs: number;
  checksum?: { algorithm: string; value: string };
}

/** A shard to rebuild: where it was (disk), and optionally where it should go (a replacement disk). */
export interface RepairItem {
  bucket: string;
  key: string;
  versionId: string;
  disk: string;
  shard: number;
  to?: string;
  /** Of a multipart object: the index (0-based, in the manifest's order) of the part whose shard file this is;
   *  absent: the shard file of a plain object and/or the manifest copy on that disk. */
  part?: number;
}

export type ListEntry = { key: string; head: Head } | { prefix: string };

export interface ListPageOptions {
  prefix?: string;
  delimiter?: string;
  /** Resume after this key (exclusive), or after every key under this common prefix (`isPrefix`). */
  after?: { value: string; isPrefix: boolean };
  maxKeys: number;
  /** Keys a page may step over (live or deleted) before it ends early (default 10 x maxKeys, at least 1000). */
  scanMax?: number;
}

export interface Catalog {
  /** Why the catalog refuses writes (a commit failed since open), or undefined while it accepts them. */
  readonly failure: ShardVaultError | undefined;
  close(): Promise<void>;

  getHead(bucket: string, key: string): Promise<Head | undefined>;
  /** Makes a new head visible: compare-and-set on the sequence, version entry, audit record, repair work. */
  commit(req: CommitRequest): Promise<AuditRecord>;
  /** Re-points a head at new copies or placement (repair, compaction), compare-and-set on `expected`. */
  replaceManifest(bucket: string, key: string, expected: { versionId: string; manifestHash: string; copies?: Head['copies'] | null }, head: Head, done: Array<{ shard: number; part?: number }>, audit: { action: string; principal: string; timeMs: number; detail?: string }): Promise<void>;
  /** Every head, bucket by bucket in key order (live ones only unless `tombstones`), after `after`. */
  heads(options?: { after?: { bucket: string; key: string }; tombstones?: boolean }): AsyncIterable<{ bucket: string; key: string; head: Head }>;
  /** One page of a bucket's live keys (S3 ListObjectsV2 semantics). */
  listPage(bucket: string, options: ListPageOptions): Promise<{ entries: ListEntry[]; truncated: boolean; next?: { value: string; isPrefix: boolean } }>;
  /** Rebuilds from the manifests on the disks (Vault.rebuildCatalog): heads, older versions, buckets, one audit record. */
  restore(entries: Array<{ bucket: string; key: string; head: Head; older: Head[] }>, buckets: string[], audit: { action: string; principal: string; timeMs: number; detail?: string }): Promise<void>;

  createBucket(bucket: string, principal: string, timeMs: number): Promise<void>;
  deleteBucket(bucket: string, principal: string, timeMs: number): Promise<void>;
  hasBucket(bucket: string): Promise<boolean>;
  listBuckets(): Promise<string[]>;

  isCommittedVersion(versionId: string): Promise<boolean>;
  versionOwner(versionId: string): Promise<VersionOwner | undefined>;

  createUpload(bucket: string, key: string, uploadId: string, record: UploadRecord): Promise<void>;
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined>;
  commitPart(bucket: string, key: string, uploadId: string, partNumber: number, part: PartRecord, principal: string): Promise<void>;
  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined>;
  listParts(uploadId: string, options?: { after?: number; limit?: number }): Promise<Array<{ partNumber: number; part: PartRecord }>>;
  listUploads(bucket: string, options: { prefix?: string; after?: { key: string; uploadId?: string }; limit: number }): Promise<Array<{ key: string; uploadId: string; upload: UploadRecord }>>;
  allUploads(): AsyncIterable<{ bucket: string; key: string; uploadId: string; upload: UploadRecord }>;
  abortUpload(bucket: string, key: string, uploadId: string, action: string, principal: string, timeMs: number): Promise<void>;
  completeUpload(req: CommitRequest, uploadId: string, used: Array<{ partNumber: number; partId: string }>): Promise<AuditRecord>;

  /** Queues repair work; resolves with the items that were not queued before. */
  queueRepair(items: RepairItem[], principal: string, timeMs: number): Promise<RepairItem[]>;
  completeRepair(items: Array<{ bucket: string; key: string; versionId: string; shard: number; part?: number }>, action: string, principal: string, timeMs: number): Promise<void>;
  repairQueue(): AsyncIterable<RepairItem>;
  garbageQueue(): AsyncIterable<{ bucket: string; key: string; head: Head; supersededMs: number }>;
  queueGarbage(entry: { bucket: string; key: string; head: Head; supersededMs: number }): Promise<void>;
  completeGarbage(versionIds: string[]): Promise<void>;

  getMeta<T>(item: string): Promise<T | undefined>;
  setMeta(item: string, value: unknown, audit?: { action: string; principal: string; timeMs: number; detail?: string }): Promise<void>;
  appendAudit(r: { action: string; principal: string; timeMs: number; target?: string; result: string; requestId?: string; source?: string; detail?: string }): Promise<AuditRecord>;
  auditLog(): AsyncIterable<AuditRecord>;
  /** Recomputes the audit chain: the index of the first bad record, or -1 when it is intact. */
  verifyAudit(): Promise<number>;
  /** The newest audit record (the head of the chain: how far the catalog's history got), or undefined when there is none. */
  auditHead(): Promise<AuditRecord | undefined>;
  /** The audit record at `index`, or undefined when the chain is shorter (the freshness witness checks its history with it). */
  auditRecord(index: number): Promise<AuditRecord | undefined>;
}

/** An async iterable's items as an array (Node 20 has no Array.fromAsync). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const it of items) out.push(it);
  return out;
}
