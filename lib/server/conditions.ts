/**
 * HTTP conditional requests as S3 evaluates them (RFC 9110 §13.2.2 order): If-Match, else If-Unmodified-
 * Since (412); then If-None-Match, else If-Modified-Since (304 for GET/HEAD). A true If-Match makes a false
 * If-Unmodified-Since irrelevant; a present If-None-Match makes If-Modified-Since irrelevant.
 * Times compare at one-second resolution (Last-Modified has no more).
 */
import { S3Error } from './s3-error.js';

export interface Conditions { ifMatch?: string; ifNoneMatch?: string; ifModifiedSince?: string; ifUnmodifiedSince?: string }

function tags(list: string): string[] {
  return list.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1')).filter((t) => t.length > 0);
}

export function etagMatches(list: string, etag: string): boolean {
  const ts = tags(list);
  return ts.includes('*') || ts.includes(etag);
}

function seconds(date: string): number | undefined {
  const t = Date.parse(date);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/** 'ok', 'not-modified' (304) or throws PreconditionFailed (412). `copy` names the x-amz-copy-source-if-* form. */
export function evaluate(c: Conditions, object: { etag: string; timeMs: number }, opts: { copy?: boolean } = {}): 'ok' | 'not-modified' {
  const modified = Math.floor(object.timeMs / 1000);
  const fail = (which: string) => new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold.', { extra: { Condition: which } });
  const prefix = opts.copy === true ? 'x-amz-copy-source-' : '';
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, object.etag)) throw fail(`${prefix}If-Match`);
  } else if (c.ifUnmodifiedSince !== undefined) {
    const s = seconds(c.ifUnmodifiedSince);
    if (s !== undefined && modified > s) throw fail(`${prefix}If-Unmodified-Since`);
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, object.etag)) {
      if (opts.copy === true) throw fail(`${prefix}If-None-Match`);
      return 'not-modified';
    }
  } else if (c.ifModifiedSince !== undefined) {
    const s = seconds(c.ifModifiedSince);
    if (s !== undefined && modified <= s && s * 1000 <= Date.now()) {
      if (opts.copy === true) throw fail(`${prefix}If-Modified-Since`);
      return 'not-modified';
    }
  }
  return 'ok';
}

/** A single byte range: `bytes=a-b`, `bytes=a-`, `bytes=-n`. undefined: no (or an ignorable) Range header.
 *  An unsatisfiable range is InvalidRange (416). */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(value.trim());
  if (m === null) return undefined; // several ranges or another unit: served whole, as S3 does
  const [, a, b] = m;
  const unsatisfiable = () => new S3Error('InvalidRange', 416, 'The requested range is not satisfiable.', { extra: { ActualObjectSize: String(size), RangeRequested: value }, headers: { 'Content-Range': `bytes */${size}` } });
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) throw unsatisfiable();
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined; // a syntactically invalid range is ignored (RFC 9110)
  return { start, end };
}
