/**
 * What every command shares: the global flags (`--json`), where its output goes (one JSON document, or human
 * lines, on stdout; progress and errors on stderr), the pool it opens (`withVault`: `--meta DIR`, or
 * `--data DIR` for a daemon's data directory, whose pool metadata is DIR/meta), the daemon it talks to instead
 * (`--endpoint URL`, `remote()`), and Ctrl-C handling (`interruptible`: the first SIGINT aborts the work
 * through an AbortSignal, a second one exits at once).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

import type { Command } from 'commander';

import { ErrorCode } from '../errors.js';
import { Vault } from '../vault.js';
import { AdminClient, adminEndpoint } from './admin-client.js';
import { CliCode, CliError, Exit, type HintContext } from './errors.js';
import { ProgressBar } from './progress.js';

export const DEFAULT_META = './data/meta';
export const metaOption = ['--meta <dir>', 'pool metadata directory (catalog, key, pool.json)', DEFAULT_META] as const;
export const progressOption = ['--progress', 'draw a progress bar on stderr even when it is not a terminal'] as const;
/** `shardvault serve --data DIR` keeps the pool metadata in DIR/meta (and its disks beside it). */
export const dataOption = ['--data <dir>', "a daemon's data directory: the pool metadata is DIR/meta (instead of --meta)"] as const;
export const endpointOption = ['--endpoint <url>', 'talk to the running daemon at URL (admin API, SigV4 with SHARDVAULT_ROOT_ACCESS_KEY / SHARDVAULT_ROOT_SECRET_KEY)'] as const;
export const DEFAULT_REGION = 'us-east-1';
/** Commands that can ask a running daemon instead (`--endpoint`). */
const REMOTE_COMMANDS = new Set(['status', 'scrub', 'repair', 'audit', 'audit verify', 'audit tail', 'keys create', 'keys list', 'keys disable', 'keys enable', 'keys delete', 'keys policy', 'disk add', 'disk drain', 'disk replace', 'disk rm', 'config show', 'config set', 'config diff', 'config floor', 'config floor raise', 'config floor lower']);
export const regionOption = ['--region <region>', `the daemon's SigV4 region (default $SHARDVAULT_REGION or ${DEFAULT_REGION})`] as const;

/** Set once stdout's reader went away (`shardvault ls | head`): later output is dropped, the command ends quietly. */
let stdoutClosed = false;
export function markStdoutClosed(): void {
  stdoutClosed = true;
}
export function isStdoutClosed(): boolean {
  return stdoutClosed;
}

const jsonText = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

let active: Ctx | undefined;

/** How a command opens its pool beyond --meta: the freshness witness files and a break-glass acceptance. */
export interface OpenChoices {
  witness?: string[];
  breakGlass?: { reason: string; principal: string };
}

/**
 * The global `--witness PATH` (repeatable; else `$SHARDVAULT_WITNESS`, paths separated by the platform's path
 * delimiter) and `--break-glass --reason TEXT` (accept a pool whose catalog is behind its freshness witness;
 * docs/witness.md, docs/runbooks/rollback-alarm.md).
 */
function openChoicesOf(o: { witness?: string[]; breakGlass?: boolean; reason?: string }, command: string): OpenChoices {
  const fromEnv = process.env.SHARDVAULT_WITNESS?.split(delimiter).filter((p) => p !== '');
  const witness = o.witness ?? (fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : undefined);
  // `keyring revoke --reason TEXT` is the one other use of --reason.
  if (o.reason !== undefined && o.breakGlass !== true && command !== 'keyring revoke') throw new CliError(CliCode.USAGE, '--reason goes with --break-glass: it says why an override is accepted');
  if (o.breakGlass === true && (o.reason === undefined || o.reason.trim() === '')) throw new CliError(CliCode.USAGE, '--break-glass needs --reason TEXT: the reason is written to the audit log');
  return { ...(witness !== undefined ? { witness } : {}), ...(o.breakGlass === true ? { breakGlass: { reason: o.reason!, principal: 'cli' } } : {}) };
}

export class Ctx {
  /** The hint context of the running command, filled in as the command learns its names. */
  readonly hint: HintContext;
  /** The witness and break-glass choices of the command line (withVault and serve pass them to the open). */
  open: OpenChoices = {};

  constructor(
    readonly json: boolean,
    readonly command: string,
    readonly meta: string = DEFAULT_META,
    /** `--endpoint URL`: the command talks to that daemon instead of opening the pool. */
    readonly endpoint?: string,
    readonly region: string = DEFAULT_REGION,
  ) {
    this.hint = { command, metaFlag: endpoint !== undefined ? ` --endpoint ${endpoint}` : meta === DEFAULT_META ? '' : ` --meta ${meta}` };
  }

