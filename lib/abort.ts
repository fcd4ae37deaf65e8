/**
 * Aborts follow the web (DOM) convention, like Node's own `AbortError` (fs, fetch, timers/promises): an Error
 * whose `name` is 'AbortError' and whose `cause` is the signal's `reason` (an `AbortSignal.abort(reason)` or
 * `controller.abort(reason)` value; a DOMException 'AbortError' when none was given), plus our stable
 * `code` ERR_SV_ABORTED. One helper for every abortable operation (put, get, scrub, repair).
 */
import { ErrorCode, ShardVaultError } from './errors.js';

export class AbortError extends ShardVaultError {
  constructor(what: string, signal?: AbortSignal) {
    super(ErrorCode.ABORTED, `${what} aborted`, signal === undefined ? {} : { cause: signal.reason });
    this.name = 'AbortError';
  }
}

/** Throws an AbortError for `what` when `signal` has been aborted (an already aborted signal throws at once). */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new AbortError(what, signal);
}

/** Validates an optional `signal` option at the public edge. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (typeof AbortSignal === 'undefined' || !(signal instanceof AbortSignal)) {
    const err = new TypeError('Expected an AbortSignal for signal') as TypeError & { code: string };
    err.code = ErrorCode.INVALID_ARG_TYPE;
    throw err;
  }
  return signal;
}
