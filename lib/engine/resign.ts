/**
 * Re-signing after a key revocation (issue 13: `repair --resign`, docs/keyring.md). Every current head
 * (tombstones too) whose manifest is signed by a revoked key gets that same manifest signed by the active key:
 * the catalog's head names the old manifest's hash, and the catalog's hash-chained records vouch for the head,
 * so the bytes are the pool's own even though their signer is no longer trusted. The new copy goes to every
 * member of the placement, then the head is re-pointed at it by compare-and-set with a `manifest.resign` audit
 * record. A copy signed by a revoked key whose hash no head names (a forgery made with the stolen key) never
 * matches and is never re-signed; it stays refused. Superseded versions are not re-signed: no read reaches them
 * (they wait for gc).
 */
import type { Head } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import { hex } from '../format/ids.js';
import type { Manifest } from '../format/manifest.js';
import { checkSignal, throwIfAborted } from '../abort.js';
import { RESIGN_QUEUE, type Engine } from './context.js';

export interface ResignResult {
  /** Heads whose manifest was re-signed by the active key. */
  resigned: number;
  /** Heads signed by a revoked key that could not be re-signed now (no copy readable, too few members, a
   *  concurrent write): named in `errors`, still refused on read. */
  failed: number;
  errors: Array<{ bucket: string; key: string; code: string; message: string }>;
}

export async function resign(ctx: Engine, options: { principal?: string; signal?: AbortSignal } = {}): Promise<ResignResult> {
  ctx.writable('repair --resign');
  const principal = options.principal ?? 'repair';
  checkSignal(options.signal);
  const result: ResignResult = { resigned: 0, failed: 0, errors: [] };
  for await (const { bucket, key, head } of ctx.catalog.heads({ tombstones: true })) {
    throwIfAborted(options.signal, 'repair --resign');
    const release = await ctx.keyLock.acquire(bucket, key);
    try {
      const current = await ctx.catalog.getHead(bucket, key);
      if (current === undefined || current.versionId !== head.versionId) continue; // overwritten meanwhile: signed by the active key
      const found = await revokedManifest(ctx, current);
      if (found === undefined) continue;
      await resignHead(ctx, bucket, key, current, found.manifest, found.hashTable, principal);
      result.resigned++;
    } catch (err) {
      result.failed++;
      result.errors.push({ bucket, key, code: (err as { code?: string }).code ?? 'ERR_SV_IO', message: (err as Error).message });
    } finally {
      release();
    }
  }
  // The pass went over every head, so the queue of refused reads is worked off; what could not be re-signed
  // is in `errors`, and its next refused read queues it again.
  await ctx.catalog.setMeta(RESIGN_QUEUE, undefined);
  return result;
}

/**
 * The head's own manifest when its copies are signed by a revoked key (read with the revoked key accepted,
 * and only where the hash is the head's); undefined when a trusted key signed it. Throws when the head is
 * revoked-signed but no copy of it can be read now.
 */
async function revokedManifest(ctx: Engine, head: Head): Promise<{ manifest: Manifest; hashTable: Uint8Array } | undefined> {
  const revoked = new Set<string>();
  let unreadable = 0;
  for (const [shard, diskId] of (head.placement ?? []).entries()) {
    if (ctx.readable(diskId) === undefined) continue;
    if ((await ctx.readCopy(diskId, head.copies?.[shard], head, revoked)) !== undefined) return undefined; // a trusted signer
    if (revoked.size > 0) {
      const loaded = await ctx.readCopy(diskId, head.copies?.[shard], head, undefined, true);
      if (loaded !== undefined) return loaded;
    }
    unreadable++;
  }
  if (revoked.size === 0) return undefined; // no copy is readable at all: repair's business, not a signer's
  throw new ShardVaultError(ErrorCode.CORRUPT, `no readable manifest copy of ${head.versionId} to re-sign (${unreadable} tried)`);
}

async function resignHead(ctx: Engine, bucket: string, key: string, head: Head, manifest: Manifest, hashTable: Uint8Array, principal: string): Promise<void> {
  const oldSigner = hex(manifest.signerKeyId);
  const { manifestHash, copy } = ctx.sign(manifest, hashTable);
  const placement = head.placement ?? [];
  const refs = await Promise.all(placement.map((id) => ctx.writeCopy(id, copy)));
  try {
    const sealed = refs.filter((r) => r !== undefined).length;
    if (sealed < ctx.config.writeQuorum) {
      throw new ShardVaultError(ErrorCode.IO, `only ${sealed} of ${placement.length} members took the re-signed manifest, write quorum is ${ctx.config.writeQuorum}`);
    }
    await ctx.catalog.replaceManifest(bucket, key, { versionId: head.versionId, manifestHash: head.manifestHash, copies: head.copies ?? null },
      { ...head, manifestHash, copies: refs.map((r) => r ?? null) }, [],
      { action: 'manifest.resign', principal, timeMs: Date.now(), detail: `signer ${oldSigner} -> ${hex(ctx.keyId)}, manifest ${head.manifestHash} -> ${manifestHash}` });
    const missing = placement.flatMap((disk, shard) => (refs[shard] !== undefined ? [] : [{ bucket, key, versionId: head.versionId, disk, shard }]));
    await ctx.queueRepair(missing, principal, 'repair');
  } finally {
    ctx.unpin(placement, refs);
  }
}
