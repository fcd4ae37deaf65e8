/**
 * Vault: the engine over a pool of directory disks (docs/design.md). Stored bytes (manifests, manifest copies,
 * shard header, ids) are in lib/format/, on-disk names in lib/store/local/layout.ts, disk formatting and identity in
 * lib/store/local/disk.ts, the commit point in lib/catalog.ts.
 *
 * put: validate -> place (lib/placement, offline and draining disks skipped within the failure-domain rule)
 *   -> per batch of stripes one native encode+hash call (content hash on the pool too) -> each disk: shard
 *   file (header + blocks, created under its final name and sealed durably) and, at the same time, the
 *   manifest copy (signed manifest + hash table) appended durably to the disk's copy log (lib/store/local/copylog.ts; the
 *   head records where) -> under the key's lock, one flushed catalog commit (head CAS + version + garbage +
 *   audit + repair work for disks that failed) -> a receipt signed by the pool key. Nothing is visible before
 *   the commit (I2) and the promise resolves only after it (I1). Write quorum: all k + m by default, at
 *   least k + 1.
 * get: head from the catalog -> the manifest copy the head names (by hash; signature by a pool key, sequence
 *   equal to the head: an older copy cannot roll the object back, I4) -> data blocks read and checked against
 *   the hash table in the same native call -> on any missing or mismatching block, parity read, reconstruct,
 *   and the rebuilt blocks verified too (decode-then-verify, I3) -> whole-object content hash checked. Bad
 *   shards and bad or stale manifest copies met on the way are queued for repair.
 * repair: rebuilds queued shards from any k good ones, verifies them, and writes them to their disk, or to a
 *   replacement that keeps the failure-domain rule (I8) when their disk is offline, draining or removed; a
 *   move re-signs the manifest with the new placement and re-points the head (compare-and-set).
 * gc: removes superseded versions' shard files from the garbage queue; its walk (at open after an unclean
 *   shutdown) removes temporary files, shard files of versions never committed, superseded or moved away, and
 *   copy-log segments nothing points into (after a grace period), compacts mostly dead segments, and queues
 *   repair for heads whose files are short.
 * One Vault per pool (a lock file in the meta directory); disk lifecycle and catalog rebuild are below.
 */
