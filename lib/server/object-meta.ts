/**
 * Object metadata on the wire: user metadata (x-amz-meta-*), the system headers S3 stores (Content-Type,
 * Content-Encoding, Content-Disposition, Cache-Control, Expires, Content-Language), ETags and the response
 * headers of GET/HEAD. Values with CR, LF or other control characters are refused (no header injection).
 */
import type { ObjectHead, PutOptions, StoredChecksum, SystemHeaders } from '../vault.js';
import { header, httpDate, type RequestContext } from './context.js';
import { headerOf } from './checksums.js';
import { S3Error } from './s3-error.js';

export type { StoredChecksum, SystemHeaders };
export type PutOptionsX = PutOptions;
export type HeadX = ObjectHead;

/** The per-key sequence of the version a PUT made or a GET/HEAD answers with (docs/s3.md, docs/witness.md). */
export const SEQUENCE_HEADER = 'x-shardvault-sequence';
/** GET/HEAD: answer only from this per-key sequence or a newer one, else 503 ERR_SV_STALE (never older bytes). */
export const MIN_SEQUENCE_HEADER = 'x-shardvault-min-sequence';

export const SYSTEM_HEADERS: ReadonlyArray<[keyof SystemHeaders, string]> = [
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['cacheControl', 'cache-control'],
  ['expires', 'expires'],
  ['contentLanguage', 'content-language'],
];
const HEADER_VALUE_BYTES_MAX = 1024;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export function checkHeaderValue(name: string, value: string): string {
  if (CONTROL.test(value)) throw new S3Error('InvalidArgument', 400, `The value of ${name} contains a control character (CR/LF are not allowed).`, { extra: { ArgumentName: name } });
  return value;
}

/** x-amz-meta-* of the request: names lowercased (as S3), total of names and values bounded (MetadataTooLarge). */
export function userMetadata(ctx: RequestContext): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!name.startsWith('x-amz-meta-')) continue;
    const short = name.slice('x-amz-meta-'.length);
    if (short.length === 0) throw new S3Error('InvalidArgument', 400, 'A metadata header needs a name after x-amz-meta-.');
    const value = checkHeaderValue(name, raw[i + 1]!.trim());
    // A repeated name: S3 joins the values with ','.
    out[short] = out[short] === undefined ? value : `${out[short]},${value}`;
    bytes += Buffer.byteLength(short) + Buffer.byteLength(value);
    if (bytes > ctx.state.limits.metadataBytesMax) throw new S3Error('MetadataTooLarge', 400, `Your metadata headers exceed the maximum allowed metadata size (${ctx.state.limits.metadataBytesMax} bytes).`);
  }
  return out;
}

export function systemHeaders(ctx: RequestContext): SystemHeaders {
  const out: SystemHeaders = {};
  for (const [field, name] of SYSTEM_HEADERS) {
    const v = header(ctx, name);
    if (v === undefined) continue;
    if (Buffer.byteLength(v) > HEADER_VALUE_BYTES_MAX) throw new S3Error('InvalidArgument', 400, `${name} is longer than ${HEADER_VALUE_BYTES_MAX} bytes.`, { extra: { ArgumentName: name } });
    out[field] = checkHeaderValue(name, v);
  }
  return out;
}

export function contentType(ctx: RequestContext): string | undefined {
  const v = header(ctx, 'content-type');
  if (v === undefined) return undefined;
  if (v.length > 255 || !/^[\x20-\x7e]*$/.test(v)) throw new S3Error('InvalidArgument', 400, 'Content-Type must be printable ASCII of at most 255 bytes.', { extra: { ArgumentName: 'Content-Type' } });
  return v;
}

/** Content-MD5: base64 of 16 bytes, else InvalidDigest. */
export function contentMd5(ctx: RequestContext): string | undefined {
  const v = header(ctx, 'content-md5');
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]{22}==$/.test(v)) throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified is not valid.');
  return v;
}

/** The ETag of an object: the hex MD5 when the engine has it; else (an object written without MD5 through the
 *  library) the first 128 bits of its BLAKE3 content hash, which is as stable but is not an MD5. */
export function etagOf(h: ObjectHead): string {
  return h.etag ?? h.contentHash.slice(0, 32);
}

export const quoted = (etag: string): string => `"${etag}"`;

/** Response headers of GET/HEAD for an object. */
export function objectHeaders(ctx: RequestContext, h: HeadX): Record<string, string> {
  const out: Record<string, string> = {
    ETag: quoted(etagOf(h)),
    'Last-Modified': httpDate(h.timeMs),
    'Accept-Ranges': 'bytes',
    'Content-Type': h.contentType ?? 'binary/octet-stream',
    [SEQUENCE_HEADER]: h.sequence.toString(),
  };
  const hs = h.headers ?? {};
  for (const [field, name] of SYSTEM_HEADERS) {
    const v = hs[field];
    if (v !== undefined) out[name] = v;
  }
  for (const [k, v] of Object.entries(h.metadata)) out[`x-amz-meta-${k}`] = v;
  // x-amz-mp-parts-count only answers a partNumber request (as S3); see ops-object.ts.
  if (h.parts !== undefined && h.parts.length > 0 && ctx.target.query.has('partNumber')) out['x-amz-mp-parts-count'] = String(h.parts.length);
  if (h.checksum !== undefined && header(ctx, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    out[headerOf(h.checksum.algorithm)] = h.checksum.value;
    out['x-amz-checksum-type'] = h.parts !== undefined && h.parts.length > 0 ? 'COMPOSITE' : 'FULL_OBJECT';
  }
  return out;
}

const OVERRIDES: ReadonlyArray<[string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

/** GetObject's response-* query overrides (checked for CR/LF: no header injection). */
export function applyOverrides(ctx: RequestContext, headers: Record<string, string>): void {
  for (const [param, name] of OVERRIDES) {
    const v = ctx.target.query.get(param);
    if (v === undefined) continue;
    checkHeaderValue(param, v);
    for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
    headers[name] = v;
  }
}
