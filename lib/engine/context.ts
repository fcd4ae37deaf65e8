/**
 * The engine's context (issue 11): the collaborators every protocol module (put, get, multipart, scrub,
 * repair, gc, compact, pool, rebuild) takes instead of building them itself -- the pool configuration, the
 * catalog, the members' stores, the codec, the signing key, member health, the per-key lock, the event
 * emitter -- and the few steps they share: signing a manifest, appending its copies, the commit point with its
 * receipt, loading and verifying the manifest a head names, queueing repair, cleaning up a write that did not
 * commit, and the errors that name each member that dropped out. Vault (lib/vault.ts) builds one per open
 * pool and wires the implementations in (LocalStore, the LMDB catalog); nothing here knows either.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { getSystemErrorMap } from 'node:util';

import type { AuditRecord, Catalog, CommitRequest, Head, RepairItem } from '../catalog/catalog.js';
import type { ReedSolomon } from '../codec.js';
import { ErrorCode, ShardVaultError, errnoNameOf, type DiskFailure } from '../errors.js';
import type { VaultEvents } from '../events.js';
import { hex, keyId } from '../format/ids.js';
import { copyBytes, manifestHashOf, openCopy } from '../format/manifest-copy.js';
import { signManifest, type Manifest } from '../format/manifest.js';
import { blake3Sync } from '../hash.js';
import type { PlacementDisk } from '../placement.js';
import type { CopyRef, MemberConfig, ShardStore, StoreProvider } from '../store/shard-store.js';
import { StripeReader } from './stripe-reader.js';
import { MemberHealth } from './health.js';
import { KeyLock } from './key-lock.js';
import { checkBucket, checkKey, checkPrincipal } from './names.js';
import type { PoolConfig } from './pool-setup.js';

/** The receipt format this release writes: 2 adds `receiptFormat` and the audit head (none: format 1). */
export const RECEIPT_FORMAT = 2;

/** A signed durability receipt: what a commit made durable, and where. */
export interface Receipt {
  receiptFormat: number;
  bucket: string;
  key: string;
  versionId: string;
  sequence: string;
  manifestHash: string;
  /** Members whose shard and manifest copy were durable before the commit. */
  durableDisks: string[];
  /** Fewer than k + m members were durable (repair was queued for the rest). */
  degraded: boolean;
  /** The audit record of the commit (index and hash): where it is in the pool's global order, which the
   *  freshness witness anchors (docs/witness.md). */
  auditIndex: number;
  auditHash: string;
  /** Hex id of the key ring key that signed it (the active key at the commit). */
  signerKeyId: string;
  /** Ed25519 signature by that key over the JSON of the other fields, in the order above. */
  signature: string;
}

/**
 * The pool's key ring as the engine uses it (lib/security/keyring.ts PoolKeys): the key that signs now, and the
 * keys that verify. `trusted` gives active and retired keys; `known` any key of the ring, revoked ones too,
 * so that something signed by a revoked key is told apart from a forgery (and refused as such).
 */
export interface SigningKeys {
  signer(): { id: Uint8Array; privateKey: KeyObject };
  trusted(id: Uint8Array): KeyObject | null;
  known(id: Uint8Array): KeyObject | null;
  /** A read-only reader's look at the catalog's ring again (a writer elsewhere rotated): true when it changed. */
  refresh?: () => Promise<boolean>;
}

/** A ring of one key, active: the original key alone (a pool without a key ring, as an embedding may run). */
export function soleKey(privateKey: KeyObject, publicKey: KeyObject): SigningKeys {
  const id = keyId(publicKey);
  const lookup = (k: Uint8Array) => (Buffer.compare(k, id) === 0 ? publicKey : null);
  return { signer: () => ({ id, privateKey }), trusted: lookup, known: lookup };
}

/** The catalog meta item listing heads refused for a revoked signer, for `repair --resign` (bounded). */
export const RESIGN_QUEUE = 'keyring.resign';
const RESIGN_QUEUE_MAX = 10000;

/** What lives beside the catalog in the meta directory and the engine keeps up to date. */
export interface MetaFiles {
  /** The bootstrap copy of the pool configuration (pool.json); the catalog's copy is authoritative. */
  savePool(config: PoolConfig): Promise<void>;
  /** The bucket list (buckets.json), so a catalog rebuild brings back empty buckets. */
  saveBuckets(buckets: string[]): Promise<void>;
}

