// Runbooks that are exercised (issue 13): a runbook in docs/runbooks/ marks each block of commands an operator
// types with an HTML comment `<!-- step: NAME -->` right before a ```sh fence. A runbook's test loads the file,
// breaks a real pool the way the runbook describes, and runs each step's block exactly as written (bash, with
// `shardvault` on PATH as this checkout's dist/lib/cli.js and the runbook's variables such as $META in the
// environment). `assertAllRun()` fails the test when the runbook has a step the test never ran, so a runbook
// edited without its test, or a command that stopped working, fails the suite.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
export const RUNBOOK_DIR = join(ROOT, 'docs', 'runbooks');
const CLI = join(ROOT, 'dist', 'lib', 'cli.js');

/** Sections every runbook has (the issue: invariants involved, signals that show the problem, the commands). */
export const RUNBOOK_SECTIONS = ['## When to use it', '## Invariants', '## Signals', '## Steps'] as const;

export interface StepResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Runbook {
  readonly name: string;
  readonly text: string;
  /** The step names in the order they appear. */
  readonly steps: string[];
  /** The commands of a step, as written in the runbook. */
  commands(step: string): string;
  /**
   * Runs a step's block with bash (`set -eo pipefail`: the first failing command stops it and is its exit
   * status) in `cwd`, with `env` added to the environment. Throws with the output when it fails, unless
   * `allowFailure` (a test showing that a check fails before the fix).
   */
  run(step: string, env: Record<string, string>, options?: { cwd?: string; allowFailure?: boolean; input?: string }): StepResult;
  /** Throws unless every step of the runbook was run at least once. */
  assertAllRun(): void;
}

/** Whether the CLI is built (the runbook tests run the real binary). */
export function cliBuilt(): boolean {
  return existsSync(CLI);
}

let binDir: string | undefined;
/** A directory with a `shardvault` executable that runs this checkout's CLI (made once per test file). */
function shardvaultBin(): string {
  if (binDir !== undefined) return binDir;
  binDir = mkdtempSync(join(tmpdir(), 'sv-runbook-bin-'));
  const exe = join(binDir, 'shardvault');
  writeFileSync(exe, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
  chmodSync(exe, 0o755);
  process.once('exit', () => rmSync(binDir!, { recursive: true, force: true }));
  return binDir;
}

export function parseSteps(text: string): Map<string, string> {
  const steps = new Map<string, string>();
  const re = /<!--\s*step:\s*([a-z0-9-]+)\s*-->\s*\n```sh\n([\s\S]*?)\n```/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (steps.has(m[1])) throw new Error(`step ${m[1]} appears twice`);
    steps.set(m[1], m[2]);
  }
  return steps;
}

export function loadRunbook(file: string): Runbook {
  const path = join(RUNBOOK_DIR, file);
  const text = readFileSync(path, 'utf8');
  const steps = parseSteps(text);
  if (steps.size === 0) throw new Error(`${path} has no <!-- step: NAME --> blocks`);
  const ran = new Set<string>();
  const commands = (step: string): string => {
    const c = steps.get(step);
    if (c === undefined) throw new Error(`${file} has no step ${step} (it has: ${[...steps.keys()].join(', ')})`);
    return c;
  };
  return {
    name: file,
    text,
    steps: [...steps.keys()],
    commands,
    run(step, env, options = {}) {
      const script = `set -eo pipefail\n${commands(step)}\n`;
      const bin = shardvaultBin();
      const r = spawnSync('bash', ['-c', script], {
        cwd: options.cwd ?? ROOT,
        encoding: 'utf8',
        input: options.input,
        maxBuffer: 64 << 20,
        env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      });
      ran.add(step);
      const result = { status: r.status, stdout: r.stdout, stderr: r.stderr };
      if (options.allowFailure !== true && r.status !== 0) {
        throw new Error(`${file} step ${step} failed (exit ${String(r.status)}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      }
      return result;
    },
    assertAllRun() {
      const missed = [...steps.keys()].filter((s) => !ran.has(s));
      if (missed.length > 0) throw new Error(`${file}: steps never run by its test: ${missed.join(', ')}`);
    },
  };
}

/** A scratch directory for one runbook test (removed by the returned cleanup). */
export function scratch(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sv-runbook-${prefix}-`));
  mkdirSync(dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const cleanups: Array<() => void> = [];
/** Removes what `pool` and `track` made (call from afterAll). */
export function cleanupPools(): void {
  for (const c of cleanups.splice(0)) c();
}
/** A scratch directory removed by cleanupPools. */
export function track(s: { dir: string; cleanup: () => void }): { dir: string } {
  cleanups.push(s.cleanup);
  return { dir: s.dir };
}

/** The CLI as a test calls it outside a runbook step (setting up, checking). */
export function cli(args: string[], env: Record<string, string> = {}): StepResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ok(args: string[], env: Record<string, string> = {}): string {
  const r = cli(args, env);
  if (r.status !== 0) throw new Error(`shardvault ${args.join(' ')} failed (${String(r.status)}): ${r.stderr}`);
  return r.stdout;
}

/**
 * A 4+2 pool of six directory disks (host labels h0..h5, two spare directories d6, d7) with bucket `photos`
 * and three objects (empty, small, striped), its freshness witness at `<dir>/witness` (pass `witnessEnv` to
 * commands that open it), made with `initArgs` added to init (e.g. `--format 3`).
 */
export function pool(name: string, initArgs: string[] = []): { dir: string; meta: string; disk: (i: number) => string; objects: Map<string, Buffer>; env: Record<string, string> } {
  const { dir } = track(scratch(name));
  const disk = (i: number) => join(dir, `d${i}`);
  for (let i = 0; i < 8; i++) mkdirSync(disk(i));
  const meta = join(dir, 'meta');
  const env = { SHARDVAULT_WITNESS: join(dir, 'witness') };
  ok(['init', ...Array.from({ length: 6 }, (_, i) => ['--disk', `${disk(i)}:host=h${i}`]).flat(), '--meta', meta, '--block', '65536', '--domain', 'host', ...initArgs], env);
  ok(['mb', 'photos', '--meta', meta], env);
  const objects = new Map<string, Buffer>();
  for (const [key, size] of [['empty', 0], ['small', 1000], ['striped', 600_000]] as const) {
    const body = randomBytes(size);
    writeFileSync(join(dir, 'body'), body);
    ok(['put', 'photos', key, join(dir, 'body'), '--meta', meta], env);
    objects.set(key, body);
  }
  return { dir, meta, disk, objects, env };
}

/** Every object of `objects` reads back exact through the CLI. */
export function expectObjects(meta: string, objects: Map<string, Buffer>, env: Record<string, string> = {}): void {
  for (const [key, body] of objects) {
    const r = spawnSync(process.execPath, [CLI, 'get', 'photos', key, '-', '--meta', meta], { maxBuffer: 64 << 20, env: { ...process.env, ...env } });
    expect(r.status, r.stderr?.toString()).toBe(0);
    expect(Buffer.compare(r.stdout, body), key).toBe(0);
  }
}
