/**
 * Vault: the engine over a pool of directory disks (DESIGN.md 3, 4). This first cut covers the buffer-based
 * write and read paths end to end; streams, open-time recovery, scrub/repair and disk lifecycle are not here
 * yet (issue 4 is open). What it does:
 *
 * put: validate -> place (lib/placement) -> per batch of stripes one native encode+hash call ->
 *   each disk: shard file (32-byte header + blocks) sealed durably, then a manifest copy (signed manifest +
 *   hash table) sealed durably -> one flushed catalog commit (head CAS + version + audit + repair work for
 *   disks that failed) -> a receipt signed by the pool key. Nothing is visible before the commit (I2) and the
 *   promise resolves only after it (I1). Write quorum: all k + m by default, at least k + 1.
 * get: head from the catalog -> the first manifest copy that verifies (signature by a pool key, sequence equal
 *   to the head: an older copy cannot roll the object back, I4) -> data blocks read and checked against the
 *   hash table in the same native call -> on any missing or mismatching block, parity read, reconstruct, and
 *   the rebuilt blocks verified too (decode-then-verify, I3) -> whole-object content hash checked.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile, open as fsOpen } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { Catalog, type Head } from './catalog.js';
import { ReedSolomon } from './codec.js';
import { ErrorCode, ShardVaultError, typeError } from './errors.js';
import { blake3Sync, createBlake3 } from './hash.js';
import { signManifest, verifyManifest, type Manifest } from './manifest.js';
import { checkPoolLayout, place, type PlacementDisk } from './placement.js';
import { openShardWriter, readRange, statDisk } from './shardio.js';
import { integer } from './validate.js';

export interface VaultDiskSpec {
  path: string;
  labels?: Record<string, string>;
}

export interface VaultInitOptions {
  disks: VaultDiskSpec[];
  /** Directory for the catalog and the pool key (not one of the disks). */
  metaDir: string;
  k: number;
  m: number;
  blockBytes?: number;
  failureDomain?: string;
  writeQuorum?: number;
}

interface PoolConfig {
  poolId: string;
  k: number;
  m: number;
  blockBytes: number;
  failureDomain: string;
  writeQuorum: number;
  disks: Array<{ id: string; path: string; labels: Record<string, string>; dev: number }>;
}

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

