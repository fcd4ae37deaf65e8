// The fuzz tier's harness (issue 14). Each target is a parser that takes untrusted bytes: the harness feeds it
// inputs from fast-check — structured mutations of valid encodings (byte flips, cuts, splices, inserted runs)
// and raw random bytes — and checks the three properties every parser must have:
//   1. it never crashes: anything thrown is an Error carrying one of our stable codes (ErrorCode), never a
//      TypeError from inside, a RangeError from a DataView, or a non-Error;
//   2. what it accepts it accepts deterministically (a second parse gives the same result, compared by the
//      target's own `same`), and
//   3. memory stays bounded: RSS after the run is within a fixed budget of RSS before it.
// Runs: FUZZ_RUNS (default 3000 per target: the CI short mode); `npm run fuzz:long` sets 1,000,000 and
// FUZZ_REPORT=file to collect per-target counts, time and RSS (recorded in bench/RESULTS.md). The seed is
// fixed (FUZZ_SEED overrides it) so a CI failure reproduces; the failing input is written to
// test/fuzz-fixtures/<target>-<hash>.bin, and every fixture there is replayed by the regression test first.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

import { ErrorCode } from '../../lib/errors.js';

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const RSS_BUDGET_BYTES = 256 * 1024 * 1024;
const fixtureDir = new URL('../fuzz-fixtures/', import.meta.url).pathname;
const knownCodes = new Set<string>(Object.values(ErrorCode));

export interface FuzzTarget<T> {
  name: string;
  /** Valid encodings to mutate (a few dozen is plenty). */
  seeds: Uint8Array[];
  /** Parse untrusted bytes; return what was accepted, throw a coded error otherwise. */
  parse: (input: Uint8Array) => T;
  /** Two parses of the same input agree (default: deep equality via JSON with bigint support). */
  same?: (a: T, b: T) => boolean;
  /** Largest input to generate (default 4 KiB beyond the largest seed). */
  maxBytes?: number;
  /** Codes this target may throw (default: any ErrorCode). */
  codes?: readonly string[];
}

export interface FuzzStats {
  target: string;
  runs: number;
  accepted: number;
  rejected: Record<string, number>;
  ms: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
}

/** Mutations of valid seeds, plus raw bytes: the input distribution for one target. */
export function inputs(seeds: readonly Uint8Array[], maxBytes: number): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  const mutate = fc.tuple(seed, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 8 }))
    .map(([s, edits]) => {
      let b = Buffer.from(s);
      for (const [pos, byte, kind] of edits) {
        const at = b.length === 0 ? 0 : pos % b.length;
        if (kind === 0 && b.length > 0) b[at] ^= 1 << (byte & 7); // bit flip
        else if (kind === 1 && b.length > 0) b[at] = byte; // byte set
        else if (kind === 2) b = b.subarray(0, at); // cut
        else if (kind === 3) b = Buffer.concat([b.subarray(0, at), Buffer.alloc((byte % 64) + 1, byte), b.subarray(at)]); // insert a run
        else if (b.length >= 4) b.writeUInt32BE([0, 0xffffffff, 0x7fffffff, 1, byte][pos % 5] >>> 0, Math.min(at, b.length - 4)); // a length-shaped word
      }
      return new Uint8Array(b.subarray(0, maxBytes));
    });
  const splice = fc.tuple(seed, seed, fc.nat(), fc.nat()).map(([a, b, i, j]) =>
    new Uint8Array(Buffer.concat([a.subarray(0, a.length ? i % a.length : 0), b.subarray(b.length ? j % b.length : 0)]).subarray(0, maxBytes)));
  const raw = fc.uint8Array({ maxLength: Math.min(maxBytes, 512) });
  return fc.oneof({ arbitrary: mutate, weight: 6 }, { arbitrary: splice, weight: 2 }, { arbitrary: raw, weight: 2 }, { arbitrary: seed, weight: 1 });
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));
}

/** Why an outcome is wrong, or undefined when it is fine. */
function check<T>(t: FuzzTarget<T>, input: Uint8Array): { code?: string; problem?: string } {
  let first: T;
  try {
    first = t.parse(input);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (!(err instanceof Error)) return { problem: `threw a non-Error: ${String(err)}` };
    if (typeof code !== 'string' || !knownCodes.has(code)) return { problem: `threw without a stable code: ${err.name}: ${err.message}` };
    if (t.codes && !t.codes.includes(code)) return { problem: `threw ${code}, not one of ${t.codes.join(', ')}: ${err.message}` };
    return { code };
  }
  let second: T;
  try {
    second = t.parse(input);
  } catch (err) {
    return { problem: `accepted once, then threw: ${(err as Error).message}` };
  }
  if (!(t.same ?? ((a, b) => json(a) === json(b)))(first, second)) return { problem: 'two parses of the same input differ' };
  return {};
}

function saveFixture(name: string, input: Uint8Array): string {
  mkdirSync(fixtureDir, { recursive: true });
  const file = join(fixtureDir, `${name}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`);
  writeFileSync(file, input);
  return file;
}

/** Replays every saved crashing input of this target; returns how many there were. */
export function replayFixtures<T>(t: FuzzTarget<T>): number {
  if (!existsSync(fixtureDir)) return 0;
  const files = readdirSync(fixtureDir).filter((f) => f.startsWith(`${t.name}-`) && f.endsWith('.bin'));
  for (const f of files) {
    const r = check(t, new Uint8Array(readFileSync(join(fixtureDir, f))));
    if (r.problem) throw new Error(`${t.name}: regression fixture ${f}: ${r.problem}`);
  }
  return files.length;
}

/** Runs one target; throws (with the saved fixture's path) on the first bad outcome. */
export function fuzz<T>(t: FuzzTarget<T>, runs = FUZZ_RUNS, options: { saveFailures?: boolean } = {}): FuzzStats {
  const maxBytes = t.maxBytes ?? Math.max(...t.seeds.map((s) => s.length)) + 4096;
  const stats: FuzzStats = { target: t.name, runs, accepted: 0, rejected: {}, ms: 0, rssBeforeMiB: 0, rssAfterMiB: 0 };
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  const result = fc.check(fc.property(inputs(t.seeds, maxBytes), (input) => {
    const r = check(t, input);
    if (r.problem) throw new Error(`${t.name}: ${r.problem}${options.saveFailures === false ? '' : ` (input saved to ${saveFixture(t.name, input)})`}`);
    if (r.code) stats.rejected[r.code] = (stats.rejected[r.code] ?? 0) + 1;
    else stats.accepted++;
  }), { seed: FUZZ_SEED, numRuns: runs, endOnFailure: true });
  if (result.failed) throw new Error(`${(result.errorInstance as Error | undefined)?.message ?? `${t.name}: property failed`} (seed ${FUZZ_SEED}, after ${result.numRuns} inputs)`);
  stats.ms = Math.round(performance.now() - started);
  gc?.();
  const rssAfter = process.memoryUsage.rss();
  stats.rssBeforeMiB = Math.round(rssBefore / 2 ** 20);
  stats.rssAfterMiB = Math.round(rssAfter / 2 ** 20);
  if (rssAfter - rssBefore > RSS_BUDGET_BYTES) throw new Error(`${t.name}: RSS grew by ${(rssAfter - rssBefore) / 2 ** 20} MiB over ${runs} inputs`);
  if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify(stats)}\n`);
  return stats;
}
