/**
 * The client side of SigV4 for S3: header-signed requests, presigned URLs and aws-chunked signed bodies.
 * Used by the admin CLI (it talks to the daemon's admin API) and by the tests. Written from the same spec
 * as the verifier and built on the same canonical functions, and tested against AWS's published examples
 * and the official @aws-sdk signer, so the two sides cannot drift together unnoticed.
 */
import {
  ALGORITHM,
  EMPTY_SHA256,
  S3_PATH_RULES,
  amzDate as toAmzDate,
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  chunkStringToSign,
  deriveSigningKey,
  headerMap,
  hmac,
  parseQuery,
  sha256Hex,
  stringToSign,
  toByteString,
  trailerStringToSign,
  uriEncode,
} from './canonical.js';

export interface SignOptions {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** The body to hash, or 'UNSIGNED-PAYLOAD'. Absent: the empty body. */
  body?: Uint8Array | 'UNSIGNED-PAYLOAD';
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service?: 's3';
  now?: Date;
}

function rawTarget(url: URL): { rawPath: string; rawQuery: string } {
  return { rawPath: url.pathname === '' ? '/' : url.pathname, rawQuery: url.search.startsWith('?') ? url.search.slice(1) : url.search };
}

interface Signed {
  headers: Record<string, string>;
  signature: string;
  signingKey: Buffer;
  scope: string;
  amzDate: string;
}

function signWithPayloadHash(opts: Omit<SignOptions, 'body'>, payloadHash: string): Signed {
  const service = opts.service ?? 's3';
  const when = opts.now ?? new Date();
  const date = toAmzDate(when);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers)) {
    if (k.toLowerCase() === 'authorization') continue;
    out[k] = v;
  }
  const lower = new Set(Object.keys(out).map((k) => k.toLowerCase()));
  if (!lower.has('host')) out.host = opts.url.host;
  if (!lower.has('x-amz-date')) out['x-amz-date'] = date;
  if (!lower.has('x-amz-content-sha256')) out['x-amz-content-sha256'] = payloadHash;
  // Header values are signed as their UTF-8 bytes, which is what Node's http client sends.
  const raw = Object.entries(out).flatMap(([k, v]) => [k, toByteString(v)]);
  const headers = headerMap(raw);
  const signedHeaders = [...headers.keys()].sort();
  const scope = `${date.slice(0, 8)}/${opts.region}/${service}/aws4_request`;
  const { rawPath, rawQuery } = rawTarget(opts.url);
  const creq = canonicalRequest({
    method: opts.method,
    canonicalUri: canonicalUri(rawPath, S3_PATH_RULES),
    canonicalQuery: canonicalQuery(parseQuery(rawQuery, Number.MAX_SAFE_INTEGER)),
    canonicalHeaders: canonicalHeaders(headers, signedHeaders),
    signedHeaders,
    payloadHash: headers.get('x-amz-content-sha256')!.join(','),
  });
  const signingKey = deriveSigningKey(opts.secretAccessKey, date.slice(0, 8), opts.region, service);
  const signature = hmac(signingKey, stringToSign(date, scope, creq)).toString('hex');
  out.authorization = `${ALGORITHM} Credential=${opts.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return { headers: out, signature, signingKey, scope, amzDate: date };
}

/**
 * Sign a request in the header form. Returns the headers to send: the given ones plus host, x-amz-date,
 * x-amz-content-sha256 and authorization. Every header passed in is signed.
 */
export function signRequest(opts: SignOptions): Record<string, string> {
  const payloadHash = opts.body === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD'
    : opts.body === undefined ? EMPTY_SHA256 : sha256Hex(opts.body);
  return signWithPayloadHash(opts, payloadHash).headers;
}

/** A presigned URL (query form, signed header host only, UNSIGNED-PAYLOAD). */
export function presignUrl(opts: {
  method: string;
  url: URL;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  expiresSeconds: number;
  now?: Date;
  service?: 's3';
}): URL {
  if (!Number.isInteger(opts.expiresSeconds) || opts.expiresSeconds < 1 || opts.expiresSeconds > 604800) {
    throw new RangeError('expiresSeconds must be an integer from 1 to 604800 (7 days)');
  }
  const service = opts.service ?? 's3';
  const date = toAmzDate(opts.now ?? new Date());
  const scope = `${date.slice(0, 8)}/${opts.region}/${service}/aws4_request`;
  const { rawPath, rawQuery } = rawTarget(opts.url);
  const added = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${opts.accessKeyId}/${scope}`],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', String(opts.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
  const query = rawQuery === '' ? added : `${rawQuery}&${added}`;
  const headers = headerMap(['host', opts.url.host]);
  const creq = canonicalRequest({
    method: opts.method,
    canonicalUri: canonicalUri(rawPath, S3_PATH_RULES),
    canonicalQuery: canonicalQuery(parseQuery(query, Number.MAX_SAFE_INTEGER)),
    canonicalHeaders: canonicalHeaders(headers, ['host']),
    signedHeaders: ['host'],
    payloadHash: 'UNSIGNED-PAYLOAD',
  });
  const key = deriveSigningKey(opts.secretAccessKey, date.slice(0, 8), opts.region, service);
  const signature = hmac(key, stringToSign(date, scope, creq)).toString('hex');
  const out = new URL(opts.url.href);
  out.search = `?${query}&X-Amz-Signature=${signature}`;
  return out;
}

