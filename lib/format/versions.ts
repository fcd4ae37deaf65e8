/**
 * Pool format versions (DESIGN.md 9, issue 13; docs/formats.md has the table of every structure's version). A
 * pool as a whole has one format version, in pool.json and the catalog's pool configuration (`formatVersion`,
 * the format the pool writes), and the oldest release that may open it (`minRelease`). Release 0.1.0 writes and
 * reads only format 3 (and refuses to open anything else, which is what makes a finalized upgrade safe against
 * a downgrade). This release reads 3 and 4. A pool it makes starts at 4; a pool at 3 stays 3, and this release
 * writes nothing there the previous release cannot read, until `shardvault upgrade finalize` (two-phase, like a
 * feature-compatibility version: docs/upgrades.md).
 *
 * Format 4 adds what the previous release cannot verify: manifests, tombstones and receipts signed by any key of
 * the pool's key ring (not only the original pool.key), the signed security floor and the freshness witness as
 * conditions of opening. Shard headers, copy-log records and disk identities keep their own version 3
 * (lib/format/shard-header.ts FORMAT_VERSION): their bytes did not change, so they are not the pool's format.
 */
import { ErrorCode, ShardVaultError } from '../errors.js';

/** The format of release 0.1.0 (git tag v0.1.0): the one its pool.json check accepts. */
export const POOL_FORMAT_PREVIOUS = 3;
/** The newest pool format this release writes: new pools start here, finalize moves a pool at 3 here. */
export const POOL_FORMAT = 4;
/** The pool formats this release opens. */
export const POOL_FORMATS_READ: readonly number[] = [POOL_FORMAT_PREVIOUS, POOL_FORMAT];

/** This release (package.json's version; a test keeps them equal, so the engine need not read package.json). */
export const RELEASE = '0.2.0';
/** The previous release, the one a pool at POOL_FORMAT_PREVIOUS stays open to (test/fixtures/previous-release.json pins its commit). */
export const PREVIOUS_RELEASE = '0.1.0';

/** The oldest release that opens a pool of each format this release writes (what `minRelease` records). */
const MIN_RELEASE_OF: { readonly [format: number]: string } = { [POOL_FORMAT_PREVIOUS]: PREVIOUS_RELEASE, [POOL_FORMAT]: RELEASE };

/** The oldest release that opens a pool of `format` (one this release reads). */
export function minReleaseOf(format: number): string {
  const release = MIN_RELEASE_OF[format];
  if (release === undefined) throw formatError(format);
  return release;
}

/** Compares two `major.minor.patch` release numbers (negative, zero, positive as a sort comparator). */
export function compareReleases(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

const RELEASE_FORMAT = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/;

function formatError(format: unknown, where = 'the pool'): ShardVaultError {
  const shown = typeof format === 'number' ? String(format) : format === undefined ? 'missing' : JSON.stringify(format);
  return new ShardVaultError(ErrorCode.FORMAT_VERSION, `${where} has format version ${shown}; release ${RELEASE} reads pool formats ${POOL_FORMATS_READ.join(' and ')}`);
}

/**
 * Checks the format fields of a pool configuration (pool.json or the catalog's copy, named by `where`) before
 * anything of the pool is opened or written: `formatVersion` must be one this release reads, and `minRelease`,
 * when recorded (pools made by 0.1.0 have none), must be well formed and not newer than this release.
 * ERR_SV_FORMAT_VERSION names the pool's version and the versions this release reads.
 */
export function checkPoolFormat(config: { formatVersion?: unknown; minRelease?: unknown }, where: string): void {
  const format = config.formatVersion;
  if (typeof format !== 'number' || !POOL_FORMATS_READ.includes(format)) throw formatError(format, where);
  const min = config.minRelease;
  if (min === undefined) return;
  if (typeof min !== 'string' || !RELEASE_FORMAT.test(min)) {
    throw new ShardVaultError(ErrorCode.FORMAT_VERSION, `${where} records minRelease ${JSON.stringify(min)}, which is not a release number like ${RELEASE}`);
  }
  if (compareReleases(min, RELEASE) > 0) {
    throw new ShardVaultError(ErrorCode.FORMAT_VERSION, `${where} (format version ${format}) needs release ${min} or newer; this is release ${RELEASE}, which reads pool formats ${POOL_FORMATS_READ.join(' and ')}`);
  }
}

/** Throws ERR_SV_UPGRADE_PENDING unless the pool may write format `needed` (`what` names the action refused). */
export function requireWriteFormat(writeFormat: number, needed: number, what: string): void {
  if (writeFormat < needed) {
    throw new ShardVaultError(ErrorCode.UPGRADE_PENDING, `${what} needs pool format ${needed}, and this pool still writes format ${writeFormat} so that the previous release can open it: run \`shardvault upgrade finalize\` first`);
  }
}
