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
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';

import { collect, type AuditRecord, type Head, type RepairItem } from './catalog/catalog.js';
import { LmdbCatalog } from './catalog/lmdb.js';
import { ReedSolomon } from './codec.js';
import { ErrorCode, ShardVaultError, diskError, rangeError, typeError } from './errors.js';
import { VaultEvents } from './events.js';
import { hex } from './format/ids.js';
import { POOL_FORMAT, POOL_FORMAT_PREVIOUS, checkPoolFormat, minReleaseOf, requireWriteFormat } from './format/versions.js';
import { listTokenKey } from './listing.js';
import { preflightMetaDir, readPoolJson } from './meta-dir.js';
import { checkPoolLayout } from './placement.js';
import { formatDisk, lockPool, mkdirDurable, writeFileDurable, type DiskConfig } from './store/local/disk.js';
import { localStores } from './store/local/local-store.js';
import { preflightDisk, unformatDisk } from './store/local/preflight.js';
import { boolean, integer, nonEmptyString, oneOf, optionsObject } from './validate.js';
import { WITNESS_INTERVAL_MS, checkWitnessLocations, defaultWitnessPath, headOf, openWitness, Witness, type WitnessStatus } from './security/witness.js';
import { describeHead } from './format/witness.js';
import { Engine, POOL_CONFIG, RESIGN_QUEUE, type MetaFiles, type Receipt } from './engine/context.js';
import { resign, type ResignResult } from './engine/resign.js';
import { KEYRING_LIMITS, currentRing, encodeChain } from './format/keyring.js';
import { KEYRING_ITEM, PoolKeys, activeSigner, chainFromItem, chainLookups, rebuildChain, saveRecords } from './security/keyring.js';
import { gc, type GcOptions, type GcResult } from './engine/gc.js';
import { headObject, locate, openObject, readObject, type GetOptions, type Location, type MinSequence, type ObjectHead } from './engine/get.js';
import type { MemberCondition } from './engine/health.js';
import { Buckets, listObjects, type ListOptions, type ListResult } from './engine/list.js';
import { abortUpload, completeUpload, createUpload, listParts, listUploads, putPart, type CompleteUploadOptions, type CreateUploadOptions, type PutPartOptions } from './engine/multipart.js';
import { NAME_LIMITS, checkPrincipal, isWellFormed } from './engine/names.js';
import type { PutOptions, StoredChecksum } from './engine/object-meta.js';
import { addDisk, drainDisk, rebalance, removeDisk, replaceDisk, status, type PoolStatus } from './engine/pool.js';
import { diskSpecs, mergePaths, required, within, type PoolConfig, type VaultDiskSpec } from './engine/pool-setup.js';
import { putManifestOnly, putObject, type PutBody } from './engine/put.js';
import { collectHeads } from './engine/rebuild.js';
import { repair, type RepairOptions, type RepairResult } from './engine/repair.js';
import { scrub, type ScrubOptions, type ScrubProgress } from './engine/scrub.js';
import type { FloorSettings, FloorStatus } from './format/floor.js';
import { CONFIG_DRIFT_META, CONFIG_META, checkSource, diffConfig, effectiveConfig, recordConfig, type ConfigDrift, type ConfigSource, type RecordedConfig } from './security/config-digest.js';
import { SecurityFloor, checkBreakGlass, currentSettings, floorSettingsInput, type BreakGlass } from './security/floor.js';
import { finalizeUpgrade, upgradeStatus, type UpgradeStatus } from './engine/upgrade.js';

export type { SystemHeaders } from './format/manifest.js';
export type { PutOptions, StoredChecksum } from './engine/object-meta.js';
export type { VaultDiskSpec } from './engine/pool-setup.js';
export type { Receipt } from './engine/context.js';
export type { GcResult } from './engine/gc.js';
export type { ObjectHead } from './engine/get.js';
export type { ListOptions, ListResult } from './engine/list.js';
export { LIST_KEYS_MAX } from './engine/list.js';
export type { CreateUploadOptions, PutPartOptions, CompleteUploadOptions } from './engine/multipart.js';
export { PARTS_MAX, LIST_PARTS_MAX } from './engine/multipart.js';
export type { ScrubProgress } from './engine/scrub.js';
export type { FloorSettings, FloorStatus } from './format/floor.js';
export type { BreakGlass } from './security/floor.js';
export type { ConfigDrift, ConfigSource, RecordedConfig } from './security/config-digest.js';
export type { ConfigChange } from './events.js';
export type { UpgradeStatus } from './engine/upgrade.js';
export type { ResignResult } from './engine/resign.js';
export { INLINE_BYTES_MAX } from './engine/put.js';

export interface VaultInitOptions {
  disks: VaultDiskSpec[];
  /** Directory for the catalog and the pool key (not one of the disks). */
  metaDir: string;
  k: number;
  m: number;
  blockBytes?: number;
  failureDomain?: string;
  writeQuorum?: number;
  /** The pool format to write (default 4, this release's; 3 makes a pool release 0.1.0 can open, for staged
   *  rollouts: it stays at 3 until finalizeUpgrade). */
  format?: number;
  /** As VaultOpenOptions (for the Vault init returns). */
  uploadTtlMs?: number;
  minPartBytes?: number;
  /** As VaultOpenOptions. */
  configSource?: ConfigSource;
  witness?: string[];
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
  /**
   * The write quorum to run with (k + 1 .. k + m): when it differs from the pool's, the pool is reconfigured to
   * it at open (audited `pool.reconfigure`), as by reconfigure(). Below the security floor: ERR_SV_FLOOR.
   */
  writeQuorum?: number;
  /** Who opens the pool and its own effective settings, part of the configuration digest (default `library`). */
  configSource?: ConfigSource;
  /** Freshness witness files, outside the pool (default `$XDG_STATE_HOME/shardvault/<poolId>-<tag>.witness`,
   *  else under `~/.local/state`: lib/security/witness.ts defaultWitnessPath; docs/witness.md). */
  witness?: string[];
  /**
   * The operator's deliberate override (CLI `--break-glass --reason TEXT`), for this open only: it accepts a
   * configuration weaker than the security floor (the floor is lowered, `floor.lower`) and a catalog behind its
   * freshness witness (a restored older state, `witness.rollback-accepted`; the witness is re-anchored). Each
   * acceptance is audited with the reason; without it those opens fail with ERR_SV_FLOOR / ERR_SV_ROLLBACK.
   */
  breakGlass?: BreakGlass;
}