export interface ChunkedBodyEncoder {
  /** Encode one data chunk (its signature chains from the previous one). */
  chunk(data: Uint8Array): Buffer;
  /** The final zero-length chunk, then the trailers (signed with x-amz-trailer-signature when signed). */
  finish(trailers?: Record<string, string>): Buffer;
}

/**
 * Sign an aws-chunked upload. `mode` 'signed' is STREAMING-AWS4-HMAC-SHA256-PAYLOAD (or -TRAILER when
 * `trailerNames` is given); 'unsigned-trailer' is STREAMING-UNSIGNED-PAYLOAD-TRAILER. The caller sends the
 * returned headers (add content-length of the encoded body yourself, or pass it in `headers` to sign it).
 */
export function signChunkedUpload(opts: Omit<SignOptions, 'body'> & {
  decodedContentLength: number;
  mode?: 'signed' | 'unsigned-trailer';
  trailerNames?: string[];
}): { headers: Record<string, string>; encoder: ChunkedBodyEncoder } {
  const mode = opts.mode ?? 'signed';
  const trailer = opts.trailerNames !== undefined && opts.trailerNames.length > 0;
  if (mode === 'unsigned-trailer' && !trailer) throw new TypeError('unsigned-trailer needs trailerNames');
  const payloadHash = mode === 'unsigned-trailer' ? 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
    : trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
  const headers: Record<string, string> = { ...opts.headers };
  const lower = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  if (!lower.has('content-encoding')) headers['content-encoding'] = 'aws-chunked';
  if (!lower.has('x-amz-decoded-content-length')) headers['x-amz-decoded-content-length'] = String(opts.decodedContentLength);
  if (trailer && !lower.has('x-amz-trailer')) headers['x-amz-trailer'] = opts.trailerNames!.join(',');
  const signed = signWithPayloadHash({ ...opts, headers }, payloadHash);
  let previous = signed.signature;
  const sign = (hashHex: string) => {
    previous = hmac(signed.signingKey, chunkStringToSign(signed.amzDate, signed.scope, previous, hashHex)).toString('hex');
    return previous;
  };
  const frame = (data: Uint8Array) => {
    const size = data.length.toString(16);
    const head = mode === 'signed' ? `${size};chunk-signature=${sign(sha256Hex(data))}\r\n` : `${size}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), data, Buffer.from('\r\n', 'latin1')]);
  };
  const encoder: ChunkedBodyEncoder = {
    chunk(data) {
      if (data.length === 0) throw new RangeError('a data chunk must not be empty (the empty chunk ends the body)');
      return frame(data);
    },
    finish(trailers = {}) {
      const last = mode === 'signed' ? `0;chunk-signature=${sign(EMPTY_SHA256)}\r\n` : '0\r\n';
      if (!trailer) return Buffer.from(`${last}\r\n`, 'latin1');
      const names = Object.keys(trailers).map((n) => n.toLowerCase()).sort();
      const lines = names.map((n) => `${n}:${toByteString(trailers[Object.keys(trailers).find((k) => k.toLowerCase() === n)!])}`);
      let text = last + lines.map((l) => `${l}\r\n`).join('');
      if (mode === 'signed') {
        const canonical = lines.map((l) => `${l}\n`).join('');
        const sig = hmac(signed.signingKey, trailerStringToSign(signed.amzDate, signed.scope, previous, canonical)).toString('hex');
        text += `x-amz-trailer-signature:${sig}\r\n`;
      }
      return Buffer.from(`${text}\r\n`, 'latin1');
    },
  };
  return { headers: signed.headers, encoder };
}
