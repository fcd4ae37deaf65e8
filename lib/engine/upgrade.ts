/**
 * Two-phase format upgrades (DESIGN.md 9, issue 13; docs/upgrades.md). A pool at the previous format keeps
 * writing it after this release opened it, so the previous release can still open it and read everything (the
 * rollback path); `finalizeUpgrade` then moves the pool to this release's format in one configuration commit
 * (catalog with its audit record, then pool.json), after which the previous release refuses to open it (its
 * pool.json check) instead of reading what it cannot verify. Features that need the new format ask
 * lib/format/versions.ts requireWriteFormat with the pool's `formatVersion`.
 */
import { POOL_FORMAT, POOL_FORMATS_READ, PREVIOUS_RELEASE, RELEASE, minReleaseOf } from '../format/versions.js';
import type { Engine } from './context.js';

export interface UpgradeStatus {
  /** The format the pool writes (its `formatVersion`). */
  formatVersion: number;
  /** The pool formats this release opens. */
  formatsRead: number[];
  /** The format a finalize moves the pool to (this release's). */
  latestFormat: number;
  /** The oldest release that may open the pool. */
  minRelease: string;
  /** The pool still writes an older format than this release's: `upgrade finalize` would move it. */
  finalizePending: boolean;
  /** This release and the previous one (the one a pool that is not finalized stays open to). */
  release: string;
  previousRelease: string;
}

export function upgradeStatus(ctx: Engine): UpgradeStatus {
  const { formatVersion, minRelease } = ctx.config;
  return {
    formatVersion,
    formatsRead: [...POOL_FORMATS_READ],
    latestFormat: POOL_FORMAT,
    minRelease: minRelease ?? minReleaseOf(formatVersion),
    finalizePending: formatVersion < POOL_FORMAT,
    release: RELEASE,
    previousRelease: PREVIOUS_RELEASE,
  };
}

/**
 * Moves the pool to this release's format: idempotent (a finalized pool is left as it is, and no audit record
 * is written). `changed` says whether this call did it; `from` is the format the pool wrote before.
 */
export async function finalizeUpgrade(ctx: Engine, principal: string): Promise<{ changed: boolean; from: number; formatVersion: number; minRelease: string }> {
  ctx.writable('upgrade finalize');
  const from = ctx.config.formatVersion;
  if (from >= POOL_FORMAT) return { changed: false, from, formatVersion: from, minRelease: upgradeStatus(ctx).minRelease };
  const minRelease = minReleaseOf(POOL_FORMAT);
  await ctx.commitConfig({ ...ctx.config, formatVersion: POOL_FORMAT, minRelease }, 'upgrade.finalize', principal, `pool format ${from} -> ${POOL_FORMAT}, minRelease ${minRelease} (release ${RELEASE})`);
  return { changed: true, from, formatVersion: POOL_FORMAT, minRelease };
}
