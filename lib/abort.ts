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

/**
 * `source`, ending with an AbortError as soon as `signal` aborts, even while the source is stalled waiting for
 * its next chunk (a client that stopped sending). The source is then released without waiting for it: a stream
 * (anything with destroy()) is destroyed, any other iterator gets return().
 */
export async function* abortableIterable<T>(source: AsyncIterable<T> | Iterable<T>, signal: AbortSignal | undefined, what: string): AsyncGenerator<T> {
  if (signal === undefined) {
    yield* source;
    return;
  }
  const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in source ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortError(what, signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined); // observed through the race below
  let finished = false;
  try {
    throwIfAborted(signal, what);
    for (;;) {
      const next = it.next();
      Promise.resolve(next).catch(() => undefined); // a next() left pending by an abort may settle later, unobserved
      const r = await Promise.race([next, aborted]);
      if (r.done === true) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!finished) {
      // A pending next() would hold an async generator's return() back: a stream is destroyed directly.
      const stream = source as { destroy?: () => void };
      if (typeof stream.destroy === 'function') stream.destroy();
      else void Promise.resolve(it.return?.()).catch(() => undefined);
    }
  }
}

/** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts. */
export function abortableDelay(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) return reject(new AbortError(what, signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(what, signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
