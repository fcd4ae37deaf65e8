// A private PostgreSQL cluster for one test file, through scripts/pg-up.sh and scripts/pg-down.sh: Debian's
// binaries, loopback only, data and socket in a temporary directory, stopped by its postmaster's pid. A test
// file starts one in beforeAll and calls destroy() in afterAll; a process exit hook kills the postmaster too
// (by its pid, SIGQUIT) when the file dies before afterAll runs.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { isRoot } from './tier.js';

const scripts = resolve(__dirname, '..', '..', 'scripts');
const run = promisify(execFile);

/** What PostgreSQL tests lack here (for tier(), test/support/tier.ts): root, and Debian's server binaries. */
export function postgresMissing(): string[] {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  return [
    ...(isRoot() ? [] : ['root (the private cluster runs as the postgres user)']),
    ...(versions.length > 0 ? [] : [`${root}/*/bin/initdb (apt-get install postgresql: scripts/install-system-deps.sh)`]),
  ];
}

export interface PostgresCluster {
  /** postgresql://shardvault@127.0.0.1:PORT/shardvault */
  readonly url: string;
  readonly dir: string;
  /** The postmaster's pid while it runs (DIR/data/postmaster.pid), else undefined. */
  pid(): number | undefined;
  /** Stops the cluster: `fast` (clean) or `immediate` (every process quits at once, like a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data (after `immediate`, PostgreSQL recovers from its WAL). */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): void;
}

function postmasterPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Creates and starts a cluster on a free port (a few random ports are tried: another file may hold one). */
export function startPostgres(): PostgresCluster {
  const dir = mkdtempSync(join(tmpdir(), 'sv-pg-'));
  let url: string | undefined;
  let port = 0;
  let last: unknown;
  for (let attempt = 0; attempt < 5 && url === undefined; attempt++) {
    port = 20000 + Math.floor(Math.random() * 30000);
    try {
      url = execFileSync(join(scripts, 'pg-up.sh'), [dir, String(port)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      last = err;
    }
  }
  if (url === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`scripts/pg-up.sh failed: ${(last as { stderr?: string }).stderr ?? String(last)}`);
  }
  let pid = postmasterPid(dir);
  const onExit = () => {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);
  const cluster: PostgresCluster = {
    url,
    dir,
    pid: () => postmasterPid(dir),
    async stop(mode = 'fast') {
      await run(join(scripts, 'pg-down.sh'), [dir, mode]);
      pid = undefined;
    },
    async start() {
      await run(join(scripts, 'pg-up.sh'), [dir, String(port)]);
      pid = postmasterPid(dir);
    },
    destroy() {
      process.off('exit', onExit);
      try {
        execFileSync(join(scripts, 'pg-down.sh'), [dir, 'immediate'], { stdio: 'ignore' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return cluster;
}
