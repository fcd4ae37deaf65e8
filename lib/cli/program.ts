/**
 * The `shardvault` program: global flags, the commands (lib/cli/commands/, one file per area), and how a run
 * ends: exit 0, or one error line with its stable code, a hint line and the exit code of lib/cli/errors.ts
 * (commander's usage errors included: exit 2). docs/cli.md documents all of it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError } from 'commander';

import { registerAudit } from './commands/audit.js';
import { registerBuckets } from './commands/buckets.js';
import { registerDisk } from './commands/disk.js';
import { registerInfo } from './commands/info.js';
import { registerInit } from './commands/init.js';
import { registerKeyring } from './commands/keyring.js';
import { registerKeys } from './commands/keys.js';
import { registerMaintenance } from './commands/maintenance.js';
import { registerMetrics } from './commands/metrics.js';
import { registerObjects } from './commands/objects.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerUpgrade } from './commands/upgrade.js';
import { Ctx, DEFAULT_META, markStdoutClosed } from './context.js';
import { describeError, Exit, printError } from './errors.js';

/** This package's version: the nearest package.json named shardvault above this file (dist/lib/cli/ or lib/cli/). */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'shardvault' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: one level up
    }
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('shardvault')
    .description('Erasure-coded, fsync-durable object storage engine')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--json', 'print the result as one JSON document on stdout (errors as JSON on stderr); field names are stable, see docs/cli.md')
    // Settings below are inherited by every command added after them.
    .exitOverride()
    .configureOutput({ outputError: () => undefined }) // usage errors are reported by main(), in the shardvault format
    .showHelpAfterError(false);
  registerInfo(program);
  registerInit(program);
  registerBuckets(program);
  registerObjects(program);
  registerStatus(program);
  registerAudit(program);
  registerMaintenance(program);
  registerDisk(program);
  registerKeys(program);
  registerKeyring(program);
  registerMetrics(program);
  registerUpgrade(program);
  registerServe(program);
  return program;
}

/** The command path named on the command line (for the hint of a usage error raised before any action ran). */
function commandPathOf(program: Command, args: readonly string[]): string {
  const words = args.filter((a) => !a.startsWith('-'));
  const top = program.commands.find((c) => c.name() === words[0]);
  if (top === undefined) return '';
  const sub = top.commands.find((c) => c.name() === words[1]);
  return sub === undefined ? top.name() : `${top.name()} ${sub.name()}`;
}

export async function main(argv: readonly string[]): Promise<void> {
  // `shardvault ls B | head`: the reader went away; what it wanted it has. Not an error.
  // Writes already queued when the pipe broke fail as ERR_STREAM_DESTROYED: the same event.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') markStdoutClosed();
    else throw err;
  });
  const args = argv.slice(2);
  const json = args.includes('--json');
  if (json && args.every((a) => a === '--json' || a === '--version' || a === '-V') && (args.includes('--version') || args.includes('-V'))) {
    process.stdout.write(`${JSON.stringify({ version: packageVersion() })}\n`);
    return;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)) return;
    if (err instanceof CommanderError && err.code === 'commander.help') {
      process.exitCode = Exit.USAGE; // no command given: commander printed the help to stderr
      return;
    }
    const ctx = Ctx.active() ?? new Ctx(json, commandPathOf(program, args), DEFAULT_META);
    const report = describeError(err, ctx.hint);
    printError(report, ctx.json, err);
    process.exitCode = report.exitCode;
  }
}
