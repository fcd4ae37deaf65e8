/**
 * The catalog: the commit point of the engine (DESIGN.md 2, 3.5). Heads, the version index, buckets, the
 * repair queue and the hash-chained audit log, in LMDB (npm `lmdb`), opened with `overlappingSync: false` so
 * that a commit's promise resolves only once the transaction is flushed to disk (research/scale-out.md 2.4:
 * the default resolves when the commit is merely visible). Every mutation of one commit (head compare-and-set,
 * version entry, audit record, repair work) is one LMDB transaction: all or nothing (I1, I2, I6).
 *
 * Keys are strings "<table>\0<bucket>\0<key>..." so that prefixes are ranges. Bucket names and object keys
 * must not contain NUL (checked).
 */
import { open, type RootDatabase } from 'lmdb';

import type { CopyRef } from './copylog.js';

import { blake3Sync } from './hash.js';
import { ErrorCode, ShardVaultError, typeError } from './errors.js';

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
  hash: string; // hex: BLAKE3(derive "shardvault/audit/v1", canonical record without `hash`)
}

export interface CommitRequest {
  bucket: string;
  key: string;
  /** The head sequence the writer read (0n when the key had none): compare-and-set. */
  expectedSequence: bigint;
  head: Head;
  audit: { action: string; principal: string; timeMs: number; detail?: string };
  /** Shards to rebuild later (degraded write): disk id + shard index. */
  repair?: Array<{ disk: string; shard: number }>;
}

/** A shard to rebuild: where it was (disk), and optionally where it should go (a replacement disk). */
export interface RepairItem {
  bucket: string;
  key: string;
  versionId: string;
  disk: string;
  shard: number;
  to?: string;
}

const SEP = '\0';
const ZERO_HASH = '0'.repeat(64);
const AUDIT_CONTEXT = 'shardvault/audit/v1';

