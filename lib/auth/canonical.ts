/**
 * The canonical request of AWS Signature Version 4, as pure functions (no secrets, no clock, no I/O) so the
 * verifier, the client signer and the published test suite all go through the same code.
 *
 * Spec: "Create a canonical request for Signature Version 4" (AWS General Reference) and, for S3, "Signature
 * Calculations for the Authorization Header" (Amazon S3 API Reference), which differs in two ways: the path
 * is not normalised and is URI-encoded once (the generic rule encodes the already-encoded path again).
 *
 * Everything works on bytes after strict percent-decoding, so "%2f" and "%2F" canonicalise the same way and
 * invalid UTF-8 cannot throw: the canonical form re-encodes every byte outside the unreserved set.
 *
 * N.B. Byte strings: the request target and header values are handled as Node hands them over, one char per
 * byte (latin1), and the canonical request is hashed as those bytes, so what is signed is exactly what was
 * on the wire (a UTF-8 metadata value arrives as its UTF-8 bytes and is hashed as them, as S3 does). The
 * client signer converts its JS strings to their UTF-8 byte strings first (toByteString).
 */
import { createHash, createHmac } from 'node:crypto';
import { authErrors } from './errors.js';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const ALGORITHM = 'AWS4-HMAC-SHA256';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** True when every char of s is one byte (U+0000..U+00FF), as Node's req.url and rawHeaders are. */
export function isByteString(s: string): boolean {
  return !/[^\u0000-\u00ff]/.test(s);
}

/** The UTF-8 bytes of a JS string, as a byte string (one char per byte). */
export function toByteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

export function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

const HEX = '0123456789ABCDEF';
const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;

/** AWS UriEncode of raw bytes: unreserved characters as is, everything else %XX upper-case ('/' too unless kept). */
export function uriEncodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (UNRESERVED[b] === 1 || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/** AWS UriEncode of a string's UTF-8 bytes. */
export function uriEncode(s: string, keepSlash = false): string {
  return uriEncodeBytes(Buffer.from(s, 'utf8'), keepSlash);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Strict percent-decoding of a byte string to bytes. A '%' not followed by two hex digits is malformed
 * (RFC 3986 §2.1). In paths '+' stays '+'; in query strings (`plusIsSpace`) a raw '+' is a space, because
 * that is how the daemon's router (and S3's) reads the query: what is signed must be what is acted on.
 * Returns undefined when malformed or when s is not a byte string.
 */
export function percentDecode(s: string, plusIsSpace = false): Buffer | undefined {
  if (!isByteString(s)) return undefined;
  const src = Buffer.from(s, 'latin1');
  if (!src.includes(0x25) && !(plusIsSpace && src.includes(0x2b))) return src;
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b !== 0x25) {
      out[n++] = plusIsSpace && b === 0x2b ? 0x20 : b;
      continue;
    }
    if (i + 2 >= src.length) return undefined;
    const hi = hexVal(src[i + 1]);
    const lo = hexVal(src[i + 2]);
    if (hi < 0 || lo < 0) return undefined;
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return out.subarray(0, n);
}

export interface PathRules {
  /** Remove '.', '..' and empty segments (RFC 3986 §5.2.4). Never for S3: keys may contain them. */
  normalize: boolean;
}

export const S3_PATH_RULES: PathRules = { normalize: false };
/** The generic-service rules the aws-sig-v4-test-suite vectors were made with. */
export const GENERIC_PATH_RULES: PathRules = { normalize: true };

/**
 * Canonical URI from the raw (still percent-encoded) request path. Each segment between literal '/' is
 * decoded and re-encoded, so an encoded slash (%2F) inside a segment stays encoded.
 */
