/**
 * How a failed command ends: one line `shardvault: CODE: message`, one line `hint: what to do next`, and an
 * exit code a script can branch on (docs/cli.md has the table). Every ErrorCode has an exit code and a hint:
 * both maps are typed over all codes, so adding a code to lib/errors.ts without them is a type error here.
 */
import { CommanderError } from 'commander';

import { ErrorCode, type ErrorCodeValue } from '../errors.js';

/** Exit codes (stable: scripts branch on them). */
export const Exit = {
  OK: 0,
  /** Anything not covered below (the pool refused the operation in its current state, an internal error). */
  GENERIC: 1,
  /** Bad command line or invalid input (unknown option, malformed --disk, bad name or number). */
  USAGE: 2,
  /** No such pool, bucket, object, disk or file. */
  NOT_FOUND: 3,
  /** The pool is open in another process, or another writer won a race: retry later. */
  BUSY: 4,
  /** A disk or file system call failed, a disk is not the one expected, or ran out of space. */
  IO: 5,
  /** Data or metadata failed verification, or too few good shards are left to rebuild it. */
  INTEGRITY: 6,
  /** Stopped by SIGINT (Ctrl-C) or another abort, cleanly (128 + SIGINT, as shells report it). */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** Codes only the CLI raises (the library never throws them). */
export const CliCode = {
  /** The command line is wrong: unknown command or option, missing argument, malformed value. */
  USAGE: 'ERR_SV_USAGE',
  /** An error without a stable code reached the CLI: a bug (SHARDVAULT_DEBUG=1 prints its stack). */
  INTERNAL: 'ERR_SV_INTERNAL',
  /** `--endpoint` without admin credentials (SHARDVAULT_ROOT_ACCESS_KEY / SHARDVAULT_ROOT_SECRET_KEY). */
  CREDENTIALS: 'ERR_SV_CREDENTIALS',
  /** The daemon refused the credentials (unknown or disabled key, bad signature, not an admin, clock skew). */
  ACCESS_DENIED: 'ERR_SV_ACCESS_DENIED',
  /** The daemon at `--endpoint` did not answer (refused, reset, timed out). */
  UNREACHABLE: 'ERR_SV_UNREACHABLE',
  /** The daemon answered with an error the CLI has no code of its own for (its code is in the message). */
  REMOTE: 'ERR_SV_REMOTE',
} as const;
export type CliCodeValue = (typeof CliCode)[keyof typeof CliCode];

/** Exit code of every library error code. */
export const EXIT_CODE_OF: { readonly [C in ErrorCodeValue]: ExitCode } = {
  [ErrorCode.INVALID_ARG_TYPE]: Exit.USAGE,
  [ErrorCode.OUT_OF_RANGE]: Exit.USAGE,
  [ErrorCode.UNKNOWN_OPTION]: Exit.USAGE,
  [ErrorCode.SHARD_SIZE_MISMATCH]: Exit.USAGE,
  [ErrorCode.SHARD_COUNT]: Exit.USAGE,
  [ErrorCode.SHARD_OVERLAP]: Exit.USAGE,
  [ErrorCode.TOO_FEW_SHARDS]: Exit.INTEGRITY,
  [ErrorCode.BAD_TARGETS]: Exit.USAGE,
  [ErrorCode.KERNEL_UNAVAILABLE]: Exit.GENERIC,
  [ErrorCode.NATIVE_UNAVAILABLE]: Exit.GENERIC,
  [ErrorCode.BUFFER_BUSY]: Exit.GENERIC,
  [ErrorCode.ABORTED]: Exit.INTERRUPTED,
  [ErrorCode.IO]: Exit.IO,
  [ErrorCode.CORRUPT]: Exit.INTEGRITY,
  [ErrorCode.FSYNC_FAILED]: Exit.IO,
  [ErrorCode.DISK_IDENTITY]: Exit.IO,
  [ErrorCode.SHORT_READ]: Exit.INTEGRITY,
  [ErrorCode.MANIFEST_FORMAT]: Exit.INTEGRITY,
  [ErrorCode.MANIFEST_SIGNATURE]: Exit.INTEGRITY,
  [ErrorCode.NOT_FOUND]: Exit.NOT_FOUND,
  [ErrorCode.CONFLICT]: Exit.BUSY,
  [ErrorCode.PLACEMENT]: Exit.GENERIC,
  [ErrorCode.WRITER_STATE]: Exit.GENERIC,
  [ErrorCode.NO_SUCH_BUCKET]: Exit.NOT_FOUND,
  [ErrorCode.POOL_BUSY]: Exit.BUSY,
  [ErrorCode.BUCKET_EXISTS]: Exit.GENERIC,
  [ErrorCode.BUCKET_NOT_EMPTY]: Exit.GENERIC,
  [ErrorCode.INVALID_BUCKET_NAME]: Exit.USAGE,
  [ErrorCode.READ_ONLY]: Exit.GENERIC,
  [ErrorCode.INVALID_TOKEN]: Exit.USAGE,
  [ErrorCode.BAD_DIGEST]: Exit.INTEGRITY,
  [ErrorCode.METADATA_TOO_LARGE]: Exit.USAGE,
  [ErrorCode.NO_SUCH_DISK]: Exit.NOT_FOUND,
  [ErrorCode.NO_SPACE]: Exit.IO,
  [ErrorCode.CATALOG_FAILED]: Exit.IO,
  [ErrorCode.PRECONDITION_FAILED]: Exit.BUSY,
  [ErrorCode.NO_SUCH_UPLOAD]: Exit.NOT_FOUND,
  [ErrorCode.INVALID_PART]: Exit.USAGE,
  [ErrorCode.INVALID_PART_ORDER]: Exit.USAGE,
  [ErrorCode.ENTITY_TOO_SMALL]: Exit.USAGE,
  [ErrorCode.AUTH]: Exit.USAGE,
  [ErrorCode.KEY_REVOKED]: Exit.INTEGRITY,
  [ErrorCode.FLOOR]: Exit.USAGE,
  [ErrorCode.ROLLBACK]: Exit.INTEGRITY,
  [ErrorCode.STALE]: Exit.INTEGRITY,
  [ErrorCode.FORMAT_VERSION]: Exit.GENERIC,
  [ErrorCode.UPGRADE_PENDING]: Exit.GENERIC,
};

const CLI_EXIT_CODE_OF: { readonly [C in CliCodeValue]: ExitCode } = {
  [CliCode.USAGE]: Exit.USAGE,
  [CliCode.INTERNAL]: Exit.GENERIC,
  [CliCode.CREDENTIALS]: Exit.USAGE,
  [CliCode.ACCESS_DENIED]: Exit.USAGE,
  [CliCode.UNREACHABLE]: Exit.IO,
  [CliCode.REMOTE]: Exit.GENERIC,
};

/** What a hint may mention: the command that failed and the names it was given. */
export interface HintContext {
  /** The command path, e.g. `put` or `disk replace`. */
  command: string;
  /** ` --meta DIR` when the pool is not the default one, else '': appended to suggested commands. */
  metaFlag: string;
  bucket?: string;
  key?: string;
}

type Hint = (c: HintContext) => string;
const see = (c: HintContext) => `see \`shardvault ${c.command || ''}${c.command ? ' ' : ''}--help\``;
const bug = () => 'this is a bug in shardvault, not in your input: please report it with the command you ran';
const statusThen = (what: string): Hint => (c) => `run \`shardvault status${c.metaFlag}\` to see which disk, then ${what}`;

/** A hint of what to do next for every library error code. */
export const HINT_OF: { readonly [C in ErrorCodeValue | CliCodeValue]: Hint } = {
  [ErrorCode.INVALID_ARG_TYPE]: see,
  [ErrorCode.OUT_OF_RANGE]: see,
  [ErrorCode.UNKNOWN_OPTION]: (c) => `check the spelling; ${see(c)}`,
  [ErrorCode.SHARD_SIZE_MISMATCH]: bug,
  [ErrorCode.SHARD_COUNT]: bug,
  [ErrorCode.SHARD_OVERLAP]: bug,
  [ErrorCode.TOO_FEW_SHARDS]: statusThen('bring missing disks back (mount them) and retry; what cannot be read from k shards is lost'),
  [ErrorCode.BAD_TARGETS]: bug,
  [ErrorCode.KERNEL_UNAVAILABLE]: () => 'unset the kernel override in the environment, or run `shardvault info` to see the kernels this CPU has',
  [ErrorCode.NATIVE_UNAVAILABLE]: () => 'rebuild the native addon: `npm rebuild shardvault` (it needs a C++ compiler and python3)',
  [ErrorCode.BUFFER_BUSY]: bug,
  [ErrorCode.ABORTED]: (c) =>
    c.command === 'scrub' ? `continue where it stopped: \`shardvault scrub --resume${c.metaFlag}\``
    : c.command === 'put' ? 'nothing was stored; run the put again'
    : c.command === 'repair' || c.command === 'rebalance' ? `what was not done stays queued: run \`shardvault repair${c.metaFlag}\` again`
    : 'run the command again',
  [ErrorCode.IO]: statusThen('check that disk (dmesg, mount, permissions) or replace it'),
  [ErrorCode.CORRUPT]: (c) => `run \`shardvault scrub${c.metaFlag}\` then \`shardvault repair${c.metaFlag}\` to rebuild bad shards from good ones`,
  [ErrorCode.FSYNC_FAILED]: statusThen('check the disk (dmesg): it may be failing; replace it with `shardvault disk replace`'),
  [ErrorCode.DISK_IDENTITY]: (c) =>
    c.command === 'init' || c.command === 'disk add' || c.command === 'disk replace'
      ? 'give each disk an empty directory (or mount point) that is not part of any pool'
      : `mount each disk of the pool at its path (pool.json in the --meta directory lists them); once the pool opens, \`shardvault status${c.metaFlag}\` says what else to do`,
  [ErrorCode.SHORT_READ]: (c) => `run \`shardvault scrub${c.metaFlag}\` then \`shardvault repair${c.metaFlag}\``,
  [ErrorCode.MANIFEST_FORMAT]: (c) => `run \`shardvault scrub${c.metaFlag}\` and \`shardvault repair${c.metaFlag}\`; if the catalog itself is damaged, \`shardvault rebuild-catalog${c.metaFlag}\``,
  [ErrorCode.MANIFEST_SIGNATURE]: (c) => `a manifest is not signed by this pool's key: check that --meta names this pool; then \`shardvault scrub${c.metaFlag}\``,
  [ErrorCode.NOT_FOUND]: (c) => (c.bucket !== undefined ? `list what is there: \`shardvault ls ${c.bucket}${c.metaFlag}\`` : 'check the name'),
  [ErrorCode.CONFLICT]: () => 'another writer committed this key first: retry',
  [ErrorCode.PLACEMENT]: (c) => `too few disks or failure domains are usable for this pool's rule: run \`shardvault status${c.metaFlag}\`, then add or replace disks`,
  [ErrorCode.WRITER_STATE]: bug,
  [ErrorCode.NO_SUCH_BUCKET]: (c) => `create it: \`shardvault mb ${c.bucket ?? 'BUCKET'}${c.metaFlag}\` (existing buckets: \`shardvault buckets${c.metaFlag}\`)`,
  [ErrorCode.POOL_BUSY]: () => 'another shardvault process has this pool open: wait for it to finish (or stop it) and retry',
  [ErrorCode.BUCKET_EXISTS]: (c) => `nothing to do if you meant to have it; \`shardvault mb ${c.bucket ?? 'BUCKET'} --ignore-existing${c.metaFlag}\` succeeds when it exists`,
  [ErrorCode.BUCKET_NOT_EMPTY]: (c) => `remove its objects first: \`shardvault ls ${c.bucket ?? 'BUCKET'}${c.metaFlag}\`, then \`shardvault rm ${c.bucket ?? 'BUCKET'} KEY${c.metaFlag}\``,
  [ErrorCode.INVALID_BUCKET_NAME]: () => "bucket names are 3-63 characters of a-z, 0-9, '.' and '-', start and end with a letter or digit, and are not an IP address",
  [ErrorCode.READ_ONLY]: () => 'this command changes the pool: run it where the pool is open for writing (no other process holding it)',
  [ErrorCode.INVALID_TOKEN]: () => 'start the listing again without a continuation token',
  [ErrorCode.BAD_DIGEST]: () => 'the data does not match its declared digest: send it again',
  [ErrorCode.METADATA_TOO_LARGE]: () => 'shorten the object metadata',
  [ErrorCode.NO_SUCH_DISK]: (c) => `disk ids are listed by \`shardvault status${c.metaFlag}\``,
  [ErrorCode.CATALOG_FAILED]: () => 'the meta directory\'s disk reported an I/O error: check it (dmesg, SMART), free space if it is full, then run the command again (the pool is reopened and LMDB recovers the last committed state)',
  [ErrorCode.PRECONDITION_FAILED]: () => 'the object changed (or exists, or is gone) since the condition was taken: read it again and retry',
  [ErrorCode.NO_SUCH_UPLOAD]: () => 'the multipart upload was completed, aborted or expired: start a new one',
  [ErrorCode.INVALID_PART]: () => 'name only uploaded parts, each with the ETag its upload returned',
  [ErrorCode.INVALID_PART_ORDER]: () => 'list the parts in ascending part-number order',
  [ErrorCode.ENTITY_TOO_SMALL]: () => 'every part but the last must be at least the minimum part size (5 MiB)',
  [ErrorCode.AUTH]: () => 'check the access key, its secret and the clock (requests more than 15 minutes off are refused); `shardvault keys list` shows which keys are enabled',
  [ErrorCode.NO_SPACE]: (c) => `free space on that disk, or add one: \`shardvault disk add PATH${c.metaFlag}\`; then \`shardvault repair${c.metaFlag}\``,
  [ErrorCode.KEY_REVOKED]: (c) => `re-sign what still verifies by its hash chain under the active key: \`shardvault repair --resign${c.metaFlag}\` (docs/runbooks/compromised-signing-key.md)`,
  [ErrorCode.FLOOR]: () => 'keep the setting at or above the pool\'s security floor; lowering the floor needs --break-glass --reason TEXT (docs/runbooks/security-floor-override.md)',
  [ErrorCode.ROLLBACK]: () => 'the store is older than its freshness witness: find out why before accepting it (docs/runbooks/rollback-alarm.md)',
  [ErrorCode.STALE]: () => 'the store does not hold the version the receipt names: retry later, or follow docs/runbooks/rollback-alarm.md',
  [ErrorCode.FORMAT_VERSION]: () => 'open the pool with a release that reads its format (the message names the pool\'s format and the ones this release reads; docs/upgrades.md, docs/runbooks/upgrade-and-downgrade.md)',
  [ErrorCode.UPGRADE_PENDING]: (c) => `finalize the upgrade once no older release needs the pool: \`shardvault upgrade finalize${c.metaFlag}\``,
  [CliCode.USAGE]: see,
  [CliCode.INTERNAL]: () => 'unexpected: rerun with SHARDVAULT_DEBUG=1 for a stack trace and report it',
  [CliCode.CREDENTIALS]: () => 'export SHARDVAULT_ROOT_ACCESS_KEY and SHARDVAULT_ROOT_SECRET_KEY (the root key `shardvault serve` printed at its first start)',
  [CliCode.ACCESS_DENIED]: () => 'use an admin key (SHARDVAULT_ROOT_ACCESS_KEY / SHARDVAULT_ROOT_SECRET_KEY) and the daemon\'s --region',
  [CliCode.UNREACHABLE]: () => 'start the daemon (`shardvault serve`) or check --endpoint',
  [CliCode.REMOTE]: () => 'see the daemon\'s log for this request id',
};

/** An error the CLI raises itself, with a stable code and (optionally) its own hint. */
export class CliError extends Error {
  constructor(
    readonly code: ErrorCodeValue | CliCodeValue,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** An error as the CLI reports it. */
export interface ErrorReport {
  code: string;
  message: string;
  hint: string;
  exitCode: ExitCode;
}

const ERRNO_EXIT: Record<string, ExitCode> = { ENOENT: Exit.NOT_FOUND, ENOTDIR: Exit.NOT_FOUND, EISDIR: Exit.USAGE, EBUSY: Exit.BUSY, EAGAIN: Exit.BUSY };
const ERRNO_HINT: Record<string, string> = {
  ENOENT: 'check the path',
  ENOTDIR: 'check the path: a part of it is not a directory',
  EISDIR: 'give a file, not a directory',
  EACCES: 'check the permissions of the path (and of the user running shardvault)',
  EPERM: 'check the permissions of the path (and of the user running shardvault)',
  EROFS: 'the file system is mounted read-only',
  ENOSPC: 'free space on that file system',
};

const isLibraryCode = (c: string): c is ErrorCodeValue => Object.hasOwn(EXIT_CODE_OF, c);
const isCliCode = (c: string): c is CliCodeValue => Object.hasOwn(CLI_EXIT_CODE_OF, c);

/** `message` without a leading `CODE: ` (Node puts its errno name first: `ENOENT: no such file...`), on one line. */
function oneLine(message: string, ...codes: Array<string | undefined>): string {
  let m = message.trim();
  for (let again = true; again; ) {
    again = false;
    for (const c of codes) {
      if (c !== undefined && c.length > 0 && m.startsWith(`${c}: `)) {
        m = m.slice(c.length + 2).trimStart();
        again = true;
      }
    }
  }
  // Commander's suggestion sits on its own line: `unknown command 'stauts'\n(Did you mean status?)`.
  return m.replace(/\s*\n\s*\(Did you mean/g, ' (did you mean').replace(/\s*\n\s*/g, '; ');
}

/** Code, one-line message, hint and exit code of anything a command threw. */
export function describeError(err: unknown, context: HintContext): ErrorReport {
  if (err instanceof CommanderError) {
    // Commander's own messages start with `error: `; help and --version are not errors (handled by the caller).
    return { code: CliCode.USAGE, message: oneLine(err.message.replace(/^error: /, '')), hint: see(context), exitCode: Exit.USAGE };
  }
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as {
    code?: unknown; message?: unknown; hint?: unknown; syscall?: unknown; errno?: unknown; name?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const ownHint = typeof e.hint === 'string' ? e.hint : undefined;
  if (code !== undefined && (isLibraryCode(code) || isCliCode(code))) {
    const exitCode = isLibraryCode(code) ? EXIT_CODE_OF[code] : CLI_EXIT_CODE_OF[code];
    return { code, message: oneLine(message, code), hint: ownHint ?? HINT_OF[code](context), exitCode };
  }
  if (e.name === 'AbortError') {
    return { code: ErrorCode.ABORTED, message: oneLine(message, code), hint: ownHint ?? HINT_OF[ErrorCode.ABORTED](context), exitCode: Exit.INTERRUPTED };
  }
  if (code !== undefined && /^E[A-Z0-9]+$/.test(code)) {
    // A Node system error (no ERR_SV_ code): shown as ERR_SV_IO with its errno name kept once, not twice.
    return {
      code: ErrorCode.IO,
      message: `${oneLine(message, code)} (${code})`,
      hint: ownHint ?? ERRNO_HINT[code] ?? HINT_OF[ErrorCode.IO](context),
      exitCode: ERRNO_EXIT[code] ?? Exit.IO,
    };
  }
  return { code: CliCode.INTERNAL, message: oneLine(message, code), hint: ownHint ?? HINT_OF[CliCode.INTERNAL](context), exitCode: Exit.GENERIC };
}

/** Writes the report to stderr: two lines, or one JSON object `{ "error": { code, message, hint, exitCode } }` with --json. */
export function printError(report: ErrorReport, json: boolean, err?: unknown): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: report })}\n`);
  else process.stderr.write(`shardvault: ${report.code}: ${report.message}\nhint: ${report.hint}\n`);
  if (process.env.SHARDVAULT_DEBUG === '1' && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
}
