// The previous release (0.1.0, pinned in test/fixtures/previous-release.json, tag v0.1.0 when the clone has it)
// built from git for the tests that run a pool under it (scripts/previous-release.mjs does the build): one build
// per test process, into a temporary directory removed when the process ends; its CLI is run as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// @ts-expect-error -- a plain ES module of this repository's scripts, without type declarations
import { buildRelease, pinnedRelease, unavailableReason } from '../../scripts/previous-release.mjs';

export interface PreviousRelease {
  dir: string;
  cli: string;
  library: string;
  version: string;
  nativeRebuilt: boolean;
  buildMs: number;
}

export interface ReleasePin {
  release: string;
  tag: string;
  commit: string;
  poolFormat: number;
}

export const previousPin: ReleasePin = pinnedRelease();

/** What building the previous release here lacks (a phrase after "needs", for test/support/tier.ts), or undefined. */
export const previousUnavailable: string | undefined = unavailableReason(previousPin);

let built: PreviousRelease | undefined;

/** The previous release, built on first use in this process. */
export function previousRelease(): PreviousRelease {
  if (built !== undefined) return built;
  if (previousUnavailable !== undefined) throw new Error(`release ${previousPin.release} cannot be built here: needs ${previousUnavailable}`);
  const dir = mkdtempSync(join(tmpdir(), `sv-release-${previousPin.release}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const started = performance.now();
  built = { ...(buildRelease(previousPin.commit, dir) as Omit<PreviousRelease, 'buildMs'>), buildMs: performance.now() - started };
  return built;
}

export interface CliRun {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the previous release's CLI with `args` (stdin from `input` when given), in `cwd`. */
export function runPrevious(args: string[], options: { cwd: string; input?: Uint8Array }): Promise<CliRun> {
  const { cli } = previousRelease();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(options.input === undefined ? undefined : Buffer.from(options.input));
  });
}
