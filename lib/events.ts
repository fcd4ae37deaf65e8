/**
 * Events for embedding (issue 10): `vault.events` tells a daemon what the engine did, so it can log and count
 * without patching: put/get/repair done (with durations and bytes), a disk dropped out of an operation (with
 * errno), repair work queued, scrub progress. A typed node:events EventEmitter whose emit() isolates
 * listeners: a listener that throws (or returns a promise that rejects) is reported with
 * process.emitWarning (code SV_LISTENER_ERROR) and never reaches the engine, and the other listeners still
 * run. No 'error' event is ever emitted, so an emitter without an 'error' listener cannot crash the process.
 * Events are emitted after the fact they report (a 'put' after its commit is durable).
 */
import { EventEmitter } from 'node:events';

export interface PutEvent {
  bucket: string;
  key: string;
  versionId: string;
  /** Object bytes. */
  bytes: number;
  durationMs: number;
  /** Fewer than k + m disks sealed (repair was queued for the rest). */
  degraded: boolean;
}

export interface GetEvent {
  bucket: string;
  key: string;
  /** Bytes delivered (the range's, for a range read). */
  bytes: number;
  durationMs: number;
}

export interface RepairEvent {
  repaired: number;
  dropped: number;
  moved: number;
  failed: number;
  durationMs: number;
}

export interface DiskDroppedEvent {
  disk: string;
  /** What failed: 'open', 'append', 'seal' (shard file), 'copy' (manifest copy), 'check' (identity/device at open or status). */
  op: 'open' | 'append' | 'seal' | 'copy' | 'check';
  errno?: number;
  syscall?: string;
  code?: string;
  message: string;
}

export interface RepairQueuedEvent {
  bucket: string;
  key: string;
  versionId: string;
  disk: string;
  shard: number;
  /** Who found the work: 'put' (degraded write), 'read', 'scrub', 'gc', 'drain', 'replace', 'rebalance', 'repair'. */
  reason: string;
}

export interface ScrubProgressEvent {
  objects: number;
  bytes: number;
  bad: number;
  last?: { bucket: string; key: string };
}

/** Something was refused because its only valid signature is by a revoked key (queued for `repair --resign`). */
export interface KeyRevokedEvent {
  bucket: string;
  key: string;
  versionId: string;
  /** Hex id of the revoked signer. */
  keyId: string;
}

export interface VaultEventMap {
  put: [PutEvent];
  get: [GetEvent];
  repair: [RepairEvent];
  diskDropped: [DiskDroppedEvent];
  repairQueued: [RepairQueuedEvent];
  scrubProgress: [ScrubProgressEvent];
  keyRevoked: [KeyRevokedEvent];
}

export const LISTENER_ERROR_WARNING = 'SV_LISTENER_ERROR';

function warn(event: string, err: unknown): void {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.emitWarning(`a shardvault '${event}' listener threw (${what}); the engine ignored it`, { code: LISTENER_ERROR_WARNING, type: 'ShardVaultWarning' });
}

export class VaultEvents extends EventEmitter<VaultEventMap> {
  /** Calls every listener, each isolated (see the header); returns whether there were listeners. */
  override emit<K extends keyof VaultEventMap>(event: K, ...args: VaultEventMap[K]): boolean {
    const listeners = this.rawListeners(event) as Array<(...a: VaultEventMap[K]) => unknown>;
    for (const listener of listeners) {
      try {
        const r = listener.apply(this, args);
        if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (err: unknown) => warn(event, err));
        }
      } catch (err) {
        warn(event, err);
      }
    }
    return listeners.length > 0;
  }
}
