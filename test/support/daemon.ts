// The real daemon as a child process (issue 14's daemon tiers): `node dist/lib/cli.js serve` on 127.0.0.1:0
// over a temporary data dir, with a fixed root key from the environment. Waits for its `listening URL` line,
// keeps its stdout/stderr (for the failure message), exposes its pid for kill -9 and /proc sampling, and
// stops it by pid. Every child started here is remembered, so `stopAllDaemons()` in afterAll ends them even
// when a test failed half-way. Never binds anything but loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DAEMON_ROOT = { accessKeyId: 'SVSOAKROOTKEY0000001', secretAccessKey: 'soak-root-secret-0123456789abcdefghijklmn' };
export const CLI = new URL('../../dist/lib/cli.js', import.meta.url).pathname;

export interface DaemonOptions {
  /** Reuse a data dir (a restart); default: a new temp dir, removed by `cleanup()`. */
  dataDir?: string;
  /** A JSON config (written to the data dir's parent as daemon-config.json). */
  config?: Record<string, unknown>;
  logLevel?: string;
  startTimeoutMs?: number;
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export interface Daemon {
  url: string;
  host: string;
  port: number;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  /** Resolves when the child exits (never rejects). */
  exited: Promise<Exit>;
  /** undefined while running. */
  exit(): Exit | undefined;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
  kill9(): Promise<Exit>;
  /** VmRSS in bytes and open fds, from /proc/PID (undefined when not on Linux or gone). */
  sample(): { rssBytes: number; fds: number } | undefined;
}

const live = new Map<number, ChildProcess>();
const tempDirs = new Set<string>();

export function tempDataDir(prefix = 'sv-daemon-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return join(d, 'data');
}

export function procSample(pid: number): { rssBytes: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return { rssBytes: m ? Number(m[1]) * 1024 : 0, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

export async function startDaemon(o: DaemonOptions = {}): Promise<Daemon> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -p tsconfig.json`);
  const dataDir = o.dataDir ?? tempDataDir();
  const args = [CLI, 'serve', '--data', dataDir, '--address', '127.0.0.1:0', '--log-level', o.logLevel ?? 'warn'];
  if (o.config !== undefined) {
    const file = join(dataDir, '..', 'daemon-config.json');
    writeFileSync(file, JSON.stringify(o.config));
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: DAEMON_ROOT.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: DAEMON_ROOT.secretAccessKey },
  });
  const pid = child.pid!;
  live.set(pid, child);
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString('utf8');
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitState: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => {
    exitState = { code, signal };
    live.delete(pid);
    resolve(exitState);
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not print "listening" within ${o.startTimeoutMs ?? 30000} ms:\n${out}`)), o.startTimeoutMs ?? 30_000);
    const look = () => {
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (code ${e.code}, signal ${e.signal}) before listening:\n${out}`));
    });
  }).catch(async (err) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  const port = Number(new URL(url).port);
  const stop = async (graceMs = 10_000): Promise<Exit> => {
    if (exitState) return exitState;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const e = await exited;
    clearTimeout(t);
    return e;
  };
  return {
    url, host: '127.0.0.1', port, pid, dataDir, child, exited,
    exit: () => exitState,
    output: () => out,
    stop,
    kill9: async () => {
      if (exitState) return exitState;
      child.kill('SIGKILL');
      return exited;
    },
    sample: () => procSample(pid),
  };
}

/** GET /healthz: the status code, or 0 when nothing answered within `timeoutMs`. */
export function healthz(d: Pick<Daemon, 'host' | 'port'>, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: d.host, port: d.port, path: '/healthz', method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Kills every daemon this process started (by pid) and removes the temp dirs: for afterAll. */
export async function stopAllDaemons(): Promise<void> {
  const waits = [...live.values()].map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  }));
  await Promise.all(waits);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

export interface Exchange {
  /** Everything the daemon sent before it closed (or before the timeout). */
  received: Buffer;
  /** The daemon neither answered completely nor closed within the timeout. */
  timedOut: boolean;
  /** The socket failed (ECONNRESET after an early answer is normal for a refused body). */
  error?: string;
}

/**
 * Sends `bytes` on a fresh TCP connection and collects the answer: until the first complete final response
 * (1xx skipped; `head` when the request was HEAD, whose answer has no body), until the daemon closes, or until
 * `timeoutMs`. The write side stays open (node's server aborts a request whose client half-closes).
 */
export function exchange(d: Pick<Daemon, 'host' | 'port'>, bytes: Uint8Array, timeoutMs = 10_000, head = isHead(bytes)): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const sock = netConnect({ host: d.host, port: d.port });
    const finish = (timedOut: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ received: Buffer.concat(chunks), timedOut, ...(error !== undefined ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    sock.on('data', (c: Buffer) => {
      if (size < 1024 * 1024) chunks.push(c);
      size += c.length;
      if (complete(Buffer.concat(chunks), head)) finish(false);
    });
    sock.on('end', () => finish(false));
    sock.on('close', () => finish(false));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
    sock.on('connect', () => sock.write(bytes));
  });
}

function isHead(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 5)).toString('latin1') === 'HEAD ';
}

/** Skips interim (1xx) responses: the offset of the final response's status line. */
function finalStart(buf: Buffer): number {
  let at = 0;
  while (/^HTTP\/1\.[01] 1\d\d /.test(buf.subarray(at, at + 13).toString('latin1') + ' ')) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end === -1) return -1;
    at = end + 4;
  }
  return at;
}

function complete(buf: Buffer, head: boolean): boolean {
  const at = finalStart(buf);
  if (at < 0) return false;
  const end = buf.indexOf('\r\n\r\n', at);
  if (end === -1) return false;
  const headText = buf.subarray(at, end).toString('latin1');
  if (head || /^HTTP\/1\.[01] (204|304) /.test(headText)) return true;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
  if (cl) return buf.length - (end + 4) >= Number(cl[1]);
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(headText)) return buf.includes('\r\n0\r\n\r\n', end);
  return false; // read until close
}

export interface RawHttpResponse { status: number; headers: Map<string, string>; body: Buffer }

/** The first HTTP response in `buf` (undefined when `buf` does not start with a complete status line and headers). */
export function parseFirstResponse(full: Buffer): RawHttpResponse | undefined {
  const at = finalStart(full);
  if (at < 0) return undefined;
  const buf = full.subarray(at);
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(`${lines[0]} `);
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  let body = buf.subarray(end + 4);
  const cl = headers.get('content-length');
  if (cl !== undefined && /^\d+$/.test(cl)) body = body.subarray(0, Number(cl));
  else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf('\r\n', at);
      if (nl === -1) break;
      const n = parseInt(body.subarray(at, nl).toString('latin1'), 16);
      if (!Number.isFinite(n) || n === 0) break;
      parts.push(body.subarray(nl + 2, nl + 2 + n));
      at = nl + 2 + n + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status: Number(m[1]), headers, body };
}