export function canonicalUri(rawPath: string, rules: PathRules): string {
  if (rawPath === '') return '/';
  let segments = rawPath.split('/');
  const decoded: string[] = [];
  for (const seg of segments) {
    const bytes = percentDecode(seg);
    if (bytes === undefined) throw authErrors.invalidRequest('malformed', 'The request path has an invalid percent-encoding');
    decoded.push(uriEncodeBytes(bytes, false));
  }
  segments = decoded;
  if (!rules.normalize) return segments.join('/');
  // Generic services: RFC 3986 remove_dot_segments, and collapse empty segments.
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const trailingSlash = rawPath.length > 1 && rawPath.endsWith('/') && out.length > 0;
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`;
}

export interface QueryParam {
  /** Decoded name and value (UTF-8; invalid sequences replaced, only used for lookups). */
  name: string;
  value: string;
  /** Canonical (AWS UriEncode) forms, used for signing. */
  encodedName: string;
  encodedValue: string;
}

/** Parse a raw query string ('a=1&b' without '?'). Throws on malformed percent-encoding or too many params. */
export function parseQuery(rawQuery: string, maxParams: number): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery === '') return params;
  let start = 0;
  while (start <= rawQuery.length) {
    let end = rawQuery.indexOf('&', start);
    if (end < 0) end = rawQuery.length;
    const part = rawQuery.slice(start, end);
    start = end + 1;
    if (part === '') {
      if (end === rawQuery.length) break;
      continue;
    }
    if (params.length >= maxParams) throw authErrors.limit('The number of query parameters');
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const nameBytes = percentDecode(rawName, true);
    const valueBytes = percentDecode(rawValue, true);
    if (nameBytes === undefined || valueBytes === undefined) {
      throw authErrors.invalidRequest('malformed', 'The query string has an invalid percent-encoding');
    }
    params.push({
      name: nameBytes.toString('utf8'),
      value: valueBytes.toString('utf8'),
      encodedName: uriEncodeBytes(nameBytes, false),
      encodedValue: uriEncodeBytes(valueBytes, false),
    });
  }
  return params;
}

/** Canonical query string: sorted by encoded name, then encoded value (byte order); `exclude` dropped by name. */
export function canonicalQuery(params: QueryParam[], exclude?: string): string {
  const kept = exclude === undefined ? params : params.filter((p) => p.name !== exclude);
  const sorted = [...kept].sort((a, b) =>
    a.encodedName < b.encodedName ? -1 : a.encodedName > b.encodedName ? 1
      : a.encodedValue < b.encodedValue ? -1 : a.encodedValue > b.encodedValue ? 1 : 0);
  return sorted.map((p) => `${p.encodedName}=${p.encodedValue}`).join('&');
}

/** Trim and collapse runs of spaces/tabs inside a header value (SigV4 "Trimall"). */
export function trimAll(value: string): string {
  return value.replace(/[ \t]+/g, ' ').trim();
}

/**
 * Header values by lower-cased name from Node's rawHeaders ([name, value, name, value, ...]), repeated
 * headers joined with ',' in arrival order as SigV4 specifies (Node's own joining differs: it drops
 * duplicates of some headers and joins cookies with ';').
 */
export function headerMap(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const list = map.get(name);
    if (list === undefined) map.set(name, [rawHeaders[i + 1]]);
    else list.push(rawHeaders[i + 1]);
  }
  return map;
}

/** The canonical headers block (each "name:value\n") for the signed header names, which must be sorted. */
export function canonicalHeaders(headers: Map<string, string[]>, signedHeaders: readonly string[]): string {
  let out = '';
  for (const name of signedHeaders) {
    const values = headers.get(name) ?? [];
    out += `${name}:${values.map(trimAll).join(',')}\n`;
  }
  return out;
}

export function canonicalRequest(parts: {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  canonicalHeaders: string;
  signedHeaders: readonly string[];
  payloadHash: string;
}): string {
  return [
    parts.method,
    parts.canonicalUri,
    parts.canonicalQuery,
    parts.canonicalHeaders,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
}

/** The canonical request is a byte string (see the N.B. at the top) and is hashed as those bytes. */
export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(Buffer.from(canonicalRequestText, 'latin1'))}`;
}

/** Chunk string to sign (aws-chunked, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** Trailer string to sign: the hash covers each trailing header as "name:value\n". */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, trailerCanonical: string): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(Buffer.from(trailerCanonical, 'latin1'))}`;
}

/** ISO 8601 basic timestamp (YYYYMMDD'T'HHMMSS'Z') of a Date. */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Parse a strict ISO 8601 basic timestamp to epoch ms; undefined when malformed or not a real date. */
export function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d
    || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== se) return undefined;
  return ms;
}
