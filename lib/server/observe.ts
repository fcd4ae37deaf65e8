/**
 * The daemon's observability in one object: the ops helper's ServerMetrics (prom-client, lib/server/metrics.ts)
 * and pino logger (lib/server/log.ts, credentials scrubbed) behind the few calls the request pipeline makes.
 */
import type { Vault } from '../vault.js';
import { createLogger, logRequest, type Logger } from './log.js';
import { ServerMetrics } from './metrics.js';

export interface RequestRecord { requestId: string; principal?: string; operation: string; status: number; bytesIn: number; bytesOut: number; durationMs: number; source?: string; errorCode?: string }

export class Observer {
  readonly metrics = new ServerMetrics();
  readonly log: Logger;

  constructor(opts: { level?: string; destination?: NodeJS.WritableStream }) {
    this.log = createLogger(opts);
  }

  requestStarted(): void {
    this.metrics.requestStarted();
  }

  requestDone(o: { operation: string; status: number; bytesIn: number; bytesOut: number; seconds: number }): void {
    this.metrics.requestDone(o);
  }

  authFailure(reason: string): void {
    this.metrics.authFailure(reason);
  }

  admissionRejected(reason: string): void {
    this.metrics.admissionRejected(reason);
  }

  attachVault(vault: Vault): void {
    this.metrics.attachVault(vault);
  }

  logRequest(r: RequestRecord): void {
    logRequest(this.log, r);
  }

  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.log.info(fields, msg);
  }

  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.log.warn(fields, msg);
  }

  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.log.error(fields, msg);
  }

  close(): void {
    this.metrics.close();
    this.log.flush?.();
  }
}

export function createObserver(opts: { level?: string; destination?: NodeJS.WritableStream }): Observer {
  return new Observer(opts);
}