export interface EngineSettings {
  readOnly: boolean;
  uploadTtlMs: number;
  minPartBytes: number;
}

/** The catalog meta item holding the authoritative pool configuration. */
export const POOL_CONFIG = 'pool.config';

export class Engine {
  #config: PoolConfig;
  readonly #stores = new Map<string, ShardStore>();
  /** Writes of the re-signing queue, one after the other (each reads the list and writes it back). */
  #resignQueued: Promise<void> = Promise.resolve();
  readonly health: MemberHealth;
  /** One writer per key in this process, from reading the head's sequence to the commit. */
  readonly keyLock = new KeyLock();
  /** The verified stripe reader get, scrub and repair share. */
  readonly reader: StripeReader;
  /** Told the audit record of every commit with a receipt, once it is durable (the freshness witness notes it). */
  onCommitted: (audit: AuditRecord) => void = () => undefined;

  constructor(
    config: PoolConfig,
    readonly catalog: Catalog,
    readonly storeProvider: StoreProvider,
    readonly codec: ReedSolomon,
    /** The pool's original key (pool.key): what the list-token secret is derived from. */
    readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
    readonly events: VaultEvents,
    readonly meta: MetaFiles,
    readonly settings: EngineSettings,
    /** The key ring that signs and verifies (Vault passes the pool's; without one, the original key alone). */
    readonly keys: SigningKeys = soleKey(privateKey, publicKey),
  ) {
    this.#config = config;
    this.health = new MemberHealth(() => this.#config.disks, (d) => this.storeOf(d), events);
    this.reader = new StripeReader(this);
  }

  get config(): PoolConfig {
    return this.#config;
  }

  /** The id of the key ring's active key (manifests carry it as signerKeyId). */
  get keyId(): Uint8Array {
    return this.keys.signer().id;
  }

  /**
   * Commits a new pool configuration (disk lifecycle): in the catalog with its audit record, then pool.json,
   * then every member is checked again.
   */
  async commitConfig(config: PoolConfig, action: string, principal: string, detail: string): Promise<void> {
    await this.catalog.setMeta(POOL_CONFIG, config, { action, principal, timeMs: Date.now(), detail });
    this.#config = config;
    await this.meta.savePool(config);
    await this.health.checkAll();
  }

  /** Throws ERR_SV_READ_ONLY when the pool was opened read-only (called first by every mutation). */
  writable(what: string): void {
    if (this.settings.readOnly) throw new ShardVaultError(ErrorCode.READ_ONLY, `${what} refused: the pool was opened read-only (open it without readOnly to change it)`);
  }

  /**
   * The bucket argument of every call but createBucket (lib/engine/names.ts: S3's rules, except for a bucket
   * that already exists under a name made before the rules).
   */
  async checkBucket(bucket: unknown): Promise<void> {
    await checkBucket(bucket, (b) => this.catalog.hasBucket(b));
  }

  async checkObjectName(bucket: unknown, key: unknown, principal?: unknown): Promise<void> {
    await this.checkBucket(bucket);
    checkKey(key);
    if (principal !== undefined) checkPrincipal(principal);
  }

  // ---------------------------------------------------------------- members

  member(id: string): MemberConfig | undefined {
    return this.#config.disks.find((x) => x.id === id);
  }

  /** The store of a member (made once, opened lazily by its implementation). */
  storeOf(d: MemberConfig): ShardStore {
    let s = this.#stores.get(d.id);
    if (s === undefined) {
      s = this.storeProvider.open(d, this.#config.poolId);
      this.#stores.set(d.id, s);
    }
    return s;
  }

  /** The store of a member that can be read now (active or draining, its check passed), else undefined. */
  readable(id: string): ShardStore | undefined {
    const d = this.member(id);
    return d !== undefined && this.health.usable(d) ? this.storeOf(d) : undefined;
  }

  /** Members that may take new shards, with their online flags, for lib/placement. */
  placementDisks(): PlacementDisk[] {
    return this.#config.disks.filter((d) => d.state === 'active').map((d) => ({ id: d.id, labels: d.labels, online: this.health.usable(d) }));
  }

  rule(): { k: number; m: number; level: string } {
    return { k: this.#config.k, m: this.#config.m, level: this.#config.failureDomain };
  }

  /** Closes every member's store (their open files: copy-log segments). */
  async closeStores(): Promise<void> {
    await Promise.all([...this.#stores.values()].map((s) => s.close()));
  }

  // ---------------------------------------------------------------- signing and the commit point

  /** Signs with the active key, which the manifest names as its signer whatever it named before (a rotation
   *  may have happened since it was built, and a re-signed manifest names its new signer). */
  sign(manifest: Manifest, hashTable: Uint8Array): { signed: Uint8Array; manifestHash: string; copy: Uint8Array } {
    const { id, privateKey } = this.keys.signer();
    const signed = signManifest({ ...manifest, signerKeyId: id }, privateKey);
    return { signed, manifestHash: manifestHashOf(signed), copy: copyBytes(signed, hashTable) };
  }

  /** The public key that verifies a signature by key `id` (active or retired), or null when it is not a
   *  key of this pool or is revoked. */
  publicKeyFor(id: Uint8Array): KeyObject | null {
    return this.keys.trusted(id);
  }

  /**
   * The commit point of every write (striped put, small put, delete, multipart complete): the flushed catalog
   * commit `req` (head compare-and-set, version, audit, repair work for the members that did not seal) through
   * `commit` (Catalog.commit unless given); its audit record is told to `onCommitted` (the freshness witness)
   * and named in the receipt, which is signed once the commit resolved; then a 'repairQueued' event per item
   * of repair work.
   */
  async commitWithReceipt(req: CommitRequest, durableDisks: string[], degraded: boolean, commit: (r: CommitRequest) => Promise<AuditRecord> = (r) => this.catalog.commit(r)): Promise<Receipt> {
    const { bucket, key, head } = req;
    const audit = await commit(req);
    this.onCommitted(audit);
    const receipt = await this.receiptWith({
      receiptFormat: RECEIPT_FORMAT, bucket, key, versionId: head.versionId, sequence: head.sequence.toString(), manifestHash: head.manifestHash, durableDisks, degraded,
      auditIndex: audit.index, auditHash: audit.hash,
    });
    for (const w of req.repair ?? []) this.events.emit('repairQueued', { bucket, key, versionId: head.versionId, disk: w.disk, shard: w.shard, reason: 'put' });
    return receipt;
  }

  /**
   * The signed receipt of a durable commit, signed on the thread pool. It names the commit's audit record,
   * which the catalog assigns inside the commit's transaction, so it is signed after the commit resolved.
   */
  async receiptWith(fields: Omit<Receipt, 'signature' | 'signerKeyId'>): Promise<Receipt> {
    const { id, privateKey } = this.keys.signer();
    const body = receiptBody({ ...fields, signerKeyId: hex(id) });
    const signature = await new Promise<Buffer>((resolve, reject) => edSign(null, Buffer.from(JSON.stringify(body)), privateKey, (err, sig) => (err === null ? resolve(sig) : reject(err))));
    return { ...body, signature: signature.toString('hex') };
  }

  /**
   * Checks a receipt's signature: by an active or retired key it is valid; by a revoked key
   * ERR_SV_KEY_REVOKED naming the key; by no key of the ring, or not verifying, ERR_SV_MANIFEST_SIGNATURE.
   */
  verifyReceipt(receipt: Receipt): void {
    const bad = (why: string) => new ShardVaultError(ErrorCode.MANIFEST_SIGNATURE, `receipt: ${why}`);
    if (typeof receipt !== 'object' || receipt === null || typeof receipt.signerKeyId !== 'string' || !/^[0-9a-f]{32}$/.test(receipt.signerKeyId) || typeof receipt.signature !== 'string' || !/^[0-9a-f]{128}$/.test(receipt.signature)) throw bad('not a signed receipt');
    const id = Buffer.from(receipt.signerKeyId, 'hex');
    const key = this.keys.known(id);
    if (key === null) throw bad(`signer key ${receipt.signerKeyId} is not a key of this pool`);
    if (!edVerify(null, Buffer.from(JSON.stringify(receiptBody(receipt))), key, Buffer.from(receipt.signature, 'hex'))) throw bad('the signature does not verify');
    if (this.keys.trusted(id) === null) throw revokedError(receipt.signerKeyId, `receipt of ${receipt.bucket}/${receipt.key}`);
  }

  /** Queues repair work and tells `events` ('repairQueued') about each item that was not queued before. */
  async queueRepair(items: RepairItem[], principal: string, reason: string): Promise<void> {
    const queued = await this.catalog.queueRepair(items, principal, Date.now());
    for (const r of queued) this.events.emit('repairQueued', { bucket: r.bucket, key: r.key, versionId: r.versionId, disk: r.disk, shard: r.shard, reason });
  }

  // ---------------------------------------------------------------- manifest copies

  /**
   * Appends one manifest copy to a member's copy store, durably; its reference (pinned: unpin once committed
   * or given up), or undefined when the member is unusable or any step fails (that copy is lost, I9).
   */
  async writeCopy(diskId: string, copy: Uint8Array, digest?: Uint8Array, onError?: (err: unknown) => void): Promise<CopyRef | undefined> {
    const store = this.readable(diskId);
    if (store === undefined) {
      onError?.(new ShardVaultError(ErrorCode.IO, `disk is not usable: ${this.health.problem(diskId) ?? 'not in the pool'}`));
      return undefined;
    }
    try {
      return await store.appendCopy(copy, digest);
    } catch (err) {
      this.health.countError(diskId, 'write');
      this.health.dropped(diskId, 'copy', err);
      onError?.(err);
      return undefined;
    }
  }

  /** Releases the pins of appended copies (after their commit, or after giving up on it). */
  unpin(disks: readonly string[], refs: ReadonlyArray<CopyRef | undefined>): void {
    refs.forEach((r, i) => {
      const d = this.member(disks[i]);
      if (r !== undefined && d !== undefined) this.storeOf(d).unpinCopy(r);
    });
  }

  /**
   * The manifest the head names, from the first copy that verifies: its bytes hash to the head's manifest
   * hash, the signature is by a pool key, and the sequence equals the head's (an older copy cannot roll the
   * object back, I4). Copies are read where the head says they are. Copies that were missing or did not verify
   * before the good one are returned as `badCopies` (shard indices).
   */
  async loadManifest(bucket: string, key: string, head: Head): Promise<{ manifest: Manifest; hashTable: Uint8Array; copy: Uint8Array; badCopies: number[] }> {
    const badCopies: number[] = [];
    const revoked = new Set<string>();
    for (const [shard, diskId] of (head.placement ?? []).entries()) {
      if (this.readable(diskId) === undefined) continue; // the member is offline: not a bad copy to rewrite now
      const loaded = await this.readCopy(diskId, head.copies?.[shard], head, revoked);
      if (loaded !== undefined) return { ...loaded, badCopies };
      badCopies.push(shard);
    }
    if (revoked.size > 0) {
      // The head's own manifest, signed by a key revoked since: refused (never its bytes), counted, and queued
      // for `repair --resign`, which re-signs it under the active key because the catalog names its hash.
      const signer = [...revoked][0];
      this.events.emit('keyRevoked', { bucket, key, versionId: head.versionId, keyId: signer });
      if (!this.settings.readOnly) await this.queueResign(bucket, key, head.versionId, signer);
      throw revokedError(signer, `${bucket}/${key} at sequence ${head.sequence}`);
    }
    throw new ShardVaultError(ErrorCode.CORRUPT, `no valid manifest copy for ${bucket}/${key} at sequence ${head.sequence}`);
  }

  /** Adds a head refused for its revoked signer to the re-signing queue (RESIGN_QUEUE), once. */
  async queueResign(bucket: string, key: string, versionId: string, signer: string): Promise<void> {
    const run = this.#resignQueued.then(async () => {
      const queued = (await this.catalog.getMeta<Array<{ bucket: string; key: string; versionId: string; keyId: string }>>(RESIGN_QUEUE)) ?? [];
      if (queued.length >= RESIGN_QUEUE_MAX || queued.some((q) => q.bucket === bucket && q.key === key && q.versionId === versionId)) return;
      await this.catalog.setMeta(RESIGN_QUEUE, [...queued, { bucket, key, versionId, keyId: signer }]);
    });
    this.#resignQueued = run.catch(() => undefined);
    await run;
  }

  /**
   * A manifest copy verified against the head; undefined when missing, unreadable, torn, stale, forged or
   * signed by a revoked key (whose id is then added to `revoked`: the copy is the head's and its signature
   * verifies, but its signer is no longer trusted). Only `repair --resign` passes `acceptRevoked`: it reads
   * such a copy to re-sign it, because the catalog's head names its hash.
   */
  async readCopy(diskId: string, ref: CopyRef | null | undefined, head: Head, revoked?: Set<string>, acceptRevoked = false): Promise<{ manifest: Manifest; hashTable: Uint8Array; copy: Uint8Array } | undefined> {
    if (ref === undefined || ref === null) return undefined; // never written (degraded write): repair queued
    const store = this.readable(diskId);
    if (store === undefined) return undefined;
    try {
      const copy = await store.readCopy(ref);
      let unknownSigner = false;
      const open = () => openCopy(copy, (id) => {
        const key = this.keys.known(id);
        unknownSigner = key === null;
        return key;
      }, head.manifestHash);
      let opened: ReturnType<typeof openCopy>;
      try {
        opened = open();
      } catch (err) {
        // A read-only reader beside a writer that rotated since it opened: the new key is in the catalog's
        // ring, which it reads again once (the chain is verified from the original key, as at open).
        if (!unknownSigner || this.keys.refresh === undefined || !(await this.keys.refresh())) throw err;
        opened = open();
      }
      const { manifest, hashTable } = opened;
      if (manifest.sequence !== head.sequence || hex(manifest.versionId) !== head.versionId) return undefined;
      if (!acceptRevoked && this.keys.trusted(manifest.signerKeyId) === null) {
        revoked?.add(hex(manifest.signerKeyId));
        return undefined;
      }
      return { manifest, hashTable, copy };
    } catch (err) {
      if (typeof (err as { errno?: unknown }).errno === 'number') this.health.countError(diskId, 'read'); // an I/O error, not a stale or torn copy
      return undefined;
    }
  }

  // ---------------------------------------------------------------- failed writes

  /** A member that dropped out of a write: for the error the write rejects with (member, errno name, what ran out). */
  failure(diskId: string, shard: number, during: string, err: unknown): DiskFailure {
    const e = err as { code?: unknown; errno?: unknown; syscall?: unknown; message?: unknown };
    const errnoName = errnoNameOf(e) ?? (typeof e.code === 'string' ? e.code : undefined);
    const described = typeof e.errno === 'number' && e.errno !== 0 ? getSystemErrorMap().get(-Math.abs(e.errno))?.[1] : undefined;
    return {
      disk: diskId, path: this.member(diskId)?.path ?? '?', shard, during,
      ...(errnoName !== undefined ? { errnoName } : {}), ...(typeof e.errno === 'number' ? { errno: e.errno } : {}), ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
      message: described ?? (typeof e.message === 'string' ? e.message : String(err)),
    };
  }

  /**
   * The error a write rejects with when too few members sealed: each failed member named with its errno and
   * what it was doing (`disk d3 (/path): ENOSPC while writing shard 2 of bkt/key: no space left on device`);
   * ERR_SV_NO_SPACE when a member ran out of space or quota, else ERR_SV_IO. Details of the first failure on
   * the error itself, all of them in `disks`.
   */
  quorumError(bucket: string, key: string, failures: DiskFailure[], sealed: number, n: number, extra = ''): ShardVaultError {
    const noSpace = failures.some((f) => f.errnoName === 'ENOSPC' || f.errnoName === 'EDQUOT');
    const lines = failures.map((f) => `disk ${f.disk} (${f.path}): ${f.errnoName ?? 'error'} while ${f.during}${f.shard !== undefined && f.during.includes('shard') ? ` ${f.shard}` : ''} of ${bucket}/${key}: ${f.message}`);
    const first = failures[0];
    return new ShardVaultError(noSpace ? ErrorCode.NO_SPACE : ErrorCode.IO,
      `${lines.length > 0 ? `${lines.join('; ')}; ` : ''}${sealed} of ${n} disks can seal, write quorum is ${this.#config.writeQuorum}${extra}`, {
        ...(first !== undefined ? { disk: first.disk, path: first.path, ...(first.shard !== undefined ? { shard: first.shard } : {}), ...(first.errno !== undefined ? { errno: first.errno } : {}), ...(first.syscall !== undefined ? { syscall: first.syscall } : {}) } : {}),
        disks: failures,
      });
  }

  /**
   * The end of a write that did not commit, rethrowing `err`: nothing of the version may stay, so what it
   * wrote is removed (cleanUpFailedPut, its note appended to the message) -- unless the commit itself failed in
   * the catalog's write or sync: whether that reached the disk is unknown (I9), so its files stay, and the
   * next open's recovery keeps them if the catalog committed it, else removes them as never committed.
   */
  async abandonWrite(err: unknown, bucket: string, key: string, vid: string, oid: string, placement: string[], created: readonly boolean[], refs: ReadonlyArray<CopyRef | undefined>): Promise<never> {
    if (!isUnknownCommit(err)) {
      const note = await this.cleanUpFailedPut(bucket, key, vid, oid, placement, created, refs);
      if (note !== '' && err instanceof Error) err.message += note;
    }
    throw err;
  }

  /**
   * Removes what a write that did not commit wrote (I2 without waiting for gc): its shards, sealed or not
   * (`created[i]`: shard i of body `vid` was created on placement[i]), and its manifest copies. What cannot be
   * removed (a member that refuses even that) is queued for gc as a garbage entry of the uncommitted version;
   * returns a note for the error message when it is. Never runs for a version the catalog has (a commit that
   * failed only after it was written).
   */
  async cleanUpFailedPut(bucket: string, key: string, vid: string, oid: string, placement: string[], created: readonly boolean[], refs: ReadonlyArray<CopyRef | undefined>): Promise<string> {
    if ((await this.catalog.versionOwner(vid)) !== undefined) return '';
    const left: string[] = [];
    await Promise.all(placement.map(async (diskId, i) => {
      const d = this.member(diskId);
      if (d === undefined) return;
      const store = this.storeOf(d);
      if (created[i] === true && !(await store.removeShard({ oid, id: vid, shard: i }))) {
        if ((await store.statShard({ oid, id: vid, shard: i }).catch(() => ({ size: -1, mtimeMs: 0 }))) !== undefined) left.push(`shard ${i} on ${diskId}`);
      }
      const ref = refs[i];
      if (ref !== undefined) await store.eraseCopy(ref).catch(() => left.push(`manifest copy on ${diskId}`));
    }));
    if (left.length === 0) return '';
    try {
      await this.catalog.queueGarbage({ bucket, key, head: { versionId: vid, sequence: 0n, manifestHash: '', tombstone: false, placement, striped: created.some(Boolean) }, supersededMs: 0 });
      return `; left for gc (queued): ${left.join(', ')}`;
    } catch {
      return `; left for gc's walk (could not queue): ${left.join(', ')}`;
    }
  }
}

/**
 * The digest a store may keep beside a manifest copy to check it on read (BLAKE3 of the copy's bytes; the
 * local copy log writes it into each record): computed once per write, for every member.
 */
export function copyDigest(copy: Uint8Array): Uint8Array {
  return blake3Sync(copy);
}

/** The signed fields of a receipt, in their signed order. */
function receiptBody(r: Omit<Receipt, 'signature'>): Omit<Receipt, 'signature'> {
  return {
    receiptFormat: r.receiptFormat, bucket: r.bucket, key: r.key, versionId: r.versionId, sequence: r.sequence, manifestHash: r.manifestHash,
    durableDisks: r.durableDisks, degraded: r.degraded, auditIndex: r.auditIndex, auditHash: r.auditHash, signerKeyId: r.signerKeyId,
  };
}

/** ERR_SV_KEY_REVOKED for `what`, signed only by revoked key `id`. */
export function revokedError(id: string, what: string): ShardVaultError {
  return new ShardVaultError(ErrorCode.KEY_REVOKED, `${what} is signed by revoked key ${id}: run \`shardvault repair --resign\` to re-sign what the catalog vouches for`);
}

/** A commit the catalog could not write or sync: whether it reached the disk is unknown until the next open. */
export function isUnknownCommit(err: unknown): boolean {
  return err instanceof ShardVaultError && err.code === ErrorCode.CATALOG_FAILED && err.syscall === 'commit';
}