const HEADER_BYTES = 32;
const HASH_TABLE_CONTEXT = 'shardvault/hashtable/v1';
const MANIFEST_HASH_CONTEXT = 'shardvault/manifest-hash/v1';
const STRIPES_PER_BATCH = 16;
/** Objects up to this size (given as one buffer) are stored inline in the manifest copies. N.B. format policy. */
export const INLINE_BYTES_MAX = 16 * 1024;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await fsOpen(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p whose new directory entries are durable: each directory created gets its parent fsynced (a
 * sealed file inside a directory whose own entry was never synced can vanish in a power cut).
 */
async function mkdirDurable(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  let dir = path;
  const parents: string[] = [];
  for (;;) {
    const parent = join(dir, '..');
    parents.push(parent);
    if (dir === first || parent === dir) break;
    dir = parent;
  }
  for (const p of parents) await fsyncPath(p);
}

async function writeFileDurable(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await fsyncPath(tmp);
  await rename(tmp, path);
  await fsyncPath(join(path, '..'));
}

function keyId(publicKey: KeyObject): Uint8Array {
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  return blake3Sync(raw, { context: 'shardvault/key-id/v1' }).subarray(0, 16);
}

export class Vault {
  private constructor(
    private readonly config: PoolConfig,
    private readonly catalog: Catalog,
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly codec: ReedSolomon,
  ) {}

  /** Formats the disks and the meta directory. Refuses disks that already belong to a pool. */
  static async init(options: VaultInitOptions): Promise<Vault> {
    const k = integer('k', options.k, 1, 255);
    const m = integer('m', options.m, 1, 255 - k + 1);
    const blockBytes = integer('blockBytes', options.blockBytes ?? 1 << 20, 1, 1 << 26);
    const failureDomain = options.failureDomain ?? 'disk';
    const writeQuorum = integer('writeQuorum', options.writeQuorum ?? k + m, k + 1, k + m);
    if (!Array.isArray(options.disks)) throw typeError('disks', 'an array of disks', options.disks);
    const poolId = hex(randomBytes(16));
    const disks = options.disks.map((d, i) => ({ id: `disk-${i}-${hex(randomBytes(4))}`, path: d.path, labels: d.labels ?? {}, dev: 0 }));
    checkPoolLayout(disks.map((d) => ({ id: d.id, labels: d.labels })), { k, m, level: failureDomain });
    for (const d of disks) {
      await mkdirDurable(join(d.path, 'objects'));
      if (existsSync(join(d.path, 'disk.json'))) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${d.path} already belongs to a pool`);
      }
      d.dev = statDisk(d.path).dev;
      await writeFileDurable(join(d.path, 'disk.json'), JSON.stringify({ diskId: d.id, poolId, formatVersion: 1, dev: d.dev, labels: d.labels }));
    }
    await mkdirDurable(options.metaDir);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await writeFileDurable(join(options.metaDir, 'pool.key'), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const config: PoolConfig = { poolId, k, m, blockBytes, failureDomain, writeQuorum, disks };
    await writeFileDurable(join(options.metaDir, 'pool.json'), JSON.stringify(config, null, 2));
    return Vault.open(options.metaDir);
  }

  /**
   * Opens a formatted pool; every disk's identity file and device must match (an unmounted disk is refused).
   * Then recovers from any crash (I2): temporary files are removed, and files of versions that never reached
   * the catalog (a crash between sealing and the commit) are removed once older than `orphanGraceMs`.
   */
  static async open(metaDir: string, options: { orphanGraceMs?: number } = {}): Promise<Vault> {
    const config = JSON.parse(await readFile(join(metaDir, 'pool.json'), 'utf8')) as PoolConfig;
    for (const d of config.disks) {
      const identity = JSON.parse(await readFile(join(d.path, 'disk.json'), 'utf8')) as { diskId: string; poolId: string };
      if (identity.diskId !== d.id || identity.poolId !== config.poolId || statDisk(d.path).dev !== d.dev) {
        throw new ShardVaultError(ErrorCode.DISK_IDENTITY, `${d.path} is not disk ${d.id} of pool ${config.poolId}`);
      }
    }
    const privateKey = createPrivateKey(await readFile(join(metaDir, 'pool.key'), 'utf8'));
    await mkdirDurable(join(metaDir, 'catalog')); // LMDB syncs its files, not the directory entry it lives in
    const catalog = Catalog.open(join(metaDir, 'catalog'));
    const vault = new Vault(config, catalog, privateKey, createPublicKey(privateKey), new ReedSolomon(config.k, config.m));
    vault.lastRecovery = await vault.recover(options.orphanGraceMs ?? 60 * 60 * 1000);
    return vault;
  }

  /** What the last open removed. */
  lastRecovery: { temporaryRemoved: number; orphansRemoved: number } = { temporaryRemoved: 0, orphansRemoved: 0 };

  private async recover(graceMs: number): Promise<{ temporaryRemoved: number; orphansRemoved: number }> {
    let temporaryRemoved = 0;
    let orphansRemoved = 0;
    const now = Date.now();
    for (const d of this.config.disks) {
      const objects = join(d.path, 'objects');
      for (const dir of await readdir(objects).catch(() => [] as string[])) {
        const full = join(objects, dir);
        for (const f of await readdir(full).catch(() => [] as string[])) {
          const file = join(full, f);
          if (f.startsWith('.tmp-')) {
            await unlink(file).catch(() => undefined);
            temporaryRemoved++;
            continue;
          }
          const versionId = /^([0-9a-f]{32})\.[sm]\d+$/.exec(f)?.[1];
          if (versionId === undefined || this.catalog.isCommittedVersion(versionId)) continue;
          const st = await stat(file).catch(() => null);
          if (st !== null && now - st.mtimeMs >= graceMs) {
            await unlink(file).catch(() => undefined);
            orphansRemoved++;
          }
        }
      }
    }
    return { temporaryRemoved, orphansRemoved };
  }

  async close(): Promise<void> {
    await this.catalog.close();
  }

  async createBucket(bucket: string, principal = 'local'): Promise<void> {
    await this.catalog.createBucket(bucket, principal, Date.now());
  }

  private disk(id: string) {
    const d = this.config.disks.find((x) => x.id === id);
    if (d === undefined) throw new ShardVaultError(ErrorCode.CORRUPT, `unknown disk ${id} in a manifest`);
    return d;
  }

  private objectDir(diskPath: string, bucket: string, key: string): string {
    return join(diskPath, 'objects', hex(blake3Sync(new TextEncoder().encode(`${bucket}\0${key}`))).slice(0, 32));
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
    options: { principal?: string; signal?: AbortSignal } | string = {},
  ): Promise<Receipt> {
    const { principal = 'local', signal } = typeof options === 'string' ? { principal: options } : options;
    const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
      data instanceof Uint8Array ? [data] : (data as AsyncIterable<Uint8Array> | Iterable<Uint8Array>);
    if (source === null || typeof source !== 'object' || (!(Symbol.asyncIterator in source) && !(Symbol.iterator in source))) {
      throw typeError('data', 'a Uint8Array, a Readable or an iterable of Uint8Array', data);
    }
    const { k, m, blockBytes } = this.config;
    const head = this.catalog.getHead(bucket, key);
    if (data instanceof Uint8Array && data.length <= INLINE_BYTES_MAX) {
      // Small objects live inline in every manifest copy: one sealed file per disk instead of two, and each of
      // the k + m copies holds all of it (any one surviving copy serves the object).
      if (signal?.aborted) throw new ShardVaultError(ErrorCode.ABORTED, 'put aborted');
      return this.#putManifestOnly(bucket, key, head, data, false, principal);
    }
    const sequence = (head?.sequence ?? 0n) + 1n;
    const versionId = randomBytes(16);
    const placement = place(`${bucket}\0${key}\0${hex(versionId)}`, this.config.disks, { k, m, level: this.config.failureDomain });
    const stripeBytes = k * blockBytes;

    // Open one writer per shard; a disk that fails any step drops out (I9: never retried on the same file).
    const alive = new Array<boolean>(k + m).fill(true);
    const writers = await Promise.all(
      placement.map(async (id, i) => {
        const d = this.disk(id);
        const dir = this.objectDir(d.path, bucket, key);
        try {
          await mkdirDurable(dir);
          const w = await openShardWriter(dir, `${hex(versionId)}.s${i}`, { expectDev: d.dev });
          const header = new Uint8Array(HEADER_BYTES);
          header.set([0x53, 0x56, 0x53, 0x48, i, 0, 0, 0]); // "SVSH", shard index
          header.set(versionId, 16);
          await w.append(header);
          return w;
        } catch {
          alive[i] = false;
          return null;
        }
      }),
    );
    const abortAll = async () => {
      await Promise.all(writers.map((w) => w?.abort().catch(() => undefined)));
    };
    const content = createBlake3();
    const fingerprintChunks: Uint8Array[] = [];
    let size = 0;
    let stripeCount = 0;
    let batch: Uint8Array[][] = [];
    let stripe = new Uint8Array(stripeBytes);
    let filled = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const stripes = batch;
      batch = [];
      const fingerprints = await this.codec.encodeAndHash(stripes);
      for (const fp of fingerprints) for (const h of fp) fingerprintChunks.push(h.slice());
      await Promise.all(
        writers.map(async (w, i) => {
          if (w === null || !alive[i]) return;
          try {
            for (const st of stripes) await w.append(st[i]);
          } catch {
            alive[i] = false;
          }
        }),
      );
    };
    const closeStripe = async () => {
      // A Readable's chunks arrive as microtasks: without this, a whole batch (64 MiB of copying and content
      // hashing) would run without letting timers or I/O callbacks in. Yield once per stripe (~2 ms of work).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const blocks = Array.from({ length: k + m }, (_, i) =>
        i < k ? stripe.subarray(i * blockBytes, (i + 1) * blockBytes) : new Uint8Array(blockBytes),
      );
      batch.push(blocks);
      stripeCount++;
      stripe = new Uint8Array(stripeBytes);
      filled = 0;
      if (batch.length >= STRIPES_PER_BATCH) await flush();
    };
    try {
      for await (const chunkIn of source as AsyncIterable<Uint8Array>) {
        if (signal?.aborted) throw new ShardVaultError(ErrorCode.ABORTED, 'put aborted');
        if (!(chunkIn instanceof Uint8Array)) throw typeError('data chunk', 'a Uint8Array', chunkIn);
        content.update(chunkIn);
        size += chunkIn.length;
        let at = 0;
        while (at < chunkIn.length) {
          const take = Math.min(stripeBytes - filled, chunkIn.length - at);
          stripe.set(chunkIn.subarray(at, at + take), filled);
          filled += take;
          at += take;
          if (filled === stripeBytes) await closeStripe();
        }
      }
      if (filled > 0 || stripeCount === 0) await closeStripe(); // the last stripe is zero-padded
      await flush();
      if (signal?.aborted) throw new ShardVaultError(ErrorCode.ABORTED, 'put aborted');
    } catch (err) {
      await abortAll();
      throw err;
    }
    const hashTable = new Uint8Array(fingerprintChunks.length * 32);
    fingerprintChunks.forEach((h, i) => hashTable.set(h, i * 32));
    const manifest: Manifest = {
      bucket, key, versionId, sequence, size, contentHash: content.digest(), tombstone: false, k, m,
      blockBytes, stripeCount, placement, hashTableRoot: blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }), principal,
      timeMs: Date.now(), signerKeyId: keyId(this.publicKey), inline: new Uint8Array(0),
    };
    const signed = signManifest(manifest, this.privateKey);
    const manifestHash = hex(blake3Sync(signed, { context: MANIFEST_HASH_CONTEXT }));
    const copy = new Uint8Array(4 + signed.length + hashTable.length);
    new DataView(copy.buffer).setUint32(0, signed.length);
    copy.set(signed, 4);
    copy.set(hashTable, 4 + signed.length);
    // Seal every disk: shard file, then its manifest copy (with the hash table), each fsynced and renamed.
    await Promise.all(
      writers.map(async (w, i) => {
        if (w === null || !alive[i]) {
          await w?.abort().catch(() => undefined);
          return;
        }
        try {
          await w.seal();
          const d = this.disk(placement[i]);
          const mw = await openShardWriter(this.objectDir(d.path, bucket, key), `${hex(versionId)}.m${i}`, { expectDev: d.dev });
          await mw.append(copy);
          await mw.seal();
        } catch {
          alive[i] = false;
        }
      }),
    );
    const durable = placement.filter((_, i) => alive[i]);
    if (durable.length < this.config.writeQuorum) {
      throw new ShardVaultError(ErrorCode.IO, `only ${durable.length} of ${k + m} disks sealed; write quorum is ${this.config.writeQuorum}`);
    }
    const newHead: Head = { versionId: hex(versionId), sequence, manifestHash, tombstone: false };
    await this.catalog.commit({
      bucket, key, expectedSequence: head?.sequence ?? 0n, head: newHead,
      audit: { action: 'put', principal, timeMs: manifest.timeMs, detail: `size=${size}` },
      repair: placement.flatMap((disk, shard) => (alive[shard] ? [] : [{ disk, shard }])),
    });
    const body = { bucket, key, versionId: hex(versionId), sequence: sequence.toString(), manifestHash, durableDisks: durable, degraded: durable.length < k + m };
    return { ...body, signature: edSign(null, Buffer.from(JSON.stringify(body)), this.privateKey).toString('hex') };
  }

  /** Metadata of the latest version, from a verified manifest copy; undefined when absent or deleted. */
  async head(bucket: string, key: string): Promise<{ size: number; versionId: string; sequence: bigint; timeMs: number } | undefined> {
    const head = this.catalog.getHead(bucket, key);
    if (head === undefined || head.tombstone) return undefined;
    const { manifest } = await this.loadManifest(bucket, key, head);
    return { size: manifest.size, versionId: head.versionId, sequence: head.sequence, timeMs: manifest.timeMs };
  }

  /**
   * Deletes bucket/key: a signed tombstone manifest is written to the disks of the placement and committed
   * as the new head, so the object never comes back from disks that still hold its files (I4).
   */
  async delete(bucket: string, key: string, principal = 'local'): Promise<void> {
    const head = this.catalog.getHead(bucket, key);
    if (head === undefined || head.tombstone) return;
    await this.#putManifestOnly(bucket, key, head, new Uint8Array(0), true, principal);
  }

  /**
   * Writes a version that lives entirely in its manifest copies (a tombstone, or a small object inline,
   * DESIGN.md 2): one signed copy per disk of the placement, sealed durably, then the flushed commit.
   */
  async #putManifestOnly(bucket: string, key: string, head: Head | undefined, inline: Uint8Array, tombstone: boolean, principal: string): Promise<Receipt> {
    const { k, m, blockBytes } = this.config;
    const versionId = randomBytes(16);
    const sequence = (head?.sequence ?? 0n) + 1n;
    const placement = place(`${bucket}\0${key}\0${hex(versionId)}`, this.config.disks, { k, m, level: this.config.failureDomain });
    const manifest: Manifest = {
      bucket, key, versionId, sequence, size: inline.length, contentHash: blake3Sync(inline), tombstone, k, m,
      blockBytes, stripeCount: 0, placement, hashTableRoot: blake3Sync(new Uint8Array(0), { context: HASH_TABLE_CONTEXT }),
      principal, timeMs: Date.now(), signerKeyId: keyId(this.publicKey), inline: inline.slice(),
    };
    const signed = signManifest(manifest, this.privateKey);
    const manifestHash = hex(blake3Sync(signed, { context: MANIFEST_HASH_CONTEXT }));
    const copy = new Uint8Array(4 + signed.length);
    new DataView(copy.buffer).setUint32(0, signed.length);
    copy.set(signed, 4);
    const sealed = await Promise.all(
      placement.map(async (id, i) => {
        const d = this.disk(id);
        try {
          const dir = this.objectDir(d.path, bucket, key);
          await mkdirDurable(dir);
          const w = await openShardWriter(dir, `${hex(versionId)}.m${i}`, { expectDev: d.dev });
          await w.append(copy);
          await w.seal();
          return true;
        } catch {
          return false;
        }
      }),
    );
    const durable = placement.filter((_, i) => sealed[i]);
    if (durable.length < this.config.writeQuorum) {
      throw new ShardVaultError(ErrorCode.IO, `manifest sealed on ${durable.length} disks; write quorum is ${this.config.writeQuorum}`);
    }
    await this.catalog.commit({
      bucket, key, expectedSequence: head?.sequence ?? 0n,
      head: { versionId: hex(versionId), sequence, manifestHash, tombstone },
      audit: { action: tombstone ? 'delete' : 'put', principal, timeMs: manifest.timeMs, detail: tombstone ? undefined : `size=${inline.length} inline` },
      repair: placement.flatMap((disk, shard) => (sealed[shard] ? [] : [{ disk, shard }])),
    });
    const body = { bucket, key, versionId: hex(versionId), sequence: sequence.toString(), manifestHash, durableDisks: durable, degraded: durable.length < k + m };
    return { ...body, signature: edSign(null, Buffer.from(JSON.stringify(body)), this.privateKey).toString('hex') };
  }

  list(bucket: string, options?: { prefix?: string; startAfter?: string; limit?: number }): string[] {
    return this.catalog.list(bucket, options);
  }

  /** The latest committed bytes of bucket/key (or `range` [start, end)), verified; see getStream. */
  async get(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const c of this.#stripes(bucket, key, options)) {
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
  getStream(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal } = {}): Readable {
    return Readable.from(this.#stripes(bucket, key, options), { objectMode: false });
  }

  async *#stripes(bucket: string, key: string, options: { range?: { start: number; end?: number }; signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    const head = this.catalog.getHead(bucket, key);
    if (head === undefined || head.tombstone) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no object ${bucket}/${key}`);
    const { manifest, hashTable } = await this.loadManifest(bucket, key, head);
    const { k, m, blockBytes, placement, size } = manifest;
    const stripeBytes = k * blockBytes;
    const start = options.range === undefined ? 0 : integer('range.start', options.range.start, 0, size);
    const end = options.range?.end === undefined ? size : integer('range.end', options.range.end, start, size);
    const whole = start === 0 && end === size;
    if (manifest.stripeCount === 0) {
      // Inline: the bytes came inside a verified manifest; check them against the signed content hash.
      if (manifest.inline.length !== size || Buffer.compare(blake3Sync(manifest.inline), manifest.contentHash) !== 0) {
        throw new ShardVaultError(ErrorCode.CORRUPT, `${bucket}/${key}: inline data does not match its content hash`);
      }
      if (end > start) yield manifest.inline.slice(start, end);
      return;
    }
    const content = whole ? createBlake3() : null;
    const bad = new Set<number>();
    const firstStripe = Math.floor(start / stripeBytes);
    const lastStripe = end > start ? Math.floor((end - 1) / stripeBytes) : firstStripe - 1;
    for (let s = firstStripe; s <= lastStripe; s++) {
      if (options.signal?.aborted) throw new ShardVaultError(ErrorCode.ABORTED, 'get aborted');
      const blocks: Uint8Array[] = [];
      const present: boolean[] = [];
      const read = async (i: number) => {
        const d = this.disk(placement[i]);
        const file = join(this.objectDir(d.path, bucket, key), `${head.versionId}.s${i}`);
        const expected = hashTable.subarray((s * (k + m) + i) * 32, (s * (k + m) + i + 1) * 32);
        try {
          const r = await readRange(file, HEADER_BYTES + s * blockBytes, blockBytes, { blockBytes, expectedHashes: expected });
          blocks[i] = new Uint8Array(r.data);
          present[i] = r.ok![0];
        } catch {
          blocks[i] = new Uint8Array(blockBytes); // unreadable == corrupt: an erasure
          present[i] = false;
        }
      };
      await Promise.all(Array.from({ length: k }, (_, i) => read(i)));
      if (present.slice(0, k).some((p) => !p)) {
        await Promise.all(Array.from({ length: m }, (_, j) => read(k + j)));
        present.forEach((p, i) => {
          if (!p) bad.add(i);
        });
        const good = present.filter(Boolean).length;
        if (good < k) {
          throw new ShardVaultError(ErrorCode.CORRUPT, `stripe ${s} of ${bucket}/${key}: only ${good} of ${k + m} blocks verify, ${k} needed`);
        }
        const targets = present.map((p, i) => (!p && i < k ? i : -1)).filter((i) => i >= 0);
        await this.codec.reconstruct(blocks, { present, targets });
        for (const t of targets) {
          // Decode-then-verify (I3): a rebuilt block must match the hash table too.
          const expected = hashTable.subarray((s * (k + m) + t) * 32, (s * (k + m) + t + 1) * 32);
          if (Buffer.compare(blake3Sync(blocks[t]), expected) !== 0) {
            throw new ShardVaultError(ErrorCode.CORRUPT, `stripe ${s} block ${t} of ${bucket}/${key} does not verify after reconstruction`);
          }
        }
      }
      const stripeData = new Uint8Array(stripeBytes);
      for (let i = 0; i < k; i++) stripeData.set(blocks[i], i * blockBytes);
      const from = Math.max(start - s * stripeBytes, 0);
      const to = Math.min(end - s * stripeBytes, stripeBytes);
      const piece = stripeData.subarray(from, to);
      content?.update(piece);
      if (whole && s === lastStripe && Buffer.compare(content!.digest(), manifest.contentHash) !== 0) {
        throw new ShardVaultError(ErrorCode.CORRUPT, `${bucket}/${key}: content hash mismatch`);
      }
      yield piece;
    }
    if (whole && lastStripe < firstStripe && Buffer.compare(content!.digest(), manifest.contentHash) !== 0) {
      throw new ShardVaultError(ErrorCode.CORRUPT, `${bucket}/${key}: content hash mismatch`);
    }
    if (bad.size > 0) {
      // The read succeeded through reconstruction: report the bad shards so repair rewrites them.
      await this.catalog.queueRepair(
        [...bad].map((shard) => ({ bucket, key, versionId: head.versionId, disk: placement[shard], shard })),
        'read',
        Date.now(),
      );
    }
  }

  /**
   * Scrub: reads every block of every live object (data and parity) and checks it against the hash table;
   * bad or missing blocks are queued for repair(). Rate-limited (bytes per second), abortable, reports
   * progress after each object.
   */
  async scrub(options: { rateBytesPerSec?: number; signal?: AbortSignal; onProgress?: (p: { objects: number; bytes: number; bad: number }) => void } = {}): Promise<{ objects: number; bytes: number; bad: number }> {
    const progress = { objects: 0, bytes: 0, bad: 0 };
    const started = Date.now();
    for (const { bucket, key, head } of this.catalog.heads()) {
      if (options.signal?.aborted) throw new ShardVaultError(ErrorCode.ABORTED, 'scrub aborted');
      const { manifest, hashTable } = await this.loadManifest(bucket, key, head);
      const { k, m, blockBytes, stripeCount, placement } = manifest;
      const bad = new Set<number>();
      await Promise.all(
        placement.map(async (id, i) => {
          const d = this.disk(id);
          if (stripeCount === 0) {
            // Inline object: its manifest copies are the data; each must be there and match the head.
            if (!(await this.copyMatches(join(this.objectDir(d.path, bucket, key), `${head.versionId}.m${i}`), head))) bad.add(i);
            return;
          }
          const expected = new Uint8Array(stripeCount * 32);
          for (let s = 0; s < stripeCount; s++) expected.set(hashTable.subarray((s * (k + m) + i) * 32, (s * (k + m) + i + 1) * 32), s * 32);
          try {
            const r = await readRange(join(this.objectDir(d.path, bucket, key), `${head.versionId}.s${i}`), HEADER_BYTES, stripeCount * blockBytes, { blockBytes, expectedHashes: expected });
            if (r.ok!.some((ok) => !ok)) bad.add(i);
          } catch {
            bad.add(i);
          }
        }),
      );
      await this.catalog.queueRepair([...bad].map((shard) => ({ bucket, key, versionId: head.versionId, disk: placement[shard], shard })), 'scrub', Date.now());
      progress.objects++;
      progress.bytes += stripeCount === 0 ? manifest.size * (k + m) : stripeCount * blockBytes * (k + m);
      progress.bad += bad.size;
      options.onProgress?.({ ...progress });
      if (options.rateBytesPerSec !== undefined) {
        const aheadMs = (progress.bytes / options.rateBytesPerSec) * 1000 - (Date.now() - started);
        if (aheadMs > 0) await new Promise((r) => setTimeout(r, aheadMs));
      }
    }
    return progress;
  }

  /**
   * Pool health: per disk, whether it is reachable with the right identity and device and how many shards of
   * queued repair work it holds; objects at risk (queued work); live object count.
   */
  async status(): Promise<{
    disks: Array<{ id: string; path: string; ok: boolean; problem?: string; repairQueued: number }>;
    objects: number;
    objectsAtRisk: number;
    repairQueued: number;
  }> {
    const queue = this.catalog.repairQueue();
    const disks = await Promise.all(
      this.config.disks.map(async (d) => {
        let problem: string | undefined;
        try {
          const identity = JSON.parse(await readFile(join(d.path, 'disk.json'), 'utf8')) as { diskId: string; poolId: string };
          if (identity.diskId !== d.id || identity.poolId !== this.config.poolId) problem = 'identity file does not match';
          else if (statDisk(d.path).dev !== d.dev) problem = 'different device (not mounted?)';
        } catch (err) {
          problem = `unreadable: ${(err as Error).message}`;
        }
        return { id: d.id, path: d.path, ok: problem === undefined, ...(problem ? { problem } : {}), repairQueued: queue.filter((q) => q.disk === d.id).length };
      }),
    );
    let objects = 0;
    for (const _ of this.catalog.heads()) objects++;
    const atRisk = new Set(queue.map((q) => `${q.bucket}\0${q.key}\0${q.versionId}`));
    return { disks, objects, objectsAtRisk: atRisk.size, repairQueued: queue.length };
  }

  /** Work waiting for repair() (shards missing or bad, per object version). */
  repairQueue() {
    return this.catalog.repairQueue();
  }

  /**
   * Rebuilds every queued shard from k good ones, verifies each rebuilt block against the hash table
   * (decode-then-verify), writes it durably to its disk with a fresh manifest copy, then removes the item from
   * the queue with an audit record. Items of superseded versions are dropped. Returns what it did.
   */
  async repair(principal = 'repair'): Promise<{ repaired: number; dropped: number }> {
    let repaired = 0;
    let dropped = 0;
    const items = this.catalog.repairQueue();
    const byVersion = new Map<string, typeof items>();
    for (const it of items) {
      const id = `${it.bucket}\0${it.key}\0${it.versionId}`;
      byVersion.set(id, [...(byVersion.get(id) ?? []), it]);
    }
    for (const group of byVersion.values()) {
      const { bucket, key, versionId } = group[0];
      const head = this.catalog.getHead(bucket, key);
      if (head === undefined || head.versionId !== versionId || head.tombstone) {
        await this.catalog.completeRepair(group, 'repair.drop', principal, Date.now());
        dropped += group.length;
        continue;
      }
      const { manifest, hashTable, copy } = await this.loadManifest(bucket, key, head);
      const { k, m, blockBytes, stripeCount, placement } = manifest;
      const targets = [...new Set(group.map((g) => g.shard))].sort((a, b) => a - b);
      const rebuilt = targets.map(() => [] as Uint8Array[]);
      for (let s = 0; s < stripeCount; s++) {
        const blocks: Uint8Array[] = [];
        const present: boolean[] = [];
        await Promise.all(
          placement.map(async (id, i) => {
            blocks[i] = new Uint8Array(blockBytes);
            present[i] = false;
            if (targets.includes(i)) return;
            const d = this.disk(id);
            const expected = hashTable.subarray((s * (k + m) + i) * 32, (s * (k + m) + i + 1) * 32);
            try {
              const r = await readRange(join(this.objectDir(d.path, bucket, key), `${versionId}.s${i}`), HEADER_BYTES + s * blockBytes, blockBytes, { blockBytes, expectedHashes: expected });
              blocks[i] = new Uint8Array(r.data);
              present[i] = r.ok![0];
            } catch {
              // unreadable: an erasure
            }
          }),
        );
        if (present.filter(Boolean).length < k) {
          throw new ShardVaultError(ErrorCode.CORRUPT, `cannot repair ${bucket}/${key}: stripe ${s} has fewer than ${k} good blocks`);
        }
        await this.codec.reconstruct(blocks, { present, targets });
        targets.forEach((t, j) => {
          const expected = hashTable.subarray((s * (k + m) + t) * 32, (s * (k + m) + t + 1) * 32);
          if (Buffer.compare(blake3Sync(blocks[t]), expected) !== 0) {
            throw new ShardVaultError(ErrorCode.CORRUPT, `rebuilt block ${t} of stripe ${s} does not verify`);
          }
          rebuilt[j].push(blocks[t]);
        });
      }
      for (const [j, t] of targets.entries()) {
        const d = this.disk(placement[t]);
        const dir = this.objectDir(d.path, bucket, key);
        await mkdirDurable(dir);
        if (stripeCount === 0) {
          // Inline object: the manifest copy is all there is to rewrite.
          const mw = await openShardWriter(dir, `${versionId}.m${t}`, { expectDev: d.dev });
          await mw.append(copy);
          await mw.seal({ replace: true });
          continue;
        }
        const w = await openShardWriter(dir, `${versionId}.s${t}`, { expectDev: d.dev });
        const header = new Uint8Array(HEADER_BYTES);
        header.set([0x53, 0x56, 0x53, 0x48, t, 0, 0, 0]);
        header.set(manifest.versionId, 16);
        await w.append(header);
        for (const b of rebuilt[j]) await w.append(b);
        await w.seal({ replace: true }); // the old file, if any, is corrupt
        const mw = await openShardWriter(dir, `${versionId}.m${t}`, { expectDev: d.dev });
        await mw.append(copy);
        await mw.seal({ replace: true });
      }
      await this.catalog.completeRepair(group, 'repair', principal, Date.now());
      repaired += group.length;
    }
    return { repaired, dropped };
  }

  /** Whether a manifest copy file holds the signed manifest the head names. */
  private async copyMatches(file: string, head: Head): Promise<boolean> {
    try {
      const copy = await readFile(file);
      const len = copy.readUInt32BE(0);
      if (len > copy.length - 4) return false;
      return hex(blake3Sync(copy.subarray(4, 4 + len), { context: MANIFEST_HASH_CONTEXT })) === head.manifestHash;
    } catch {
      return false;
    }
  }

  private async loadManifest(bucket: string, key: string, head: Head): Promise<{ manifest: Manifest; hashTable: Uint8Array; copy: Uint8Array }> {
    const trusted = (id: Uint8Array) => (Buffer.compare(id, keyId(this.publicKey)) === 0 ? this.publicKey : null);
    for (const d of this.config.disks) {
      const dir = this.objectDir(d.path, bucket, key);
      for (let i = 0; i < this.config.k + this.config.m; i++) {
        const file = join(dir, `${head.versionId}.m${i}`);
        if (!existsSync(file)) continue;
        try {
          const copy = await readFile(file);
          const len = copy.readUInt32BE(0);
          if (len > copy.length - 4) continue;
          const signed = copy.subarray(4, 4 + len);
          if (hex(blake3Sync(signed, { context: MANIFEST_HASH_CONTEXT })) !== head.manifestHash) continue; // stale or forged
          const manifest = verifyManifest(signed, trusted);
          if (manifest.sequence !== head.sequence) continue; // an older copy cannot roll the object back (I4)
          const hashTable = copy.subarray(4 + len);
          if (Buffer.compare(blake3Sync(hashTable, { context: HASH_TABLE_CONTEXT }), manifest.hashTableRoot) !== 0) continue;
          return { manifest, hashTable, copy };
        } catch {
          continue;
        }
      }
    }
    throw new ShardVaultError(ErrorCode.CORRUPT, `no valid manifest copy for ${bucket}/${key} at sequence ${head.sequence}`);
  }
}