const INIT_OPTION_KEYS = ['disks', 'metaDir', 'k', 'm', 'blockBytes', 'failureDomain', 'writeQuorum', 'format', 'uploadTtlMs', 'minPartBytes', 'configSource', 'witness'] as const;
const OPEN_OPTION_KEYS = ['orphanGraceMs', 'recover', 'readOnly', 'uploadTtlMs', 'minPartBytes', 'writeQuorum', 'breakGlass', 'configSource', 'witness'] as const;
const UPLOAD_TTL_MS_DEFAULT = 7 * 24 * 3600 * 1000;
const MIN_PART_BYTES_DEFAULT = 5 << 20;

/** Fields of one evidence record (Vault.appendAudit). */
/** A version opened for reading (Vault.openObject): its metadata and a stream of its bytes. */
export interface ObjectReader {
  readonly head: ObjectHead;
  /** The bytes of `range` [start, end) (default: all) of this version, verified as get()'s. */
  stream(options?: Pick<GetOptions, 'range' | 'signal'>): Readable;
}

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


/** A disk's condition in status() and scrub(): online, draining or removed, else why it is unusable. */
export type DiskHealthCondition = MemberCondition;

/** The witness options of an open, validated. */
interface WitnessChoice {
  locations: string[] | undefined;
  breakGlass?: { reason: string; principal: string };
}

/** The witness locations of an open, validated (undefined: the default location). The break-glass that accepts a
 *  catalog behind its witness is the open's one `breakGlass` (checkBreakGlass), shared with the floor. */
function witnessLocations(o: { witness?: unknown }): string[] | undefined {
  if (o.witness === undefined) return undefined;
  if (!Array.isArray(o.witness)) throw typeError('witness', 'an array of paths', o.witness);
  return o.witness.map((p, i) => nonEmptyString(`witness[${i}]`, p));
}

export class Vault {
  readonly #engine: Engine;
  readonly #buckets: Buckets;
  readonly #listTokenKey: Uint8Array;
  readonly #floor: SecurityFloor;
  /** Who opened the pool and with which options: this open's part of the effective configuration. */
  #source: ConfigSource = { name: 'library' };
  #openOptions: Record<string, unknown> = {};
  #witness: Witness | undefined;
  #witnessPoll: NodeJS.Timeout | undefined;
  #unlock: () => Promise<void> = async () => undefined;

  /** What the engine did, for logging and metrics (lib/events.ts; a throwing listener never breaks the engine). */
  readonly events = new VaultEvents();

  /** What the gc() of the last open did. */
  lastRecovery: GcResult = { temporaryRemoved: 0, orphansRemoved: 0, supersededRemoved: 0, staleRemoved: 0, segmentsRemoved: 0, copiesCompacted: 0, repairQueued: 0 };

  readonly #keys: PoolKeys;

  /** Security-relevant settings the last open found changed (also a 'configDrift' event, before any listener could attach). */
  lastConfigDrift: ConfigDrift | undefined;

  private constructor(metaDir: string, config: PoolConfig, catalog: LmdbCatalog, keys: PoolKeys, settings: { readOnly: boolean; uploadTtlMs: number; minPartBytes: number }) {
    const meta: MetaFiles = {
      savePool: (c) => writeFileDurable(join(metaDir, 'pool.json'), JSON.stringify(c, null, 2)),
      saveBuckets: (b) => writeFileDurable(join(metaDir, 'buckets.json'), JSON.stringify(b)),
    };
    this.#keys = keys;
    this.#engine = new Engine(config, catalog, localStores, new ReedSolomon(config.k, config.m), keys.original, createPublicKey(keys.original), this.events, meta, settings, keys);
    this.#buckets = new Buckets(this.#engine);
    // Derived from the original key, not the active one, so list tokens survive a rotation.
    this.#listTokenKey = listTokenKey(keys.original);
    this.#floor = new SecurityFloor(this.#engine);
  }

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
    const formatVersion = o.format === undefined ? POOL_FORMAT : integer('format', o.format, POOL_FORMAT_PREVIOUS, POOL_FORMAT);
    const uploadTtlMs = o.uploadTtlMs === undefined ? undefined : integer('uploadTtlMs', o.uploadTtlMs, 1, Number.MAX_SAFE_INTEGER);
    const minPartBytes = o.minPartBytes === undefined ? undefined : integer('minPartBytes', o.minPartBytes, 0, Number.MAX_SAFE_INTEGER);
    const configSource = o.configSource === undefined ? undefined : checkSource(o.configSource);
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
      else if (metaExisted) undo.push(async () => { for (const f of ['pool.json', 'pool.key', 'keyring', 'catalog', 'buckets.json', 'lock']) await rm(join(metaDir, f), { recursive: true, force: true }); });
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFileDurable(join(metaDir, 'pool.key'), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      const config: PoolConfig = { poolId, formatVersion, minRelease: minReleaseOf(formatVersion), k, m, blockBytes, failureDomain, writeQuorum, disks };
      // pool.json is the bootstrap copy; the catalog's copy is authoritative once written (disk lifecycle
      // changes are committed there together with their audit record, I6).
      await writeFileDurable(join(metaDir, 'pool.json'), JSON.stringify(config, null, 2));
      return await Vault.open(metaDir, { ...(uploadTtlMs !== undefined ? { uploadTtlMs } : {}), ...(minPartBytes !== undefined ? { minPartBytes } : {}), ...(configSource !== undefined ? { configSource } : {}), ...(o.witness !== undefined ? { witness: o.witness } : {}) });
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
    const locations = witnessLocations(o);
    const settings = {
      readOnly,
      uploadTtlMs: o.uploadTtlMs === undefined ? UPLOAD_TTL_MS_DEFAULT : integer('uploadTtlMs', o.uploadTtlMs, 1, Number.MAX_SAFE_INTEGER),
      minPartBytes: o.minPartBytes === undefined ? MIN_PART_BYTES_DEFAULT : integer('minPartBytes', o.minPartBytes, 0, Number.MAX_SAFE_INTEGER),
    };
    const writeQuorum = o.writeQuorum === undefined ? undefined : integer('writeQuorum', o.writeQuorum, 2, 511);
    const breakGlass = checkBreakGlass(o.breakGlass);
    if (breakGlass?.principal !== undefined) checkPrincipal(breakGlass.principal);
    const witness: WitnessChoice = { locations, ...(breakGlass !== undefined ? { breakGlass: { reason: breakGlass.reason, principal: breakGlass.principal ?? 'local' } } : {}) };
    const source = o.configSource === undefined ? { name: 'library' } : checkSource(o.configSource);
    if (readOnly && (writeQuorum !== undefined || breakGlass !== undefined)) {
      throw new ShardVaultError(ErrorCode.READ_ONLY, 'writeQuorum and breakGlass change the pool: open it without readOnly');
    }
    const boot = await readPoolJson(metaDir); // refuses a format this release does not read, before any write
    if (readOnly) return Vault.#openReadOnly(metaDir, boot, settings, witness);
    const { release: unlock, uncleanShutdown } = await lockPool(metaDir);
    try {
      return await Vault.#openLocked(metaDir, boot, unlock, settings, { orphanGraceMs, recover: recover ?? (uncleanShutdown ? 'walk' : 'quick'), ...(writeQuorum !== undefined ? { writeQuorum } : {}), ...(breakGlass !== undefined ? { breakGlass } : {}), source }, witness);
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  static async #openReadOnly(metaDir: string, boot: PoolConfig, settings: { readOnly: boolean; uploadTtlMs: number; minPartBytes: number }, witness: WitnessChoice): Promise<Vault> {
    const catalogDir = join(metaDir, 'catalog');
    if (!existsSync(join(catalogDir, 'data.mdb'))) {
      throw new ShardVaultError(ErrorCode.NOT_FOUND, `pool ${metaDir} has no catalog yet (open it once read-write)`);
    }
    const catalog = await LmdbCatalog.open(catalogDir, { readOnly: true });
    try {
      const config = mergePaths((await catalog.getMeta<PoolConfig>(POOL_CONFIG)) ?? boot, boot);
      checkPoolFormat(config, `the catalog in ${metaDir}`);
      if (config.poolId !== boot.poolId) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `catalog in ${metaDir} belongs to pool ${config.poolId}, pool.json to ${boot.poolId}`);
      }
      const { keys } = await PoolKeys.load(metaDir, chainFromItem(await catalog.getMeta(KEYRING_ITEM)));
      keys.refresh = async () => keys.adopt(chainFromItem(await catalog.getMeta(KEYRING_ITEM)));
      const vault = new Vault(metaDir, config, catalog, keys, settings);
      await vault.#checkWitness(metaDir, witness);
      await vault.#engine.health.checkAll();
      // A reader takes the floor as the catalog holds it (verified) and refuses a pool that runs below it.
      await vault.#floor.loadReadOnly();
      if (vault.#floor.record !== undefined) await vault.#floor.require(currentSettings(vault.#engine), 'read-only open', 'local');
      return vault;
    } catch (err) {
      await catalog.close();
      throw err;
    }
  }

