/**
 * The daemon's observability in one object: the ops helper's ServerMetrics (prom-client, lib/server/metrics.ts)
 * and pino logger (lib/server/log.ts, credentials scrubbed) behind the few calls the request pipeline makes.
 */
import type { ConfigDriftEvent } from '../events.js';
import type { Vault } from '../vault.js';
import { createLogger, logRequest, type Logger } from './log.js';
import { ServerMetrics } from './metrics.js';

export interface RequestRecord { requestId: string; principal?: string; operation: string; status: number; bytesIn: number; bytesOut: number; durationMs: number; source?: string; errorCode?: string }

export class Observer {
  readonly metrics = new ServerMetrics();
  readonly log: Logger;
  #detachVault: (() => void) | undefined;

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

  /**
   * Counts and reads `vault` (metrics), and logs what weakens the pool: a security-relevant configuration change
   * (the one the open found, then every later one) and a security floor lowered with break-glass, as warnings.
   */
  attachVault(vault: Vault): void {
    this.#detachVault?.();
    this.metrics.attachVault(vault);
    const onDrift = (d: ConfigDriftEvent) => this.warn('security-relevant configuration changed', {
      source: d.source, digest: d.digest, changes: d.changes.map((c) => ({ setting: c.path, before: c.before ?? null, after: c.after ?? null })),
    });
    if (vault.lastConfigDrift !== undefined) onDrift(vault.lastConfigDrift);
    const floor = vault.floor();
    if (floor?.overridden === true) this.warn('the security floor is overridden (lowered with break-glass)', { reason: floor.reason, since: new Date(floor.sinceMs ?? 0).toISOString(), ...(floor.previous !== undefined ? { raiseBackTo: { k: floor.previous.k, m: floor.previous.m, writeQuorum: `k+${floor.previous.writeQuorumAboveK}` } } : {}) });
    vault.events.on('configDrift', onDrift);
    this.#detachVault = () => vault.events.off('configDrift', onDrift);
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
    this.#detachVault?.();
    this.#detachVault = undefined;
    this.metrics.close();
    this.log.flush?.();
  }
}

export function createObserver(opts: { level?: string; destination?: NodeJS.WritableStream }): Observer {
  return new Observer(opts);
}
