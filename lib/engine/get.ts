/**
 * The read path (issue 11: engine/get.ts): head -> the manifest copy it names (verified: hash, signature,
 * sequence, I4) -> the stripes of the range, every block verified and missing or bad ones rebuilt from parity
 * and verified again (lib/engine/stripe-reader.ts, I3) -> bad shards and copies met on the way queued for
 * repair. Also head() (metadata from a verified manifest) and locate() (where a version's pieces are, for
 * tools and tests).
 */
import type { Head, RepairItem } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import { hex, objectId } from '../format/ids.js';
import type { Manifest, SystemHeaders } from '../format/manifest.js';
import { blake3Sync } from '../hash.js';
import { checkSignal, throwIfAborted } from '../abort.js';
import { integer } from '../validate.js';
import { bodiesOf } from './bodies.js';
import type { Engine } from './context.js';
import { etagOf, type StoredChecksum } from './object-meta.js';
import { readBodies } from './stripe-reader.js';

export interface ObjectHead {
  size: number;
  versionId: string;
  sequence: bigint;
  timeMs: number;
  /** Hex BLAKE3 of the object's bytes (of its parts' content hashes for a multipart object). */
  contentHash: string;
  contentType?: string;
  metadata: Record<string, string>;
  /** Hex MD5 of the bytes when the put computed it (or S3's multipart form). */
  etag?: string;
  headers: SystemHeaders;
  /** A multipart object: each part's size, in order. */
  parts?: number[];
  checksum?: StoredChecksum;
}

export interface GetOptions {
  range?: { start: number; end?: number };
  signal?: AbortSignal;
  /** The oldest per-key sequence the caller accepts (a receipt's `sequence`): see readAtLeast. */
  minSequence?: MinSequence;
}

/** A minimum sequence as a caller may hold it: a receipt's decimal string, a bigint, or a safe integer. */
export type MinSequence = bigint | string | number;

/** The largest per-key sequence a caller may ask for (manifests store sequences as u64). */
const SEQUENCE_MAX = (1n << 64n) - 1n;

/** A caller's minimum sequence as a bigint, or undefined when none was given; bad input is a clear error. */
export function minSequenceOf(value: unknown): bigint | undefined {
  if (value === undefined) return undefined;
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) n = BigInt(value);
  else throw new ShardVaultError(ErrorCode.INVALID_ARG_TYPE, `minSequence must be a non-negative integer (a bigint, a safe integer or a decimal string), got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`);
  if (n < 0n || n > SEQUENCE_MAX) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `minSequence must be 0..${SEQUENCE_MAX}, got ${n}`);
  return n;
}

/**
 * Refuses to answer from a head older than the caller's minimum sequence (I4 for a client holding a receipt):
 * ERR_SV_STALE when the key has no head or one with a lower sequence, so a store restored from an older state
 * (and accepted with break-glass) answers with an error rather than with older bytes. A tombstone at or after
 * the minimum is a newer state (the key was deleted since): the caller gets "not found" as usual.
 */
function readAtLeast(bucket: string, key: string, head: Head | undefined, min: bigint | undefined): void {
  if (min === undefined || (head !== undefined && head.sequence >= min)) return;
  throw new ShardVaultError(ErrorCode.STALE, `${bucket}/${key}: the store holds ${head === undefined ? 'no version' : `sequence ${head.sequence}`}, older than the minimum sequence ${min} asked for`);
}

/** Metadata of the latest version, from a verified manifest copy; undefined when absent or deleted. */
export async function headObject(ctx: Engine, bucket: string, key: string, options: { minSequence?: MinSequence } = {}): Promise<ObjectHead | undefined> {
  const min = minSequenceOf(options.minSequence);
  await ctx.checkObjectName(bucket, key);
  const head = await ctx.catalog.getHead(bucket, key);
  readAtLeast(bucket, key, head, min);
  if (head === undefined || head.tombstone) return undefined;
  const { manifest } = await ctx.loadManifest(bucket, key, head);
  return headOf(head, manifest);
}

function headOf(head: Head, manifest: Manifest): ObjectHead {
  return {
    size: manifest.size, versionId: head.versionId, sequence: head.sequence, timeMs: manifest.timeMs, contentHash: hex(manifest.contentHash),
    ...(manifest.contentType !== undefined ? { contentType: manifest.contentType } : {}), metadata: { ...(manifest.metadata ?? {}) }, ...etagOf(manifest),
    headers: { ...(manifest.headers ?? {}) },
    ...(manifest.parts !== undefined ? { parts: manifest.parts.map((p) => p.size) } : {}),
    ...(manifest.checksum !== undefined ? { checksum: { algorithm: manifest.checksum.algorithm, value: Buffer.from(manifest.checksum.digest).toString('base64') } } : {}),
  };
}

/**
 * One version opened for reading: its metadata and a reader of its bytes, from ONE verified manifest copy.
 * The S3 daemon's GET decides the range and the conditions from the head, then reads the same version: with
 * head() then get() it would read and verify the manifest twice (and could see two different versions when a
 * put lands between them).
 */
export interface OpenedObject {
  readonly head: ObjectHead;
  /** The bytes of [start, end) (default: all) of this version, stripe by stripe, verified as readObject's. */
  read(options?: { range?: { start: number; end?: number }; signal?: AbortSignal }): AsyncGenerator<Uint8Array>;
}