import { createHash, generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { getSystemErrorMap } from 'node:util';

import { Catalog, type AuditRecord, type CommitRequest, type Head, type RepairItem, type UploadRecord } from './catalog.js';
import { ReedSolomon } from './codec.js';
import { diskCondition, diskProblem, formatDisk, lockPool, mkdirDurable, writeFileDurable, type DiskCondition, type DiskConfig } from './store/local/disk.js';
import { ErrorCode, ShardVaultError, rangeError, typeError, type DiskFailure } from './errors.js';
import { blake3Sync } from './hash.js';
import { CopyLog, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, listSegments, releaseSegment, payloadDigest, recordBytes, readRecord, scanSegment, segmentPath, type CopyRef } from './store/local/copylog.js';
import { hex, keyId, objectId } from './format/ids.js';
import { HASH_TABLE_CONTEXT, blockHash, copyBytes, manifestHashOf, openCopy } from './format/manifest-copy.js';
import { partStripes, signManifest, type Manifest, type SystemHeaders } from './format/manifest.js';
import { FORMAT_VERSION, HEADER_BYTES, decodeHeader, encodeHeader } from './format/shard-header.js';
import { fanoutDirs, objectDir, parseFileName, shardFileName } from './store/local/layout.js';
import { checkPoolLayout, place, placementKey, replaceShard, type PlacementDisk } from './placement.js';
import { openShardWriter, readRange, type ShardWriter } from './store/local/shardio.js';
import { abortableDelay, abortableIterable, checkSignal, throwIfAborted } from './abort.js';
import { VaultEvents, type DiskDroppedEvent } from './events.js';
import { decodeListToken, encodeListToken, listTokenKey } from './listing.js';
import { boolean, integer, nonEmptyString, oneOf, optionsObject } from './validate.js';
import { KeyLock } from './engine/key-lock.js';
import { peekSmall, writeBody, type StripeWriteContext } from './engine/put.js';
import { StripeReader, readBodies, type StripeReadContext } from './engine/get.js';
import { bodiesOf, type Body } from './engine/bodies.js';
import { checkCondition, etagOf, manifestMetadata, multipartContentHash, multipartEtag, objectMetadata, writeCondition, type ManifestMetadata, type PutOptions, type StoredChecksum, type WriteCondition } from './engine/object-meta.js';
import { checkDiskSpec, diskError, diskSpec, diskSpecs, errnoNameOf, mergePaths, preflightDisk, preflightMetaDir, readPoolJson, required, unformatDisk, within, type PoolConfig, type VaultDiskSpec } from './engine/pool-setup.js';
import { NAME_LIMITS, checkBucket, checkKey, checkName, checkNewBucket, checkPrincipal, isWellFormed, listString } from './engine/names.js';


export interface VaultInitOptions {
  disks: VaultDiskSpec[];
  /** Directory for the catalog and the pool key (not one of the disks). */
  metaDir: string;
  k: number;
  m: number;
  blockBytes?: number;
  failureDomain?: string;
  writeQuorum?: number;
  /** As VaultOpenOptions (for the Vault init returns). */
  uploadTtlMs?: number;
  minPartBytes?: number;
}

export interface VaultOpenOptions {
  /** Files of uncommitted or superseded versions younger than this are kept at open (default 0: the pool lock
   *  means nothing else is writing or reading; explicit gc() keeps 1 hour for readers of superseded versions). */
  orphanGraceMs?: number;
  /**
   * 'walk': the full recovery walk of every disk (temporary files, orphans, stale copies, heads short of files
   * queued for repair); 'quick': only the garbage queue. Default: 'walk' after an unclean shutdown (the last
   * owner's lock was left behind), else 'quick'.
   */
  recover?: 'walk' | 'quick';
  /** Open for reading only, without the pool lock (works while another process has the pool open); see open(). */
  readOnly?: boolean;
  /** Multipart uploads not completed or aborted this long after createUpload expire: gc() removes them and their
   *  parts (default 7 days). */
  uploadTtlMs?: number;
  /** The smallest size of a part other than the last that completeUpload accepts (default 5 MiB, S3's). */
  minPartBytes?: number;
}

const INIT_OPTION_KEYS = ['disks', 'metaDir', 'k', 'm', 'blockBytes', 'failureDomain', 'writeQuorum', 'uploadTtlMs', 'minPartBytes'] as const;
const OPEN_OPTION_KEYS = ['orphanGraceMs', 'recover', 'readOnly', 'uploadTtlMs', 'minPartBytes'] as const;
const UPLOAD_TTL_MS_DEFAULT = 7 * 24 * 3600 * 1000;
const MIN_PART_BYTES_DEFAULT = 5 << 20;
/** Parts a multipart upload may have, and its highest part number (S3's). */
export const PARTS_MAX = 10000;
/** Most parts one listParts page and most uploads one listUploads page returns (S3's). */
export const LIST_PARTS_MAX = 1000;


export interface Receipt {
  bucket: string;
  key: string;
  versionId: string;
  sequence: string;
  manifestHash: string;
  durableDisks: string[];
  degraded: boolean;
  /** Ed25519 signature by the pool key over the canonical JSON of the other fields. */
  signature: string;
}

export interface GcResult {
  temporaryRemoved: number;
  orphansRemoved: number;
  supersededRemoved: number;
  staleRemoved: number;
  /** Copy-log segments no live or queued version points into (every record in them dead): removed, or kept as
   *  free segments for reuse (`<disk>/log/free-*.seg`, a few per disk). */
  segmentsRemoved: number;
  /** Live copies moved out of mostly-dead segments (compaction), so those segments can go. */
  copiesCompacted: number;
  repairQueued: number;
}

export type { SystemHeaders } from './format/manifest.js';
export type { PutOptions, StoredChecksum } from './engine/object-meta.js';
export type { VaultDiskSpec } from './engine/pool-setup.js';



export interface ObjectHead {
  size: number;
  versionId: string;
  sequence: bigint;
  timeMs: number;
  contentHash: string;
  contentType?: string;
  metadata: Record<string, string>;
  etag?: string;
  /** S3 system headers stored with the object ({} when none). */
  headers: SystemHeaders;
  checksum?: StoredChecksum;
  /** A multipart object: each part's size, in order. */
  parts?: number[];
}

export interface CreateUploadOptions {
  principal?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  headers?: SystemHeaders;
}

export interface PutPartOptions {
  principal?: string;
  signal?: AbortSignal;
  /** Declared MD5 (Content-MD5), checked as for put. */
  md5?: Uint8Array | string;
  /** A checksum of the part the caller computed and verified: stored with the part (listParts). */
  checksum?: StoredChecksum;
}

export interface CompleteUploadOptions {
  principal?: string;
  ifMatch?: string;
  ifNoneMatch?: '*';
}

/** Upload ids: 40 hex digits (160 random bits). */
const UPLOAD_ID_RE = /^[0-9a-f]{40}$/;




/** Fields of one evidence record (Vault.appendAudit). */
export interface AuditInput {
  principal: string;
  action: string;
  target?: string;
  result: string;
  requestId?: string;
  source?: string;
  detail?: string;
}

/** Bounds of appendAudit's fields (UTF-8 bytes). */
export const AUDIT_FIELD_LIMITS = { principal: 128, action: 64, target: 1100, result: 64, requestId: 128, source: 256, detail: 1024 } as const;


export interface ListOptions {
  /** Only keys starting with this (default ''). */
  prefix?: string;
  /** Roll keys up to prefix + ... + delimiter (a "directory") into commonPrefixes. */
  delimiter?: string;
  /** First page only: keys after this one (byte order). Ignored when a continuation token is given. */
  startAfter?: string;
  /** `nextContinuationToken` of the previous page of the same listing. */
  continuationToken?: string;
  /** Keys plus common prefixes per page: 1..1000, default 1000. */
  maxKeys?: number;
}

export interface ListResult {
  objects: Array<{ key: string; size: number; lastModified: Date; etag?: string }>;
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

/** Most keys (plus common prefixes) one list() page returns, as S3's ListObjectsV2. */
export const LIST_KEYS_MAX = 1000;

export interface ScrubProgress {
  objects: number;
  bytes: number;
  bad: number;
  /** The last object checked: `scrub({ resume: true })` continues after it. */
  last?: { bucket: string; key: string };
  /** In the result (not in progress reports): disks that could not be scrubbed or need work (missing, emptied,
   *  foreign, unmounted, unreadable, draining), each with the command that fixes it. */
  disks?: Array<{ id: string; path: string; condition: DiskHealthCondition; hint?: string }>;
}

/** A disk's condition in status() and scrub(): online, draining or removed, else why it is unusable. */
export type DiskHealthCondition = 'online' | 'draining' | 'removed' | DiskCondition;

/** Scrub reads a shard in pieces of at most this many bytes (memory is bounded whatever the object size, I7). */
const SCRUB_READ_BYTES_MAX = 16 << 20;
const SCRUB_CURSOR = 'scrub.cursor';
/** Backoff of the re-check of an unusable disk before writes (#reprobe): first after 1 s, then doubling to 60 s. */
const REPROBE_FIRST_MS = 1000;
const REPROBE_MAX_MS = 60_000;
const POOL_CONFIG = 'pool.config';
/** Objects up to this size (given as one buffer) are stored inline in the manifest copies. N.B. format policy. */
export const INLINE_BYTES_MAX = 16 * 1024;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Vault {
  /** Why each disk is unusable right now (absent: usable). Refreshed at open and by status(). */
  readonly #problems = new Map<string, string>();
  /** What kind of problem each unusable disk has (see DiskCondition), beside #problems' text. */
  readonly #conditions = new Map<string, DiskCondition>();
  readonly #keyId: Uint8Array;
  /** Each disk's copy log (lib/store/local/copylog.ts), opened at the first copy written there. */
  readonly #logs = new Map<string, CopyLog>();

  private constructor(
    private readonly metaDir: string,
    private config: PoolConfig,
    private readonly catalog: Catalog,
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly codec: ReedSolomon,
  ) {
    this.#keyId = keyId(publicKey);
    this.#listTokenKey = listTokenKey(privateKey);
  }

  readonly #listTokenKey: Uint8Array;

  /** The verified stripe reader (lib/engine/get.ts) of get and repair, bound to this Vault. */
  readonly #reader = new StripeReader(((v: Vault): StripeReadContext => ({
    get codec() {
      return v.codec;
    },
    shardPath: (diskId, oid, vid, shard) => v.#shardPath(diskId, oid, vid, shard),
    countError: (id, kind) => v.#countError(id, kind),
  }))(this));

  /** The collaborators of the stripe pipeline (lib/engine/put.ts), bound to this Vault. */
  readonly #stripeContext: StripeWriteContext = ((v: Vault): StripeWriteContext => ({
    get config() {
      return v.config;
    },
    get codec() {
      return v.codec;
    },
    reprobe: () => v.#reprobe(),
    placementDisks: () => v.#placementDisks(),
    rule: () => v.#rule(),
    readable: (id) => v.#readable(id),
    countError: (id, kind) => v.#countError(id, kind),
    failure: (id, shard, during, err) => v.#failure(id, shard, during, err),
    quorumError: (bucket, key, failures, sealed, n) => v.#quorumError(bucket, key, failures, sealed, n),
    diskDropped: (disk, op, err) => v.#diskDropped(disk, op, err),
    cleanUpFailedPut: (bucket, key, vid, placement, shardFiles, refs) => v.#cleanUpFailedPut(bucket, key, vid, placement, shardFiles, refs),
  }))(this);

  /** What the engine did, for logging and metrics (lib/events.ts; a throwing listener never breaks the engine). */
  readonly events = new VaultEvents();

  /**
   * Formats the disks and the meta directory, all or nothing: every option is validated and every disk and
   * the meta directory are checked (a directory, empty apart from `lost+found`, not part of a pool, a mount
   * point when `mountPoint` says so) before anything is written; then the disks are formatted and the meta
   * directory written, and when any step fails what was written is removed again (directories this call
   * created, else the identity file, fan-out and log directories it made), so no disk is left marked as part of
   * a pool that never existed. The error names the disk. A crash in the middle can still leave marked disks
   * (the rollback is not crash-atomic). Disk paths are resolved to absolute paths here, once, and stored so.
   */
  static async init(options: VaultInitOptions): Promise<Vault> {
    if (options === undefined) throw typeError('options', 'an options object { disks, metaDir, k, m }', options);
    const o = optionsObject<VaultInitOptions>('options', options, INIT_OPTION_KEYS);
    const metaDir = resolve(nonEmptyString('metaDir', o.metaDir));
    const k = integer('k', required('k', o.k), 1, 255);
    const m = integer('m', required('m', o.m), 1, 256 - k);
    const blockBytes = integer('blockBytes', o.blockBytes ?? 1 << 20, 1, 1 << 26);
    const failureDomain = nonEmptyString('failureDomain', o.failureDomain ?? 'disk');
    const writeQuorum = integer('writeQuorum', o.writeQuorum ?? k + m, k + 1, k + m);
    const uploadTtlMs = o.uploadTtlMs === undefined ? undefined : integer('uploadTtlMs', o.uploadTtlMs, 1, Number.MAX_SAFE_INTEGER);
    const minPartBytes = o.minPartBytes === undefined ? undefined : integer('minPartBytes', o.minPartBytes, 0, Number.MAX_SAFE_INTEGER);
    const specs = diskSpecs('disks', required('disks', o.disks));
    const poolId = hex(randomBytes(16));
    const disks: DiskConfig[] = specs.map((d, i) => ({ id: `disk-${i}-${hex(randomBytes(4))}`, path: d.path, labels: d.labels ?? {}, dev: 0, state: 'active' }));
    checkPoolLayout(disks.map((d) => ({ id: d.id, labels: d.labels })), { k, m, level: failureDomain });
    disks.forEach((d, i) => {
      const twin = disks.findIndex((x) => x.path === d.path);
      if (twin !== i) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `disks[${twin}] and disks[${i}] are the same directory ${d.path}`);
      if (within(metaDir, d.path) || within(d.path, metaDir)) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `metaDir ${metaDir} and disks[${i}] ${d.path} overlap: the meta directory is not one of the disks`);
    });
    // 1. Check everything (nothing is written yet).
    await preflightMetaDir(metaDir);
    const exists: boolean[] = [];
    for (const [i, spec] of specs.entries()) exists.push(await preflightDisk(`disks[${i}]`, spec, disks[i].path)); // the first bad disk is named
    // 2. Write, remembering how to undo each step; on any failure undo them all (newest first).
    const undo: Array<() => Promise<void>> = [];
    const rollBack = async () => {
      for (const u of undo.reverse()) await u().catch(() => undefined);
    };
    try {
      const formatted = await Promise.allSettled(disks.map(async (d, i) => {
        try {
          if (!exists[i]) {
            const first = await mkdirDurable(d.path);
            if (first !== undefined) undo.push(() => rm(first, { recursive: true, force: true }));
          } else {
            undo.push(() => unformatDisk(d.path));
          }
          await formatDisk(d, poolId);
        } catch (err) {
          throw diskError(`disks[${i}]`, d.path, err, 'formatting');
        }
      }));
      const failed = formatted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const metaExisted = existsSync(metaDir);
      const firstMeta = await mkdirDurable(metaDir);
      if (firstMeta !== undefined) undo.push(() => rm(firstMeta, { recursive: true, force: true }));
      else if (metaExisted) undo.push(async () => { for (const f of ['pool.json', 'pool.key', 'catalog', 'buckets.json', 'lock']) await rm(join(metaDir, f), { recursive: true, force: true }); });
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFileDurable(join(metaDir, 'pool.key'), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      const config: PoolConfig = { poolId, formatVersion: FORMAT_VERSION, k, m, blockBytes, failureDomain, writeQuorum, disks };
      // pool.json is the bootstrap copy; the catalog's copy is authoritative once written (disk lifecycle
      // changes are committed there together with their audit record, I6).
      await writeFileDurable(join(metaDir, 'pool.json'), JSON.stringify(config, null, 2));
      return await Vault.open(metaDir, { ...(uploadTtlMs !== undefined ? { uploadTtlMs } : {}), ...(minPartBytes !== undefined ? { minPartBytes } : {}) });
    } catch (err) {
      await rollBack();
      throw err;
    }
  }

  /**
   * Opens a formatted pool. A disk whose identity file or device does not match is not used (it is reported
   * by status() and treated as offline: its shards are erasures, no new shards go there); the pool opens while
   * at least k disks are usable. Then gc() runs with temporary files removed: leftovers of any crash go (I2),
   * and heads whose files are short are queued for repair.
   *
   * `readOnly: true` opens without the pool lock (so it works while another process has the pool open), with
   * the catalog opened read-only (LMDB allows many readers; only its reader table in lock.mdb is written, as
   * for any LMDB reader), no recovery walk and no write anywhere: reads, status, scrub (verify only, nothing
   * queued) and the audit log work; every mutation throws ERR_SV_READ_ONLY. Bad shards met by reads are not
   * queued for repair. A writer in another process may remove a superseded version's files after its grace
   * period while a read-only reader still reads it: that read fails (never wrong bytes).
   *
   * Disk paths in pool.json are used as stored: pools made since paths are stored absolute open from any
   * directory; older pools with relative paths resolve them against the current directory, as they always did.
   */
  static async open(metaDir: string, options: VaultOpenOptions = {}): Promise<Vault> {
    nonEmptyString('metaDir', metaDir);
    const o = optionsObject<VaultOpenOptions>('options', options, OPEN_OPTION_KEYS);
    const orphanGraceMs = o.orphanGraceMs === undefined ? undefined : integer('orphanGraceMs', o.orphanGraceMs, 0, Number.MAX_SAFE_INTEGER);
    const recover = o.recover === undefined ? undefined : oneOf('recover', o.recover, ['walk', 'quick'] as const);
    const readOnly = o.readOnly === undefined ? false : boolean('readOnly', o.readOnly);
    const uploads = {
      uploadTtlMs: o.uploadTtlMs === undefined ? UPLOAD_TTL_MS_DEFAULT : integer('uploadTtlMs', o.uploadTtlMs, 1, Number.MAX_SAFE_INTEGER),
      minPartBytes: o.minPartBytes === undefined ? MIN_PART_BYTES_DEFAULT : integer('minPartBytes', o.minPartBytes, 0, Number.MAX_SAFE_INTEGER),
    };
    const boot = await readPoolJson(metaDir);
    if (boot.formatVersion !== FORMAT_VERSION) {
      throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `pool format version ${String(boot.formatVersion)} is not ${FORMAT_VERSION}`);
    }
    const privateKey = createPrivateKey(await readFile(join(metaDir, 'pool.key'), 'utf8'));
    if (readOnly) return Vault.#openReadOnly(metaDir, boot, privateKey, uploads);
    const { release: unlock, uncleanShutdown } = await lockPool(metaDir);
    try {
      return await Vault.#openLocked(metaDir, boot, privateKey, unlock, { orphanGraceMs, recover: recover ?? (uncleanShutdown ? 'walk' : 'quick'), ...uploads });
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  static async #openReadOnly(metaDir: string, boot: PoolConfig, privateKey: KeyObject, uploads: { uploadTtlMs: number; minPartBytes: number }): Promise<Vault> {
    const catalogDir = join(metaDir, 'catalog');
    if (!existsSync(join(catalogDir, 'data.mdb'))) {
      throw new ShardVaultError(ErrorCode.NOT_FOUND, `pool ${metaDir} has no catalog yet (open it once read-write)`);
    }
    const catalog = Catalog.open(catalogDir, { readOnly: true });
    try {
      const config = mergePaths(catalog.getMeta<PoolConfig>(POOL_CONFIG) ?? boot, boot);
      if (config.poolId !== boot.poolId) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `catalog in ${metaDir} belongs to pool ${config.poolId}, pool.json to ${boot.poolId}`);
      }
      const vault = new Vault(metaDir, config, catalog, privateKey, createPublicKey(privateKey), new ReedSolomon(config.k, config.m));
      vault.#readOnly = true;
      vault.#uploadTtlMs = uploads.uploadTtlMs;
      vault.#minPartBytes = uploads.minPartBytes;
      await vault.#checkDisks();
      return vault;
    } catch (err) {
      await catalog.close();
      throw err;
    }
  }

  static async #openLocked(metaDir: string, boot: PoolConfig, privateKey: KeyObject, unlock: () => Promise<void>, options: VaultOpenOptions): Promise<Vault> {
    await mkdirDurable(join(metaDir, 'catalog')); // LMDB syncs its files, not the directory entry it lives in
    const catalog = Catalog.open(join(metaDir, 'catalog'));
    try {
      let config = catalog.getMeta<PoolConfig>(POOL_CONFIG);
      if (config === undefined) {
        config = boot;
        await catalog.setMeta(POOL_CONFIG, config, { action: 'pool.init', principal: 'local', timeMs: Date.now(), detail: `${config.k}+${config.m}, ${config.disks.length} disks` });
      }
      if (config.poolId !== boot.poolId) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `catalog in ${metaDir} belongs to pool ${config.poolId}, pool.json to ${boot.poolId}`);
      }
      config = mergePaths(config, boot);
      const vault = new Vault(metaDir, config, catalog, privateKey, createPublicKey(privateKey), new ReedSolomon(config.k, config.m));
      vault.#unlock = unlock;
      vault.#uploadTtlMs = options.uploadTtlMs ?? UPLOAD_TTL_MS_DEFAULT;
      vault.#minPartBytes = options.minPartBytes ?? MIN_PART_BYTES_DEFAULT;
      await vault.#checkDisks();
      const usable = config.disks.filter((d) => d.state !== 'removed' && !vault.#problems.has(d.id)).length;
      if (usable < config.k) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `only ${usable} disks of pool ${config.poolId} are usable, ${config.k} needed: ${[...vault.#problems].map(([id, p]) => `${id}: ${p}`).join('; ')}`);
      }
      // After an unclean shutdown (or when asked) the full walk removes what any crash left; after a clean
      // close only the garbage queue is worked off, so opening a big pool stays cheap.
      // No grace is needed by default: the pool lock means no writer or reader of this pool is running.
      vault.lastRecovery = await vault.gc({ graceMs: options.orphanGraceMs ?? 0, removeTemporary: true, walk: options.recover === 'walk', compact: false });
      return vault;
    } catch (err) {
      await catalog.close();
      throw err;
    }
  }

  /**
   * Rebuilds a lost or damaged catalog from the manifest copies on the disks (DESIGN.md 2): every record of
   * every copy-log segment is read and verified (record hash and position, pool-key signature, hash-table
   * root); per key the highest valid sequence
   * becomes the head (a tombstone keeps a deleted key deleted), older versions go into the version index. The
   * old catalog directory is moved aside, and the new audit chain starts with a `catalog.rebuild` record that
   * names the old chain's last hash when it was still readable (re-anchoring). Needs pool.json and pool.key.
   * Caveats: freshness falls back to what the disks hold (a put that sealed its copies but crashed before its
   * commit can surface; a version whose every copy was lost cannot), empty buckets come back from the saved
   * list `buckets.json` (as of the last bucket change), and the repair queue starts empty (the next open queues
   * what is missing).
   */
  static async rebuildCatalog(metaDir: string, principal = 'local'): Promise<{ objects: number; versions: number; copiesRead: number; copiesRejected: number; movedAside?: string }> {
    nonEmptyString('metaDir', metaDir);
    checkPrincipal(principal);
    const boot = await readPoolJson(metaDir);
    const privateKey = createPrivateKey(await readFile(join(metaDir, 'pool.key'), 'utf8'));
    const publicKey = createPublicKey(privateKey);
    const trustedId = keyId(publicKey);
    const { release: unlock } = await lockPool(metaDir);
    try {
      const catalogDir = join(metaDir, 'catalog');
      let movedAside: string | undefined;
      let oldAuditHead = 'none';
      if (existsSync(catalogDir)) {
        movedAside = `${catalogDir}-lost-${Date.now()}`; // no dot: lmdb-js takes a path with an extension for a file
        await rename(catalogDir, movedAside);
        try {
          const old = Catalog.open(movedAside);
          const log = old.auditLog();
          oldAuditHead = log.length > 0 ? `${log.length - 1}:${log[log.length - 1].hash}${old.verifyAudit() === -1 ? '' : ' (chain broken)'}` : 'empty';
          await old.close();
        } catch (err) {
          oldAuditHead = `unreadable (${(err as Error).message})`;
        }
      }
      // Per object, per version: the verified manifest with the most copies.
      const found = new Map<string, Map<string, Map<string, { manifest: Manifest; copies: number; refs: Map<string, CopyRef> }>>>();
      let copiesRead = 0;
      let copiesRejected = 0;
      const poolId = Buffer.from(boot.poolId, 'hex');
      for (const d of boot.disks) {
        if (d.state === 'removed' || (await diskProblem(d, boot.poolId)) !== undefined) continue;
        for (const seg of (await listSegments(d.path)).segments) {
          const bytes = await readFile(segmentPath(d.path, seg)).catch(() => undefined);
          if (bytes === undefined) continue;
          // Torn records (a crash mid-append) are not records: the scan skips them.
          for (const { ref, payload } of scanSegment(bytes, seg, poolId)) {
            copiesRead++;
            try {
              const { manifest, manifestHash } = openCopy(payload, (id) => (Buffer.compare(id, trustedId) === 0 ? publicKey : null));
              const vid = hex(manifest.versionId);
              const objectKey = `${manifest.bucket}\0${manifest.key}`;
              const versions = found.get(objectKey) ?? new Map();
              found.set(objectKey, versions);
              const byHash = versions.get(vid) ?? new Map();
              versions.set(vid, byHash);
              const seen = byHash.get(manifestHash) ?? { manifest, copies: 0, refs: new Map<string, CopyRef>() };
              seen.copies++;
              seen.refs.set(d.id, ref);
              byHash.set(manifestHash, seen);
            } catch {
              copiesRejected++;
            }
          }
        }
      }
      const entries: Array<{ bucket: string; key: string; head: Head; older: Head[] }> = [];
      let versionCount = 0;
      for (const versions of found.values()) {
        const heads = [...versions.values()].map((byHash) => {
          const [manifestHash, { manifest, refs }] = [...byHash.entries()].sort((a, b) => b[1].copies - a[1].copies || (a[0] < b[0] ? -1 : 1))[0];
          const head: Head = {
            versionId: hex(manifest.versionId), sequence: manifest.sequence, manifestHash, tombstone: manifest.tombstone,
            placement: manifest.placement, copies: manifest.placement.map((id) => refs.get(id) ?? null), striped: manifest.stripeCount > 0,
            committedMs: manifest.timeMs, size: manifest.size, timeMs: manifest.timeMs, ...etagOf(manifest),
            ...(manifest.parts !== undefined ? { parts: manifest.parts.map((p) => ({ partId: hex(p.partId), placement: p.placement })) } : {}),
          };
          return { head, manifest };
        });
        heads.sort((a, b) => (a.head.sequence < b.head.sequence ? 1 : a.head.sequence > b.head.sequence ? -1 : 0));
        versionCount += heads.length;
        const { manifest } = heads[0];
        entries.push({ bucket: manifest.bucket, key: manifest.key, head: heads[0].head, older: heads.slice(1).map((h) => h.head) });
      }
      await mkdirDurable(catalogDir);
      const catalog = Catalog.open(catalogDir);
      try {
        await catalog.setMeta(POOL_CONFIG, boot);
        const saved = await readFile(join(metaDir, 'buckets.json'), 'utf8').then((t) => JSON.parse(t) as unknown, () => []);
        const buckets = Array.isArray(saved) ? saved.filter((b): b is string => typeof b === 'string' && b.length > 0 && Buffer.byteLength(b, 'utf8') <= NAME_LIMITS.bucketBytesMax && !b.includes('\0')) : [];
        await catalog.restore(entries, buckets, {
          action: 'catalog.rebuild', principal, timeMs: Date.now(),
          detail: `objects=${entries.length} versions=${versionCount} copies=${copiesRead} rejected=${copiesRejected} previous-audit-head=${oldAuditHead}`,
        });
      } finally {
        await catalog.close();
      }
      return { objects: entries.length, versions: versionCount, copiesRead, copiesRejected, ...(movedAside !== undefined ? { movedAside } : {}) };
    } finally {
      await unlock();
    }
  }

  /** What the gc() of the last open did. */
  lastRecovery: GcResult = { temporaryRemoved: 0, orphansRemoved: 0, supersededRemoved: 0, staleRemoved: 0, segmentsRemoved: 0, copiesCompacted: 0, repairQueued: 0 };

  /**
   * When each unusable disk is checked again (backoff from REPROBE_FIRST_MS, doubling to REPROBE_MAX_MS), so a
   * transient error -- one failed read of disk.json at open, a disk remounted -- does not take it away for the
   * life of the process. Writes call #reprobe first; status, scrub and repair check every disk anyway.
   */
  readonly #probe = new Map<string, { nextMs: number; delayMs: number }>();
  /** The last reason each disk was unusable, and when it went and came back: status() reports it. */
  readonly #lastProblem = new Map<string, { problem: string; sinceMs: number; restoredMs?: number }>();

  /** Re-checks unusable disks whose backoff has passed; a healthy one is usable again at once. */
  async #reprobe(): Promise<void> {
    const now = Date.now();
    const due = this.config.disks.filter((d) => d.state !== 'removed' && this.#problems.has(d.id) && (this.#probe.get(d.id)?.nextMs ?? 0) <= now);
    await Promise.all(due.map(async (d) => {
      const found = await diskCondition(d, this.config.poolId).catch(() => ({ condition: 'unreadable' as const, problem: 'identity check failed' }));
      this.#noteCondition(d, found);
    }));
  }

  /** Records one disk's check: usable again (and when), or unusable (why, and when to look again). */
  #noteCondition(d: DiskConfig, found: { condition: DiskCondition; problem: string; errnoName?: string } | undefined): void {
    const now = Date.now();
    const problem = d.state === 'removed' ? 'removed from the pool' : found?.problem;
    if (problem === undefined) {
      if (this.#problems.has(d.id)) {
        const last = this.#lastProblem.get(d.id);
        if (last !== undefined) last.restoredMs = now;
      }
      this.#problems.delete(d.id);
      this.#probe.delete(d.id);
    } else {
      if (!this.#problems.has(d.id) && d.state !== 'removed') {
        this.#diskDropped(d.id, 'check', { message: problem, ...(found?.errnoName !== undefined ? { code: found.errnoName } : {}) });
        this.#lastProblem.set(d.id, { problem, sinceMs: now });
      }
      this.#problems.set(d.id, problem);
      const delayMs = Math.min(REPROBE_MAX_MS, this.#probe.has(d.id) ? this.#probe.get(d.id)!.delayMs * 2 : REPROBE_FIRST_MS);
      this.#probe.set(d.id, { nextMs: now + delayMs, delayMs });
    }
    if (found === undefined) this.#conditions.delete(d.id);
    else this.#conditions.set(d.id, found.condition);
  }

  async #checkDisks(): Promise<void> {
    for (const d of this.config.disks) {
      const found = d.state === 'removed' ? undefined : await diskCondition(d, this.config.poolId);
      this.#noteCondition(d, found);
    }
  }

  #unlock: () => Promise<void> = async () => undefined;
  #uploadTtlMs = UPLOAD_TTL_MS_DEFAULT;
  #minPartBytes = MIN_PART_BYTES_DEFAULT;
  /** Opened with `readOnly: true`: no lock held, the catalog opened read-only, every mutation refused. */
  #readOnly = false;

  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Throws ERR_SV_READ_ONLY when this Vault was opened read-only (called first by every mutation). */
  #writable(what: string): void {
    if (this.#readOnly) throw new ShardVaultError(ErrorCode.READ_ONLY, `${what} refused: the pool was opened read-only (open it without readOnly to change it)`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#logs.values()].map((l) => l.close()));
    this.#logs.clear();
    await this.catalog.close();
    await this.#unlock();
  }

  // ---------------------------------------------------------------- disks and placement

  #disk(id: string): DiskConfig | undefined {
    return this.config.disks.find((x) => x.id === id);
  }

  /** A disk that can be read now (active or draining, identity verified). */
  #readable(id: string): DiskConfig | undefined {
    const d = this.#disk(id);
    return d !== undefined && d.state !== 'removed' && !this.#problems.has(id) ? d : undefined;
  }

  /** Disks that may take new shards, with their online flags, for lib/placement. */
  #placementDisks(): PlacementDisk[] {
    return this.config.disks.filter((d) => d.state === 'active').map((d) => ({ id: d.id, labels: d.labels, online: !this.#problems.has(d.id) }));
  }

  #rule() {
    return { k: this.config.k, m: this.config.m, level: this.config.failureDomain };
  }

  #shardPath(diskId: string, oid: string, versionId: string, shard: number): string | undefined {
    const d = this.#readable(diskId);
    return d === undefined ? undefined : join(objectDir(d.path, oid), shardFileName(oid, versionId, shard));
  }

  #log(d: DiskConfig): CopyLog {
    let log = this.#logs.get(d.id);
    if (log === undefined) {
      log = new CopyLog(d.path, Buffer.from(this.config.poolId, 'hex'), d.dev);
      this.#logs.set(d.id, log);
    }
    return log;
  }

  /** Releases the pins of appended copies (after their commit, or after giving up on it). */
  #unpin(disks: readonly string[], refs: ReadonlyArray<CopyRef | undefined>): void {
    refs.forEach((r, i) => {
      if (r !== undefined) this.#logs.get(disks[i])?.unpin(r);
    });
  }

  /** Queues repair work and tells `events` ('repairQueued') about each item that was not queued before. */
  async #queueRepair(items: RepairItem[], principal: string, reason: string): Promise<void> {
    const queued = await this.catalog.queueRepair(items, principal, Date.now());
    for (const r of queued) this.events.emit('repairQueued', { bucket: r.bucket, key: r.key, versionId: r.versionId, disk: r.disk, shard: r.shard, reason });
  }

  /** A disk dropped out of an operation (I9: that file is lost, never retried): 'diskDropped'. */
  #diskDropped(disk: string, op: DiskDroppedEvent['op'], err: unknown): void {
    const e = (err ?? {}) as { errno?: number; syscall?: string; code?: string; message?: string };
    this.events.emit('diskDropped', {
      disk, op, ...(typeof e.errno === 'number' ? { errno: e.errno } : {}), ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
      ...(typeof e.code === 'string' ? { code: e.code } : {}), message: typeof e.message === 'string' ? e.message : String(err),
    });
  }

  /** Creates a bucket; its name must follow S3's rules (ERR_SV_INVALID_BUCKET_NAME names the rule broken). */
  async createBucket(bucket: string, principal = 'local'): Promise<void> {
    this.#writable('createBucket');
    checkNewBucket(bucket);
    checkPrincipal(principal);
    await this.catalog.createBucket(bucket, principal, Date.now());
    await this.#saveBuckets();
  }

  /** Deletes an empty bucket (live objects: ERR_SV_BUCKET_NOT_EMPTY). */
  async deleteBucket(bucket: string, principal = 'local'): Promise<void> {
    this.#writable('deleteBucket');
    this.#checkBucket(bucket);
    checkPrincipal(principal);
    await this.catalog.deleteBucket(bucket, principal, Date.now());
    await this.#saveBuckets();
  }

  #bucketsSaved: Promise<void> = Promise.resolve();

  /**
   * The bucket list, durably in `buckets.json` beside pool.json, after each bucket change: a catalog rebuild
   * restores empty buckets from it (buckets with objects come back from their manifests anyway). One writer at
   * a time; each writes the list as the catalog has it then.
   */
  #saveBuckets(): Promise<void> {
    this.#bucketsSaved = this.#bucketsSaved.catch(() => undefined).then(() => writeFileDurable(join(this.metaDir, 'buckets.json'), JSON.stringify(this.catalog.listBuckets())));
    return this.#bucketsSaved;
  }

  listBuckets(): string[] {
    return this.catalog.listBuckets();
  }

  /**
   * The bucket argument of every call but createBucket: S3's rules, except that a bucket that already exists
   * under a name made before the rules (e.g. 'b') stays usable, so old pools keep working. A name that
   * breaks the rules and names no bucket is ERR_SV_INVALID_BUCKET_NAME, not "no such bucket".
   */
  #checkBucket(bucket: unknown): void {
    checkBucket(bucket, (b) => this.catalog.hasBucket(b));
  }

  #checkObjectName(bucket: unknown, key: unknown, principal?: unknown): void {
    this.#checkBucket(bucket);
    checkKey(key);
    if (principal !== undefined) checkPrincipal(principal);
  }

  // ---------------------------------------------------------------- write path

  #sign(manifest: Manifest, hashTable: Uint8Array): { signed: Uint8Array; manifestHash: string; copy: Uint8Array } {
    const signed = signManifest(manifest, this.privateKey);
    return { signed, manifestHash: manifestHashOf(signed), copy: copyBytes(signed, hashTable) };
  }

  /**
   * The commit point of every write (striped put, small put, delete, multipart complete): the flushed catalog
   * commit `req` (head compare-and-set, version, audit, repair work for the disks that did not seal) through
   * `commit` (Catalog.commit unless given), the receipt signed meanwhile and handed out only once the commit
   * resolved, then a 'repairQueued' event per item of repair work.
   */
  async #commitWithReceipt(req: CommitRequest, durableDisks: string[], degraded: boolean, commit: (r: CommitRequest) => Promise<unknown> = (r) => this.catalog.commit(r)): Promise<Receipt> {
    const { bucket, key, head } = req;
    const receipt = await this.#receiptWith(
      { bucket, key, versionId: head.versionId, sequence: head.sequence.toString(), manifestHash: head.manifestHash, durableDisks, degraded },
      commit(req),
    );
    this.#queuedByCommit(bucket, key, head.versionId, req.repair ?? []);
    return receipt;
  }

  /**
   * The signed receipt of a commit, signed on the thread pool while the commit is flushed (its contents are
   * known before); handed out only once `commit` resolved. A failed commit's receipt is dropped unseen.
   */
  async #receiptWith(body: Omit<Receipt, 'signature'>, commit: Promise<unknown>): Promise<Receipt> {
    const signature = new Promise<Buffer>((resolve, reject) => edSign(null, Buffer.from(JSON.stringify(body)), this.privateKey, (err, sig) => (err === null ? resolve(sig) : reject(err))));
    signature.catch(() => undefined); // awaited below, after the commit; never an unhandled rejection
    await commit;
    return { ...body, signature: (await signature).toString('hex') };
  }

  /**
   * Appends one manifest copy to a disk's copy log, durably; its reference (pinned: #unpin once committed or
   * given up), or undefined when the disk is unusable or any step fails (that copy is lost, I9).
   */
  async #writeCopy(diskId: string, copy: Uint8Array, digest?: Uint8Array, onError?: (err: unknown) => void): Promise<CopyRef | undefined> {
    const d = this.#readable(diskId);
    if (d === undefined) {
      onError?.(new ShardVaultError(ErrorCode.IO, `disk is not usable: ${this.#problems.get(diskId) ?? 'not in the pool'}`));
      return undefined;
    }
    try {
      return await this.#log(d).append(copy, digest);
    } catch (err) {
      this.#countError(diskId, 'write');
      this.#diskDropped(diskId, 'copy', err);
      onError?.(err);
      return undefined;
    }
  }

  /** I/O errors per disk since open (status() reports them). */
  readonly #ioErrors = new Map<string, { read: number; write: number }>();

  #countError(diskId: string, kind: 'read' | 'write'): void {
    const e = this.#ioErrors.get(diskId) ?? { read: 0, write: 0 };
    e[kind]++;
    this.#ioErrors.set(diskId, e);
  }

  /** A disk that dropped out of a put: for the error the put rejects with (disk, errno name, what ran out). */
  #failure(diskId: string, shard: number, during: string, err: unknown): DiskFailure {
    const e = err as { code?: unknown; errno?: unknown; syscall?: unknown; message?: unknown };
    const errnoName = errnoNameOf(e) ?? (typeof e.code === 'string' ? e.code : undefined);
    const described = typeof e.errno === 'number' && e.errno !== 0 ? getSystemErrorMap().get(-Math.abs(e.errno))?.[1] : undefined;
    return {
      disk: diskId, path: this.#disk(diskId)?.path ?? '?', shard, during,
      ...(errnoName !== undefined ? { errnoName } : {}), ...(typeof e.errno === 'number' ? { errno: e.errno } : {}), ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
      message: described ?? (typeof e.message === 'string' ? e.message : String(err)),
    };
  }

  /**
   * The error a put rejects with when too few disks sealed: each failed disk named with its errno and what it
   * was doing (`disk d3 (/path): ENOSPC while writing shard 2 of bkt/key: no space left on device`);
   * ERR_SV_NO_SPACE when a disk ran out of space or quota, else ERR_SV_IO. Details of the first failure on
   * the error itself, all of them in `disks`.
   */
  #quorumError(bucket: string, key: string, failures: DiskFailure[], sealed: number, n: number, extra = ''): ShardVaultError {
    const noSpace = failures.some((f) => f.errnoName === 'ENOSPC' || f.errnoName === 'EDQUOT');
    const lines = failures.map((f) => `disk ${f.disk} (${f.path}): ${f.errnoName ?? 'error'} while ${f.during}${f.shard !== undefined && f.during.includes('shard') ? ` ${f.shard}` : ''} of ${bucket}/${key}: ${f.message}`);
    const first = failures[0];
    return new ShardVaultError(noSpace ? ErrorCode.NO_SPACE : ErrorCode.IO,
      `${lines.length > 0 ? `${lines.join('; ')}; ` : ''}${sealed} of ${n} disks can seal, write quorum is ${this.config.writeQuorum}${extra}`, {
        ...(first !== undefined ? { disk: first.disk, path: first.path, ...(first.shard !== undefined ? { shard: first.shard } : {}), ...(first.errno !== undefined ? { errno: first.errno } : {}), ...(first.syscall !== undefined ? { syscall: first.syscall } : {}) } : {}),
        disks: failures,
      });
  }

  /**
   * Removes what a put that did not commit wrote (I2 without waiting for gc): its shard files, sealed or not,
   * and its manifest copies (CopyLog.erase). What cannot be removed (a disk that refuses even that) is queued
   * for gc as a garbage entry of the uncommitted version; returns a note for the error message when it is.
   * Never runs for a version the catalog has (a commit that failed only after it was written).
   */
  async #cleanUpFailedPut(bucket: string, key: string, vid: string, placement: string[], shardFiles: Array<string | undefined>, refs: ReadonlyArray<CopyRef | undefined>): Promise<string> {
    if (this.catalog.versionOwner(vid) !== undefined) return '';
    const left: string[] = [];
    await Promise.all(placement.map(async (diskId, i) => {
      const file = shardFiles[i];
      if (file !== undefined) {
        await unlink(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') left.push(`shard ${i} on ${diskId}`);
        });
      }
      const ref = refs[i];
      const d = this.#disk(diskId);
      if (ref !== undefined && d !== undefined) {
        await this.#log(d).erase(ref).catch(() => left.push(`manifest copy on ${diskId}`));
      }
    }));
    if (left.length === 0) return '';
    try {
      await this.catalog.queueGarbage({ bucket, key, head: { versionId: vid, sequence: 0n, manifestHash: '', tombstone: false, placement, striped: shardFiles.some((f) => f !== undefined) }, supersededMs: 0 });
      return `; left for gc (queued): ${left.join(', ')}`;
    } catch {
      return `; left for gc's walk (could not queue): ${left.join(', ')}`;
    }
  }

  /**
   * Stores `data` (bytes, a Readable or any async iterable of byte chunks) under bucket/key; resolves with a
   * signed receipt once everything is durable and committed. Input is consumed one batch of stripes at a time,
   * so memory stays bounded by the batch (16 stripes) whatever the object size; the next chunk is only pulled
   * after the previous batch reached the shard files (backpressure). `signal` aborts before the commit.
   */
  async put(
    bucket: string,
    key: string,
    data: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions | string = {},
  ): Promise<Receipt> {
    this.#writable('put');
    const started = performance.now();
    const stats = { bytes: 0 };
    const receipt = await this.#put(bucket, key, data, options, stats);
    this.events.emit('put', { bucket, key, versionId: receipt.versionId, bytes: stats.bytes, durationMs: performance.now() - started, degraded: receipt.degraded });
    return receipt;
  }

  /** Repair work a commit queued (a degraded write): 'repairQueued' events. */
  #queuedByCommit(bucket: string, key: string, versionId: string, work: Array<{ disk: string; shard: number }>): void {
    for (const w of work) this.events.emit('repairQueued', { bucket, key, versionId, disk: w.disk, shard: w.shard, reason: 'put' });
  }

  async #put(
    bucket: string,
    key: string,
    data: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions | string,
    stats: { bytes: number },
  ): Promise<Receipt> {
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
    this.#checkObjectName(bucket, key, principal);
    // Before any byte is written: a put into a missing bucket would otherwise stream the whole object first.
    if (!this.catalog.hasBucket(bucket)) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
    // The cheap early answer to a conditional put (decided again under the key's lock at commit).
    checkCondition(bucket, key, this.catalog.getHead(bucket, key), condition);
    let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
      data instanceof Uint8Array ? [data] : (data as AsyncIterable<Uint8Array> | Iterable<Uint8Array>);
    if (source === null || typeof source !== 'object' || (!(Symbol.asyncIterator in source) && !(Symbol.iterator in source))) {
      throw typeError('data', 'a Uint8Array, a Readable or an iterable of Uint8Array', data);
    }
    const { k, m, blockBytes, poolId } = this.config;
    const n = k + m;
    if (!(data instanceof Uint8Array)) {
      source = abortableIterable(source, signal, 'put'); // an abort ends a put even while its source is stalled
      // A stream that ends within the inline threshold is a small object like any other.
      const peeked = await peekSmall(source, INLINE_BYTES_MAX);
      if (peeked.whole !== undefined) data = peeked.whole;
      else source = peeked.rest;
    }
    if (data instanceof Uint8Array && data.length <= INLINE_BYTES_MAX) {
      // Small objects live inline in every manifest copy: one sealed file per disk instead of two, and each of
      // the k + m copies holds all of it (any one surviving copy serves the object).
      throwIfAborted(signal, 'put');
      md5?.update(data);
      stats.bytes = data.length;
      return (await this.#putManifestOnly(bucket, key, data, false, principal, manifestMetadata(meta, md5Checked()), condition))!;
    }
    const versionId = randomBytes(16);
    const { vid, placement, writers, alive, shardFiles, size, stripeCount, hashTable, contentHash, md5: bodyMd5, header, drop, abortAll, lostError } =
      await writeBody(this.#stripeContext, bucket, key, versionId, source, signal, md5, md5Checked, 'put');
    // From here to the commit, one writer per key in this process: the sequence is taken from the head now, so
    // concurrent puts of one key commit one after the other (last writer wins) instead of failing the CAS.
    const release = await this.#keyLock.acquire(bucket, key);
    try {
      const head = this.catalog.getHead(bucket, key);
      try {
        checkCondition(bucket, key, head, condition); // the compare-and-set: decided under the lock, before any seal
      } catch (err) {
        await abortAll();
        await this.#cleanUpFailedPut(bucket, key, vid, placement, shardFiles, []);
        throw err;
      }
      const sequence = (head?.sequence ?? 0n) + 1n;
      const manifest: Manifest = {
        bucket, key, versionId, sequence, size, contentHash, tombstone: false, k, m,
        blockBytes, stripeCount, placement, hashTableRoot: blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }), principal,
        timeMs: Date.now(), signerKeyId: this.#keyId, inline: new Uint8Array(0), ...manifestMetadata(meta, bodyMd5),
      };
      const { manifestHash, copy } = this.#sign(manifest, hashTable);
      // Seal every disk: the shard file (header with the hash-table root, fdatasync, directory fsync) and, at the
      // same time, its manifest copy appended to the disk's copy log; both durable before the commit.
      const refs = new Array<CopyRef | undefined>(n).fill(undefined);
      const digest = payloadDigest(copy);
      try {
        await Promise.all(
          writers.map(async (w, i) => {
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
                this.#diskDropped(placement[i], 'seal', err);
                return false;
              }
            };
            const [sealed, ref] = await Promise.all([sealShard(), this.#writeCopy(placement[i], copy, digest, (err) => drop(i, 'writing the manifest copy', err))]);
            refs[i] = ref;
            alive[i] = sealed && ref !== undefined;
          }),
        );
        const durable = placement.filter((_, i) => alive[i]);
        if (durable.length < this.config.writeQuorum) throw lostError();
        const committedMs = Date.now();
        const repairWork = placement.flatMap((disk, shard) => (alive[shard] ? [] : [{ disk, shard }]));
        const receipt = await this.#commitWithReceipt({
          bucket, key, expectedSequence: head?.sequence ?? 0n,
          head: { versionId: vid, sequence, manifestHash, tombstone: false, placement, copies: refs.map((r, i) => (alive[i] ? r! : null)), striped: true, committedMs, size, timeMs: manifest.timeMs, ...etagOf(manifest) },
          audit: { action: 'put', principal, timeMs: manifest.timeMs, detail: `size=${size}` },
          repair: repairWork,
        }, durable, durable.length < n);
        stats.bytes = size;
        return receipt;
      } catch (err) {
        // Not committed (too few disks sealed, or the commit itself failed): nothing of this version may stay.
        // A commit the catalog failed to write or sync may or may not be on disk (I9): its files stay, and the next
        // open's recovery keeps them if LMDB committed it, else removes them as never committed.
        if (isUnknownCommit(err)) throw err;
        const note = await this.#cleanUpFailedPut(bucket, key, vid, placement, shardFiles, refs);
        if (note !== '' && err instanceof Error) err.message += note;
        throw err;
      } finally {
        this.#unpin(placement, refs);
      }
    } finally {
      release();
    }
  }



  // ---------------------------------------------------------------- multipart uploads

  /**
   * Starts a multipart upload of bucket/key: its id (160 random bits, hex) names it in every later call. The
   * object's content type, user metadata and system headers are given here (as S3's CreateMultipartUpload) and
   * stored in the manifest at completeUpload. The upload expires `uploadTtlMs` after this (default 7 days).
   */
  async createUpload(bucket: string, key: string, options: CreateUploadOptions = {}): Promise<{ uploadId: string }> {
    this.#writable('createUpload');
    const o = optionsObject<CreateUploadOptions>('options', options, ['principal', 'contentType', 'metadata', 'headers']);
    const principal = o.principal ?? 'local';
    this.#checkObjectName(bucket, key, principal);
    const meta = objectMetadata({ contentType: o.contentType, metadata: o.metadata, headers: o.headers });
    if (!this.catalog.hasBucket(bucket)) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
    const uploadId = hex(randomBytes(20));
    await this.catalog.createUpload(bucket, key, uploadId, {
      initiatedMs: Date.now(), principal, ...(meta.contentType !== undefined ? { contentType: meta.contentType } : {}),
      ...(meta.metadata !== undefined ? { metadata: meta.metadata } : {}), ...(meta.headers !== undefined ? { headers: meta.headers as Record<string, string> } : {}),
    });
    return { uploadId };
  }

  /** The upload `uploadId` of bucket/key while it is in progress (not completed, aborted or expired). */
  #upload(bucket: string, key: string, uploadId: unknown): UploadRecord {
    if (typeof uploadId !== 'string') throw typeError('uploadId', 'an upload id string', uploadId);
    const upload = UPLOAD_ID_RE.test(uploadId) ? this.catalog.getUpload(bucket, key, uploadId) : undefined;
    if (upload === undefined || Date.now() - upload.initiatedMs > this.#uploadTtlMs) {
      throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId.slice(0, 64)} of ${bucket}/${key} (never created, completed, aborted or expired)`);
    }
    return upload;
  }

  /**
   * Stores part `partNumber` (1..10000) of an upload: streamed through the same stripe pipeline as a put's
   * body (its own placement and hash table, shard files named by a fresh part id), every shard file sealed
   * durably and the part recorded in one flushed catalog commit before this resolves. Re-uploading a part
   * number replaces it (the old part's files go to gc). Resolves with the part's ETag (hex MD5) and size.
   * `md5` (Content-MD5) is checked as for put; `checksum` is stored with the part (listParts returns it).
   */
  async putPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: PutPartOptions = {}): Promise<{ etag: string; size: number }> {
    this.#writable('putPart');
    const o = optionsObject<PutPartOptions>('options', options, ['principal', 'signal', 'md5', 'checksum']);
    const { principal = 'local', signal } = o;
    checkSignal(signal);
    throwIfAborted(signal, 'putPart');
    this.#checkObjectName(bucket, key, principal);
    const number = integer('partNumber', partNumber, 1, PARTS_MAX);
    this.#upload(bucket, key, uploadId); // before any byte is written
    const meta = objectMetadata({ md5: o.md5, checksum: o.checksum, computeMd5: true });
    const md5 = createHash('md5');
    const md5Checked = (): Uint8Array => {
      const got = md5.digest();
      if (meta.md5Expected !== undefined && !got.equals(meta.md5Expected)) {
        throw new ShardVaultError(ErrorCode.BAD_DIGEST, `${bucket}/${key} part ${number}: the body's MD5 ${got.toString('hex')} is not the declared ${meta.md5Expected.toString('hex')}`);
      }
      return got;
    };
    let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body instanceof Uint8Array ? [body] : body;
    if (source === null || typeof source !== 'object' || (!(Symbol.asyncIterator in source) && !(Symbol.iterator in source))) {
      throw typeError('body', 'a Uint8Array, a Readable or an iterable of Uint8Array', body);
    }
    if (!(body instanceof Uint8Array)) source = abortableIterable(source, signal, 'putPart');
    const w = await writeBody(this.#stripeContext, bucket, key, randomBytes(16), source, signal, md5, md5Checked, 'putPart');
    // Seal every shard file; a part has no manifest copies (its hash table goes into the catalog, the copies of
    // the object's manifest are written by completeUpload).
    const root = blake3Sync(w.hashTable, { context: HASH_TABLE_CONTEXT });
    await Promise.all(w.writers.map(async (writer, i) => {
      if (writer === null || !w.alive[i]) {
        await writer?.abort().catch(() => undefined);
        w.alive[i] = false;
        return;
      }
      try {
        await writer.pwrite(w.header(i, root), 0);
        await writer.seal();
      } catch (err) {
        await writer.abort().catch(() => undefined);
        w.drop(i, 'sealing shard', err);
        this.#diskDropped(w.placement[i], 'seal', err);
      }
    }));
    const etag = hex(w.md5!);
    try {
      throwIfAborted(signal, 'putPart');
      if (w.alive.filter(Boolean).length < this.config.writeQuorum) throw w.lostError();
      await this.catalog.commitPart(bucket, key, uploadId, number, {
        partId: w.vid, size: w.size, md5: etag, contentHash: hex(w.contentHash), placement: w.placement, missing: w.alive.flatMap((ok, i) => (ok ? [] : [i])),
        hashTable: w.hashTable, timeMs: Date.now(), ...(meta.checksum !== undefined ? { checksum: { algorithm: meta.checksum.algorithm, value: Buffer.from(meta.checksum.digest).toString('base64') } } : {}),
      }, principal);
    } catch (err) {
      if (isUnknownCommit(err)) throw err; // its files stay; the next open's walk keeps or removes them
      const note = await this.#cleanUpFailedPut(bucket, key, w.vid, w.placement, w.shardFiles, []);
      if (note !== '' && err instanceof Error) err.message += note;
      throw err;
    }
    return { etag, size: w.size };
  }

  /** The uploaded parts of an upload in part-number order, a page (at most `maxParts`, default and at most 1000) after `partNumberMarker`. */
  async listParts(bucket: string, key: string, uploadId: string, options: { partNumberMarker?: number; maxParts?: number } = {}): Promise<{ parts: Array<{ partNumber: number; etag: string; size: number; lastModified: Date; checksum?: StoredChecksum }>; isTruncated: boolean; nextPartNumberMarker?: number }> {
    const o = optionsObject<{ partNumberMarker?: number; maxParts?: number }>('options', options, ['partNumberMarker', 'maxParts']);
    this.#checkObjectName(bucket, key);
    const marker = o.partNumberMarker === undefined ? 0 : integer('partNumberMarker', o.partNumberMarker, 0, PARTS_MAX);
    const max = o.maxParts === undefined ? LIST_PARTS_MAX : integer('maxParts', o.maxParts, 1, LIST_PARTS_MAX);
    this.#upload(bucket, key, uploadId);
    const entries = this.catalog.listParts(uploadId, { after: marker, limit: max + 1 });
    const page = entries.slice(0, max);
    const isTruncated = entries.length > max;
    return {
      parts: page.map(({ partNumber, part }) => ({
        partNumber, etag: part.md5, size: part.size, lastModified: new Date(part.timeMs), ...(part.checksum !== undefined ? { checksum: part.checksum as StoredChecksum } : {}),
      })),
      isTruncated, ...(isTruncated ? { nextPartNumberMarker: page[page.length - 1].partNumber } : {}),
    };
  }

  /**
   * Uploads in progress of `bucket` (not completed, aborted or expired), in key then upload-id order: keys
   * starting with `prefix`, after `keyMarker` (with `uploadIdMarker`: after that upload of that key), a page of
   * at most `maxUploads` (default and at most 1000).
   */
  async listUploads(bucket: string, options: { prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number } = {}): Promise<{ uploads: Array<{ key: string; uploadId: string; initiated: Date }>; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }> {
    const o = optionsObject<{ prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number }>('options', options, ['prefix', 'keyMarker', 'uploadIdMarker', 'maxUploads']);
    this.#checkBucket(bucket);
    const prefix = o.prefix === undefined ? '' : listString('prefix', o.prefix, 0);
    const keyMarker = o.keyMarker === undefined ? undefined : listString('keyMarker', o.keyMarker, 0);
    const uploadIdMarker = o.uploadIdMarker === undefined ? undefined : listString('uploadIdMarker', o.uploadIdMarker, 1);
    const max = o.maxUploads === undefined ? LIST_PARTS_MAX : integer('maxUploads', o.maxUploads, 1, LIST_PARTS_MAX);
    if (!this.catalog.hasBucket(bucket)) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
    const entries = this.catalog.listUploads(bucket, { prefix, ...(keyMarker !== undefined ? { after: { key: keyMarker, ...(uploadIdMarker !== undefined ? { uploadId: uploadIdMarker } : {}) } } : {}), limit: max + 1 });
    const page = entries.slice(0, max);
    const isTruncated = entries.length > max;
    const now = Date.now();
    const last = page[page.length - 1];
    return {
      uploads: page.filter((u) => now - u.upload.initiatedMs <= this.#uploadTtlMs).map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: new Date(u.upload.initiatedMs) })),
      isTruncated, ...(isTruncated ? { nextKeyMarker: last.key, nextUploadIdMarker: last.uploadId } : {}),
    };
  }

  /**
   * Completes an upload: a metadata operation. The parts named (ascending part numbers, each with the ETag its
   * putPart returned) are composed into one object whose manifest (v4) lists each part's stripes, placement
   * and hash-table slice; no part's bytes are read or rewritten. The manifest is signed, its copies sealed
   * durably on the disks of a placement of its own, then one flushed catalog commit makes the object visible,
   * ends the upload and hands the parts not named to gc (I2: all or nothing). `ifMatch` / `ifNoneMatch` as for
   * put, decided under the key's lock. Resolves with the receipt and the S3 ETag (hex MD5 of the parts' MD5s,
   * '-', the part count). Errors: ERR_SV_NO_SUCH_UPLOAD, ERR_SV_INVALID_PART (not uploaded, or another ETag),
   * ERR_SV_INVALID_PART_ORDER, ERR_SV_ENTITY_TOO_SMALL (a part but the last below `minPartBytes`),
   * ERR_SV_PRECONDITION_FAILED.
   */
  async completeUpload(bucket: string, key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>, options: CompleteUploadOptions = {}): Promise<Receipt & { etag: string }> {
    this.#writable('completeUpload');
    const started = performance.now();
    const o = optionsObject<CompleteUploadOptions>('options', options, ['principal', 'ifMatch', 'ifNoneMatch']);
    const principal = o.principal ?? 'local';
    this.#checkObjectName(bucket, key, principal);
    const condition = writeCondition(o);
    if (!Array.isArray(parts)) throw typeError('parts', 'an array of { partNumber, etag }', parts);
    if (parts.length < 1 || parts.length > PARTS_MAX) throw rangeError('parts', `1..${PARTS_MAX} parts`, parts);
    const wanted = parts.map((p, i) => {
      const q = optionsObject<{ partNumber: number; etag: string }>(`parts[${i}]`, p ?? null, ['partNumber', 'etag']);
      const partNumber = integer(`parts[${i}].partNumber`, q.partNumber, 1, PARTS_MAX);
      if (typeof q.etag !== 'string') throw typeError(`parts[${i}].etag`, 'an ETag string', q.etag);
      const etag = (q.etag.length >= 2 && q.etag.startsWith('"') && q.etag.endsWith('"') ? q.etag.slice(1, -1) : q.etag).toLowerCase();
      return { partNumber, etag };
    });
    wanted.forEach((w, i) => {
      if (i > 0 && w.partNumber <= wanted[i - 1].partNumber) throw new ShardVaultError(ErrorCode.INVALID_PART_ORDER, `parts must be in ascending part-number order: part ${w.partNumber} follows ${wanted[i - 1].partNumber}`);
    });
    this.#upload(bucket, key, uploadId);
    await this.#reprobe();
    const release = await this.#keyLock.acquire(bucket, key);
    try {
      const upload = this.#upload(bucket, key, uploadId);
      const head = this.catalog.getHead(bucket, key);
      checkCondition(bucket, key, head, condition);
      const { k, m, blockBytes } = this.config;
      const n = k + m;
      // Everything comes from the catalog's part records (sizes, hashes, placements): no part's bytes are read.
      const recs = wanted.map((w) => {
        const r = this.catalog.getPart(uploadId, w.partNumber);
        if (r === undefined) throw new ShardVaultError(ErrorCode.INVALID_PART, `part ${w.partNumber} of upload ${uploadId} was not uploaded`);
        if (r.md5 !== w.etag) throw new ShardVaultError(ErrorCode.INVALID_PART, `part ${w.partNumber} has ETag ${r.md5}, not ${w.etag}`);
        if (r.hashTable.length !== partStripes(r.size, k, blockBytes) * n * 32) throw new ShardVaultError(ErrorCode.CORRUPT, `part ${w.partNumber}: its hash table does not fit its size`);
        return r;
      });
      recs.forEach((r, i) => {
        if (i < recs.length - 1 && r.size < this.#minPartBytes) {
          throw new ShardVaultError(ErrorCode.ENTITY_TOO_SMALL, `part ${wanted[i].partNumber} is ${r.size} bytes: every part but the last must be at least ${this.#minPartBytes}`);
        }
      });
      const hashTable = Buffer.concat(recs.map((r) => r.hashTable));
      const versionId = randomBytes(16);
      const vid = hex(versionId);
      const sequence = (head?.sequence ?? 0n) + 1n;
      const placement = place(placementKey(bucket, key, vid), this.#placementDisks(), this.#rule());
      const md5OfMd5s = createHash('md5').update(Buffer.concat(recs.map((r) => Buffer.from(r.md5, 'hex')))).digest();
      const size = recs.reduce((t, r) => t + r.size, 0);
      const manifest: Manifest = {
        bucket, key, versionId, sequence, size, contentHash: multipartContentHash(recs.map((r) => Buffer.from(r.contentHash, 'hex'))), tombstone: false, k, m, blockBytes,
        stripeCount: recs.reduce((t, r) => t + partStripes(r.size, k, blockBytes), 0), placement, hashTableRoot: blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }),
        principal, timeMs: Date.now(), signerKeyId: this.#keyId, inline: new Uint8Array(0), md5: Uint8Array.from(md5OfMd5s),
        ...(upload.contentType !== undefined ? { contentType: upload.contentType } : {}), ...(upload.metadata !== undefined ? { metadata: upload.metadata } : {}),
        ...(upload.headers !== undefined ? { headers: upload.headers } : {}),
        parts: recs.map((r, i) => ({ number: wanted[i].partNumber, partId: Buffer.from(r.partId, 'hex'), size: r.size, contentHash: Buffer.from(r.contentHash, 'hex'), md5: Buffer.from(r.md5, 'hex'), placement: r.placement })),
      };
      const { manifestHash, copy } = this.#sign(manifest, hashTable);
      const digest = payloadDigest(copy);
      const failures: DiskFailure[] = [];
      const refs = await Promise.all(placement.map((id, i) => this.#writeCopy(id, copy, digest, (err) => failures.push(this.#failure(id, i, 'writing the manifest copy', err)))));
      try {
        const durable = placement.filter((_, i) => refs[i] !== undefined);
        if (durable.length < this.config.writeQuorum) throw this.#quorumError(bucket, key, failures, durable.length, n);
        const repairWork = [
          ...placement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ disk, shard }])),
          ...recs.flatMap((r, part) => r.missing.map((shard) => ({ disk: r.placement[shard], shard, part }))),
        ];
        const etag = multipartEtag(md5OfMd5s, recs.length);
        const receipt = await this.#commitWithReceipt({
          bucket, key, expectedSequence: head?.sequence ?? 0n,
          head: {
            versionId: vid, sequence, manifestHash, tombstone: false, placement, copies: refs.map((r) => r ?? null), striped: true, committedMs: Date.now(), size, timeMs: manifest.timeMs, etag,
            parts: recs.map((r) => ({ partId: r.partId, placement: r.placement })),
          },
          audit: { action: 'multipart.complete', principal, timeMs: manifest.timeMs, detail: `upload=${uploadId} parts=${recs.length} size=${size}` },
          repair: repairWork,
        }, durable, repairWork.length > 0, (req) => this.catalog.completeUpload(req, uploadId, wanted.map((w, i) => ({ partNumber: w.partNumber, partId: recs[i].partId }))));
        this.events.emit('put', { bucket, key, versionId: vid, bytes: size, durationMs: performance.now() - started, degraded: receipt.degraded });
        return { ...receipt, etag };
      } catch (err) {
        if (isUnknownCommit(err)) throw err;
        const note = await this.#cleanUpFailedPut(bucket, key, vid, placement, [], refs);
        if (note !== '' && err instanceof Error) err.message += note;
        throw err;
      } finally {
        this.#unpin(placement, refs);
      }
    } finally {
      release();
    }
  }

  /** Aborts an upload: it ends, and its parts' shard files go to gc (removed by the next gc()). */
  async abortUpload(bucket: string, key: string, uploadId: string, options: { principal?: string } = {}): Promise<void> {
    this.#writable('abortUpload');
    const o = optionsObject<{ principal?: string }>('options', options, ['principal']);
    const principal = o.principal ?? 'local';
    this.#checkObjectName(bucket, key, principal);
    this.#upload(bucket, key, uploadId);
    await this.catalog.abortUpload(bucket, key, uploadId, 'multipart.abort', principal, Date.now());
  }

  /** One writer per key in this process (lib/engine/key-lock.ts). */
  readonly #keyLock = new KeyLock();

  /**
   * Metadata of the latest version, from a verified manifest copy; undefined when absent or deleted. `etag`
   * is the hex MD5 of the bytes when the put computed it (`computeMd5` or a declared `md5`).
   */
  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    this.#checkObjectName(bucket, key);
    const head = this.catalog.getHead(bucket, key);
    if (head === undefined || head.tombstone) return undefined;
    const { manifest } = await this.#loadManifest(bucket, key, head);
    return {
      size: manifest.size, versionId: head.versionId, sequence: head.sequence, timeMs: manifest.timeMs, contentHash: hex(manifest.contentHash),
      ...(manifest.contentType !== undefined ? { contentType: manifest.contentType } : {}), metadata: { ...(manifest.metadata ?? {}) }, ...etagOf(manifest),
      headers: { ...(manifest.headers ?? {}) },
      ...(manifest.parts !== undefined ? { parts: manifest.parts.map((p) => p.size) } : {}),
      ...(manifest.checksum !== undefined ? { checksum: { algorithm: manifest.checksum.algorithm, value: Buffer.from(manifest.checksum.digest).toString('base64') } } : {}),
    };
  }

  /**
   * Appends one evidence record to the signed audit chain (the daemon's: authentication and authorization
   * failures, key and policy changes), in its own flushed catalog commit. Every field is bounded
   * (AUDIT_FIELD_LIMITS, UTF-8 bytes) and free of control characters; `principal`, `action` (letters, digits,
   * `. _ : -`) and `result` are required. The record carries `result`, which engine records never do, so
   * evidence records cannot pass for the engine's own. Refused on a read-only Vault.
   */
  async appendAudit(record: AuditInput): Promise<void> {
    this.#writable('appendAudit');
    const r = optionsObject<AuditInput>('record', record, ['principal', 'action', 'target', 'result', 'requestId', 'source', 'detail']);
    const field = (name: keyof AuditInput, required: boolean): string | undefined => {
      const v = r[name];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string') throw typeError(name, 'a string', v);
      const max = AUDIT_FIELD_LIMITS[name];
      const bytes = utf8.encode(v).length;
      if ((required && bytes === 0) || bytes > max || /[\x00-\x1f\x7f]/.test(v) || !isWellFormed(v)) {
        throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `audit ${name} must be ${required ? 1 : 0}..${max} UTF-8 bytes without control characters`);
      }
      return v;
    };
    const action = field('action', true)!;
    if (!/^[A-Za-z0-9._:-]+$/.test(action)) throw rangeError('action', 'letters, digits and . _ : -', action);
    const target = field('target', false);
    const requestId = field('requestId', false);
    const source = field('source', false);
    const detail = field('detail', false);
    await this.catalog.appendAudit({
      principal: field('principal', true)!, action, result: field('result', true)!, timeMs: Date.now(),
      ...(target !== undefined ? { target } : {}), ...(requestId !== undefined ? { requestId } : {}), ...(source !== undefined ? { source } : {}), ...(detail !== undefined ? { detail } : {}),
    });
  }

  /**
   * Deletes bucket/key: a signed tombstone manifest is written to the disks of the placement and committed
   * as the new head, so the object never comes back from disks that still hold its files (I4). Resolves with
   * the tombstone's signed receipt -- like a put's, it names the disks it is durable on and whether it is
   * degraded (repair queued for the others) -- or undefined when there was nothing to delete.
   */
  async delete(bucket: string, key: string, principal = 'local'): Promise<Receipt | undefined> {
    this.#writable('delete');
    this.#checkObjectName(bucket, key, principal);
    return this.#putManifestOnly(bucket, key, new Uint8Array(0), true, principal);
  }

  /**
   * Writes a version that lives entirely in its manifest copies (a tombstone, or a small object inline,
   * DESIGN.md 2): one signed copy per disk of the placement, sealed durably, then the flushed commit.
   */
  async #putManifestOnly(bucket: string, key: string, inline: Uint8Array, tombstone: boolean, principal: string, meta: ManifestMetadata = {}, condition: WriteCondition = {}): Promise<Receipt | undefined> {
    await this.#reprobe();
    const release = await this.#keyLock.acquire(bucket, key);
    try {
      const head = this.catalog.getHead(bucket, key);
      checkCondition(bucket, key, head, condition); // under the lock, before anything is written
      if (tombstone && (head === undefined || head.tombstone)) return undefined; // nothing to delete
      return await this.#putManifestOnlyLocked(bucket, key, head, inline, tombstone, principal, meta);
    } finally {
      release();
    }
  }

  async #putManifestOnlyLocked(bucket: string, key: string, head: Head | undefined, inline: Uint8Array, tombstone: boolean, principal: string, meta: ManifestMetadata): Promise<Receipt> {
    const { k, m, blockBytes } = this.config;
    const versionId = randomBytes(16);
    const vid = hex(versionId);
    const sequence = (head?.sequence ?? 0n) + 1n;
    const placement = place(placementKey(bucket, key, vid), this.#placementDisks(), this.#rule());
    const manifest: Manifest = {
      bucket, key, versionId, sequence, size: inline.length, contentHash: blake3Sync(inline), tombstone, k, m,
      blockBytes, stripeCount: 0, placement, hashTableRoot: blake3Sync(new Uint8Array(0), { context: HASH_TABLE_CONTEXT }),
      principal, timeMs: Date.now(), signerKeyId: this.#keyId, inline: inline.slice(), ...meta,
    };
    const { manifestHash, copy } = this.#sign(manifest, new Uint8Array(0));
    const digest = payloadDigest(copy);
    const failures: DiskFailure[] = [];
    const refs = await Promise.all(placement.map((id, i) => this.#writeCopy(id, copy, digest, (err) => failures.push(this.#failure(id, i, 'writing the manifest copy', err)))));
    try {
      const durable = placement.filter((_, i) => refs[i] !== undefined);
      if (durable.length < this.config.writeQuorum) throw this.#quorumError(bucket, key, failures, durable.length, k + m);
      const repairWork = placement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ disk, shard }]));
      return await this.#commitWithReceipt({
        bucket, key, expectedSequence: head?.sequence ?? 0n,
        head: { versionId: vid, sequence, manifestHash, tombstone, placement, copies: refs.map((r) => r ?? null), striped: false, committedMs: Date.now(), size: inline.length, timeMs: manifest.timeMs, ...etagOf(manifest) },
        audit: { action: tombstone ? 'delete' : 'put', principal, timeMs: manifest.timeMs, detail: tombstone ? undefined : `size=${inline.length} inline` },
        repair: repairWork,
      }, durable, durable.length < k + m);
    } catch (err) {
      // A commit the catalog failed to write or sync may or may not be on disk (I9): its files stay, and the next
      // open's recovery keeps them if LMDB committed it, else removes them as never committed.
      if (isUnknownCommit(err)) throw err;
      const note = await this.#cleanUpFailedPut(bucket, key, vid, placement, [], refs);
      if (note !== '' && err instanceof Error) err.message += note;
      throw err;
    } finally {
      this.#unpin(placement, refs);
    }
  }

  /**
   * One page of bucket's live keys, S3 ListObjectsV2 semantics: keys starting with `prefix`, in UTF-8 byte order
   * (as LMDB keeps them, and as S3 lists), after `startAfter` (first page) or where `continuationToken` (from
   * the previous page) left off; with `delimiter`, keys holding it after the prefix are rolled up into
   * `commonPrefixes` (prefix + ... + delimiter). Keys and common prefixes together count toward `maxKeys`
   * (default and at most 1000). `isTruncated` says more may follow: pass `nextContinuationToken` to get them;
   * a listing never stops silently. A page steps over at most 10 x maxKeys (>= 1000) keys, so a long run of
   * deleted keys can end a page early with fewer entries, still truncated (as S3 may). Tokens are authenticated (ERR_SV_INVALID_TOKEN when forged, altered, or
   * reused with another bucket, prefix or delimiter).
   */
  async list(bucket: string, options: ListOptions = {}): Promise<ListResult> {
    const o = optionsObject<ListOptions>('options', options, ['prefix', 'delimiter', 'startAfter', 'continuationToken', 'maxKeys']);
    checkName('bucket', bucket, NAME_LIMITS.bucketBytesMax);
    const prefix = o.prefix === undefined ? '' : listString('prefix', o.prefix, 0);
    const delimiter = o.delimiter === undefined ? undefined : listString('delimiter', o.delimiter, 1);
    const startAfter = o.startAfter === undefined ? undefined : listString('startAfter', o.startAfter, 0);
    const maxKeys = o.maxKeys === undefined ? LIST_KEYS_MAX : integer('maxKeys', o.maxKeys, 1, LIST_KEYS_MAX);
    if (!this.catalog.hasBucket(bucket)) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
    const resume = o.continuationToken !== undefined
      ? decodeListToken(this.#listTokenKey, o.continuationToken, { bucket, prefix, delimiter })
      : undefined;
    const after = resume !== undefined ? { value: resume.last, isPrefix: resume.isPrefix } : startAfter !== undefined ? { value: startAfter, isPrefix: false } : undefined;
    const { entries, truncated, next } = await this.catalog.listPage(bucket, { prefix, delimiter, after, maxKeys });
    const objects: ListResult['objects'] = [];
    const commonPrefixes: string[] = [];
    for (const e of entries) {
      if ('prefix' in e) {
        commonPrefixes.push(e.prefix);
        continue;
      }
      let { size, timeMs, etag } = e.head;
      if (size === undefined || timeMs === undefined) {
        // A head committed before heads carried size and time: from its verified manifest.
        const { manifest } = await this.#loadManifest(bucket, e.key, e.head);
        size = manifest.size;
        timeMs = manifest.timeMs;
        etag = etagOf(manifest).etag;
      }
      objects.push({ key: e.key, size, lastModified: new Date(timeMs), ...(etag !== undefined ? { etag } : {}) });
    }
    return {
      objects, commonPrefixes, isTruncated: truncated,
      ...(truncated && next !== undefined ? { nextContinuationToken: encodeListToken(this.#listTokenKey, { bucket, prefix, delimiter, last: next.value, isPrefix: next.isPrefix }) } : {}),
    };
  }

  // ---------------------------------------------------------------- read path

  /** The latest committed bytes of bucket/key (or `range` [start, end)) as one buffer, verified; see get(). */
  async getBuffer(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const c of this.#timedStripes(bucket, key, options)) {
      chunks.push(c);
      total += c.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /**
   * Streams the latest committed bytes of bucket/key, or the range [start, end), stripe by stripe: only the
   * stripes of the range are read, every block is verified against the hash table, missing or bad blocks are
   * rebuilt from parity and verified again (I3), and a whole-object read is checked against the content hash
   * before the stream ends. Throws ERR_SV_CORRUPT (never wrong bytes) when more than m blocks of a stripe are
   * bad. Memory is one stripe at a time.
   */
  get(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal } = {}): Readable {
    return Readable.from(this.#timedStripes(bucket, key, options), { objectMode: false });
  }

  /** #stripes, then a 'get' event once the last byte was delivered (a read that fails or is abandoned has none). */
  async *#timedStripes(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    const started = performance.now();
    let bytes = 0;
    for await (const c of this.#stripes(bucket, key, options)) {
      bytes += c.length;
      yield c;
    }
    this.events.emit('get', { bucket, key, bytes, durationMs: performance.now() - started });
  }

  async *#stripes(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    checkSignal(options.signal);
    throwIfAborted(options.signal, 'get');
    this.#checkObjectName(bucket, key);
    const head = this.catalog.getHead(bucket, key);
    if (head === undefined || head.tombstone) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no object ${bucket}/${key}`);
    const { manifest, hashTable, badCopies } = await this.#loadManifest(bucket, key, head);
    const { placement, size } = manifest;
    const start = options.range === undefined ? 0 : integer('range.start', options.range.start, 0, size);
    const end = options.range?.end === undefined ? size : integer('range.end', options.range.end, start, size);
    // Bad shards (of the object, or of one of its parts) and bad manifest copies met on the way.
    const bad = new Map<string, RepairItem>();
    const addBad = (shard: number, part?: number) => bad.set(`${part ?? ''}:${shard}`, {
      bucket, key, versionId: head.versionId, disk: part === undefined ? placement[shard] : manifest.parts![part].placement[shard], shard, ...(part !== undefined ? { part } : {}),
    });
    for (const shard of badCopies) addBad(shard);
    const report = async () => {
      if (bad.size === 0 || this.#readOnly) return; // read-only: nothing is queued (status and scrub report what is bad)
      // The read succeeded around them: report the bad shards and copies so repair rewrites them.
      await this.#queueRepair([...bad.values()], 'read', 'read');
    };
    if (manifest.stripeCount === 0) {
      // Inline: the bytes came inside a verified manifest; check them against the signed content hash.
      if (manifest.inline.length !== size || Buffer.compare(blake3Sync(manifest.inline), manifest.contentHash) !== 0) {
        throw new ShardVaultError(ErrorCode.CORRUPT, `${bucket}/${key}: inline data does not match its content hash`);
      }
      await report();
      if (end > start) yield manifest.inline.slice(start, end);
      return;
    }
    yield* readBodies(this.#reader, bodiesOf(manifest, hashTable), { bucket, key, start, end, signal: options.signal }, addBad, report);
  }

  /**
   * The manifest the head names, from the first copy that verifies: its bytes hash to the head's manifest
   * hash, the signature is by a pool key, and the sequence equals the head's (an older copy cannot roll the
   * object back, I4). Copies are read where the head says they are (disk of the placement, record in its copy
   * log). Copies that were missing or did not verify before the good one are returned as `badCopies` (shard
   * indices).
   */
  async #loadManifest(bucket: string, key: string, head: Head): Promise<{ manifest: Manifest; hashTable: Uint8Array; copy: Uint8Array; badCopies: number[] }> {
    const badCopies: number[] = [];
    for (const [shard, diskId] of (head.placement ?? []).entries()) {
      const d = this.#readable(diskId);
      if (d === undefined) continue; // the disk is offline: not a bad copy to rewrite now
      const loaded = await this.#readCopy(d, head.copies?.[shard], head);
      if (loaded !== undefined) return { ...loaded, badCopies };
      badCopies.push(shard);
    }
    throw new ShardVaultError(ErrorCode.CORRUPT, `no valid manifest copy for ${bucket}/${key} at sequence ${head.sequence}`);
  }

  /** A manifest copy verified against the head; undefined when missing, unreadable, torn, stale or forged. */
  async #readCopy(d: DiskConfig, ref: CopyRef | null | undefined, head: Head): Promise<{ manifest: Manifest; hashTable: Uint8Array; copy: Uint8Array } | undefined> {
    if (ref === undefined || ref === null) return undefined; // never written (degraded write): repair queued
    try {
      const copy = await readRecord(d.path, ref, Buffer.from(this.config.poolId, 'hex'));
      const { manifest, hashTable } = openCopy(copy, (id) => (Buffer.compare(id, this.#keyId) === 0 ? this.publicKey : null), head.manifestHash);
      if (manifest.sequence !== head.sequence || hex(manifest.versionId) !== head.versionId) return undefined;
      return { manifest, hashTable, copy };
    } catch (err) {
      if (typeof (err as { errno?: unknown }).errno === 'number') this.#countError(d.id, 'read'); // an I/O error, not a stale or torn copy
      return undefined;
    }
  }

  /**
   * Where the files of the current version of bucket/key are (tools and tests): per shard, its disk and the
   * path of its shard file (undefined for inline objects and tombstones) and where its manifest copy's record
   * is (segment file, byte offset, record length; undefined when that copy was never written).
   */
  locate(bucket: string, key: string): { versionId: string; manifestHash: string; shards: Array<{ shard: number; diskId: string; shardFile?: string; copy?: { file: string; offset: number; length: number } }>; parts?: Array<{ partId: string; shards: Array<{ shard: number; diskId: string; shardFile: string }> }> } | undefined {
    this.#checkObjectName(bucket, key);
    const head = this.catalog.getHead(bucket, key);
    if (head === undefined || head.placement === undefined) return undefined;
    const oid = hex(objectId(bucket, key));
    return {
      versionId: head.versionId,
      manifestHash: head.manifestHash,
      shards: head.placement.map((diskId, shard) => {
        const d = this.#disk(diskId)!;
        const dir = objectDir(d.path, oid);
        const ref = head.copies?.[shard] ?? undefined;
        return {
          shard, diskId,
          ...(head.striped === true && head.parts === undefined ? { shardFile: join(dir, shardFileName(oid, head.versionId, shard)) } : {}),
          ...(ref !== undefined ? { copy: { file: segmentPath(d.path, ref.seg), offset: ref.off, length: RECORD_HEADER_BYTES + ref.len } } : {}),
        };
      }),
      // A multipart object: `shards` are its manifest copies; each part's shard files are here.
      ...(head.parts !== undefined ? {
        parts: head.parts.map((p) => ({
          partId: p.partId,
          shards: p.placement.map((diskId, shard) => ({ shard, diskId, shardFile: join(objectDir(this.#disk(diskId)!.path, oid), shardFileName(oid, p.partId, shard)) })),
        })),
      } : {}),
    };
  }

  // ---------------------------------------------------------------- scrub, status

  /**
   * Scrub: reads every block of every live object (data and parity, in bounded pieces) and checks it against
   * the hash table, checks each shard file's header names this pool, object, version, shard, k, m and block
   * size and that the file ends after its last block, and checks every manifest copy; bad or missing ones are
   * queued for repair(). Rate-limited (bytes per second),
   * abortable, reports progress after each object. The cursor is kept in the catalog every 64 objects and on
   * abort, so `resume: true` continues where an aborted or interrupted scrub stopped.
   */
  async scrub(options: { rateBytesPerSec?: number; signal?: AbortSignal; resume?: boolean; onProgress?: (p: ScrubProgress) => void } = {}): Promise<ScrubProgress> {
    checkSignal(options.signal);
    throwIfAborted(options.signal, 'scrub');
    const progress: ScrubProgress = { objects: 0, bytes: 0, bad: 0 };
    await this.#checkDisks(); // a disk emptied or gone since open is reported (and its shards not counted as scrubbed)
    const started = Date.now();
    const after = options.resume === true ? this.catalog.getMeta<{ bucket: string; key: string }>(SCRUB_CURSOR) : undefined;
    // Read-only: verify only; nothing is queued and the cursor is not saved.
    const saveCursor = async () => (this.#readOnly ? undefined : this.catalog.setMeta(SCRUB_CURSOR, progress.last));
    for (const { bucket, key, head } of this.catalog.heads({ after })) {
      if (options.signal?.aborted) {
        if (progress.last !== undefined) await saveCursor();
        throwIfAborted(options.signal, 'scrub');
      }
      const current = this.catalog.getHead(bucket, key);
      if (current === undefined || current.versionId !== head.versionId) continue; // overwritten meanwhile
      const bad = new Map<string, RepairItem>();
      let loaded;
      try {
        loaded = await this.#loadManifest(bucket, key, head);
      } catch {
        // No copy verifies: nothing can be rebuilt from here; counted, and reads report ERR_SV_CORRUPT.
        progress.bad += head.placement?.length ?? 1;
        progress.objects++;
        progress.last = { bucket, key };
        options.onProgress?.({ ...progress });
        this.events.emit('scrubProgress', { ...progress });
        continue;
      }
      const { manifest, hashTable } = loaded;
      const { k, m, blockBytes, stripeCount, placement } = manifest;
      const n = k + m;
      let bodies: Body[];
      try {
        bodies = stripeCount === 0 ? [] : bodiesOf(manifest, hashTable);
      } catch {
        bodies = []; // a multipart manifest whose content hash does not match its parts: every read refuses it
        progress.bad += placement.length;
      }
      // Bad manifest copies (`:i`) and bad shard files (`part:i`; for a plain object the same item `:i`).
      const addBad = (shard: number, part?: number) => bad.set(`${part ?? ''}:${shard}`, {
        bucket, key, versionId: head.versionId, disk: part === undefined ? placement[shard] : manifest.parts![part].placement[shard], shard, ...(part !== undefined ? { part } : {}),
      });
      const checkShard = async (body: Body, id: string, i: number) => {
        const d = this.#readable(id);
        if (d === undefined) return; // offline disk: not scrubbed now
        const file = join(objectDir(d.path, body.oid), shardFileName(body.oid, body.vid, i));
        try {
          const h = decodeHeader((await readRange(file, 0, HEADER_BYTES)).data);
          // The header must bind what the manifest says (k, m and block size too: a flipped field there is
          // bit rot that reads never touch), and the file must end after its last block.
          if (h === undefined || h.shard !== i || Buffer.compare(h.objectId, body.oidBytes) !== 0 || Buffer.compare(h.versionId, body.versionId) !== 0 || hex(h.poolId) !== this.config.poolId ||
            h.k !== k || h.m !== m || h.blockBytes !== blockBytes || Buffer.compare(h.hashTableRoot, body.hashTableRoot) !== 0 ||
            (await stat(file)).size !== HEADER_BYTES + body.stripeCount * blockBytes) {
            addBad(i, body.part);
            return;
          }
          const perRead = Math.max(1, Math.floor(SCRUB_READ_BYTES_MAX / blockBytes));
          for (let s = 0; s < body.stripeCount; s += perRead) {
            const count = Math.min(perRead, body.stripeCount - s);
            const expected = new Uint8Array(count * 32);
            for (let j = 0; j < count; j++) expected.set(blockHash(body.hashTable, n, s + j, i), j * 32);
            const r = await readRange(file, HEADER_BYTES + s * blockBytes, count * blockBytes, { blockBytes, expectedHashes: expected });
            if (r.ok!.some((ok) => !ok)) {
              addBad(i, body.part);
              return;
            }
          }
        } catch {
          addBad(i, body.part);
        }
      };
      await Promise.all(
        placement.map(async (id, i) => {
          const d = this.#readable(id);
          if (d === undefined) return; // offline disk: not scrubbed now
          if ((await this.#readCopy(d, head.copies?.[i], head)) === undefined) addBad(i);
        }),
      );
      // Parts one after another (memory and I/O stay those of one body), each body's shards in parallel.
      for (const body of bodies) await Promise.all(body.placement.map((id, i) => checkShard(body, id, i)));
      if (!this.#readOnly) await this.#queueRepair([...bad.values()], 'scrub', 'scrub');
      progress.objects++;
      progress.bytes += stripeCount === 0 ? manifest.size * n : stripeCount * blockBytes * n;
      progress.bad += bad.size;
      progress.last = { bucket, key };
      options.onProgress?.({ ...progress });
      this.events.emit('scrubProgress', { ...progress });
      if (progress.objects % 64 === 0) await saveCursor();
      if (options.rateBytesPerSec !== undefined) {
        const aheadMs = (progress.bytes / options.rateBytesPerSec) * 1000 - (Date.now() - started);
        if (aheadMs > 0) {
          try {
            await abortableDelay(aheadMs, options.signal, 'scrub');
          } catch (err) {
            await saveCursor();
            throw err;
          }
        }
      }
    }
    if (!this.#readOnly) await this.catalog.setMeta(SCRUB_CURSOR, undefined); // a finished pass starts from the beginning next time
    return { ...progress, disks: this.#disksToFix() };
  }

  /**
   * What condition disk `d` is in and, unless it is online (or removed), the CLI command that is the work to
   * do: a missing or emptied directory, a foreign identity, an unmounted disk are reported as such, with a hint.
   */
  #diskHealth(d: DiskConfig): { condition: DiskHealthCondition; hint?: string } {
    const spec = `${d.path}${Object.keys(d.labels).length > 0 ? `:${Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`;
    const replace = (path: string) => `shardvault disk replace ${d.id} ${path}`;
    const newSpec = `NEWPATH${Object.keys(d.labels).length > 0 ? spec.slice(d.path.length) : ''}`;
    if (d.state === 'removed') return { condition: 'removed' };
    const condition = this.#conditions.get(d.id);
    switch (condition) {
      case undefined:
        return d.state === 'draining'
          ? { condition: 'draining', hint: `run \`shardvault repair\` to move its shards, then \`shardvault disk rm ${d.id}\`` }
          : { condition: 'online' };
      case 'missing':
        return { condition, hint: `directory ${d.path} is gone: mount or restore it, or run \`${replace(newSpec)}\` then \`shardvault repair\`` };
      case 'empty':
        return { condition, hint: `${d.path} holds no pool disk (emptied or a new disk): run \`${replace(spec)}\` then \`shardvault repair\`` };
      case 'foreign':
        return { condition, hint: `${d.path} holds another disk (${this.#problems.get(d.id) ?? ''}): mount the right disk there, or run \`${replace(newSpec)}\` then \`shardvault repair\`` };
      case 'wrong-device':
        return { condition, hint: `${d.path} is not on the disk's device: mount the disk at ${d.path}` };
      case 'unreadable':
        return { condition, hint: `${d.path} cannot be read (${this.#problems.get(d.id) ?? ''}): check the device; if it failed, run \`${replace(newSpec)}\` then \`shardvault repair\`` };
    }
  }

  /**
   * Pool health: per disk, its state, its condition (online, draining, removed, or why it is unusable:
   * missing, empty, foreign, wrong-device, unreadable) with a hint naming the command that fixes it, whether
   * it is reachable with the right identity and device (`ok`, `problem`), I/O errors counted since open, and
   * how many shards of queued repair work it holds; objects at risk (queued work, or shards on unusable
   * disks); live object count; the pool's coding parameters.
   */
  async status(): Promise<{
    pool: { poolId: string; k: number; m: number; blockBytes: number; failureDomain: string; writeQuorum: number };
    /** The catalog (meta directory): `ok: false` after a failed commit, when it refuses writes until reopened. */
    catalog: { ok: boolean; problem?: string; errno?: number };
    disks: Array<{
      id: string; path: string; state: DiskConfig['state']; condition: DiskHealthCondition; hint?: string; labels: Record<string, string>; ok: boolean; problem?: string;
      errors: { read: number; write: number }; /** Why the disk was last unusable since open, and when it went and came back. */ lastProblem?: { problem: string; sinceMs: number; restoredMs?: number }; repairQueued: number; shards: number; sameDeviceAs: string[]; freeBytes?: number; totalBytes?: number; copyLog?: { segments: number; bytes: number };
    }>;
    objects: number;
    objectsAtRisk: number;
    repairQueued: number;
  }> {
    await this.#checkDisks();
    const queue = this.catalog.repairQueue();
    const atRisk = new Set(queue.map((q) => `${q.bucket}\0${q.key}\0${q.versionId}`));
    const shardsOn = new Map<string, number>();
    let objects = 0;
    for (const { bucket, key, head } of this.catalog.heads({ tombstones: true })) {
      if (!head.tombstone) objects++; // a tombstone's copies are files on the disks too (they keep deletes deleted)
      for (const id of [...(head.placement ?? []), ...(head.parts ?? []).flatMap((p) => p.placement)]) {
        shardsOn.set(id, (shardsOn.get(id) ?? 0) + 1);
        if (this.#readable(id) === undefined) atRisk.add(`${bucket}\0${key}\0${head.versionId}`);
      }
    }
    const space = await Promise.all(
      this.config.disks.map(async (d) => {
        if (this.#readable(d.id) === undefined) return undefined;
        const fs = await statfs(d.path).catch(() => undefined);
        // Space the copy log takes (segments, preallocated ones included), what gc's compaction works on.
        const { segments } = await listSegments(d.path);
        let bytes = 0;
        for (const seg of segments) bytes += (await stat(segmentPath(d.path, seg)).catch(() => ({ size: 0 }))).size;
        return { ...(fs === undefined ? {} : { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize }), copyLog: { segments: segments.length, bytes } };
      }),
    );
    const disks = this.config.disks.map((d, i) => {
      const problem = this.#problems.get(d.id);
      const { condition, hint } = this.#diskHealth(d);
      return {
        ...(space[i] ?? {}),
        id: d.id, path: d.path, state: d.state, condition, ...(hint !== undefined ? { hint } : {}), labels: d.labels, ok: problem === undefined, ...(problem !== undefined ? { problem } : {}),
        errors: { ...(this.#ioErrors.get(d.id) ?? { read: 0, write: 0 }) },
        ...(this.#lastProblem.has(d.id) ? { lastProblem: { ...this.#lastProblem.get(d.id)! } } : {}),
        repairQueued: queue.filter((q) => q.disk === d.id).length, shards: shardsOn.get(d.id) ?? 0,
        // Disks on one device fail together: their failure domains are nominal (fine for a demo, not for data).
        sameDeviceAs: this.config.disks.filter((x) => x.id !== d.id && x.state !== 'removed' && x.dev === d.dev).map((x) => x.id),
      };
    });
    const { poolId, k, m, blockBytes, failureDomain, writeQuorum } = this.config;
    const failure = this.catalog.failure;
    const catalog = failure === undefined ? { ok: true } : { ok: false, problem: failure.message, ...(failure.errno !== undefined ? { errno: failure.errno } : {}) };
    return { pool: { poolId, k, m, blockBytes, failureDomain, writeQuorum }, catalog, disks, objects, objectsAtRisk: atRisk.size, repairQueued: queue.length };
  }

  /** Disks that are work to do (every condition but online and removed), with the hint that fixes each. */
  #disksToFix(): Array<{ id: string; path: string; condition: DiskHealthCondition; hint?: string }> {
    return this.config.disks.flatMap((d) => {
      const h = this.#diskHealth(d);
      return h.condition === 'online' || h.condition === 'removed' ? [] : [{ id: d.id, path: d.path, ...h }];
    });
  }

  /** The audit log (hash-chained records of every mutation, I6), oldest first. */
  auditLog(): AuditRecord[] {
    return this.catalog.auditLog();
  }

  /** Recomputes the audit chain: the index of the first bad record, or -1 when it is intact. */
  verifyAudit(): number {
    return this.catalog.verifyAudit();
  }

  /** Work waiting for repair() (shards missing or bad, per object version). */
  repairQueue(): RepairItem[] {
    return this.catalog.repairQueue();
  }

  // ---------------------------------------------------------------- repair

  /**
   * Rebuilds every queued shard: reads each stripe from the shards that verify (the queued one too, when it
   * is still readable: a drained disk's shard is copied, not decoded), reconstructs what is missing, verifies
   * every rebuilt block against the hash table (decode-then-verify), and writes the shard durably to its
   * disk, or to a replacement disk chosen within the failure-domain rule when its disk is offline, draining
   * or removed (I8). A move re-signs the manifest with the new placement, writes its copies to every disk of
   * the object and re-points the head in one catalog transaction (compare-and-set; the audit record and the
   * completed work go with it). Items of superseded versions are dropped. Memory is one stripe at a time.
   */
  async repair(options: { principal?: string; signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void } | string = {}): Promise<{ repaired: number; dropped: number; moved: number; failed: number; errors: Array<{ bucket: string; key: string; code: string; message: string }>; disks: Array<{ id: string; path: string; condition: DiskHealthCondition; hint?: string }> }> {
    this.#writable('repair');
    const { principal = 'repair', signal, onProgress } = typeof options === 'string' ? { principal: options } : options;
    checkSignal(signal);
    throwIfAborted(signal, 'repair');
    const started = performance.now();
    const result = { repaired: 0, dropped: 0, moved: 0, failed: 0, errors: [] as Array<{ bucket: string; key: string; code: string; message: string }> };
    const items = this.catalog.repairQueue();
    const byVersion = new Map<string, RepairItem[]>();
    for (const it of items) {
      const id = `${it.bucket}\0${it.key}\0${it.versionId}`;
      byVersion.set(id, [...(byVersion.get(id) ?? []), it]);
    }
    let done = 0;
    for (const group of byVersion.values()) {
      throwIfAborted(signal, 'repair');
      const { bucket, key, versionId } = group[0];
      const head = this.catalog.getHead(bucket, key);
      if (head === undefined || head.versionId !== versionId) {
        await this.catalog.completeRepair(group, 'repair.drop', principal, Date.now());
        result.dropped += group.length;
      } else {
        try {
          const outcome = await this.#repairVersion(bucket, key, head, group, principal);
          result.repaired += outcome.repaired;
          result.moved += outcome.moved;
          result.failed += outcome.failed;
        } catch (err) {
          // One object that cannot be repaired now (fewer than k good shards, no eligible disk, a put that
          // superseded it meanwhile) must not stop the others; its work stays queued.
          const e = err as { code?: string; message?: string };
          result.failed += group.length;
          result.errors.push({ bucket, key, code: e.code ?? 'ERR_SV_IO', message: e.message ?? String(err) });
        }
      }
      done += group.length;
      onProgress?.({ done, total: items.length });
    }
    this.events.emit('repair', { repaired: result.repaired, dropped: result.dropped, moved: result.moved, failed: result.failed, durationMs: performance.now() - started });
    // Disks that are still work to do (missing, emptied, ...): what repair alone cannot fix, with the command that does.
    await this.#checkDisks();
    return { ...result, disks: this.#disksToFix() };
  }

  async #repairVersion(bucket: string, key: string, head: Head, group: RepairItem[], principal: string): Promise<{ repaired: number; moved: number; failed: number }> {
    const loaded = await this.#loadManifest(bucket, key, head);
    if (loaded.manifest.parts !== undefined) return this.#repairComposite(bucket, key, head, group, principal, loaded);
    const { manifest, hashTable } = loaded;
    const { k, m, blockBytes, stripeCount, placement } = manifest;
    const oidBytes = objectId(bucket, key);
    const oid = hex(oidBytes);
    const vid = head.versionId;
    let targets = [...new Set(group.map((g) => g.shard))].sort((a, b) => a - b);
    // Where each target goes: its own disk when that is active and usable, else a replacement within the rule.
    // A shard on a healthy disk whose item names a destination (rebalance) moves there only when the rule
    // allows it; otherwise it stays and there is nothing to do for it.
    const newPlacement = placement.slice();
    const unmoved: number[] = [];
    for (const t of targets) {
      const d = this.#disk(newPlacement[t]);
      const prefer = group.find((g) => g.shard === t && g.to !== undefined)?.to;
      const healthy = d !== undefined && d.state === 'active' && !this.#problems.has(d.id);
      if (healthy && (prefer === undefined || prefer === d.id)) continue;
      const to = replaceShard(placementKey(bucket, key, vid), newPlacement, t, this.#placementDisks(), this.#rule(), prefer);
      if (healthy && to !== prefer) unmoved.push(t);
      else newPlacement[t] = to;
    }
    if (unmoved.length > 0) {
      const skipped = group.filter((g) => unmoved.includes(g.shard));
      await this.catalog.completeRepair(skipped, 'repair.skip', principal, Date.now());
      group = group.filter((g) => !unmoved.includes(g.shard));
      targets = targets.filter((t) => !unmoved.includes(t));
      if (targets.length === 0) return { repaired: 0, moved: 0, failed: 0 };
    }
    const moved = targets.filter((t) => newPlacement[t] !== placement[t]);
    let manifestHash = head.manifestHash;
    let copy = loaded.copy;
    if (moved.length > 0) {
      const signed = this.#sign({ ...manifest, placement: newPlacement }, hashTable);
      manifestHash = signed.manifestHash;
      copy = signed.copy;
    }
    if (stripeCount > 0) {
      const [body] = bodiesOf(manifest, hashTable);
      const writers: ShardWriter[] = [];
      try {
        for (const t of targets) {
          const d = this.#readable(newPlacement[t]);
          if (d === undefined) throw new ShardVaultError(ErrorCode.IO, `disk ${newPlacement[t]} is not usable`);
          const w = await openShardWriter(objectDir(d.path, oid), shardFileName(oid, vid, t), { expectDev: d.dev });
          writers.push(w);
          await w.append(encodeHeader({ shard: t, k, m, blockBytes, poolId: Buffer.from(this.config.poolId, 'hex'), objectId: oidBytes, versionId: manifest.versionId, hashTableRoot: manifest.hashTableRoot }));
        }
        for (let s = 0; s < stripeCount; s++) {
          // Shards being moved off a readable disk are read like any other; all k + m blocks come back verified.
          const { blocks } = await this.#reader.readStripe(body, s, true);
          await Promise.all(targets.map((t, j) => writers[j].append(blocks[t])));
          if (s % 4 === 3) await yieldToLoop();
        }
        await Promise.all(writers.map((w) => w.seal({ replace: true }))); // an old file there is corrupt or stale
      } catch (err) {
        await Promise.all(writers.map((w) => w.abort().catch(() => undefined)));
        throw err;
      }
    }
    if (moved.length === 0) {
      // Same disks: each target gets a fresh copy (the old record is torn, stale, missing or simply superseded
      // by it), and the head is re-pointed at the new records with the completed work, compare-and-set.
      const refs = await Promise.all(targets.map((t) => this.#writeCopy(newPlacement[t], copy)));
      try {
        const fixed = group.filter((g) => refs[targets.indexOf(g.shard)] !== undefined);
        if (fixed.length > 0) {
          const copies = placement.map((_, i) => head.copies?.[i] ?? null);
          targets.forEach((t, j) => {
            if (refs[j] !== undefined) copies[t] = refs[j]!;
          });
          await this.catalog.replaceManifest(bucket, key, { versionId: vid, manifestHash: head.manifestHash, copies: head.copies ?? null }, { ...head, copies }, fixed,
            { action: 'repair', principal, timeMs: Date.now(), detail: fixed.map((g) => g.shard).join(',') });
        }
        return { repaired: fixed.length, moved: 0, failed: group.length - fixed.length };
      } finally {
        this.#unpin(targets.map((t) => newPlacement[t]), refs);
      }
    }
    // A move: the re-signed manifest goes to every disk of the new placement as new records (the copies the head
    // still names stay valid until the commit), then the head is re-pointed.
    const refs = await Promise.all(newPlacement.map((id) => this.#writeCopy(id, copy)));
    try {
      const sealedCount = refs.filter((r) => r !== undefined).length;
      if (targets.some((t) => refs[t] === undefined) || sealedCount < this.config.writeQuorum) {
        return { repaired: 0, moved: 0, failed: group.length }; // the old head still stands; the new records are dead space
      }
      const missing = newPlacement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ bucket, key, versionId: vid, disk, shard }]));
      await this.catalog.replaceManifest(
        bucket, key, { versionId: vid, manifestHash: head.manifestHash, copies: head.copies ?? null },
        { ...head, manifestHash, placement: newPlacement, copies: refs.map((r) => r ?? null), committedMs: Date.now() },
        group,
        { action: 'repair.move', principal, timeMs: Date.now(), detail: moved.map((t) => `${t}:${placement[t]}->${newPlacement[t]}`).join(',') },
      );
      await this.#queueRepair(missing, principal, 'repair');
    } finally {
      this.#unpin(newPlacement, refs);
    }
    // The moved-away shard files are garbage now (old copy records are dead space, collected with their
    // segment); what cannot be reached is left to gc().
    await Promise.all(
      placement.map(async (id, i) => {
        if (newPlacement[i] === id) return;
        const shardFile = this.#shardPath(id, oid, vid, i);
        if (shardFile !== undefined) await unlink(shardFile).catch(() => undefined);
      }),
    );
    return { repaired: group.length, moved: moved.length, failed: 0 };
  }

  /**
   * Repair of a multipart object. An item without `part` is the manifest copy on that disk of the object's
   * copy placement; an item with `part` is that part's shard file. Each goes back to its disk when that is
   * active and usable (and no other destination is asked for), else to a replacement within the failure-domain
   * rule (the part's own placement, or the copies'). Part shards are rebuilt from any k verified shards of the
   * part, stripe by stripe, and verified (decode-then-verify). Without a move, the named copies are rewritten
   * and the head re-pointed at them; with one, the manifest is re-signed with the new placements, written to
   * every copy disk and the head re-pointed (compare-and-set, as for a plain object).
   */
  async #repairComposite(bucket: string, key: string, head: Head, group: RepairItem[], principal: string, loaded: { manifest: Manifest; hashTable: Uint8Array; copy: Uint8Array }): Promise<{ repaired: number; moved: number; failed: number }> {
    const { manifest, hashTable } = loaded;
    const { k, m, blockBytes } = manifest;
    const parts = manifest.parts!;
    const bodies = bodiesOf(manifest, hashTable);
    const vid = head.versionId;
    const copyPlacement = manifest.placement.slice();
    const partPlacement = parts.map((p) => p.placement.slice());
    const skipped: RepairItem[] = [];
    const work: RepairItem[] = [];
    for (const g of group) {
      const pl = g.part === undefined ? copyPlacement : partPlacement[g.part];
      if (pl === undefined || g.shard >= pl.length) {
        skipped.push(g); // names no shard of this version
        continue;
      }
      const d = this.#disk(pl[g.shard]);
      const healthy = d !== undefined && d.state === 'active' && !this.#problems.has(d.id);
      if (healthy && (g.to === undefined || g.to === d.id)) {
        work.push(g);
        continue;
      }
      const to = replaceShard(placementKey(bucket, key, g.part === undefined ? vid : bodies[g.part].vid), pl, g.shard, this.#placementDisks(), this.#rule(), g.to);
      if (healthy && to !== g.to) {
        skipped.push(g);
        continue;
      }
      pl[g.shard] = to;
      work.push(g);
    }
    if (skipped.length > 0) await this.catalog.completeRepair(skipped, 'repair.skip', principal, Date.now());
    if (work.length === 0) return { repaired: 0, moved: 0, failed: 0 };
    // Rebuild the named part shards, part by part, onto their (possibly new) disks.
    for (const [pi, body] of bodies.entries()) {
      const targets = [...new Set(work.filter((g) => g.part === pi).map((g) => g.shard))].sort((a, b) => a - b);
      if (targets.length === 0) continue;
      const writers: ShardWriter[] = [];
      try {
        for (const t of targets) {
          const d = this.#readable(partPlacement[pi][t]);
          if (d === undefined) throw new ShardVaultError(ErrorCode.IO, `disk ${partPlacement[pi][t]} is not usable`);
          const w = await openShardWriter(objectDir(d.path, body.oid), shardFileName(body.oid, body.vid, t), { expectDev: d.dev });
          writers.push(w);
          await w.append(encodeHeader({ shard: t, k, m, blockBytes, poolId: Buffer.from(this.config.poolId, 'hex'), objectId: body.oidBytes, versionId: body.versionId, hashTableRoot: body.hashTableRoot }));
        }
        for (let s = 0; s < body.stripeCount; s++) {
          const { blocks } = await this.#reader.readStripe(body, s, true);
          await Promise.all(targets.map((t, j) => writers[j].append(blocks[t])));
          if (s % 4 === 3) await yieldToLoop();
        }
        await Promise.all(writers.map((w) => w.seal({ replace: true })));
      } catch (err) {
        await Promise.all(writers.map((w) => w.abort().catch(() => undefined)));
        throw err;
      }
    }
    const movedCopies = copyPlacement.flatMap((id, i) => (id !== manifest.placement[i] ? [i] : []));
    const movedParts = partPlacement.flatMap((pl, pi) => pl.flatMap((id, i) => (id !== parts[pi].placement[i] ? [{ pi, i }] : [])));
    const copyTargets = [...new Set(work.filter((g) => g.part === undefined).map((g) => g.shard))];
    if (movedCopies.length === 0 && movedParts.length === 0) {
      // Same disks: the named copies are rewritten (same manifest), the head re-pointed at them with the work done.
      const refs = await Promise.all(copyTargets.map((t) => this.#writeCopy(copyPlacement[t], loaded.copy)));
      try {
        const fixed = work.filter((g) => g.part !== undefined || refs[copyTargets.indexOf(g.shard)] !== undefined);
        const copies = copyPlacement.map((_, i) => head.copies?.[i] ?? null);
        copyTargets.forEach((t, j) => {
          if (refs[j] !== undefined) copies[t] = refs[j]!;
        });
        if (fixed.length > 0) {
          await this.catalog.replaceManifest(bucket, key, { versionId: vid, manifestHash: head.manifestHash, copies: head.copies ?? null }, { ...head, copies }, fixed,
            { action: 'repair', principal, timeMs: Date.now(), detail: fixed.map((g) => (g.part === undefined ? String(g.shard) : `${g.shard}p${g.part}`)).join(',') });
        }
        return { repaired: fixed.length, moved: 0, failed: work.length - fixed.length };
      } finally {
        this.#unpin(copyTargets.map((t) => copyPlacement[t]), refs);
      }
    }
    // A move: re-signed with the new placements, written to every copy disk, then the head re-pointed.
    const { manifestHash, copy } = this.#sign({ ...manifest, placement: copyPlacement, parts: parts.map((p, pi) => ({ ...p, placement: partPlacement[pi] })) }, hashTable);
    const refs = await Promise.all(copyPlacement.map((id) => this.#writeCopy(id, copy)));
    try {
      const sealedCount = refs.filter((r) => r !== undefined).length;
      if (copyTargets.some((t) => refs[t] === undefined) || sealedCount < this.config.writeQuorum) {
        return { repaired: 0, moved: 0, failed: work.length }; // the old head still stands; the new records are dead space
      }
      const missing = copyPlacement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ bucket, key, versionId: vid, disk, shard }]));
      await this.catalog.replaceManifest(
        bucket, key, { versionId: vid, manifestHash: head.manifestHash, copies: head.copies ?? null },
        { ...head, manifestHash, placement: copyPlacement, copies: refs.map((r) => r ?? null), parts: bodies.map((b, pi) => ({ partId: b.vid, placement: partPlacement[pi] })), committedMs: Date.now() },
        work,
        { action: 'repair.move', principal, timeMs: Date.now(), detail: [...movedCopies.map((t) => `copy ${t}:${manifest.placement[t]}->${copyPlacement[t]}`), ...movedParts.map(({ pi, i }) => `part ${pi + 1} shard ${i}:${parts[pi].placement[i]}->${partPlacement[pi][i]}`)].join(',') },
      );
      await this.#queueRepair(missing, principal, 'repair');
    } finally {
      this.#unpin(copyPlacement, refs);
    }
    // The moved-away part shard files are garbage now; what cannot be reached is left to gc().
    await Promise.all(movedParts.map(async ({ pi, i }) => {
      const f = this.#shardPath(parts[pi].placement[i], bodies[pi].oid, bodies[pi].vid, i);
      if (f !== undefined) await unlink(f).catch(() => undefined);
    }));
    return { repaired: work.length, moved: movedCopies.length + movedParts.length, failed: 0 };
  }


  // ---------------------------------------------------------------- garbage and recovery

  /**
   * Removes the shard files of superseded versions queued by commits (after `graceMs`), then (unless
   * `walk: false`) walks every usable disk: removes temporary files (with `removeTemporary`: only at open, when
   * no writer of this pool can be running), shard files of versions never committed (a crash between sealing
   * and the commit), of superseded versions, and ones the current head no longer names (moved by repair), each
   * once older than `graceMs`; removes copy-log segments that no current head and no queued garbage points
   * into and that this process is not writing; then queues repair for every head whose shard files or
   * manifest copies are missing on usable disks. Cost: one readdir of 256 directories per disk, one catalog
   * lookup per file and one pass over the heads.
   */
  async gc(options: { graceMs?: number; removeTemporary?: boolean; walk?: boolean; compact?: boolean } = {}): Promise<GcResult> {
    this.#writable('gc');
    const graceMs = options.graceMs ?? 60 * 60 * 1000;
    const result: GcResult = { temporaryRemoved: 0, orphansRemoved: 0, supersededRemoved: 0, staleRemoved: 0, segmentsRemoved: 0, copiesCompacted: 0, repairQueued: 0 };
    const now = Date.now();
    // Expired multipart uploads end as if aborted: their parts' files join the garbage queue below.
    for (const u of [...this.catalog.allUploads()]) {
      if (now - u.upload.initiatedMs <= this.#uploadTtlMs) continue;
      await this.catalog.abortUpload(u.bucket, u.key, u.uploadId, 'multipart.expire', 'gc', now).catch((err: { code?: string }) => {
        if (err.code !== ErrorCode.NO_SUCH_UPLOAD) throw err; // completed or aborted meanwhile
      });
    }
    // First the garbage queue: superseded versions' shard files where their last head put them (no walk).
    // Their manifest copies are records in copy-log segments: dead space until the walk removes a segment.
    const done: string[] = [];
    for (const g of this.catalog.garbageQueue()) {
      if (now - g.supersededMs < graceMs) continue;
      const oid = hex(objectId(g.bucket, g.key));
      // A plain version's files are named by its version id; a multipart version's by its parts' ids (a part
      // queued on its own -- replaced, unused by a Complete, aborted -- is an entry named by its part id).
      const bodies = g.head.parts ?? (g.head.striped === true ? [{ partId: g.head.versionId, placement: g.head.placement ?? [] }] : []);
      for (const b of bodies) {
        await Promise.all(b.placement.map(async (diskId, i) => {
          const f = this.#shardPath(diskId, oid, b.partId, i);
          if (f !== undefined && (await unlink(f).then(() => true, () => false))) result.supersededRemoved++;
        }));
      }
      done.push(g.head.versionId); // what an offline disk still holds, the walk removes when it is back
    }
    await this.catalog.completeGarbage(done);
    if (options.walk === false) return result;
    if (options.compact !== false) result.copiesCompacted = await this.#compact(graceMs, now);
    const seen = new Set<string>(); // `${diskId}/${name}` of shard files the current heads name
    const old = async (file: string, sinceMs: number) => {
      const st = await stat(file).catch(() => null);
      return st !== null && now - Math.max(st.mtimeMs, sinceMs) >= graceMs;
    };
    // Segments something still points into: current heads (tombstones too: they keep deletes deleted) and
    // superseded versions still in the garbage queue (readers that started on them, within the grace).
    const referenced = new Set<string>(); // `${diskId}/${seg}`
    const refer = (head: Head) => head.copies?.forEach((r, i) => {
      if (r !== null && head.placement?.[i] !== undefined) referenced.add(`${head.placement[i]}/${r.seg}`);
    });
    for (const { head } of this.catalog.heads({ tombstones: true })) refer(head);
    for (const g of this.catalog.garbageQueue()) refer(g.head);
    const segmentsOn = new Map<string, Set<number>>();
    // Disks in parallel (independent devices); within a disk, the 256 directories one after another.
    await Promise.all(this.config.disks.map(async (d) => {
      if (this.#readable(d.id) === undefined) return;
      const { segments, temporary, free } = await listSegments(d.path);
      let freeCount = free.length;
      for (const file of temporary) {
        if (this.#logs.has(d.id) && options.removeTemporary !== true) continue; // this process may be preparing it
        if (options.removeTemporary === true || (await old(file, 0))) {
          await unlink(file).catch(() => undefined);
          result.temporaryRemoved++;
        }
      }
      const present = new Set<number>();
      for (const seg of segments) {
        const file = segmentPath(d.path, seg);
        if (referenced.has(`${d.id}/${seg}`) || this.#logs.get(d.id)?.inUse(seg, now) === true || !(await old(file, 0))) {
          present.add(seg);
          continue;
        }
        // Dead: kept for reuse (up to a few per disk; no zero-fill for the next segment) or removed.
        if ((await releaseSegment(d.path, seg, freeCount)) === 'recycled') freeCount++;
        result.segmentsRemoved++;
      }
      segmentsOn.set(d.id, present);
      for (const fan of fanoutDirs()) {
        const dir = join(d.path, 'objects', fan);
        for (const f of await readdir(dir).catch(() => [] as string[])) {
          const file = join(dir, f);
          const parsed = parseFileName(f);
          if (parsed.kind === 'temporary') {
            if (options.removeTemporary === true || (await old(file, 0))) {
              await unlink(file).catch(() => undefined);
              result.temporaryRemoved++;
            }
            continue;
          }
          if (parsed.kind === 'unknown') continue; // not ours: never removed
          const owner = this.catalog.versionOwner(parsed.versionId);
          if (owner === undefined) {
            if (await old(file, 0)) {
              await unlink(file).catch(() => undefined);
              result.orphansRemoved++;
            }
            continue;
          }
          if (owner.uploadId !== undefined) {
            // A part of an upload in progress: kept while it is that part number's current upload.
            const current = this.catalog.getUpload(owner.bucket, owner.key, owner.uploadId) !== undefined &&
              this.catalog.getPart(owner.uploadId, owner.partNumber ?? 0)?.partId === parsed.versionId;
            if (!current && (await old(file, 0))) {
              await unlink(file).catch(() => undefined);
              result.supersededRemoved++;
            }
            continue;
          }
          const head = this.catalog.getHead(owner.bucket, owner.key);
          const version = owner.partOf ?? parsed.versionId; // a part of a multipart version belongs to it
          if (head === undefined || head.versionId !== version) {
            if (await old(file, head?.committedMs ?? 0)) {
              await unlink(file).catch(() => undefined);
              result.supersededRemoved++;
            }
            continue;
          }
          const shardPlacement = owner.partOf !== undefined ? head.parts?.find((p) => p.partId === parsed.versionId)?.placement ?? [] : head.placement;
          if (shardPlacement === undefined || shardPlacement[parsed.shard] === d.id) {
            seen.add(`${d.id}/${f}`);
          } else if (await old(file, head.committedMs ?? 0)) {
            await unlink(file).catch(() => undefined);
            result.staleRemoved++;
          }
        }
      }
    }));
    // Heads short of files on usable disks (lost files, a copy never written by a degraded write, a crash in
    // the middle of a repair) go to repair. A copy counts when its segment is there; scrub reads the records.
    const work: RepairItem[] = [];
    for (const { bucket, key, head } of this.catalog.heads({ tombstones: true })) {
      if (head.placement === undefined) continue;
      const oid = hex(objectId(bucket, key));
      head.placement.forEach((diskId, shard) => {
        if (this.#readable(diskId) === undefined) return;
        const ref = head.copies?.[shard] ?? null;
        const copyOk = ref !== null && segmentsOn.get(diskId)?.has(ref.seg) === true;
        const shardOk = head.striped !== true || head.parts !== undefined || seen.has(`${diskId}/${shardFileName(oid, head.versionId, shard)}`);
        if (!copyOk || !shardOk) work.push({ bucket, key, versionId: head.versionId, disk: diskId, shard });
      });
      head.parts?.forEach((p, part) => p.placement.forEach((diskId, shard) => {
        if (this.#readable(diskId) !== undefined && !seen.has(`${diskId}/${shardFileName(oid, p.partId, shard)}`)) work.push({ bucket, key, versionId: head.versionId, disk: diskId, shard, part });
      }));
    }
    const before = this.catalog.repairQueue().length;
    for (const group of groupBy(work, (w) => `${w.bucket}\0${w.key}\0${w.versionId}`)) await this.#queueRepair(group, 'gc', 'gc');
    result.repairQueued = this.catalog.repairQueue().length - before;
    return result;
  }

  /**
   * Compaction of the copy logs: a segment this process no longer writes, older than the grace, whose live
   * records (those current heads name) fill less than half of it, has them copied to the disk's current
   * segment: each record is read and verified against its head first (a bad one is left for scrub and repair),
   * appended durably, and the head re-pointed by compare-and-set on version, manifest hash and copies (a head
   * that moved meanwhile is left alone). The walk then removes the segment once nothing points into it.
   * Returns the number of copies moved.
   */
  async #compact(graceMs: number, now: number): Promise<number> {
    const live = new Map<string, number>(); // `${diskId}/${seg}` -> live record bytes
    for (const { head } of this.catalog.heads({ tombstones: true })) {
      head.copies?.forEach((r, i) => {
        if (r === null || head.placement?.[i] === undefined) return;
        const at = `${head.placement[i]}/${r.seg}`;
        live.set(at, (live.get(at) ?? 0) + recordBytes(r.len));
      });
    }
    const sparse = new Set<string>();
    for (const d of this.config.disks) {
      if (this.#readable(d.id) === undefined || d.state !== 'active') continue; // a draining disk's copies move by repair
      for (const seg of (await listSegments(d.path)).segments) {
        const used = live.get(`${d.id}/${seg}`);
        if (used === undefined || this.#logs.get(d.id)?.inUse(seg, now) === true) continue;
        const st = await stat(segmentPath(d.path, seg)).catch(() => null);
        if (st === null || now - st.mtimeMs < graceMs || st.size <= SEGMENT_HEADER_BYTES) continue;
        if (used < (st.size - SEGMENT_HEADER_BYTES) / 2) sparse.add(`${d.id}/${seg}`);
      }
    }
    if (sparse.size === 0) return 0;
    let moved = 0;
    for (const { bucket, key, head } of this.catalog.heads({ tombstones: true })) {
      const placement = head.placement;
      const copies = head.copies;
      if (placement === undefined || copies === undefined) continue;
      const shards = copies.flatMap((r, i) => (r !== null && sparse.has(`${placement[i]}/${r.seg}`) ? [i] : []));
      if (shards.length === 0) continue;
      const fresh: Array<CopyRef | undefined> = [];
      const diskIds: string[] = [];
      try {
        const next = copies.slice();
        for (const i of shards) {
          const d = this.#readable(placement[i])!;
          const loaded = await this.#readCopy(d, copies[i], head);
          if (loaded === undefined) continue; // bad: scrub reports it, repair writes a new one
          const ref = await this.#writeCopy(d.id, loaded.copy);
          if (ref === undefined) continue;
          fresh.push(ref);
          diskIds.push(d.id);
          next[i] = ref;
        }
        if (fresh.length === 0) continue;
        await this.catalog.replaceManifest(bucket, key, { versionId: head.versionId, manifestHash: head.manifestHash, copies }, { ...head, copies: next }, [],
          { action: 'gc.compact', principal: 'gc', timeMs: Date.now(), detail: `${fresh.length} copies` });
        moved += fresh.length;
      } catch (err) {
        if ((err as { code?: string }).code !== ErrorCode.CONFLICT) throw err; // moved meanwhile: its records are someone else's now
      } finally {
        this.#unpin(diskIds, fresh);
      }
    }
    return moved;
  }

  // ---------------------------------------------------------------- disk lifecycle

  async #commitConfig(config: PoolConfig, action: string, principal: string, detail: string): Promise<void> {
    await this.catalog.setMeta(POOL_CONFIG, config, { action, principal, timeMs: Date.now(), detail });
    this.config = config;
    await writeFileDurable(join(this.metaDir, 'pool.json'), JSON.stringify(config, null, 2));
    await this.#checkDisks();
  }

  /**
   * Adds a disk (formatted now; refused when it already belongs to a pool). New objects may be placed on it;
   * existing objects stay where they are (no rebalancing).
   */
  async addDisk(spec: VaultDiskSpec, principal = 'local'): Promise<string> {
    return this.#addDisk(spec, principal);
  }

  async #addDisk(specIn: VaultDiskSpec, principal: string, replacing?: string): Promise<string> {
    this.#writable('addDisk');
    const spec = diskSpec('disk', specIn); // path resolved to absolute, stored so
    // A disk formatted for this pool by an addDisk that crashed before its commit is not in the pool: format it again.
    const identity = await readFile(join(spec.path, 'disk.json'), 'utf8').then((t) => JSON.parse(t) as { poolId?: string; diskId?: string }, () => undefined);
    if (identity?.poolId === this.config.poolId && !this.config.disks.some((d) => d.id === identity.diskId)) await unlink(join(spec.path, 'disk.json'));
    checkDiskSpec(spec, spec.path);
    const disk: DiskConfig = { id: `disk-${this.config.disks.length}-${hex(randomBytes(4))}`, path: spec.path, labels: spec.labels ?? {}, dev: 0, state: 'active' };
    // The disk being replaced may have been at the same path (a new, empty disk mounted where the failed one was).
    if (this.config.disks.some((d) => d.path === disk.path && d.state !== 'removed' && d.id !== replacing)) {
      throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${disk.path} is already a disk of this pool`);
    }
    const next = { ...this.config, disks: [...this.config.disks, disk] };
    checkPoolLayout(next.disks.filter((d) => d.state === 'active' && d.id !== replacing), this.#rule()); // labels must name the domain level
    await formatDisk(disk, this.config.poolId);
    await this.#commitConfig(next, 'disk.add', principal, `${disk.id} ${disk.path} ${JSON.stringify(disk.labels)}`);
    return disk.id;
  }

  /**
   * Drains a disk: it takes no new shards, and every shard it holds is queued for repair, which moves it to
   * another disk within the failure-domain rule (I8). Run repair() next; the disk stays readable meanwhile.
   * Returns the number of shards queued.
   */
  async drainDisk(diskId: string, principal = 'local'): Promise<number> {
    this.#writable('drainDisk');
    const d = this.#disk(diskId);
    if (d === undefined || d.state === 'removed') throw new ShardVaultError(ErrorCode.NO_SUCH_DISK, `no disk ${diskId} in the pool`);
    if (d.state === 'active') {
      const next = { ...this.config, disks: this.config.disks.map((x) => (x.id === diskId ? { ...x, state: 'draining' as const } : x)) };
      checkPoolLayout(next.disks.filter((x) => x.state === 'active'), this.#rule());
      await this.#commitConfig(next, 'disk.drain', principal, diskId);
    }
    return this.#queueShardsOf(diskId, undefined, principal);
  }

  /**
   * Replaces a disk (failed or not) by a new one: the new disk is formatted and added, the old one is removed
   * from the pool, and every shard the old one held is queued for repair with the new disk preferred (it is
   * used when the failure-domain rule allows). Run repair() next. Returns the new disk's id.
   */
  async replaceDisk(diskId: string, spec: VaultDiskSpec, principal = 'local'): Promise<string> {
    this.#writable('replaceDisk');
    const d = this.#disk(diskId);
    if (d === undefined || d.state === 'removed') throw new ShardVaultError(ErrorCode.NO_SUCH_DISK, `no disk ${diskId} in the pool`);
    const newId = await this.#addDisk(spec, principal, diskId);
    const next = { ...this.config, disks: this.config.disks.map((x) => (x.id === diskId ? { ...x, state: 'removed' as const } : x)) };
    await this.#commitConfig(next, 'disk.remove', principal, `${diskId} replaced by ${newId}`);
    await this.#queueShardsOf(diskId, newId, principal);
    return newId;
  }

  /** Removes a drained disk from the pool; refused while any current version still has a shard on it. */
  async removeDisk(diskId: string, principal = 'local'): Promise<void> {
    this.#writable('removeDisk');
    const d = this.#disk(diskId);
    if (d === undefined || d.state === 'removed') throw new ShardVaultError(ErrorCode.NO_SUCH_DISK, `no disk ${diskId} in the pool`);
    for (const { head } of this.catalog.heads({ tombstones: true })) {
      if (head.placement?.includes(diskId) || head.parts?.some((p) => p.placement.includes(diskId))) {
        throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `disk ${diskId} still holds shards; drain it and run repair first`);
      }
    }
    const next = { ...this.config, disks: this.config.disks.map((x) => (x.id === diskId ? { ...x, state: 'removed' as const } : x)) };
    await this.#commitConfig(next, 'disk.remove', principal, diskId);
  }

  /**
   * Rebalancing after disks were added: for every current version, the set of disks the placement function
   * would now choose is compared with the set it uses; each disk that would no longer be chosen hands its shard
   * to a disk that would be (queued for repair with that destination). repair() then moves them (copying
   * verified blocks, re-signing the manifest, re-pointing the head) when the failure-domain rule allows, and
   * skips them otherwise. Rendezvous placement moves only what the new disks win, about a (new disks / all
   * disks) share, and a second rebalance finds nothing to do. Returns the number of shards queued.
   */
  async rebalance(principal = 'local'): Promise<number> {
    this.#writable('rebalance');
    checkPrincipal(principal);
    const disks = this.#placementDisks();
    let queued = 0;
    for (const { bucket, key, head } of this.catalog.heads({ tombstones: true })) {
      if (head.placement === undefined) continue;
      // The copies (and a plain object's shards) by the version id; each part of a multipart object by its own id.
      const sets: Array<{ current: string[]; id: string; part?: number }> = [{ current: head.placement, id: head.versionId }, ...(head.parts ?? []).map((p, part) => ({ current: p.placement, id: p.partId, part }))];
      const items: RepairItem[] = [];
      for (const { current, id: placementId, part } of sets) {
        const ideal = place(placementKey(bucket, key, placementId), disks, this.#rule());
        const fill = ideal.filter((id) => !current.includes(id));
        const vacate = current.flatMap((id, shard) => (ideal.includes(id) ? [] : [{ id, shard }]));
        items.push(...vacate.slice(0, fill.length).map(({ id, shard }, j) => ({ bucket, key, versionId: head.versionId, disk: id, shard, to: fill[j], ...(part !== undefined ? { part } : {}) })));
      }
      await this.#queueRepair(items, principal, 'rebalance');
      queued += items.length;
    }
    return queued;
  }

  async #queueShardsOf(diskId: string, to: string | undefined, principal: string): Promise<number> {
    let queued = 0;
    for (const { bucket, key, head } of this.catalog.heads({ tombstones: true })) {
      const items: RepairItem[] = (head.placement ?? []).flatMap((id, shard) => (id === diskId ? [{ bucket, key, versionId: head.versionId, disk: id, shard, ...(to !== undefined ? { to } : {}) }] : []));
      head.parts?.forEach((p, part) => p.placement.forEach((id, shard) => {
        if (id === diskId) items.push({ bucket, key, versionId: head.versionId, disk: id, shard, part, ...(to !== undefined ? { to } : {}) });
      }));
      await this.#queueRepair(items, principal, to !== undefined ? 'replace' : 'drain');
      queued += items.length;
    }
    return queued;
  }
}

const utf8 = new TextEncoder();
















function groupBy<T>(items: T[], keyOf: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const id = keyOf(it);
    const g = groups.get(id);
    if (g === undefined) groups.set(id, [it]);
    else g.push(it);
  }
  return [...groups.values()];
}













/** A commit the catalog could not write or sync: whether it reached the disk is unknown until the next open. */
function isUnknownCommit(err: unknown): boolean {
  return err instanceof ShardVaultError && err.code === ErrorCode.CATALOG_FAILED && err.syscall === 'commit';
}
