/**
 * The catalog: the commit point of the engine (DESIGN.md 2, 3.5). Heads, the version index, buckets, the
 * repair queue and the hash-chained audit log, in LMDB (npm `lmdb`), opened with `overlappingSync: false` so
 * that a commit's promise resolves only once the transaction is flushed to disk (research/scale-out.md 2.4:
 * the default resolves when the commit is merely visible). Every mutation of one commit (head compare-and-set,
 * version entry, audit record, repair work) is one LMDB transaction: all or nothing (I1, I2, I6).
 *
 * Keys are the UTF-8 bytes of "<table>\0<bucket>\0<key>..." (LMDB `keyEncoding: 'binary'`), so that a prefix is
 * a byte range and keys sort in UTF-8 byte order, as S3 lists them. Bucket names and object keys must not contain
 * NUL (checked), so 0x00 only ever separates parts.
 *
 * N.B. Catalog key format 2. Format 1 (releases before issue 10) used lmdb-js's default ordered-binary string
 * keys, whose encoding depends on the string's length: below 64 UTF-16 units a NUL is written as the escape
 * 04 00, from 64 on as a raw 00 (and read back as an array). Long keys therefore sorted outside every range the
 * catalog scanned (heads, repair work of long keys were invisible to list, scrub, gc, status, drain), and keys
 * with characters above U+FFFF sorted past the `\uffff` range ends. Format-1 long keys are already format-2 bytes;
 * open() rewrites the short ones (table name followed by 04 00) in one transaction (#migrate).
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';

import { open, type RootDatabase } from 'lmdb';

import { nextRecord, verifyChain } from './audit-chain.js';
import type { AuditRecord, Catalog, CommitRequest, Head, ListEntry, ListPageOptions, PartRecord, RepairItem, UploadRecord, VersionOwner } from './catalog.js';


import { BUCKET_BYTES_MAX, KEY_BYTES_MAX, WALK_PAGE as PAGE, catalogName as name, PageBuilder, repairSlot } from './keys.js';
import { ErrorCode, ShardVaultError, typeError } from '../errors.js';








const SEP = '\0';
/** `catalog.format` meta value written by this release (see the header). */
export const CATALOG_FORMAT = 2;
const TABLES = ['head', 'bucket', 'garbage', 'vid', 'repair', 'audit', 'meta', 'upload', 'part'] as const;



/** The catalog key of parts joined by NUL, as UTF-8 bytes. */
function dbKey(...parts: string[]): Buffer {
  return Buffer.from(parts.join(SEP), 'utf8');
}

/** The parts of a catalog key (decoded at once: lmdb-js may reuse the key buffer for the next entry). */
function keyParts(key: unknown): string[] {
  return Buffer.from(key as Uint8Array).toString('utf8').split(SEP);
}

/** The smallest byte string greater than every string that starts with `b` (exclusive range end); undefined: none. */
export function prefixEnd(b: Uint8Array): Buffer | undefined {
  let i = b.length - 1;
  while (i >= 0 && b[i] === 0xff) i--;
  if (i < 0) return undefined;
  const out = Buffer.from(b.subarray(0, i + 1));
  out[i]++;
  return out;
}

/** All keys of `table` (optionally under more parts): start and exclusive end. */
function tableRange(...parts: string[]): { start: Buffer; end: Buffer } {
  const start = dbKey(...parts, '');
  return { start, end: prefixEnd(start)! };
}

/** Decodes a format-1 short key (ordered-binary: 04 xx is char xx for xx <= 4; else UTF-8 bytes). */
function decodeFormat1Short(b: Uint8Array): string {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 4 && i + 1 < b.length) out.push(b[++i]);
    else out.push(b[i]);
  }
  return Buffer.from(out).toString('utf8');
}

/** One entry of a listing page: a key with its head, or a common prefix (delimiter roll-up). */


function quiet(p: unknown): void {
  if (p !== null && typeof p === 'object' && typeof (p as Promise<unknown>).then === 'function') (p as Promise<unknown>).then(undefined, () => undefined);
}

/** The real error behind lmdb-js's 'Commit failed' (its `commitError` promise), or `err` itself. */
async function commitCause(err: unknown): Promise<unknown> {
  const pending = (err as { commitError?: unknown }).commitError;
  if (pending === undefined || typeof (pending as Promise<unknown>).then !== 'function') return err;
  const timeout = new Promise<undefined>((resolve) => {
    setTimeout(() => resolve(undefined), 5000).unref();
  });
  const real = await Promise.race([(pending as Promise<unknown>).then(() => undefined, (e: unknown) => e), timeout]);
  return real ?? err;
}

function errnoName(errno: number): string | undefined {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return undefined;
  }
}

/**
 * Checks the catalog's files with our own calls before LMDB opens them: lmdb-js 3.5 crashes the process
 * (a double delete, docs/upstream/lmdb-js.md) when its open fails, so a persistent fault -- a bad sector under
 * the meta pages, EACCES, a read-only remount -- must be found here and reported as ERR_SV_CATALOG_FAILED with
 * its errno. (A transient fault that strikes exactly inside LMDB's own open still crashes, until upstream is
 * fixed.) Files that do not exist yet are LMDB's to create.
 */