  static async #openLocked(metaDir: string, boot: PoolConfig, unlock: () => Promise<void>, settings: { readOnly: boolean; uploadTtlMs: number; minPartBytes: number }, options: { orphanGraceMs?: number; recover: 'walk' | 'quick'; writeQuorum?: number; breakGlass?: BreakGlass; source: ConfigSource }, witness: WitnessChoice): Promise<Vault> {
    await mkdirDurable(join(metaDir, 'catalog')); // LMDB syncs its files, not the directory entry it lives in
    const catalog = await LmdbCatalog.open(join(metaDir, 'catalog'));
    try {
      let config = await catalog.getMeta<PoolConfig>(POOL_CONFIG);
      if (config === undefined) {
        config = boot;
        await catalog.setMeta(POOL_CONFIG, config, { action: 'pool.init', principal: 'local', timeMs: Date.now(), detail: `${config.k}+${config.m}, ${config.disks.length} disks` });
      }
      if (config.poolId !== boot.poolId) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `catalog in ${metaDir} belongs to pool ${config.poolId}, pool.json to ${boot.poolId}`);
      }
      checkPoolFormat(config, `the catalog in ${metaDir}`);
      config = mergePaths(config, boot);
      const stored = chainFromItem(await catalog.getMeta(KEYRING_ITEM));
      const { keys, adopted, fileBehind } = await PoolKeys.load(metaDir, stored);
      const vault = new Vault(metaDir, config, catalog, keys, settings);
      vault.#unlock = unlock;
      // Before recovery writes anything: a rolled-back catalog is refused as it was found.
      await vault.#checkWitness(metaDir, witness);
      // A finalize that committed in the catalog but crashed before pool.json was saved: pool.json gets the
      // catalog's format now, before anything is written in it, so the previous release refuses the pool again.
      if (config.formatVersion !== boot.formatVersion || config.minRelease !== boot.minRelease) await vault.#engine.meta.savePool(config);
      const health = vault.#engine.health;
      await health.checkAll();
      await vault.#storeRing(stored, adopted, fileBehind);
      const usable = config.disks.filter((d) => health.usable(d)).length;
      if (usable < config.k) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `only ${usable} disks of pool ${config.poolId} are usable, ${config.k} needed: ${health.problems().map(([id, p]) => `${id}: ${p}`).join('; ')}`);
      }
      // The security floor before anything else is written (I5): a configuration weaker than it opens nothing.
      vault.#source = options.source;
      vault.#openOptions = { uploadTtlMs: settings.uploadTtlMs, minPartBytes: settings.minPartBytes, ...(options.writeQuorum !== undefined ? { writeQuorum: options.writeQuorum } : {}) };
      await vault.#floor.load('local');
      await vault.#setWriteQuorum(options.writeQuorum ?? config.writeQuorum, 'opening the pool', 'local', options.breakGlass, 'open option');
      vault.lastConfigDrift = await vault.#recordConfig('config.open', 'local');
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
   * names the old chain's last hash when it was still readable (re-anchoring). Needs pool.json; copies are
   * verified with the newest valid key ring in the meta directory or on the disks (lib/security/keyring.ts
   * rebuildChain: anchored at pool.key, or without it at the meta directory's ring), and copies signed only
   * by a revoked key are refused (`copiesRevoked`). No private key is needed: the audit chain is hash-chained,
   * not signed.
   * Caveats: freshness falls back to what the disks hold (a put that sealed its copies but crashed before its
   * commit can surface; a version whose every copy was lost cannot), empty buckets come back from the saved
   * list `buckets.json` (as of the last bucket change), and the repair queue starts empty (the next open queues
   * what is missing). The rebuilt chain is new, so the freshness witness is re-anchored at its head (the
   * rebuild is the operator's acceptance of what the disks hold): the `catalog.rebuild` record names the
   * witness head it replaces (`previous-witness=`), and `witness` says where the witness files are (default as
   * for open).
   */
  static async rebuildCatalog(metaDir: string, principal = 'local', options: { witness?: string[] } = {}): Promise<{ objects: number; versions: number; copiesRead: number; copiesRejected: number; copiesRevoked: number; ringsRefused: number; movedAside?: string; witnessReanchored: boolean }> {
    nonEmptyString('metaDir', metaDir);
    checkPrincipal(principal);
    const locations = witnessLocations(optionsObject<VaultOpenOptions>('options', options, ['witness']));
    const boot = await readPoolJson(metaDir);
    const { release: unlock } = await lockPool(metaDir);
    try {
      const catalogDir = join(metaDir, 'catalog');
      let movedAside: string | undefined;
      let oldAuditHead = 'none';
      if (existsSync(catalogDir)) {
        movedAside = `${catalogDir}-lost-${Date.now()}`; // no dot: lmdb-js takes a path with an extension for a file
        await rename(catalogDir, movedAside);
        try {
          const old = await LmdbCatalog.open(movedAside);
          const log = await collect(old.auditLog());
          oldAuditHead = log.length > 0 ? `${log.length - 1}:${log[log.length - 1].hash}${(await old.verifyAudit()) === -1 ? '' : ' (chain broken)'}` : 'empty';
          await old.close();
        } catch (err) {
          oldAuditHead = `unreadable (${(err as Error).message})`;
        }
      }
      // The copies of every usable member (a removed one, or one whose identity does not check, is skipped).
      const stores = [];
      for (const d of boot.disks) {
        if (d.state === 'removed') continue;
        const store = localStores.open(d, boot.poolId);
        if ((await store.check()) === undefined) stores.push(store);
      }
      let ring;
      try {
        ring = await rebuildChain(metaDir, stores);
      } catch (err) {
        await Promise.all(stores.map((s) => s.close()));
        throw err;
      }
      const found = await collectHeads(stores, chainLookups(ring.chain));
      // The freshness witness is re-anchored at the rebuilt chain's head, signed by the ring's active key (its
      // private key from the meta directory; without it the witness cannot be re-anchored: the next open then
      // needs break-glass to accept the rebuilt state, which is said in the audit record).
      const lookups = chainLookups(ring.chain);
      const signer = await activeSigner(metaDir, ring.chain);
      await Promise.all(stores.map((s) => s.close()));
      await mkdirDurable(catalogDir);
      const witnessFiles = checkWitnessLocations(locations ?? [defaultWitnessPath(boot.poolId, metaDir)], metaDir, boot.disks);
      const witness = new Witness(witnessFiles, boot.poolId, () => {
        if (signer === undefined) throw new ShardVaultError(ErrorCode.NOT_FOUND, `the meta directory ${metaDir} has no private key of the key ring's active key: the witness cannot be signed`);
        return { keyId: signer.id, privateKey: signer.privateKey };
      }, new VaultEvents(), signer !== undefined);
      const previousWitness = await witness.readNewest(lookups.trusted);
      const catalog = await LmdbCatalog.open(catalogDir);
      try {
        await catalog.setMeta(POOL_CONFIG, boot);
        await catalog.setMeta(KEYRING_ITEM, hex(encodeChain(ring.chain.raw)));
        const saved = await readFile(join(metaDir, 'buckets.json'), 'utf8').then((t) => JSON.parse(t) as unknown, () => []);
        const buckets = Array.isArray(saved) ? saved.filter((b): b is string => typeof b === 'string' && b.length > 0 && Buffer.byteLength(b, 'utf8') <= NAME_LIMITS.bucketBytesMax && !b.includes('\0')) : [];
        await catalog.restore(found.entries, buckets, {
          action: 'catalog.rebuild', principal, timeMs: Date.now(),
          detail: `objects=${found.entries.length} versions=${found.versions} copies=${found.copiesRead} rejected=${found.copiesRejected} revoked=${found.copiesRevoked} keyring-generation=${currentRing(ring.chain).generation} previous-audit-head=${oldAuditHead} previous-witness=${previousWitness === undefined ? 'none' : describeHead(previousWitness.record.head)}${signer === undefined ? ' witness=not-re-anchored (no private key of the active key in the meta directory)' : ''}`,
        });
        if (signer !== undefined) await witness.close(headOf(await catalog.auditHead()));
      } finally {
        await catalog.close();
      }
      return { objects: found.entries.length, versions: found.versions, copiesRead: found.copiesRead, copiesRejected: found.copiesRejected, copiesRevoked: found.copiesRevoked, ringsRefused: ring.refused, ...(movedAside !== undefined ? { movedAside } : {}), witnessReanchored: signer !== undefined };
    } finally {
      await unlock();
    }
  }

  /**
   * Keeps the ring where it lives after an open: the catalog (with a `keyring.adopt` audit record when a pool
   * that had only pool.key got its first ring, `keyring.restore` when a rebuilt catalog had none), the ring
   * file, and every member's pool record whenever either changed.
   */
  async #storeRing(stored: Uint8Array | undefined, adopted: boolean, fileBehind: boolean): Promise<void> {
    const bytes = this.#keys.bytes;
    const catalogBehind = stored === undefined || Buffer.compare(stored, bytes) !== 0;
    if (catalogBehind) {
      await this.#engine.catalog.setMeta(KEYRING_ITEM, hex(bytes), { action: adopted ? 'keyring.adopt' : 'keyring.restore', principal: 'local', timeMs: Date.now(), detail: `generation=${this.#keys.generation} active=${hex(this.#keys.signer().id)}` });
    }
    if (fileBehind) await this.#keys.saveFile();
    if (catalogBehind || fileBehind) await this.#saveRecords(bytes);
  }

  async #saveRecords(bytes: Uint8Array): Promise<string[]> {
    const members = this.#engine.config.disks.filter((d) => d.state !== 'removed' && this.#engine.health.usable(d)).map((d) => ({ id: d.id, store: this.#engine.storeOf(d) }));
    return saveRecords(members, bytes);
  }

  /**
   * The key ring: its generation, every key with its state and times (public keys in hex), and how many heads
   * reads refused for a revoked signer are waiting for `repair({ resign: true })`.
   */
  async keyring(): Promise<{ generation: number; keys: Array<{ id: string; state: string; publicKey: string; createdMs: number; retiredMs?: number; revokedMs?: number; revokeReason?: string }>; resignQueued: number }> {
    const queued = await this.#engine.catalog.getMeta<unknown[]>(RESIGN_QUEUE);
    return { generation: this.#keys.generation, keys: this.#keys.entries().map((e) => ({ ...e, publicKey: hex(e.publicKey) })), resignQueued: Array.isArray(queued) ? queued.length : 0 };
  }

  /**
   * Makes a new active signing key; the old one is retired (what it signed still verifies). The new private
   * key is written 0600 under `<meta>/keyring/` first, then the new ring is committed to the catalog with a
   * `keyring.rotate` audit record (the commit point), then written to the ring file and every member.
   * Refused with ERR_SV_UPGRADE_PENDING while the pool writes format 3 (release 0.1.0 knows only pool.key).
   */
  async rotateKey(principal = 'local'): Promise<{ id: string; retired: string; generation: number; membersFailed: string[] }> {
    this.#engine.writable('rotateKey');
    checkPrincipal(principal);
    requireWriteFormat(this.#engine.config.formatVersion, POOL_FORMAT, 'keyring rotate');
    const retired = hex(this.#keys.signer().id);
    const next = await this.#keys.prepare({ rotate: true }, Date.now());
    const membersFailed = await this.#commitRing(next, 'keyring.rotate', principal, `new=${next.newId!} retired=${retired}`);
    return { id: next.newId!, retired, generation: this.#keys.generation, membersFailed };
  }

  /**
   * Revokes key `id`: nothing it signed is trusted any more (reads of it fail with ERR_SV_KEY_REVOKED until
   * `repair({ resign: true })` re-signed what the catalog vouches for). The active key is revoked only with
   * `rotate: true`, which makes a new active key in the same ring version (a pool always has a key to sign
   * with); without it, revoking the active key is refused with ERR_SV_CONFLICT. Audited as `keyring.revoke`
   * with the reason (1..255 UTF-8 bytes, no control characters). Refused while the pool writes format 3.
   */
  async revokeKey(id: string, reason: string, options: { rotate?: boolean; principal?: string } = {}): Promise<{ revoked: string; active: string; generation: number; membersFailed: string[] }> {
    this.#engine.writable('revokeKey');
    const o = optionsObject<{ rotate?: boolean; principal?: string }>('options', options, ['rotate', 'principal']);
    const principal = o.principal ?? 'local';
    checkPrincipal(principal);
    const rotate = o.rotate === undefined ? false : boolean('rotate', o.rotate);
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw typeError('id', 'a key id (32 lower-case hex digits)', id);
    if (typeof reason !== 'string' || reason.length === 0 || Buffer.byteLength(reason, 'utf8') > KEYRING_LIMITS.reasonBytesMax || /[\x00-\x1f\x7f]/.test(reason) || !isWellFormed(reason)) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `the revocation reason must be 1..${KEYRING_LIMITS.reasonBytesMax} UTF-8 bytes without control characters`);
    }
    requireWriteFormat(this.#engine.config.formatVersion, POOL_FORMAT, 'keyring revoke');
    const next = await this.#keys.prepare({ rotate, revoke: { id, reason } }, Date.now());
    const membersFailed = await this.#commitRing(next, 'keyring.revoke', principal, `key=${id} reason=${reason}${next.newId !== undefined ? ` new=${next.newId}` : ''}`);
    return { revoked: id, active: hex(this.#keys.signer().id), generation: this.#keys.generation, membersFailed };
  }

  /** The commit of a ring change: the catalog (with its audit record), then the ring file and the members. */
  async #commitRing(next: Awaited<ReturnType<PoolKeys['prepare']>>, action: string, principal: string, detail: string): Promise<string[]> {
    await this.#engine.catalog.setMeta(KEYRING_ITEM, hex(next.bytes), { action, principal, timeMs: Date.now(), detail: `generation=${currentRing(next.chain).generation} ${detail}` });
    this.#keys.accept(next);
    await this.#keys.saveFile();
    const membersFailed = await this.#saveRecords(next.bytes);
    // What else the pool signed with a key that is not the active one any more: the floor record.
    await this.#floor.resign(principal);
    return membersFailed;
  }

  /**
   * Checks a receipt's signature against the key ring: resolves true when an active or retired key signed it;
   * ERR_SV_KEY_REVOKED (naming the key) when a revoked one did; ERR_SV_MANIFEST_SIGNATURE when it is not
   * signed by a key of this pool or does not verify (altered).
   */
  async verifyReceipt(receipt: Receipt): Promise<true> {
    this.#engine.verifyReceipt(receipt);
    return true;
  }

  get readOnly(): boolean {
    return this.#engine.settings.readOnly;
  }

  /**
   * Changes the pool's settings that have a knob: `writeQuorum` (k + 1 .. k + m; how many members must seal a
   * write before it is acknowledged). One catalog commit with its audit record (`pool.reconfigure`), then
   * pool.json; the effective configuration is recorded (`config.change`). A setting weaker than the security
   * floor is refused with ERR_SV_FLOOR naming it (`writeQuorum k+1 is below the floor k+2`), unless `breakGlass`
   * gives a reason: then the floor is lowered to it (`floor.lower`) and status() shows the override until the
   * floor is raised back (raiseFloor).
   */
  async reconfigure(options: { writeQuorum?: number; breakGlass?: BreakGlass; principal?: string }): Promise<void> {
    this.#engine.writable('reconfigure');
    const o = optionsObject<{ writeQuorum: number; breakGlass: BreakGlass; principal: string }>('options', options, ['writeQuorum', 'breakGlass', 'principal']);
    const principal = o.principal ?? 'local';
    checkPrincipal(principal);
    const breakGlass = checkBreakGlass(o.breakGlass);
    if (o.writeQuorum === undefined) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'reconfigure: nothing to change (writeQuorum is the setting with a knob)');
    await this.#setWriteQuorum(o.writeQuorum, 'reconfigure', principal, breakGlass, 'reconfigure');
    await this.#recordConfig('config.change', principal);
  }

  /** Checks a write quorum against its range and the floor, and commits it when it differs from the pool's. */
  async #setWriteQuorum(value: unknown, what: string, principal: string, breakGlass: BreakGlass | undefined, how: string): Promise<void> {
    const config = this.#engine.config;
    // A value asked for must be in range before the floor sees it (break-glass never lowers the floor to a
    // quorum the pool cannot have); the pool's own value goes to the floor first, so a configuration edited
    // behind the engine (m lowered, say) is named as what it is.
    const writeQuorum = value === config.writeQuorum ? config.writeQuorum : integer('writeQuorum', value, config.k + 1, config.k + config.m);
    const wanted = { ...config, writeQuorum };
    await this.#floor.require(currentSettings(this.#engine, wanted), what, principal, breakGlass);
    integer('writeQuorum', writeQuorum, config.k + 1, config.k + config.m);
    if (writeQuorum !== config.writeQuorum) await this.#engine.commitConfig(wanted, 'pool.reconfigure', principal, `writeQuorum ${config.writeQuorum} -> ${writeQuorum} (${how})`);
  }

  async #recordConfig(action: string, principal: string): Promise<ConfigDrift | undefined> {
    const last = await this.#engine.catalog.getMeta<RecordedConfig>(CONFIG_META);
    return recordConfig(this.#engine, effectiveConfig(this.#engine, this.#floor.record, this.#source, this.#openOptions, last?.config), this.#source.name, action, principal);
  }

  /** The pool's security floor (signed, in the catalog and on every member), with its override if lowered. */
  floor(): FloorStatus | undefined {
    return this.#floor.status();
  }

  /**
   * Raises the security floor to `settings` (each at least the floor's; the pool must already meet it): audited
   * `floor.raise`. Back at or above the floor before a break-glass lowering, the override ends.
   */
  async raiseFloor(settings: Partial<FloorSettings>, principal = 'local'): Promise<FloorStatus> {
    this.#engine.writable('raiseFloor');
    checkPrincipal(principal);
    const r = await this.#floor.raise(floorSettingsInput(settings), principal);
    await this.#recordConfig('config.change', principal);
    return r;
  }

  /** Lowers the security floor to `settings`: needs `breakGlass` with a reason (audited `floor.lower`); status() shows it. */
  async lowerFloor(settings: Partial<FloorSettings>, options: { breakGlass?: BreakGlass; principal?: string }): Promise<FloorStatus> {
    this.#engine.writable('lowerFloor');
    const o = optionsObject<{ breakGlass: BreakGlass; principal: string }>('options', options, ['breakGlass', 'principal']);
    const principal = o.principal ?? 'local';
    checkPrincipal(principal);
    const r = await this.#floor.lowerTo(floorSettingsInput(settings), principal, checkBreakGlass(o.breakGlass));
    await this.#recordConfig('config.change', principal);
    return r;
  }

  /**
   * The last recorded effective configuration (digest, time, who), the one before it and what changed between
   * them (`shardvault config diff`), and the last change of a security-relevant setting.
   */
  async configHistory(): Promise<{ current?: RecordedConfig; changes: ReturnType<typeof diffConfig>; lastSecurityChange?: ConfigDrift }> {
    const current = await this.#engine.catalog.getMeta<RecordedConfig>(CONFIG_META);
    const drift = await this.#engine.catalog.getMeta<ConfigDrift>(CONFIG_DRIFT_META);
    const changes = current?.previous === undefined ? [] : diffConfig(current.previous.config, current.config);
    return { ...(current !== undefined ? { current } : {}), changes, ...(drift !== undefined ? { lastSecurityChange: drift } : {}) };
  }

  /** Opens the freshness witness (lib/security/witness.ts: refuses a rolled-back catalog) and has every commit noted in it. */
  async #checkWitness(metaDir: string, witness: WitnessChoice): Promise<void> {
    const e = this.#engine;
    this.#witness = await openWitness({
      locations: witness.locations, metaDir, poolId: e.config.poolId, members: e.config.disks, catalog: e.catalog,
      signer: () => { const { id, privateKey } = e.keys.signer(); return { keyId: id, privateKey }; }, publicKeyFor: (id) => e.publicKeyFor(id),
      events: this.events, writable: !e.settings.readOnly, ...(witness.breakGlass !== undefined ? { breakGlass: witness.breakGlass } : {}),
    });
    const w = this.#witness;
    e.onCommitted = (a) => w.note({ index: a.index, hash: a.hash });
    if (e.settings.readOnly) return;
    // Every other catalog commit (buckets, repair, gc, key ring, floor, evidence records) reaches the witness
    // within the same interval: the catalog's audit head is looked at once per interval (one read).
    this.#witnessPoll = setInterval(() => {
      e.catalog.auditHead().then((a) => {
        if (a !== undefined) w.note({ index: a.index, hash: a.hash });
      }, () => undefined); // a catalog that cannot be read is reported by the operation that meets it
    }, WITNESS_INTERVAL_MS);
    this.#witnessPoll.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#witnessPoll);
    await this.#engine.closeStores();
    // The witness's last write names the catalog's final head (records after the last commit: repair, audit).
    await this.#witness?.close(headOf(await this.#engine.catalog.auditHead().catch(() => undefined)));
    await this.#engine.catalog.close();
    await this.#unlock();
  }

  /** Creates a bucket; its name must follow S3's rules (ERR_SV_INVALID_BUCKET_NAME names the rule broken). */
  async createBucket(bucket: string, principal = 'local'): Promise<void> {
    await this.#buckets.create(bucket, principal);
  }

  /** Deletes an empty bucket (live objects: ERR_SV_BUCKET_NOT_EMPTY). */
  async deleteBucket(bucket: string, principal = 'local'): Promise<void> {
    await this.#buckets.delete(bucket, principal);
  }

  /** The buckets, in name order. */
  async listBuckets(): Promise<string[]> {
    return this.#engine.catalog.listBuckets();
  }

  /**
   * Stores `data` (bytes, a Readable or any async iterable of byte chunks) under bucket/key; resolves with a
   * signed receipt once everything is durable and committed. Input is consumed one batch of stripes at a time,
   * so memory stays bounded by the batch (16 stripes) whatever the object size; the next chunk is only pulled
   * after the previous batch reached the shard files (backpressure). `signal` aborts before the commit.
   */
  async put(bucket: string, key: string, data: PutBody, options: PutOptions | string = {}): Promise<Receipt> {
    this.#engine.writable('put');
    const started = performance.now();
    const stats = { bytes: 0 };
    const receipt = await putObject(this.#engine, bucket, key, data, options, stats);
    this.events.emit('put', { bucket, key, versionId: receipt.versionId, bytes: stats.bytes, durationMs: performance.now() - started, degraded: receipt.degraded });
    return receipt;
  }

  /**
   * Starts a multipart upload of bucket/key: its id (160 random bits, hex) names it in every later call. The
   * object's content type, user metadata and system headers are given here (as S3's CreateMultipartUpload) and
   * stored in the manifest at completeUpload. The upload expires `uploadTtlMs` after this (default 7 days).
   */
  async createUpload(bucket: string, key: string, options: CreateUploadOptions = {}): Promise<{ uploadId: string }> {
    return createUpload(this.#engine, bucket, key, options);
  }

  /**
   * Stores part `partNumber` (1..10000) of an upload: streamed through the same stripe pipeline as a put's
   * body (its own placement and hash table, shard files named by a fresh part id), every shard file sealed
   * durably and the part recorded in one flushed catalog commit before this resolves. Re-uploading a part
   * number replaces it (the old part's files go to gc). Resolves with the part's ETag (hex MD5) and size.
   * `md5` (Content-MD5) is checked as for put; `checksum` is stored with the part (listParts returns it).
   */
  async putPart(bucket: string, key: string, uploadId: string, partNumber: number, body: PutBody, options: PutPartOptions = {}): Promise<{ etag: string; size: number }> {
    return putPart(this.#engine, bucket, key, uploadId, partNumber, body, options);
  }

  /** The uploaded parts of an upload in part-number order, a page (at most `maxParts`, default and at most 1000) after `partNumberMarker`. */
  async listParts(bucket: string, key: string, uploadId: string, options: { partNumberMarker?: number; maxParts?: number } = {}): Promise<{ parts: Array<{ partNumber: number; etag: string; size: number; lastModified: Date; checksum?: StoredChecksum }>; isTruncated: boolean; nextPartNumberMarker?: number }> {
    return listParts(this.#engine, bucket, key, uploadId, options);
  }

  /**
   * Uploads in progress of `bucket` (not completed, aborted or expired), in key then upload-id order: keys
   * starting with `prefix`, after `keyMarker` (with `uploadIdMarker`: after that upload of that key), a page of
   * at most `maxUploads` (default and at most 1000).
   */
  async listUploads(bucket: string, options: { prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number } = {}): Promise<{ uploads: Array<{ key: string; uploadId: string; initiated: Date }>; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }> {
    return listUploads(this.#engine, bucket, options);
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
    return completeUpload(this.#engine, bucket, key, uploadId, parts, options);
  }

  /** Aborts an upload: it ends, and its parts' shard files go to gc (removed by the next gc()). */
  async abortUpload(bucket: string, key: string, uploadId: string, options: { principal?: string } = {}): Promise<void> {
    return abortUpload(this.#engine, bucket, key, uploadId, options);
  }

  /**
   * Metadata of the latest version, from a verified manifest copy; undefined when absent or deleted. `etag`
   * is the hex MD5 of the bytes when the put computed it (`computeMd5` or a declared `md5`). `minSequence` (a
   * receipt's `sequence`) as for get().
   */
  async head(bucket: string, key: string, options: { minSequence?: MinSequence } = {}): Promise<ObjectHead | undefined> {
    return headObject(this.#engine, bucket, key, options);
  }

  /**
   * Appends one evidence record to the signed audit chain (the daemon's: authentication and authorization
   * failures, key and policy changes), in its own flushed catalog commit. Every field is bounded
   * (AUDIT_FIELD_LIMITS, UTF-8 bytes) and free of control characters; `principal`, `action` (letters, digits,
   * `. _ : -`) and `result` are required. The record carries `result`, which engine records never do, so
   * evidence records cannot pass for the engine's own. Refused on a read-only Vault.
   */
  async appendAudit(record: AuditInput): Promise<void> {
    this.#engine.writable('appendAudit');
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
    await this.#engine.catalog.appendAudit({
      principal: field('principal', true)!, action, result: field('result', true)!, timeMs: Date.now(),
      ...(target !== undefined ? { target } : {}), ...(requestId !== undefined ? { requestId } : {}), ...(source !== undefined ? { source } : {}), ...(detail !== undefined ? { detail } : {}),
    });
  }

  async delete(bucket: string, key: string, principal = 'local'): Promise<Receipt | undefined> {
    this.#engine.writable('delete');
    await this.#engine.checkObjectName(bucket, key, principal);
    return putManifestOnly(this.#engine, bucket, key, new Uint8Array(0), true, principal);
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
    return listObjects(this.#engine, this.#listTokenKey, bucket, options);
  }

  /** The latest committed bytes of bucket/key (or `range` [start, end)) as one buffer, verified; see get(). */
  async getBuffer(bucket: string, key: string, options: GetOptions = {}): Promise<Uint8Array> {
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
   * bad. Memory is one stripe at a time. With `minSequence` (a receipt's `sequence`), a key whose head is older
   * or absent fails with ERR_SV_STALE, never older bytes (a store restored from an older state, docs/witness.md).
   */
  get(bucket: string, key: string, options: GetOptions = {}): Readable {
    return Readable.from(this.#timedStripes(bucket, key, options), { objectMode: false });
  }

  /**
   * The latest version of bucket/key opened for reading: its metadata (as head() gives it) and `stream()`, a
   * reader of that same version's bytes (a range of them, or all), verified as get()'s. One manifest copy is
   * read and verified for both, where head() then get() reads and verifies it twice and may meet two versions
   * when a put lands between them. Undefined when absent or deleted. A put after open() does not change what
   * the stream reads; a gc after a newer put may remove this version's shards (the read then fails
   * ERR_SV_CORRUPT, never wrong bytes), as for any read that outlives its version.
   */
  async openObject(bucket: string, key: string, options: { minSequence?: MinSequence } = {}): Promise<ObjectReader | undefined> {
    const opened = await openObject(this.#engine, bucket, key, options);
    if (opened === undefined) return undefined;
    return {
      head: opened.head,
      stream: (o: Pick<GetOptions, 'range' | 'signal'> = {}) => {
        const { range, signal } = optionsObject<Pick<GetOptions, 'range' | 'signal'>>('options', o, ['range', 'signal']);
        return Readable.from(this.#timed(bucket, key, opened.read({ ...(range !== undefined ? { range } : {}), ...(signal !== undefined ? { signal } : {}) })), { objectMode: false });
      },
    };
  }

  /** The object's stripes, then a 'get' event once the last byte was delivered (a failed or abandoned read has none). */
  #timedStripes(bucket: string, key: string, options: GetOptions): AsyncGenerator<Uint8Array> {
    return this.#timed(bucket, key, readObject(this.#engine, bucket, key, options));
  }

  async *#timed(bucket: string, key: string, stripes: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
    const started = performance.now();
    let bytes = 0;
    for await (const c of stripes) {
      bytes += c.length;
      yield c;
    }
    this.events.emit('get', { bucket, key, bytes, durationMs: performance.now() - started });
  }

  /**
   * Where the files of the current version of bucket/key are (tools and tests): per shard, its disk and the
   * path of its shard file (undefined for inline objects and tombstones) and where its manifest copy's record
   * is (segment file, byte offset, record length; undefined when that copy was never written).
   */
  async locate(bucket: string, key: string): Promise<Location | undefined> {
    return locate(this.#engine, bucket, key);
  }

  /**
   * Scrub: reads every block of every live object (data and parity, in bounded pieces) and checks it against
   * the hash table, checks each shard file's header names this pool, object, version, shard, k, m and block
   * size and that the file ends after its last block, and checks every manifest copy; bad or missing ones are
   * queued for repair(). Rate-limited (bytes per second),
   * abortable, reports progress after each object. The cursor is kept in the catalog every 64 objects and on
   * abort, so `resume: true` continues where an aborted or interrupted scrub stopped.
   */
  async scrub(options: ScrubOptions = {}): Promise<ScrubProgress> {
    return scrub(this.#engine, options);
  }

  /**
   * Pool health: per disk, its state, its condition (online, draining, removed, or why it is unusable:
   * missing, empty, foreign, wrong-device, unreadable) with a hint naming the command that fixes it, whether
   * it is reachable with the right identity and device (`ok`, `problem`), I/O errors counted since open, and
   * how many shards of queued repair work it holds; objects at risk (queued work, or shards on unusable
   * disks); live object count; the pool's coding parameters.
   */
  async status(): Promise<PoolStatus & { witness: WitnessStatus | undefined }> {
    const s = await status(this.#engine);
    const floor = this.#floor.status();
    // A catalog that fails reads is reported by `s.catalog`; status still answers, without the config section.
    const { current, lastSecurityChange } = await this.configHistory().catch(() => ({ current: undefined, lastSecurityChange: undefined }));
    return {
      ...s, ...(floor !== undefined ? { floor } : {}),
      ...(current !== undefined ? { config: { digest: current.digest, recordedMs: current.timeMs, source: current.source, ...(lastSecurityChange !== undefined ? { lastSecurityChange: { timeMs: lastSecurityChange.timeMs, source: lastSecurityChange.source, settings: lastSecurityChange.changes.map((c) => c.path) } } : {}) } } : {}),
      witness: this.#witness?.status,
    };
  }

  /**
   * The pool's format: the format it writes, the formats this release reads, the oldest release that may open
   * it, whether `finalizeUpgrade` is pending, and this and the previous release (docs/upgrades.md).
   */
  upgradeStatus(): UpgradeStatus {
    return upgradeStatus(this.#engine);
  }

  /**
   * Finalizes an upgrade: the pool writes this release's format from now on, and the previous release refuses to
   * open it (instead of meeting what it cannot verify). One configuration commit (catalog with an
   * `upgrade.finalize` audit record, then pool.json); idempotent, `changed: false` when already finalized.
   * Refused on a read-only Vault. There is no way back: until this call, the pool stays open to the previous release.
   */
  async finalizeUpgrade(principal = 'local'): Promise<{ changed: boolean; from: number; formatVersion: number; minRelease: string }> {
    checkPrincipal(principal);
    return finalizeUpgrade(this.#engine, principal);
  }

  /** The audit log (hash-chained records of every mutation, I6), oldest first. */
  async auditLog(): Promise<AuditRecord[]> {
    return collect(this.#engine.catalog.auditLog());
  }

  /** Recomputes the audit chain: the index of the first bad record, or -1 when it is intact. */
  async verifyAudit(): Promise<number> {
    return this.#engine.catalog.verifyAudit();
  }

  /** Work waiting for repair() (shards missing or bad, per object version). */
  async repairQueue(): Promise<RepairItem[]> {
    return collect(this.#engine.catalog.repairQueue());
  }

  /** Work waiting for gc(): superseded versions (and parts) whose files go once their grace period passed. */
  async garbageQueue(): Promise<Array<{ bucket: string; key: string; head: Head; supersededMs: number }>> {
    return collect(this.#engine.catalog.garbageQueue());
  }

  /**
   * Rebuilds every queued shard: reads each stripe from the shards that verify (the queued one too, when it
   * is still readable: a drained disk's shard is copied, not decoded), reconstructs what is missing, verifies
   * every rebuilt block against the hash table (decode-then-verify), and writes the shard durably to its
   * disk, or to a replacement disk chosen within the failure-domain rule when its disk is offline, draining
   * or removed (I8). A move re-signs the manifest with the new placement, writes its copies to every disk of
   * the object and re-points the head in one catalog transaction (compare-and-set; the audit record and the
   * completed work go with it). Items of superseded versions are dropped. Memory is one stripe at a time.
   * With `resign: true` it first re-signs, under the active key, every head whose manifest is signed by a
   * revoked key and whose hash the catalog names (lib/engine/resign.ts; `resign` in the result).
   */
  async repair(options: (RepairOptions & { resign?: boolean }) | string = {}): Promise<RepairResult & { resign?: ResignResult }> {
    if (typeof options === 'string' || options.resign === undefined) return repair(this.#engine, options);
    const { resign: withResign, ...rest } = options;
    if (!boolean('resign', withResign)) return repair(this.#engine, rest);
    const resigned = await resign(this.#engine, { ...(rest.principal !== undefined ? { principal: rest.principal } : {}), ...(rest.signal !== undefined ? { signal: rest.signal } : {}) });
    return { ...(await repair(this.#engine, rest)), resign: resigned };
  }

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
  async gc(options: GcOptions = {}): Promise<GcResult> {
    return gc(this.#engine, options);
  }

  /**
   * Adds a disk (formatted now; refused when it already belongs to a pool). New objects may be placed on it;
   * existing objects stay where they are (no rebalancing).
   */
  async addDisk(spec: VaultDiskSpec, principal = 'local'): Promise<string> {
    const id = await addDisk(this.#engine, spec, principal);
    await this.#floor.copyTo(id);
    return id;
  }

  /**
   * Drains a disk: it takes no new shards, and every shard it holds is queued for repair, which moves it to
   * another disk within the failure-domain rule (I8). Run repair() next; the disk stays readable meanwhile.
   * Returns the number of shards queued.
   */
  async drainDisk(diskId: string, principal = 'local'): Promise<number> {
    return drainDisk(this.#engine, diskId, principal);
  }

  /**
   * Replaces a disk (failed or not) by a new one: the new disk is formatted and added, the old one is removed
   * from the pool, and every shard the old one held is queued for repair with the new disk preferred (it is
   * used when the failure-domain rule allows). Run repair() next. Returns the new disk's id.
   */
  async replaceDisk(diskId: string, spec: VaultDiskSpec, principal = 'local'): Promise<string> {
    const id = await replaceDisk(this.#engine, diskId, spec, principal);
    await this.#floor.copyTo(id);
    return id;
  }

  /** Removes a drained disk from the pool; refused while any current version still has a shard on it. */
  async removeDisk(diskId: string, principal = 'local'): Promise<void> {
    return removeDisk(this.#engine, diskId, principal);
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
    return rebalance(this.#engine, principal);
  }
}

const utf8 = new TextEncoder();
