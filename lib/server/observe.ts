// LOCAL STAND-IN until the ops helper's lib/server/metrics.ts (ServerMetrics, prom-client) and
// lib/server/log.ts (createLogger/logRequest, pino) are on main: the same call sites, a no-op metrics object
// and a one-JSON-line-per-request logger. Deleted when theirs lands (the daemon then imports those).
import type { Vault } from '../vault.js';

export interface RequestRecord { requestId: string; principal?: string; operation: string; status: number; bytesIn: number; bytesOut: number; durationMs: number; source?: string; errorCode?: string }

export interface Observer {
  requestStarted(): void;
  requestDone(o: { operation: string; status: number; bytesIn: number; bytesOut: number; seconds: number }): void;
  authFailure(reason: string): void;
  admissionRejected(reason: string): void;
  attachVault(vault: Vault): void;
  logRequest(r: RequestRecord): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Prometheus text, when metrics are available. */
  metricsText?: () => Promise<{ contentType: string; text: string }>;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export function createObserver(opts: { level?: string; destination?: NodeJS.WritableStream }): Observer {
  const min = LEVELS[opts.level ?? 'info'] ?? 30;
  const dest = opts.destination ?? process.stderr;
  const line = (level: number, msg: string, fields: Record<string, unknown> = {}): void => {
    if (level < min) return;
    dest.write(`${JSON.stringify({ level, time: Date.now(), msg, ...fields })}\n`);
  };
  return {
    requestStarted: () => undefined,
    requestDone: () => undefined,
    authFailure: () => undefined,
    admissionRejected: () => undefined,
    attachVault: () => undefined,
    logRequest: (r) => line(30, 'request', { ...r }),
    info: (msg, f) => line(30, msg, f),
    warn: (msg, f) => line(40, msg, f),
    error: (msg, f) => line(50, msg, f),
  };
}
