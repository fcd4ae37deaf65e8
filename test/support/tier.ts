// The one switch for test tiers that need something a machine may lack: root, a loop device, a compiler, a
// tool such as the AWS CLI, promtool or qemu, the native addon or a built dist/. On a developer's machine a
// tier with something missing skips and says what is missing. Under SHARDVAULT_CI_REQUIRE_ALL=1 (.ci/run,
// which installs every tier's prerequisites) such a skip would hide a broken tier, so it becomes one failing
// test naming what is missing. Skips for a reason that is not a missing prerequisite (a CPU without a
// vector extension, a kernel not forced) are not tiers and do not go through here.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';

import { native } from '../../lib/native.js';

/** Whether `cmd` is on the PATH (the shell's `command -v`). */
export const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Whether this process runs as root (mounts, loop devices, chattr, tmpfs). */
export const isRoot = () => process.getuid?.() === 0;

/** The build a tier runs against: the native addon and (when named) a compiled dist/ file its children load. */
export function buildMissing(distFile?: string): string[] {
  const dist = join(__dirname, '..', '..', 'dist');
  return [
    native() === null ? 'the native addon' : null,
    distFile === undefined || existsSync(join(dist, distFile)) ? null : `dist/${distFile} (npx tsc -p tsconfig.json)`,
  ].filter((x): x is string => x !== null);
}

/** What the fault sweeps need: gcc for the LD_PRELOAD shim (test/fault/faultshim.c), Linux, and the build. */
export function faultShimMissing(distFile: string): string[] {
  return [have('gcc') ? null : 'gcc', process.platform === 'linux' ? null : 'Linux', ...buildMissing(distFile)].filter((x): x is string => x !== null);
}

/** What a tier does: run, skip with the reason, or fail with it (a skip that CI must not accept). */
export interface TierDecision { action: 'run' | 'skip' | 'fail'; missing: string[]; reason: string }

/**
 * The decision alone, without registering anything: `missing` lists what the tier lacks (falsy entries are
 * things it has, so a list can be written as `[isRoot() ? null : 'root', ...]`).
 */
export function tierDecision(name: string, missing: ReadonlyArray<string | null | undefined | false>, requireAll: boolean): TierDecision {
  const lacking = missing.filter((m): m is string => typeof m === 'string' && m !== '');
  if (lacking.length === 0) return { action: 'run', missing: [], reason: '' };
  return { action: requireAll ? 'fail' : 'skip', missing: lacking, reason: `${name} needs ${lacking.join(', ')}` };
}

export interface Tier {
  /** True when nothing is missing: the tier's tests run. */
  ready: boolean;
  /** What is missing, each entry readable on its own. */
  missing: string[];
  /** '' when ready, else " (skipped: needs ...)" for the title of the skipped describe or it. */
  why: string;
}

/**
 * Decides a tier where it is called (at the top of a test file or inside a describe). When something is
 * missing it registers one test named after what is missing: a skipped one, or under
 * SHARDVAULT_CI_REQUIRE_ALL=1 a failing one. A describe may then simply return when `!t.ready`; other
 * callers guard their tests with `describe.skipIf(!t.ready)` or `it.skipIf(!t.ready)`.
 */
export function tier(name: string, missing: ReadonlyArray<string | null | undefined | false>): Tier {
  const { action, missing: lacking, reason } = tierDecision(name, missing, process.env.SHARDVAULT_CI_REQUIRE_ALL === '1');
  if (action === 'run') return { ready: true, missing: [], why: '' };
  if (action === 'fail') {
    it(`SHARDVAULT_CI_REQUIRE_ALL=1: ${reason}`, () => {
      throw new Error(`${reason}; under SHARDVAULT_CI_REQUIRE_ALL=1 a missing tier is a failure (.ci/run installs it)`);
    });
  } else {
    it.skip(reason, () => undefined);
  }
  return { ready: false, missing: lacking, why: ` (skipped: needs ${lacking.join(', ')})` };
}