function preflight(path: string, readOnly: boolean): void {
  for (const file of ['data.mdb', 'lock.mdb']) {
    const p = join(path, file);
    if (!existsSync(p)) continue;
    let fd: number | undefined;
    try {
      fd = openSync(p, readOnly && file === 'data.mdb' ? 'r' : 'r+');
      if (file === 'data.mdb') readSync(fd, Buffer.alloc(8192), 0, 8192, 0); // the two meta pages
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `the catalog file ${p} cannot be ${e.syscall === 'read' ? 'read' : 'opened'}: ${e.code ?? ''} ${e.message}`.replace('  ', ' '), {
        ...(typeof e.errno === 'number' ? { errno: Math.abs(e.errno) } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}), path: p, cause: err,
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

export class LmdbCatalog implements Catalog {
  readonly #db: RootDatabase;
  readonly #path: string;
  /** Set by the first failed commit: from then on every write is refused with it (see #write). */
  #failed: ShardVaultError | undefined;

  private constructor(db: RootDatabase, path: string) {
    // lmdb-js returns a promise for every put and remove that rejects when its commit fails. Inside a
    // transaction nobody needs them (the transaction's own promise says it all, see #write), and lmdb-js itself
    // drops one: the put of msgpack's shared structures (open.js saveStructures). Left unhandled, a failed
    // commit would end the process (docs/upstream/lmdb-js.md); so every such promise is marked handled here,
    // while callers that await one still see its rejection.
    const patch = db as unknown as Record<string, unknown>;
    for (const method of ['put', 'remove'] as const) {
      if (typeof db[method] !== 'function') continue; // a read-only environment has no writers
      const original = (db[method] as (...args: unknown[]) => unknown).bind(db);
      patch[method] = (...args: unknown[]) => {
        const result = original(...args);
        quiet(result);
        return result;
      };
    }
    // After a failed meta-page write LMDB is in MDB_PANIC and every read throws a bare lmdb error (code 22):
    // reads are wrapped so that they fail as ERR_SV_CATALOG_FAILED too, naming the commit that failed.
    for (const method of ['get', 'getBinary'] as const) {
      if (typeof db[method] !== 'function') continue;
      const original = (db[method] as (...args: unknown[]) => unknown).bind(db);
      patch[method] = (...args: unknown[]) => {
        try {
          return original(...args);
        } catch (err) {
          throw this.#readError(err);
        }
      };
    }
    for (const method of ['getRange', 'getKeys'] as const) {
      if (typeof db[method] !== 'function') continue;
      const original = (db[method] as (...args: unknown[]) => Iterable<unknown>).bind(db);
      const self = this;
      patch[method] = (...args: unknown[]) => ({
        *[Symbol.iterator]() {
          try {
            yield* original(...args);
          } catch (err) {
            throw self.#readError(err);
          }
        },
      });
    }
    this.#db = db;
    this.#path = path;
  }

  /** A read that LMDB refused (typically MDB_PANIC after a failed commit) as ERR_SV_CATALOG_FAILED. */
  #readError(err: unknown): unknown {
    if (err instanceof ShardVaultError || err instanceof TypeError || err instanceof RangeError) return err;
    const why = this.#failed !== undefined ? ` (after ${this.#failed.message})` : '';
    const code = (err as { code?: unknown }).code;
    return new ShardVaultError(ErrorCode.CATALOG_FAILED, `catalog read failed: ${(err as Error).message ?? String(err)}${why}`, {
      ...(typeof code === 'number' ? { errno: code } : {}), syscall: 'read', path: this.#path, cause: err,
    });
  }

  /** Why the catalog refuses writes (a commit failed since open), or undefined while it accepts them. */
  get failure(): ShardVaultError | undefined {
    return this.#failed;
  }

  /**
   * Every write transaction goes through here. A commit that LMDB could not write or sync (EIO, ENOSPC, EROFS,
   * EDQUOT on data.mdb) rejects with ERR_SV_CATALOG_FAILED carrying the errno, and fences the catalog: its
   * on-disk state is unknown (the pages may or may not have reached the disk, I9), so every later write is
   * refused with the same error until the pool is reopened, when LMDB's own recovery decides what was
   * committed. Reads go on from the last state this process saw. Errors our own callbacks throw (CONFLICT,
   * NO_SUCH_BUCKET, ...) pass through untouched: nothing was written.
   *
   * lmdb-js reports a failed commit as Error('Commit failed (see commitError for details)') whose
   * `commitError` is a second promise rejected with the real error; unless someone handles it, Node ends the
   * process with an unhandled rejection (docs/upstream/lmdb-js.md). Awaiting it here both handles it and
   * yields the errno.
   */
  async #write<T>(what: string, fn: () => T): Promise<T> {
    if (this.#failed !== undefined) {
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} refused: ${this.#failed.message}`, {
        ...(this.#failed.errno !== undefined ? { errno: this.#failed.errno } : {}), path: this.#path, cause: this.#failed,
      });
    }
    try {
      return await this.#db.transaction(fn);
    } catch (err) {
      if (err instanceof ShardVaultError || err instanceof TypeError || err instanceof RangeError) throw err;
      const cause = await commitCause(err);
      const errno = typeof (cause as { code?: unknown }).code === 'number' ? Math.abs((cause as { code: number }).code) : undefined;
      const name = errno !== undefined ? errnoName(errno) : undefined;
      this.#failed = new ShardVaultError(
        ErrorCode.CATALOG_FAILED,
        `the catalog in ${this.#path} failed a commit${name !== undefined ? ` (${name})` : ''}: ${(cause as Error).message ?? String(cause)}; its state on disk is unknown, so it takes no more writes until the pool is reopened`,
        { ...(errno !== undefined ? { errno } : {}), syscall: 'commit', path: this.#path, cause },
      );
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} not stored: ${this.#failed.message}`, {
        ...(errno !== undefined ? { errno } : {}), syscall: 'commit', path: this.#path, cause,
      });
    }
  }

  /**
   * Opens (creating unless `readOnly`) the catalog in directory `path`. `readOnly`: the LMDB environment is
   * opened read-only (MDB_RDONLY): any number of readers beside the one writer process; only LMDB's reader table
   * in lock.mdb is written, as for every LMDB reader.
   */
  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<LmdbCatalog> {
    if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a directory path', path);
    // overlappingSync: false -> transaction promises resolve after the commit is flushed (durable).
    // eventTurnBatching: false -> every write is a transaction of ours (#write); the event-turn batch would open
    // a commit promise of lmdb-js's own that nobody handles, so a failed commit would end the process.
    const readOnly = options.readOnly === true;
    preflight(path, readOnly);
    const catalog = new LmdbCatalog(open({ path, overlappingSync: false, noSync: false, compression: false, keyEncoding: 'binary', eventTurnBatching: false, ...(readOnly ? { readOnly: true } : {}) }), path);
    if (readOnly) {
      // A read-only open cannot rewrite keys: a catalog that still needs the format-1 -> 2 migration is refused.
      if (catalog.#needsMigration()) {
        void catalog.close();
        throw new ShardVaultError(ErrorCode.READ_ONLY, `catalog ${path} is in key format 1 and must be upgraded first: open the pool read-write once (any command that changes it, or Vault.open without readOnly)`);
      }
    } else {
      catalog.#migrate();
    }
    return catalog;
  }

  /** Whether format-1 short keys remain (see #migrate). */
  #needsMigration(): boolean {
    const db = this.#db;
    if (db.get(dbKey('meta', 'catalog.format')) === CATALOG_FORMAT) return false;
    for (const table of TABLES) {
      const start = Buffer.concat([Buffer.from(table, 'utf8'), Buffer.from([4, 0])]);
      for (const _ of db.getKeys({ start, end: prefixEnd(start)!, limit: 1 })) return true;
    }
    return false;
  }

  /**
   * Format 1 -> 2 (see the header): every key whose table name is followed by the escape 04 00 is a format-1
   * short key; it is rewritten under its format-2 bytes, in one synchronous transaction (LMDB's commit is
   * synced: noSync is off). Long format-1 keys already are format-2 bytes. A catalog with none is untouched
   * except for the `catalog.format` marker.
   */
  #migrate(): void {
    const db = this.#db;
    const marker = dbKey('meta', 'catalog.format');
    if (db.get(marker) === CATALOG_FORMAT) return;
    db.transactionSync(() => {
      for (const table of TABLES) {
        const start = Buffer.concat([Buffer.from(table, 'utf8'), Buffer.from([4, 0])]);
        const old: Array<{ from: Buffer; to: Buffer; value: unknown }> = [];
        for (const { key, value } of db.getRange({ start, end: prefixEnd(start)! })) {
          const from = Buffer.from(key as Uint8Array);
          old.push({ from, to: Buffer.from(decodeFormat1Short(from), 'utf8'), value });
        }
        for (const { from, to, value } of old) {
          db.removeSync(from);
          db.putSync(to, value);
        }
      }
      db.putSync(marker, CATALOG_FORMAT);
    });
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async getHead(bucket: string, key: string): Promise<Head | undefined> {
    return this.#db.get(dbKey('head', name('bucket', bucket, BUCKET_BYTES_MAX), name('key', key, KEY_BYTES_MAX))) as Head | undefined;
  }

  async createBucket(bucket: string, principal: string, timeMs: number): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    await this.#write('createBucket', () => {
      const k = dbKey('bucket', bucket);
      if (this.#db.get(k) !== undefined) throw new ShardVaultError(ErrorCode.BUCKET_EXISTS, `bucket ${bucket} already exists`);
      this.#db.put(k, { createdMs: timeMs });
      this.#appendAudit({ action: 'bucket.create', principal, timeMs, bucket });
    });
  }

  async deleteBucket(bucket: string, principal: string, timeMs: number): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    await this.#write('deleteBucket', () => {
      const k = dbKey('bucket', bucket);
      if (this.#db.get(k) === undefined) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
      for (const { value } of this.#db.getRange(tableRange('head', bucket))) {
        if (!(value as Head).tombstone) throw new ShardVaultError(ErrorCode.BUCKET_NOT_EMPTY, `bucket ${bucket} is not empty`);
      }
      // Uploads in progress end with the bucket (as aborted: their parts' files go to gc).
      const uploads = [...this.#db.getRange(tableRange('upload', bucket))].map(({ key }) => keyParts(key));
      for (const [, , key, uploadId] of uploads) {
        this.#dropParts(bucket, key, uploadId, new Set());
        this.#db.remove(dbKey('upload', bucket, key, uploadId));
      }
      this.#db.remove(k);
      this.#appendAudit({ action: 'bucket.delete', principal, timeMs, bucket });
    });
  }

  async hasBucket(bucket: string): Promise<boolean> {
    return this.#db.get(dbKey('bucket', name('bucket', bucket, BUCKET_BYTES_MAX))) !== undefined;
  }

  async listBuckets(): Promise<string[]> {
    const out: string[] = [];
    for (const k of this.#db.getKeys(tableRange('bucket'))) out.push(keyParts(k)[1]);
    return out;
  }

  /**
   * Makes a new head visible: compare-and-set on the head sequence, the version index entry, the audit record
   * and any repair work, in one transaction that has reached the disk when this resolves. A head whose
   * sequence moved since the writer read it is refused (ERR_SV_CONFLICT) and nothing is written.
   */
  async commit(req: CommitRequest): Promise<AuditRecord> {
    name('bucket', req.bucket, BUCKET_BYTES_MAX);
    name('key', req.key, KEY_BYTES_MAX);
    if (req.head.sequence <= req.expectedSequence) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'the new head sequence must exceed the expected one');
    }
    let record: AuditRecord | undefined;
    await this.#write('commit', () => {
      record = this.#commitIn(req);
    });
    return record!;
  }

  /** The body of commit(), inside a write transaction. */
  #commitIn(req: CommitRequest): AuditRecord {
    {
      if (this.#db.get(dbKey('bucket', req.bucket)) === undefined) {
        throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${req.bucket}`);
      }
      const headKey = dbKey('head', req.bucket, req.key);
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
      if (current !== undefined) this.#db.put(dbKey('garbage', current.versionId), { bucket: req.bucket, key: req.key, head: current, supersededMs: req.head.committedMs ?? req.audit.timeMs });
      this.#db.put(dbKey('vid', req.head.versionId), { bucket: req.bucket, key: req.key, sequence: req.head.sequence });
      for (const r of req.repair ?? []) {
        this.#db.put(dbKey('repair', req.bucket, req.key, req.head.versionId, repairSlot(r)), r);
      }
      for (const p of req.head.parts ?? []) this.#db.put(dbKey('vid', p.partId), { bucket: req.bucket, key: req.key, sequence: req.head.sequence, partOf: req.head.versionId });
      return this.#appendAudit({
        action: req.audit.action, principal: req.audit.principal, timeMs: req.audit.timeMs, bucket: req.bucket,
        key: req.key, versionId: req.head.versionId, detail: req.audit.detail,
      });
    }
  }

  // ------------------------------------------------------------ multipart uploads

  /** Starts a multipart upload (the bucket must exist; the id is the caller's, unguessable). */
  async createUpload(bucket: string, key: string, uploadId: string, record: UploadRecord): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    name('key', key, KEY_BYTES_MAX);
    await this.#write('createUpload', () => {
      if (this.#db.get(dbKey('bucket', bucket)) === undefined) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
      const k = dbKey('upload', bucket, key, uploadId);
      if (this.#db.get(k) !== undefined) throw new ShardVaultError(ErrorCode.CONFLICT, `upload ${uploadId} exists`);
      this.#db.put(k, record);
      this.#appendAudit({ action: 'multipart.create', principal: record.principal, timeMs: record.initiatedMs, bucket, key, detail: `upload=${uploadId}` });
    });
  }

  async getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    return this.#db.get(dbKey('upload', name('bucket', bucket, BUCKET_BYTES_MAX), name('key', key, KEY_BYTES_MAX), uploadId)) as UploadRecord | undefined;
  }

  /**
   * Records an uploaded part (its shard files are sealed): replaces the part of the same number (whose files
   * become garbage), registers the part id (gc keeps its files while the upload lives), audited, one flushed
   * transaction. ERR_SV_NO_SUCH_UPLOAD when the upload is gone (completed, aborted, expired).
   */
  async commitPart(bucket: string, key: string, uploadId: string, partNumber: number, part: PartRecord, principal: string): Promise<void> {
    await this.#write('commitPart', () => {
      if (this.#db.get(dbKey('upload', bucket, key, uploadId)) === undefined) throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId} of ${bucket}/${key}`);
      const k = dbKey('part', uploadId, String(partNumber).padStart(5, '0'));
      const old = this.#db.get(k) as PartRecord | undefined;
      if (old !== undefined) this.#partGarbage(bucket, key, old);
      this.#db.put(k, part);
      this.#db.put(dbKey('vid', part.partId), { bucket, key, sequence: 0n, uploadId, partNumber });
      this.#appendAudit({ action: 'multipart.part', principal, timeMs: part.timeMs, bucket, key, versionId: part.partId, detail: `upload=${uploadId} part=${partNumber} size=${part.size}` });
    });
  }

  /**
   * A part's files to gc (replaced, unused by a Complete, or of an aborted or expired upload); its id forgotten.
   * No reader can be on them (parts are read only as part of a committed object, and a Complete that named
   * this part fails its compare-and-set), so they are due at once (supersededMs 0), without gc's grace.
   */
  #partGarbage(bucket: string, key: string, p: PartRecord): void {
    this.#db.put(dbKey('garbage', p.partId), { bucket, key, head: { versionId: p.partId, sequence: 0n, manifestHash: '', tombstone: false, placement: p.placement, striped: true }, supersededMs: 0 });
    this.#db.remove(dbKey('vid', p.partId));
  }

  /** The uploaded parts of an upload, in part-number order (after part number `after`, at most `limit`). */
  async listParts(uploadId: string, options: { after?: number; limit?: number } = {}): Promise<Array<{ partNumber: number; part: PartRecord }>> {
    return this.#partsOf(uploadId, options);
  }

  #partsOf(uploadId: string, options: { after?: number; limit?: number } = {}): Array<{ partNumber: number; part: PartRecord }> {
    const range = tableRange('part', uploadId);
    const start = options.after === undefined ? range.start : dbKey('part', uploadId, `${String(options.after).padStart(5, '0')}${SEP}`);
    const out: Array<{ partNumber: number; part: PartRecord }> = [];
    for (const { key, value } of this.#db.getRange({ start, end: range.end, ...(options.limit !== undefined ? { limit: options.limit } : {}) })) {
      out.push({ partNumber: Number(keyParts(key)[2]), part: value as PartRecord });
    }
    return out;
  }

  /** Uploads in progress of `bucket` (key, then upload id order) under `prefix`, after `after`, at most `limit`. */
  async listUploads(bucket: string, options: { prefix?: string; after?: { key: string; uploadId?: string }; limit: number }): Promise<Array<{ key: string; uploadId: string; upload: UploadRecord }>> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    const base = dbKey('upload', bucket, '');
    const prefixBytes = Buffer.concat([base, Buffer.from(options.prefix ?? '', 'utf8')]);
    let start: Buffer = prefixBytes;
    if (options.after !== undefined) {
      // After every upload of the key (no upload id marker), or after that upload of the key.
      const resume = options.after.uploadId === undefined
        ? prefixEnd(dbKey('upload', bucket, options.after.key, ''))!
        : Buffer.concat([dbKey('upload', bucket, options.after.key, options.after.uploadId), Buffer.of(0)]);
      if (Buffer.compare(resume, start) > 0) start = resume;
    }
    const out: Array<{ key: string; uploadId: string; upload: UploadRecord }> = [];
    for (const { key, value } of this.#db.getRange({ start, end: prefixEnd(prefixBytes)!, limit: options.limit })) {
      const parts = keyParts(key);
      out.push({ key: parts[2], uploadId: parts[3], upload: value as UploadRecord });
    }
    return out;
  }

  /** Every upload in progress (gc's expiry check). */
  allUploads(): AsyncIterable<{ bucket: string; key: string; uploadId: string; upload: UploadRecord }> {
    return this.#paged(tableRange('upload'), (key, value) => {
      const [, bucket, k, uploadId] = keyParts(key);
      return { bucket, key: k, uploadId, upload: value as UploadRecord };
    });
  }

  /** Ends an upload without an object (abort, or expiry): its parts' files go to gc, audited. */
  async abortUpload(bucket: string, key: string, uploadId: string, action: string, principal: string, timeMs: number): Promise<void> {
    await this.#write('abortUpload', () => {
      const k = dbKey('upload', bucket, key, uploadId);
      if (this.#db.get(k) === undefined) throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId} of ${bucket}/${key}`);
      const n = this.#dropParts(bucket, key, uploadId, new Set());
      this.#db.remove(k);
      this.#appendAudit({ action, principal, timeMs, bucket, key, detail: `upload=${uploadId} parts=${n}` });
    });
  }

  /** Removes an upload's part records, those not in `keep` (part ids) to gc. Returns how many parts it had. */
  #dropParts(bucket: string, key: string, uploadId: string, keep: Set<string>): number {
    const parts = this.#partsOf(uploadId); // inside a write transaction: synchronous
    for (const { partNumber, part } of parts) {
      if (!keep.has(part.partId)) this.#partGarbage(bucket, key, part);
      this.#db.remove(dbKey('part', uploadId, String(partNumber).padStart(5, '0')));
    }
    return parts.length;
  }

  /**
   * Completes an upload: the commit of the multipart object (head compare-and-set, version, repair work, audit,
   * exactly as commit()) and the end of the upload (the parts it uses now belong to the version; the others
   * go to gc; the upload and its part records are removed), in one flushed transaction (I2). The parts used
   * must still be the uploaded ones (`used`: part number -> part id; a part re-uploaded meanwhile is
   * ERR_SV_CONFLICT).
   */
  async completeUpload(req: CommitRequest, uploadId: string, used: Array<{ partNumber: number; partId: string }>): Promise<AuditRecord> {
    name('bucket', req.bucket, BUCKET_BYTES_MAX);
    name('key', req.key, KEY_BYTES_MAX);
    if (req.head.sequence <= req.expectedSequence) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'the new head sequence must exceed the expected one');
    let record: AuditRecord | undefined;
    await this.#write('completeUpload', () => {
      const k = dbKey('upload', req.bucket, req.key, uploadId);
      if (this.#db.get(k) === undefined) throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId} of ${req.bucket}/${req.key}`);
      for (const u of used) {
        const p = this.#db.get(dbKey('part', uploadId, String(u.partNumber).padStart(5, '0'))) as PartRecord | undefined;
        if (p?.partId !== u.partId) throw new ShardVaultError(ErrorCode.CONFLICT, `part ${u.partNumber} of upload ${uploadId} changed while it was being completed`);
      }
      this.#dropParts(req.bucket, req.key, uploadId, new Set(used.map((u) => u.partId)));
      this.#db.remove(k);
      record = this.#commitIn(req);
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
    await this.#write('restore', () => {
      for (const _ of this.#db.getKeys({ ...tableRange('head'), limit: 1 })) {
        throw new ShardVaultError(ErrorCode.CONFLICT, 'restore needs an empty catalog');
      }
      for (const { bucket, key, head, older } of entries) {
        name('bucket', bucket, BUCKET_BYTES_MAX);
        name('key', key, KEY_BYTES_MAX);
        const b = dbKey('bucket', bucket);
        if (this.#db.get(b) === undefined) this.#db.put(b, { createdMs: audit.timeMs });
        this.#db.put(dbKey('head', bucket, key), head);
        for (const v of [...older, head]) {
          this.#db.put(dbKey('vid', v.versionId), { bucket, key, sequence: v.sequence });
          for (const p of v.parts ?? []) this.#db.put(dbKey('vid', p.partId), { bucket, key, sequence: v.sequence, partOf: v.versionId });
        }
      }
      for (const bucket of buckets) {
        const b = dbKey('bucket', name('bucket', bucket, BUCKET_BYTES_MAX));
        if (this.#db.get(b) === undefined) this.#db.put(b, { createdMs: audit.timeMs });
      }
      this.#appendAudit(audit);
    });
  }

  /** A small named catalog value (pool configuration, scrub cursor). */
  async getMeta<T>(item: string): Promise<T | undefined> {
    return this.#db.get(dbKey('meta', item)) as T | undefined;
  }

  /**
   * Sets (or with `undefined` removes) a named value; with `audit`, the audit record is written in the same
   * flushed transaction (pool configuration changes, I6).
   */
  async setMeta(item: string, value: unknown, audit?: { action: string; principal: string; timeMs: number; detail?: string }): Promise<void> {
    await this.#write('setMeta', () => {
      const k = dbKey('meta', item);
      if (value === undefined) this.#db.remove(k);
      else this.#db.put(k, value);
      if (audit !== undefined) this.#appendAudit(audit);
    });
  }

  /**
   * Appends one evidence record (Vault.appendAudit: fields already validated and bounded there) to the audit
   * chain in its own flushed transaction.
   */
  async appendAudit(r: { action: string; principal: string; timeMs: number; target?: string; result: string; requestId?: string; source?: string; detail?: string }): Promise<AuditRecord> {
    let record: AuditRecord | undefined;
    await this.#write('appendAudit', () => {
      record = this.#appendAudit({
        action: r.action, principal: r.principal, timeMs: r.timeMs, result: r.result,
        ...(r.target !== undefined ? { target: r.target } : {}), ...(r.requestId !== undefined ? { requestId: r.requestId } : {}),
        ...(r.source !== undefined ? { source: r.source } : {}), ...(r.detail !== undefined ? { detail: r.detail } : {}),
      });
    });
    return record!;
  }

  /** Whether a version id was ever committed (files of uncommitted versions are leftovers of a crash). */
  async isCommittedVersion(versionId: string): Promise<boolean> {
    return this.#db.get(dbKey('vid', versionId)) !== undefined;
  }

  /** The object a committed version id belongs to. */
  async versionOwner(versionId: string): Promise<VersionOwner | undefined> {
    return this.#db.get(dbKey('vid', versionId)) as VersionOwner | undefined;
  }

  /** One uploaded part of an upload, or undefined. */
  async getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    return this.#db.get(dbKey('part', uploadId, String(partNumber).padStart(5, '0'))) as PartRecord | undefined;
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
    name('bucket', bucket, BUCKET_BYTES_MAX);
    name('key', key, KEY_BYTES_MAX);
    await this.#write('replaceManifest', () => {
      const headKey = dbKey('head', bucket, key);
      const current = this.#db.get(headKey) as Head | undefined;
      if (current === undefined || current.versionId !== expected.versionId || current.manifestHash !== expected.manifestHash || head.versionId !== current.versionId || head.sequence !== current.sequence ||
        (expected.copies !== undefined && JSON.stringify(current.copies ?? null) !== JSON.stringify(expected.copies ?? null))) {
        throw new ShardVaultError(ErrorCode.CONFLICT, `head of ${bucket}/${key} moved while its shards were being repaired`);
      }
      this.#db.put(headKey, head);
      for (const r of done) this.#db.remove(dbKey('repair', bucket, key, head.versionId, repairSlot(r)));
      this.#appendAudit({ ...audit, bucket, key, versionId: head.versionId });
    });
  }

  /**
   * One page of a listing (S3 ListObjectsV2 order and roll-up): live heads of `bucket` whose key starts with
   * `prefix`, in UTF-8 byte order, after `after`; with a `delimiter`, keys that hold it after the prefix are
   * rolled up into one common prefix (prefix + ... + delimiter) each, and the scan seeks past the rolled-up
   * keys instead of walking them. Keys and common prefixes together count toward `maxKeys`; `truncated` when
   * at least one more entry may follow, and then `next` says where the next page starts. Tombstones are skipped;
   * a page steps over at most `scanMax` keys (default 10 x maxKeys, at least 1000: bounded work per call, I7),
   * so a run of deleted keys can end a page early (fewer entries, still `truncated`), as S3 may.
   */
  async listPage(bucket: string, options: ListPageOptions): Promise<{ entries: ListEntry[]; truncated: boolean; next?: { value: string; isPrefix: boolean } }> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    const prefix = options.prefix ?? '';
    const base = dbKey('head', bucket, '');
    const under = (s: string) => Buffer.concat([base, Buffer.from(s, 'utf8')]);
    const prefixBytes = under(prefix);
    const end = prefixEnd(prefixBytes)!; // base ends in 0x00: never all 0xff
    let start: Buffer = prefixBytes;
    if (options.after !== undefined) {
      const a = under(options.after.value);
      const resume = options.after.isPrefix ? prefixEnd(a)! : Buffer.concat([a, Buffer.of(0)]); // k || 00: the least key above k
      if (Buffer.compare(resume, start) > 0) start = resume;
    }
    const page = new PageBuilder(options);
    while (Buffer.compare(start, end) < 0) {
      let restart: Buffer | undefined;
      for (const { key, value } of this.#db.getRange({ start, end })) {
        const k = Buffer.from(key as Uint8Array).subarray(base.length).toString('utf8');
        const step = page.take(k, (value as Head).tombstone, () => value as Head);
        if (step === undefined) continue;
        if ('done' in step) return step.done;
        restart = prefixEnd(under(step.seek))!;
        break; // seek past every key under the common prefix
      }
      if (restart === undefined) break;
      start = restart;
    }
    return page.page();
  }

  /** Queues shards for repair (e.g. found bad by a read), with an audit record, in one transaction. */
  async queueRepair(items: Array<RepairItem>, principal: string, timeMs: number): Promise<RepairItem[]> {
    // Already queued work is not queued (or audited) again: reads of a degraded object would otherwise add an
    // audit record each time.
    // An item that now names a destination (a replacement disk) updates the queued one.
    items = items.filter((r) => {
      const queued = this.#db.get(dbKey('repair', r.bucket, r.key, r.versionId, repairSlot(r))) as { to?: string } | undefined;
      return queued === undefined || (r.to !== undefined && queued.to !== r.to);
    });
    if (items.length === 0) return [];
    await this.#write('queueRepair', () => {
      for (const r of items) this.#db.put(dbKey('repair', r.bucket, r.key, r.versionId, repairSlot(r)), { disk: r.disk, shard: r.shard, ...(r.to !== undefined ? { to: r.to } : {}), ...(r.part !== undefined ? { part: r.part } : {}) });
      this.#appendAudit({ action: 'repair.queue', principal, timeMs, bucket: items[0].bucket, key: items[0].key, versionId: items[0].versionId, detail: items.map(repairSlot).join(',') });
    });
    return items; // what was queued now (already queued work is left out)
  }

  /** Removes repaired (or superseded) items from the queue, with an audit record, in one transaction. */
  async completeRepair(items: Array<{ bucket: string; key: string; versionId: string; shard: number }>, action: string, principal: string, timeMs: number): Promise<void> {
    if (items.length === 0) return;
    await this.#write('completeRepair', () => {
      for (const r of items) this.#db.remove(dbKey('repair', r.bucket, r.key, r.versionId, repairSlot(r)));
      this.#appendAudit({ action, principal, timeMs, bucket: items[0].bucket, key: items[0].key, versionId: items[0].versionId, detail: items.map(repairSlot).join(',') });
    });
  }

  /** Superseded versions whose files gc removes after the grace period (queued by commit). */
  garbageQueue(): AsyncIterable<{ bucket: string; key: string; head: Head; supersededMs: number }> {
    return this.#paged(tableRange('garbage'), (_, value) => value as { bucket: string; key: string; head: Head; supersededMs: number });
  }

  /**
   * Queues the files of a version that was never committed (a failed put whose own cleanup could not remove
   * them) for gc, as if it had been superseded at `supersededMs`. Refused for a committed version.
   */
  async queueGarbage(entry: { bucket: string; key: string; head: Head; supersededMs: number }): Promise<void> {
    await this.#write('queueGarbage', () => {
      if (this.#db.get(dbKey('vid', entry.head.versionId)) !== undefined) throw new ShardVaultError(ErrorCode.CONFLICT, `version ${entry.head.versionId} is committed`);
      this.#db.put(dbKey('garbage', entry.head.versionId), entry);
    });
  }

  async completeGarbage(versionIds: string[]): Promise<void> {
    if (versionIds.length === 0) return;
    await this.#write('completeGarbage', () => {
      for (const v of versionIds) this.#db.remove(dbKey('garbage', v));
    });
  }

  /** Every live head, bucket by bucket, key order: what scrub walks. */
  heads(options: { after?: { bucket: string; key: string }; tombstones?: boolean } = {}): AsyncIterable<{ bucket: string; key: string; head: Head }> {
    const { start: first, end } = tableRange('head');
    const start = options.after === undefined ? first : dbKey('head', options.after.bucket, `${options.after.key}${SEP}`);
    return this.#paged({ start, end }, (key, value) => {
      const [, bucket, k] = keyParts(key);
      return options.tombstones === true || !(value as Head).tombstone ? { bucket, key: k, head: value as Head } : undefined;
    });
  }

  repairQueue(): AsyncIterable<RepairItem> {
    return this.#paged(tableRange('repair'), (key, value) => {
      const [, bucket, k, versionId] = keyParts(key);
      const v = value as { disk: string; shard: number; to?: string; part?: number };
      return { bucket, key: k, versionId, disk: v.disk, shard: v.shard, ...(v.to !== undefined ? { to: v.to } : {}), ...(v.part !== undefined ? { part: v.part } : {}) };
    });
  }

  auditLog(): AsyncIterable<AuditRecord> {
    return this.#paged(tableRange('audit'), (_, value) => value as AuditRecord);
  }

  async verifyAudit(): Promise<number> {
    return verifyChain(this.auditLog());
  }

  async auditHead(): Promise<AuditRecord | undefined> {
    const { start, end } = tableRange('audit');
    for (const { value } of this.#db.getRange({ start: end, end: start, reverse: true, limit: 1 })) return value as AuditRecord;
    return undefined;
  }

  async auditRecord(index: number): Promise<AuditRecord | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    return this.#db.get(dbKey('audit', String(index).padStart(16, '0'))) as AuditRecord | undefined;
  }

  /**
   * A table range as an async iterable read one page (PAGE entries, one read each) at a time, resuming after
   * the last key: a long walk holds no read transaction across the awaits of its consumer and sees commits
   * made meanwhile. `map` turns an entry into an item, or undefined to skip it.
   */
  #paged<T>(range: { start: Buffer; end: Buffer }, map: (key: Buffer, value: unknown) => T | undefined): AsyncIterable<T> {
    const db = this.#db;
    return {
      async *[Symbol.asyncIterator]() {
        let start = range.start;
        for (;;) {
          const page: Array<{ key: Buffer; value: unknown }> = [];
          for (const { key, value } of db.getRange({ start, end: range.end, limit: PAGE })) page.push({ key: Buffer.from(key as Uint8Array), value });
          for (const e of page) {
            const item = map(e.key, e.value);
            if (item !== undefined) yield item;
          }
          if (page.length < PAGE) return;
          start = Buffer.concat([page[page.length - 1].key, Buffer.from([0])]); // the smallest key after the last one
        }
      },
    };
  }

  #appendAudit(r: Omit<AuditRecord, 'hash' | 'index' | 'prevHash'>): AuditRecord {
    const { start, end } = tableRange('audit');
    let last: AuditRecord | undefined;
    for (const { value } of this.#db.getRange({ start: end, end: start, reverse: true, limit: 1 })) last = value as AuditRecord;
    const record = nextRecord(last, r);
    this.#db.put(dbKey('audit', String(record.index).padStart(16, '0')), record);
    return record;
  }
}
