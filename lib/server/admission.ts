/**
 * Admission control (I7): a bounded number of requests and of body bytes in flight, and a fair share per
 * principal, decided at once: a request is admitted or refused with 503 SlowDown + Retry-After. Nothing
 * waits in a queue, so overload costs a refusal, not memory or latency for everybody.
 *
 * Two steps, because the principal is known only after the signature is verified and verification costs
 * CPU: `enter()` (global slot, before authentication) and `forPrincipal()` (after it). Body bytes are
 * charged when the body is about to be read, at min(declared length, bodyChargeBytesMax): a streaming put
 * holds about that much memory whatever the object size.
 */
import { S3Error } from './s3-error.js';
import type { Limits } from './limits.js';

export type RejectReason = 'concurrency' | 'principal' | 'bytes';

export class Admission {
  #active = 0;
  #bytes = 0;
  readonly #byPrincipal = new Map<string, number>();
  readonly #limits: () => Limits;
  readonly #onReject: (reason: RejectReason) => void;

  constructor(limits: () => Limits, onReject: (reason: RejectReason) => void = () => undefined) {
    this.#limits = limits;
    this.#onReject = onReject;
  }

  get active(): number {
    return this.#active;
  }

  get bytesInFlight(): number {
    return this.#bytes;
  }

  #slowDown(reason: RejectReason, message: string): S3Error {
    this.#onReject(reason);
    return new S3Error('SlowDown', 503, message, { headers: { 'Retry-After': String(this.#limits().retryAfterSeconds) }, reason });
  }

  /** A global slot, or SlowDown. The returned ticket must be released exactly once (it is idempotent). */
  enter(): Ticket {
    const limits = this.#limits();
    if (this.#active >= limits.concurrentRequestsMax) throw this.#slowDown('concurrency', 'Please reduce your request rate: too many requests are in progress.');
    this.#active++;
    return new Ticket(this);
  }

  /** @internal */ _release(t: Ticket): void {
    this.#active--;
    if (t.principal !== undefined) {
      const n = (this.#byPrincipal.get(t.principal) ?? 1) - 1;
      if (n <= 0) this.#byPrincipal.delete(t.principal);
      else this.#byPrincipal.set(t.principal, n);
    }
    this.#bytes -= t.bytes;
  }

  /** @internal */ _principal(t: Ticket, principal: string): void {
    const limits = this.#limits();
    const share = Math.max(1, Math.floor(limits.concurrentRequestsMax * limits.principalShare));
    const n = this.#byPrincipal.get(principal) ?? 0;
    if (n >= share) throw this.#slowDown('principal', 'Please reduce your request rate: this access key has too many requests in progress.');
    this.#byPrincipal.set(principal, n + 1);
    t.principal = principal;
  }

  /** @internal */ _bytes(t: Ticket, declared: number): void {
    const limits = this.#limits();
    const charge = Math.min(Math.max(0, declared), limits.bodyChargeBytesMax);
    if (this.#bytes + charge > limits.bytesInFlightMax && this.#bytes > 0) throw this.#slowDown('bytes', 'Please reduce your request rate: too many bytes are being uploaded.');
    this.#bytes += charge;
    t.bytes += charge;
  }
}

export class Ticket {
  principal: string | undefined;
  bytes = 0;
  #released = false;
  readonly #admission: Admission;

  constructor(admission: Admission) {
    this.#admission = admission;
  }

  /** Counts the request against `principal`'s fair share, or SlowDown. */
  forPrincipal(principal: string): void {
    this.#admission._principal(this, principal);
  }

  /** Charges a body of `declared` bytes, or SlowDown. */
  chargeBody(declared: number): void {
    this.#admission._bytes(this, declared);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#admission._release(this);
  }
}