/** Bucket (1..63) and key (1..1024) lengths are UTF-8 bytes, the unit the vault and the manifest limits use. */
function name(kind: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw typeError(kind, 'a string', value);
  if (value.length === 0 || Buffer.byteLength(value, 'utf8') > max || value.includes(SEP)) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${kind} must be 1..${max} UTF-8 bytes without NUL`);
  }
  return value;
}

function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  // Canonical: fixed key order, JSON of primitives only.
  const canonical = JSON.stringify([r.index, r.prevHash, r.timeMs, r.action, r.principal, r.bucket ?? null, r.key ?? null, r.versionId ?? null, r.detail ?? null]);
  return Buffer.from(blake3Sync(new TextEncoder().encode(canonical), { context: AUDIT_CONTEXT })).toString('hex');
}

export class Catalog {
  readonly #db: RootDatabase;

  private constructor(db: RootDatabase) {
    this.#db = db;
  }

  /**
   * Opens (creating unless `readOnly`) the catalog in directory `path`. `readOnly`: the LMDB environment is
   * opened read-only (MDB_RDONLY): any number of readers beside the one writer process; only LMDB's reader table
   * in lock.mdb is written, as for every LMDB reader.
   */
  static open(path: string, options: { readOnly?: boolean } = {}): Catalog {
    if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a directory path', path);
    // overlappingSync: false -> transaction promises resolve after the commit is flushed (durable).
    return new Catalog(open({ path, overlappingSync: false, noSync: false, compression: false, ...(options.readOnly === true ? { readOnly: true } : {}) }));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  getHead(bucket: string, key: string): Head | undefined {
    return this.#db.get(['head', name('bucket', bucket, 63), name('key', key, 1024)].join(SEP)) as Head | undefined;
  }

  async createBucket(bucket: string, principal: string, timeMs: number): Promise<void> {
    name('bucket', bucket, 63);
    await this.#db.transaction(() => {
      const k = ['bucket', bucket].join(SEP);
      if (this.#db.get(k) !== undefined) throw new ShardVaultError(ErrorCode.BUCKET_EXISTS, `bucket ${bucket} already exists`);
      this.#db.put(k, { createdMs: timeMs });
      this.#appendAudit({ action: 'bucket.create', principal, timeMs, bucket });
    });
  }

  async deleteBucket(bucket: string, principal: string, timeMs: number): Promise<void> {
    name('bucket', bucket, 63);
    await this.#db.transaction(() => {
      const k = ['bucket', bucket].join(SEP);
      if (this.#db.get(k) === undefined) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
      for (const { value } of this.#db.getRange({ start: `head${SEP}${bucket}${SEP}`, end: `head${SEP}${bucket}${SEP}\uffff` })) {
        if (!(value as Head).tombstone) throw new ShardVaultError(ErrorCode.BUCKET_NOT_EMPTY, `bucket ${bucket} is not empty`);
      }
      this.#db.remove(k);
      this.#appendAudit({ action: 'bucket.delete', principal, timeMs, bucket });
    });
  }

  hasBucket(bucket: string): boolean {
    return this.#db.get(['bucket', name('bucket', bucket, 63)].join(SEP)) !== undefined;
  }

  listBuckets(): string[] {
    return [...this.#db.getKeys({ start: `bucket${SEP}`, end: `bucket${SEP}\uffff` })].map((k) => String(k).split(SEP)[1]);
  }

  /**
   * Makes a new head visible: compare-and-set on the head sequence, the version index entry, the audit record
   * and any repair work, in one transaction that has reached the disk when this resolves. A head whose
   * sequence moved since the writer read it is refused (ERR_SV_CONFLICT) and nothing is written.
   */
  async commit(req: CommitRequest): Promise<AuditRecord> {
    name('bucket', req.bucket, 63);
    name('key', req.key, 1024);
    if (req.head.sequence <= req.expectedSequence) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'the new head sequence must exceed the expected one');
    }
    let record: AuditRecord | undefined;
    await this.#db.transaction(() => {
      if (this.#db.get(['bucket', req.bucket].join(SEP)) === undefined) {
        throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${req.bucket}`);
      }
      const headKey = ['head', req.bucket, req.key].join(SEP);
      const current = this.#db.get(headKey) as Head | undefined;
      const currentSequence = current?.sequence ?? 0n;
      if (currentSequence !== req.expectedSequence) {
        throw new ShardVaultError(
          ErrorCode.CONFLICT,
          `head of ${req.bucket}/${req.key} is at sequence ${currentSequence}, expected ${req.expectedSequence}`,
        );
      }
      this.#db.put(headKey, req.head);
      // The version this head replaces is garbage once readers that started on it are done (gc's grace period).
      if (current !== undefined) this.#db.put(['garbage', current.versionId].join(SEP), { bucket: req.bucket, key: req.key, head: current, supersededMs: req.head.committedMs ?? req.audit.timeMs });
      this.#db.put(['vid', req.head.versionId].join(SEP), { bucket: req.bucket, key: req.key, sequence: req.head.sequence });
      for (const r of req.repair ?? []) {
        this.#db.put(['repair', req.bucket, req.key, req.head.versionId, String(r.shard)].join(SEP), r);
      }
      record = this.#appendAudit({
        action: req.audit.action, principal: req.audit.principal, timeMs: req.audit.timeMs, bucket: req.bucket,
        key: req.key, versionId: req.head.versionId, detail: req.audit.detail,
      });
    });
    return record!;
  }

  /**
   * Fills an empty catalog from what the disks hold (catalog rebuild): buckets (those of the objects, and
   * `buckets`, the saved list that also has the empty ones), heads, every version seen and
   * one audit record naming what was restored, in one flushed transaction. Refused on a catalog with heads.
   */
  async restore(
    entries: Array<{ bucket: string; key: string; head: Head; older: Head[] }>,
    buckets: string[],
    audit: { action: string; principal: string; timeMs: number; detail?: string },
  ): Promise<void> {
    await this.#db.transaction(() => {
      for (const _ of this.#db.getKeys({ start: `head${SEP}`, end: `head${SEP}\uffff`, limit: 1 })) {
        throw new ShardVaultError(ErrorCode.CONFLICT, 'restore needs an empty catalog');
      }
      for (const { bucket, key, head, older } of entries) {
        name('bucket', bucket, 63);
        name('key', key, 1024);
        const b = ['bucket', bucket].join(SEP);
        if (this.#db.get(b) === undefined) this.#db.put(b, { createdMs: audit.timeMs });
        this.#db.put(['head', bucket, key].join(SEP), head);
        for (const v of [...older, head]) this.#db.put(['vid', v.versionId].join(SEP), { bucket, key, sequence: v.sequence });
      }
      for (const bucket of buckets) {
        const b = ['bucket', name('bucket', bucket, 63)].join(SEP);
        if (this.#db.get(b) === undefined) this.#db.put(b, { createdMs: audit.timeMs });
      }
      this.#appendAudit(audit);
    });
  }

  /** A small named catalog value (pool configuration, scrub cursor). */
  getMeta<T>(item: string): T | undefined {
    return this.#db.get(['meta', item].join(SEP)) as T | undefined;
  }

  /**
   * Sets (or with `undefined` removes) a named value; with `audit`, the audit record is written in the same
   * flushed transaction (pool configuration changes, I6).
   */
  async setMeta(item: string, value: unknown, audit?: { action: string; principal: string; timeMs: number; detail?: string }): Promise<void> {
    await this.#db.transaction(() => {
      const k = ['meta', item].join(SEP);
      if (value === undefined) this.#db.remove(k);
      else this.#db.put(k, value);
      if (audit !== undefined) this.#appendAudit(audit);
    });
  }

  /** Whether a version id was ever committed (files of uncommitted versions are leftovers of a crash). */
  isCommittedVersion(versionId: string): boolean {
    return this.#db.get(['vid', versionId].join(SEP)) !== undefined;
  }

  /** The object a committed version id belongs to. */
  versionOwner(versionId: string): { bucket: string; key: string; sequence: bigint } | undefined {
    return this.#db.get(['vid', versionId].join(SEP)) as { bucket: string; key: string; sequence: bigint } | undefined;
  }

  /**
   * Re-points the current head at a re-signed manifest of the same version (repair moved shards to other
   * disks, or rewrote or compacted copies): compare-and-set on version id, manifest hash and (when given) the
   * copy references, the completed repair items removed and an audit
   * record written, in one flushed transaction.
   */
  async replaceManifest(
    bucket: string,
    key: string,
    expected: { versionId: string; manifestHash: string; copies?: Head['copies'] | null },
    head: Head,
    done: Array<{ shard: number }>,
    audit: { action: string; principal: string; timeMs: number; detail?: string },
  ): Promise<void> {
    name('bucket', bucket, 63);
    name('key', key, 1024);
    await this.#db.transaction(() => {
      const headKey = ['head', bucket, key].join(SEP);
      const current = this.#db.get(headKey) as Head | undefined;
      if (current === undefined || current.versionId !== expected.versionId || current.manifestHash !== expected.manifestHash || head.versionId !== current.versionId || head.sequence !== current.sequence ||
        (expected.copies !== undefined && JSON.stringify(current.copies ?? null) !== JSON.stringify(expected.copies ?? null))) {
        throw new ShardVaultError(ErrorCode.CONFLICT, `head of ${bucket}/${key} moved while its shards were being repaired`);
      }
      this.#db.put(headKey, head);
      for (const r of done) this.#db.remove(['repair', bucket, key, head.versionId, String(r.shard)].join(SEP));
      this.#appendAudit({ ...audit, bucket, key, versionId: head.versionId });
    });
  }

  /** Keys of live (non-tombstone) heads in `bucket`, in order, after `startAfter`, with `prefix`. */
  list(bucket: string, options: { prefix?: string; startAfter?: string; limit?: number } = {}): string[] {
    name('bucket', bucket, 63);
    const limit = options.limit ?? 1000;
    const base = `head${SEP}${bucket}${SEP}`;
    const start = base + (options.startAfter !== undefined && options.startAfter >= (options.prefix ?? '') ? `${options.startAfter}\0` : options.prefix ?? '');
    const out: string[] = [];
    for (const { key, value } of this.#db.getRange({ start, end: `${base}${options.prefix ?? ''}\uffff` })) {
      const k = String(key).slice(base.length);
      if (options.prefix !== undefined && !k.startsWith(options.prefix)) break;
      if ((value as Head).tombstone) continue;
      out.push(k);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Queues shards for repair (e.g. found bad by a read), with an audit record, in one transaction. */
  async queueRepair(items: Array<RepairItem>, principal: string, timeMs: number): Promise<void> {
    // Already queued work is not queued (or audited) again: reads of a degraded object would otherwise add an
    // audit record each time.
    // An item that now names a destination (a replacement disk) updates the queued one.
    items = items.filter((r) => {
      const queued = this.#db.get(['repair', r.bucket, r.key, r.versionId, String(r.shard)].join(SEP)) as { to?: string } | undefined;
      return queued === undefined || (r.to !== undefined && queued.to !== r.to);
    });
    if (items.length === 0) return;
    await this.#db.transaction(() => {
      for (const r of items) this.#db.put(['repair', r.bucket, r.key, r.versionId, String(r.shard)].join(SEP), { disk: r.disk, shard: r.shard, ...(r.to !== undefined ? { to: r.to } : {}) });
      this.#appendAudit({ action: 'repair.queue', principal, timeMs, bucket: items[0].bucket, key: items[0].key, versionId: items[0].versionId, detail: items.map((r) => r.shard).join(',') });
    });
  }

  /** Removes repaired (or superseded) items from the queue, with an audit record, in one transaction. */
  async completeRepair(items: Array<{ bucket: string; key: string; versionId: string; shard: number }>, action: string, principal: string, timeMs: number): Promise<void> {
    if (items.length === 0) return;
    await this.#db.transaction(() => {
      for (const r of items) this.#db.remove(['repair', r.bucket, r.key, r.versionId, String(r.shard)].join(SEP));
      this.#appendAudit({ action, principal, timeMs, bucket: items[0].bucket, key: items[0].key, versionId: items[0].versionId, detail: items.map((r) => r.shard).join(',') });
    });
  }

  /** Superseded versions whose files gc removes after the grace period (queued by commit). */
  garbageQueue(): Array<{ bucket: string; key: string; head: Head; supersededMs: number }> {
    return [...this.#db.getRange({ start: `garbage${SEP}`, end: `garbage${SEP}\uffff` })].map(({ value }) => value as { bucket: string; key: string; head: Head; supersededMs: number });
  }

  /**
   * Queues the files of a version that was never committed (a failed put whose own cleanup could not remove
   * them) for gc, as if it had been superseded at `supersededMs`. Refused for a committed version.
   */
  async queueGarbage(entry: { bucket: string; key: string; head: Head; supersededMs: number }): Promise<void> {
    await this.#db.transaction(() => {
      if (this.#db.get(['vid', entry.head.versionId].join(SEP)) !== undefined) throw new ShardVaultError(ErrorCode.CONFLICT, `version ${entry.head.versionId} is committed`);
      this.#db.put(['garbage', entry.head.versionId].join(SEP), entry);
    });
  }

  async completeGarbage(versionIds: string[]): Promise<void> {
    if (versionIds.length === 0) return;
    await this.#db.transaction(() => {
      for (const v of versionIds) this.#db.remove(['garbage', v].join(SEP));
    });
  }

  /** Every live head, bucket by bucket, key order: what scrub walks. */
  *heads(options: { after?: { bucket: string; key: string }; tombstones?: boolean } = {}): Generator<{ bucket: string; key: string; head: Head }> {
    const start = options.after === undefined ? `head${SEP}` : ['head', options.after.bucket, `${options.after.key}${SEP}`].join(SEP);
    for (const { key, value } of this.#db.getRange({ start, end: `head${SEP}\uffff` })) {
      const [, bucket, k] = String(key).split(SEP);
      if (options.tombstones === true || !(value as Head).tombstone) yield { bucket, key: k, head: value as Head };
    }
  }

  repairQueue(): RepairItem[] {
    return [...this.#db.getRange({ start: `repair${SEP}`, end: `repair${SEP}\uffff` })].map(({ key, value }) => {
      const [, bucket, k, versionId] = String(key).split(SEP);
      const v = value as { disk: string; shard: number; to?: string };
      return { bucket, key: k, versionId, disk: v.disk, shard: v.shard, ...(v.to !== undefined ? { to: v.to } : {}) };
    });
  }

  auditLog(): AuditRecord[] {
    return [...this.#db.getRange({ start: `audit${SEP}`, end: `audit${SEP}\uffff` })].map(({ value }) => value as AuditRecord);
  }

  /** Recomputes the chain; returns the index of the first bad record, or -1 when the chain is intact. */
  verifyAudit(): number {
    let prev = ZERO_HASH;
    const log = this.auditLog();
    for (let i = 0; i < log.length; i++) {
      const { hash, ...rest } = log[i];
      if (rest.index !== i || rest.prevHash !== prev || auditHash(rest) !== hash) return i;
      prev = hash;
    }
    return -1;
  }

  #appendAudit(r: Omit<AuditRecord, 'hash' | 'index' | 'prevHash'>): AuditRecord {
    const lastKey = [...this.#db.getKeys({ start: `audit${SEP}\uffff`, end: `audit${SEP}`, reverse: true, limit: 1 })][0];
    const last = lastKey === undefined ? undefined : (this.#db.get(lastKey) as AuditRecord);
    const body: Omit<AuditRecord, 'hash'> = { index: last === undefined ? 0 : last.index + 1, prevHash: last?.hash ?? ZERO_HASH, ...r };
    const record: AuditRecord = { ...body, hash: auditHash(body) };
    this.#db.put(['audit', String(record.index).padStart(16, '0')].join(SEP), record);
    return record;
  }
}
