/**
 * Evidence of refusals (I6): authentication and authorization failures go into the vault's signed audit
 * chain, rate-limited so a flood cannot grow the chain without bound: per window, the first few failures
 * are recorded one by one, the rest are counted into one summary record when the window closes.
 */
import type { AuditInput, Vault } from '../vault.js';

export type AuditRecord = AuditInput;

type Appender = (r: AuditRecord) => Promise<void>;

function appenderOf(vault: Vault): Appender {
  return (r) => vault.appendAudit(r);
}

export class FailureAudit {
  readonly #append: Appender;
  readonly #perWindow: number;
  readonly #windowMs: number;
  #windowStart = Date.now();
  #recorded = 0;
  #suppressed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  readonly #onError: (err: unknown) => void;
  readonly #pending = new Set<Promise<void>>();

  constructor(vault: Vault, opts: { perWindow?: number; windowMs?: number; onError: (err: unknown) => void }) {
    this.#append = appenderOf(vault);
    this.#perWindow = opts.perWindow ?? 20;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#onError = opts.onError;
  }

  record(r: AuditRecord): void {
    const now = Date.now();
    if (now - this.#windowStart >= this.#windowMs) this.#flush(now);
    if (this.#recorded < this.#perWindow) {
      this.#recorded++;
      this.#track(this.#append(r));
      return;
    }
    const k = `${r.action}\u0000${r.result}`;
    this.#suppressed.set(k, (this.#suppressed.get(k) ?? 0) + 1);
    this.#timer ??= setTimeout(() => this.#flush(Date.now()), this.#windowMs - (now - this.#windowStart)).unref();
  }

  #flush(now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [k, n] of this.#suppressed) {
      const [action, result] = k.split('\u0000') as [string, string];
      this.#track(this.#append({ principal: '-', action, result, detail: `${n} more in ${Math.round(this.#windowMs / 1000)} s (rate-limited)` }));
    }
    this.#suppressed.clear();
    this.#recorded = 0;
    this.#windowStart = now;
  }

  #track(p: Promise<void>): void {
    const t = p.catch(this.#onError).finally(() => this.#pending.delete(t));
    this.#pending.add(t);
  }

  /** Writes the pending summary and waits for every record in flight (at shutdown, before the vault closes). */
  async close(): Promise<void> {
    this.#flush(Date.now());
    await Promise.all([...this.#pending]);
  }
}

/** The effective config's record at start (when the engine offers appendAudit). */
export async function auditStart(vault: Vault, detail: string): Promise<void> {
  await vault.appendAudit({ principal: 'daemon', action: 'server.start', result: 'ok', detail });
}
