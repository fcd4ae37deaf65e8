/**
 * Pool format versions (DESIGN.md 9, issue 13). A pool as a whole has one format version, in pool.json and the
 * catalog's pool configuration: release 0.1.0 writes and reads only format 3 (and refuses to open anything else,
 * which is what makes a finalized upgrade safe against a downgrade). This release reads 3 and 4 and writes 4
 * only after `shardvault upgrade finalize`; until then it writes nothing the previous release cannot read.
 *
 * Format 4 adds what the previous release cannot verify: manifests, tombstones and receipts signed by any key of
 * the pool's key ring (not only the original pool.key), the signed security floor and the freshness witness as
 * conditions of opening.
 */
import { ErrorCode, ShardVaultError } from '../errors.js';

/** The format of release 0.1.0 (git tag v0.1.0): shard headers, copy logs, disk identities and pool.json. */
export const POOL_FORMAT_PREVIOUS = 3;
/** The newest pool format this release writes once finalized. */
export const POOL_FORMAT = 4;
/** The pool formats this release opens. */
export const POOL_FORMATS_READ: readonly number[] = [POOL_FORMAT_PREVIOUS, POOL_FORMAT];

/** Throws ERR_SV_UPGRADE_PENDING unless the pool may write format `needed` (`what` names the action refused). */
export function requireWriteFormat(writeFormat: number, needed: number, what: string): void {
  if (writeFormat < needed) {
    throw new ShardVaultError(ErrorCode.UPGRADE_PENDING, `${what} needs pool format ${needed}, and this pool still writes format ${writeFormat} so that the previous release can open it: run \`shardvault upgrade finalize\` first`);
  }
}