  /** The context of a command as commander parsed it (global flags merged in). */
  static of(cmd: Command): Ctx {
    const o = cmd.optsWithGlobals<{ json?: boolean; meta?: string; data?: string; endpoint?: string; region?: string; witness?: string[]; breakGlass?: boolean; reason?: string }>();
    const path: string[] = [];
    for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) path.unshift(c.name());
    const command = path.join(' ');
    if (o.data !== undefined && cmd.getOptionValueSource('meta') === 'cli') {
      throw new CliError(CliCode.USAGE, '--data and --meta name the pool twice: give one (--data DIR means --meta DIR/meta)');
    }
    if (o.endpoint !== undefined && (o.data !== undefined || cmd.getOptionValueSource('meta') === 'cli')) {
      throw new CliError(CliCode.USAGE, '--endpoint talks to a daemon; --data/--meta open a pool directly: give one of them');
    }
    const meta = o.data !== undefined ? join(o.data, 'meta') : o.meta;
    const region = o.region ?? process.env.SHARDVAULT_REGION ?? DEFAULT_REGION;
    active = new Ctx(o.json === true, command, meta, o.endpoint, region);
    active.open = openChoicesOf(o, command);
    return active;
  }

  /** Where the command works: the daemon's URL, or the pool's meta directory. */
  get where(): string {
    return this.endpoint ?? this.meta;
  }

  /** The admin client of `--endpoint`, or undefined when the command works on the pool directly. */
  remote(): AdminClient | undefined {
    return this.endpoint === undefined ? undefined : new AdminClient(adminEndpoint(this.endpoint, this.region));
  }

  /** The context of the command running now (for the error report), if it got that far. */
  static active(): Ctx | undefined {
    return active;
  }

  /** `shardvault ARGS` as a command to suggest, with --meta when this pool is not the default one. */
  suggest(args: string): string {
    return `shardvault ${args}${this.hint.metaFlag}`;
  }

  /** The command's result: `value` as one JSON line with --json, else the human lines. */
  result(value: unknown, human: string | string[]): void {
    if (this.json) this.write(`${jsonText(value)}\n`);
    else for (const line of Array.isArray(human) ? human : [human]) this.write(`${line}\n`);
  }

  /** Raw text on stdout (dropped once the reader went away). */
  write(text: string): void {
    if (!stdoutClosed) process.stdout.write(text);
  }

  /** A diagnostic line on stderr (human mode only: with --json, everything a script needs is in the result). */
  note(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`);
  }

  /** Progress bars draw with --progress, or (`auto`) when stderr is a terminal and --json is not given. */
  bar(label: string, total: number | undefined, o: { progress?: boolean }, unit: 'bytes' | 'items' = 'bytes', auto = true): ProgressBar {
    const enabled = o.progress === true || (auto && !this.json && process.stderr.isTTY === true);
    return new ProgressBar(label, total, enabled, unit);
  }
}

/** The bootstrap config of the pool (pool.json): k, m and the failure-domain level, which never change. */
export interface PoolFacts {
  k: number;
  m: number;
  failureDomain: string;
}

/**
 * Reads pool.json for what status() does not report (k, m, failure-domain level). A workaround until the
 * library's status() carries them; these fields are fixed at init, so the bootstrap copy is right.
 */
export async function poolFacts(meta: string): Promise<PoolFacts | undefined> {
  try {
    const p = JSON.parse(await readFile(join(meta, 'pool.json'), 'utf8')) as Partial<PoolFacts>;
    if (typeof p.k === 'number' && typeof p.m === 'number' && typeof p.failureDomain === 'string') return { k: p.k, m: p.m, failureDomain: p.failureDomain };
  } catch {
    // no pool.json: the caller shows what it has
  }
  return undefined;
}

/** Opens the pool at ctx.meta, runs `fn`, closes the pool whatever happens. */
/**
 * Opens the pool for one command. `readOnly`: commands that only read (ls, get, buckets, status, audit) open
 * without the pool lock, so they work in a second shell while a daemon or a long repair holds the pool; with
 * --break-glass they open read-write (accepting an older state is audited and re-anchors the witness). An
 * unanchored or overridden open is a process warning on stderr (lib/security/witness.ts).
 */
export async function withVault<T>(ctx: Ctx, fn: (v: Vault) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  if (!existsSync(join(ctx.meta, 'pool.json'))) {
    throw new CliError(
      ErrorCode.NOT_FOUND,
      `no pool in ${ctx.meta} (no pool.json)`,
      `pass the pool's metadata directory with --meta DIR, or create a pool: \`shardvault init --disk PATH --disk PATH ... --meta ${ctx.meta}\``,
    );
  }
  const readOnly = options.readOnly === true && ctx.open.breakGlass === undefined;
  const vault = await Vault.open(ctx.meta, { ...(readOnly ? { readOnly: true } : { configSource: { name: 'cli' } }), ...ctx.open }).catch((err: unknown) => {
    // A running daemon holds the pool: say how to reach it rather than only "wait".
    if ((err as { code?: string }).code === ErrorCode.POOL_BUSY && REMOTE_COMMANDS.has(ctx.command)) {
      throw new CliError(ErrorCode.POOL_BUSY, (err as Error).message, `if \`shardvault serve\` holds it, ask the daemon: \`shardvault ${ctx.command} --endpoint URL\` (with SHARDVAULT_ROOT_ACCESS_KEY / SHARDVAULT_ROOT_SECRET_KEY set)`);
    }
    throw err;
  });
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

/**
 * Ctrl-C for long work: the first SIGINT prints what happens (`after`: what is kept) and aborts `signal` (the work stops at its next
 * check and cleans up; the command then fails with ERR_SV_ABORTED, exit 130); a second SIGINT exits at once.
 */
export function interruptible(what: string, after: string, bar?: () => ProgressBar | undefined): { signal: AbortSignal; interrupted: () => boolean; dispose: () => void } {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) {
      process.stderr.write('shardvault: second interrupt: exiting now\n');
      process.exit(Exit.INTERRUPTED);
    }
    bar?.()?.interrupt();
    process.stderr.write(`shardvault: interrupted: stopping ${what} cleanly, ${after} (Ctrl-C again to exit at once)\n`);
    ac.abort(new CliError(ErrorCode.ABORTED, `${what} interrupted`));
  };
  process.on('SIGINT', onSignal);
  return { signal: ac.signal, interrupted: () => ac.signal.aborted, dispose: () => process.off('SIGINT', onSignal) };
}