/** Opens the latest version of bucket/key; undefined when absent or deleted (minSequence as for get). */
export async function openObject(ctx: Engine, bucket: string, key: string, options: { minSequence?: MinSequence } = {}): Promise<OpenedObject | undefined> {
  const min = minSequenceOf(options.minSequence);
  await ctx.checkObjectName(bucket, key);
  const head = await ctx.catalog.getHead(bucket, key);
  readAtLeast(bucket, key, head, min);
  if (head === undefined || head.tombstone) return undefined;
  const loaded = await ctx.loadManifest(bucket, key, head);
  let used = false;
  return {
    head: headOf(head, loaded.manifest),
    read: (o = {}) => {
      // The copies found bad while opening are reported by the first read only (once, as readObject does).
      const badCopies = used ? [] : loaded.badCopies;
      used = true;
      return readVersion(ctx, bucket, key, head, { ...loaded, badCopies }, o);
    },
  };
}

/**
 * The latest committed bytes of bucket/key, or the range [start, end), stripe by stripe (Vault.get documents
 * the contract). Memory is one stripe at a time.
 */
export async function* readObject(ctx: Engine, bucket: string, key: string, options: GetOptions): AsyncGenerator<Uint8Array> {
  checkSignal(options.signal);
  throwIfAborted(options.signal, 'get');
  const min = minSequenceOf(options.minSequence);
  await ctx.checkObjectName(bucket, key);
  const head = await ctx.catalog.getHead(bucket, key);
  readAtLeast(bucket, key, head, min);
  if (head === undefined || head.tombstone) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no object ${bucket}/${key}`);
  yield* readVersion(ctx, bucket, key, head, await ctx.loadManifest(bucket, key, head), options);
}

/** The bytes of one version whose manifest was loaded and verified (loadManifest) against `head`. */
async function* readVersion(
  ctx: Engine, bucket: string, key: string, head: Head, loaded: { manifest: Manifest; hashTable: Uint8Array; badCopies: number[] },
  options: { range?: { start: number; end?: number }; signal?: AbortSignal },
): AsyncGenerator<Uint8Array> {
  checkSignal(options.signal);
  throwIfAborted(options.signal, 'get');
  const { manifest, hashTable, badCopies } = loaded;
  const { size } = manifest;
  const start = options.range === undefined ? 0 : integer('range.start', options.range.start, 0, size);
  const end = options.range?.end === undefined ? size : integer('range.end', options.range.end, start, size);
  // Bad shards (of the object, or of one of its parts) and bad manifest copies met on the way.
  const bad = new Map<string, RepairItem>();
  const addBad = badItems(bad, bucket, key, head.versionId, manifest);
  for (const shard of badCopies) addBad(shard);
  const report = async () => {
    if (bad.size === 0 || ctx.settings.readOnly) return; // read-only: nothing is queued (status and scrub report what is bad)
    // The read succeeded around them: report the bad shards and copies so repair rewrites them.
    await ctx.queueRepair([...bad.values()], 'read', 'read');
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
  yield* readBodies(ctx.reader, bodiesOf(manifest, hashTable), { bucket, key, start, end, signal: options.signal }, addBad, report);
}

/**
 * The collector of bad pieces one read or scrub meets: a bad manifest copy (`:i`) or shard of a plain object
 * (the same item), or a part's shard (`part:i`), each once, as the repair item that rewrites it.
 */
export function badItems(bad: Map<string, RepairItem>, bucket: string, key: string, versionId: string, manifest: Manifest): (shard: number, part?: number) => void {
  return (shard, part) => bad.set(`${part ?? ''}:${shard}`, {
    bucket, key, versionId, disk: part === undefined ? manifest.placement[shard] : manifest.parts![part].placement[shard], shard, ...(part !== undefined ? { part } : {}),
  });
}

export interface Location {
  versionId: string;
  manifestHash: string;
  shards: Array<{ shard: number; diskId: string; shardFile?: string; copy?: { file: string; offset: number; length: number } }>;
  parts?: Array<{ partId: string; shards: Array<{ shard: number; diskId: string; shardFile: string }> }>;
}

/**
 * Where the pieces of the current version of bucket/key are (tools and tests), as far as each member's store
 * can say (StorePaths: a directory disk names files): per shard, its member, its shard file and where its
 * manifest copy's record is.
 */
export async function locate(ctx: Engine, bucket: string, key: string): Promise<Location | undefined> {
  await ctx.checkObjectName(bucket, key);
  const head = await ctx.catalog.getHead(bucket, key);
  if (head === undefined || head.placement === undefined) return undefined;
  const oid = hex(objectId(bucket, key));
  const pathsOf = (diskId: string) => {
    const d = ctx.member(diskId);
    return d === undefined ? undefined : ctx.storeOf(d).paths;
  };
  return {
    versionId: head.versionId,
    manifestHash: head.manifestHash,
    shards: head.placement.map((diskId, shard) => {
      const paths = pathsOf(diskId);
      const ref = head.copies?.[shard] ?? undefined;
      return {
        shard, diskId,
        ...(paths !== undefined && head.striped === true && head.parts === undefined ? { shardFile: paths.shardFile({ oid, id: head.versionId, shard }) } : {}),
        ...(paths !== undefined && ref !== undefined ? { copy: paths.copyRecord(ref) } : {}),
      };
    }),
    // A multipart object: `shards` are its manifest copies; each part's shard files are here.
    ...(head.parts !== undefined ? {
      parts: head.parts.map((p) => ({
        partId: p.partId,
        shards: p.placement.flatMap((diskId, shard) => {
          const paths = pathsOf(diskId);
          return paths === undefined ? [] : [{ shard, diskId, shardFile: paths.shardFile({ oid, id: p.partId, shard }) }];
        }),
      })),
    } : {}),
  };
}
