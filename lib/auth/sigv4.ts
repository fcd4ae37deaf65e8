/**
 * AWS Signature Version 4 verification for S3: header form and presigned-URL (query) form.
 *
 * Two steps, as in DESIGN.md §7: `parseSigV4` reads the request into a claim (`SigV4ClaimUntrusted`) without
 * any secret; `SigV4Verifier.verify` checks time and scope, looks the key up, recomputes the signature and
 * compares in constant time. The body is never read here: the payload mode tells the caller which stream
 * stage to put in front of the body (createPayloadHashCheck or createChunkedDecoder).
 *
 * Spec: Amazon S3 API Reference, "Authenticating Requests (AWS Signature Version 4)", "Signature
 * Calculations for the Authorization Header", "Authenticating Requests: Using Query Parameters".
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ALGORITHM,
  S3_PATH_RULES,
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  deriveSigningKey,
  headerMap,
  hmac,
  isByteString,
  parseAmzDate,
  parseQuery,
  stringToSign,
  type PathRules,
  type QueryParam,
} from './canonical.js';
import { AuthError, authErrors } from './errors.js';

export interface RequestParts {
  method: string;
  /** req.url: raw path + '?' + raw query, still percent-encoded. */
  target: string;
  /** Node's req.rawHeaders (repeated headers kept, in order). */
  rawHeaders: string[];
}

export interface SecretLookup {
  (accessKeyId: string): Promise<{ secretAccessKey: string; principal: string; enabled: boolean } | undefined>;
}

export type PayloadMode =
  | { kind: 'signed'; sha256Hex: string }
  | { kind: 'unsigned' }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

/** State the chunk decoder needs to continue the signature chain. Opaque to callers. */
export interface ChunkChain {
  signingKey: Buffer;
  scope: string;
  amzDate: string;
  seedSignature: string;
}

export interface Verified {
  accessKeyId: string;
  principal: string;
  presigned: boolean;
  region: string;
  payload: PayloadMode;
  /** x-amz-decoded-content-length for aws-chunked bodies. */
  decodedContentLength?: number;
  /** Lower-cased trailer names declared by x-amz-trailer (aws-chunked with a trailer). */
  trailerNames?: string[];
  signedHeaders: string[];
  /** Request time (x-amz-date / X-Amz-Date) in epoch ms. */
  requestTimeMs: number;
  /** aws-chunked signed streams only; a non-enumerable property (kept out of JSON and logs). */
  chain?: ChunkChain;
}

/** Bounds checked before anything is allocated from the claim. Node itself caps headers at 16 KiB. */
export const SIGV4_LIMITS = {
  headerCountMax: 256,
  headerBytesMax: 64 * 1024,
  targetLengthMax: 16 * 1024,
  queryParamsMax: 256,
  authorizationLengthMax: 4096,
  signedHeadersMax: 64,
  accessKeyIdLengthMax: 128,
  /** Signing keys kept (one per key id x date x region x service in use). */
  signingKeyCacheMax: 1024,
} as const;

const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const UNSIGNED = 'UNSIGNED-PAYLOAD';
const HEX64 = /^[0-9a-f]{64}$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const ACCESS_KEY_ID = /^[A-Za-z0-9]+$/;

/** What the request claims, before any secret is involved. Every field is attacker-controlled. */
export interface SigV4ClaimUntrusted {
  presigned: boolean;
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  amzDate: string;
  requestTimeMs: number;
  signedHeaders: string[];
  signature: string;
  /** Presigned only: X-Amz-Expires in seconds. */
  expiresSeconds?: number;
  /** x-amz-content-sha256 as sent (header form), or UNSIGNED-PAYLOAD (presigned). */
  payloadHash: string;
  method: string;
  rawPath: string;
  query: QueryParam[];
  headers: Map<string, string[]>;
}

function single(headers: Map<string, string[]>, name: string): string | undefined {
  const v = headers.get(name);
  return v === undefined ? undefined : v.join(',');
}

function queryValue(query: QueryParam[], name: string): string | undefined {
  let found: string | undefined;
  for (const p of query) {
    if (p.name === name) {
      if (found !== undefined) throw authErrors.queryMalformed(`Query parameter ${name} appears more than once`);
      found = p.value;
    }
  }
  return found;
}

/**
 * Parse the SigV4 claim from a request. Pure: no secret, no clock. Refuses anonymous requests, Signature
 * V2, other algorithms and two mechanisms in one request.
 */
export function parseSigV4(req: RequestParts, pathRules: PathRules = S3_PATH_RULES): SigV4ClaimUntrusted {
  if (req.rawHeaders.length > SIGV4_LIMITS.headerCountMax * 2) throw authErrors.limit('The number of request headers');
  let headerBytes = 0;
  for (const h of req.rawHeaders) headerBytes += h.length;
  if (headerBytes > SIGV4_LIMITS.headerBytesMax) throw authErrors.limit('The request headers');
  if (req.target.length > SIGV4_LIMITS.targetLengthMax) throw authErrors.limit('The request URL');
  if (!req.target.startsWith('/')) throw authErrors.invalidRequest('malformed', 'The request target must be an absolute path');
  // Node hands over bytes as one char each; anything wider did not come off the wire (see canonical.ts).
  if (!isByteString(req.target) || !req.rawHeaders.every(isByteString)) {
    throw authErrors.invalidRequest('malformed', 'The request target and headers must be byte strings (as Node\'s req.url and req.rawHeaders are)');
  }
  // RFC 3986: a request target is ASCII with everything else percent-encoded. Raw UTF-8 bytes would be
  // signed as bytes but read by a percent-decoder as something else, so they are refused, not guessed at.
  if (/[^\x21-\x7e]/.test(req.target)) {
    throw authErrors.invalidRequest('malformed', 'The request URL must be percent-encoded (no spaces, control characters or raw non-ASCII bytes)');
  }
  if (!/^[A-Z]{1,16}$/.test(req.method)) throw authErrors.invalidRequest('malformed', 'The request method is not valid');

  const q = req.target.indexOf('?');
  const rawPath = q < 0 ? req.target : req.target.slice(0, q);
  const rawQuery = q < 0 ? '' : req.target.slice(q + 1);
  const query = parseQuery(rawQuery, SIGV4_LIMITS.queryParamsMax);
  const headers = headerMap(req.rawHeaders);
  // Validate the path now so a bad encoding is a 400, not a signature mismatch later.
  canonicalUri(rawPath, pathRules);

  const authz = headers.get('authorization');
  const hasQueryAlgo = query.some((p) => p.name === 'X-Amz-Algorithm' || p.name === 'X-Amz-Credential');
  const hasQuerySig = query.some((p) => p.name === 'X-Amz-Signature');
  const hasV2Query = query.some((p) => p.name === 'Signature') && query.some((p) => p.name === 'AWSAccessKeyId');
  const mechanisms = (authz === undefined ? 0 : authz.length) + (hasQueryAlgo || hasQuerySig ? 1 : 0) + (hasV2Query ? 1 : 0);
  if (mechanisms > 1) {
    throw authErrors.invalidArgument('double-auth',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  if (hasV2Query || (authz !== undefined && /^AWS [^ ]/.test(authz[0]))) {
    throw authErrors.invalidRequest('v2', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  if (authz !== undefined) return parseHeaderForm(req, authz[0], headers, query, rawPath);
  if (hasQueryAlgo || hasQuerySig) return parseQueryForm(req, headers, query, rawPath);
  throw authErrors.accessDenied('missing', 'Anonymous requests are not allowed: sign the request with AWS Signature Version 4');
}

function parseCredential(value: string, bad: (m: string) => AuthError) {
  const parts = value.split('/');
  if (parts.length !== 5) throw bad(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  const [accessKeyId, scopeDate, region, service, terminator] = parts;
  if (accessKeyId.length === 0 || accessKeyId.length > SIGV4_LIMITS.accessKeyIdLengthMax || !ACCESS_KEY_ID.test(accessKeyId)) {
    throw bad('the access key id in the Credential is mal-formed.');
  }
  if (!/^\d{8}$/.test(scopeDate)) throw bad(`the Credential date '${scopeDate.slice(0, 16)}' is mal-formed; expecting YYYYMMDD.`);
  if (region.length === 0 || region.length > 64 || !/^[a-z0-9-]+$/.test(region)) throw bad('the region in the Credential is mal-formed.');
  return { accessKeyId, scopeDate, region, service, terminator };
}

function parseSignedHeaders(value: string, bad: (m: string) => AuthError): string[] {
  const list = value.split(';');
  if (list.length > SIGV4_LIMITS.signedHeadersMax) throw authErrors.limit('SignedHeaders');
  for (let i = 0; i < list.length; i++) {
    if (!HEADER_NAME.test(list[i])) throw bad('SignedHeaders must be lower-case header names separated by \';\'.');
    if (i > 0 && list[i - 1] >= list[i]) throw bad('SignedHeaders must be sorted and free of duplicates.');
  }
  return list;
}

function parseHeaderForm(req: RequestParts, authz: string, headers: Map<string, string[]>, query: QueryParam[], rawPath: string): SigV4ClaimUntrusted {
  const bad = (m: string) => authErrors.headerMalformed(`The authorization header is malformed; ${m}`);
  if (authz.length > SIGV4_LIMITS.authorizationLengthMax) throw authErrors.limit('The Authorization header');
  if (!authz.startsWith(`${ALGORITHM} `)) {
    throw authErrors.invalidRequest('unsupported', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  const fields = new Map<string, string>();
  for (const rawField of authz.slice(ALGORITHM.length + 1).split(',')) {
    const field = rawField.trim();
    if (field === '') continue;
    const eq = field.indexOf('=');
    if (eq <= 0) throw bad(`'${field.slice(0, 32)}' is not a key=value pair.`);
    const key = field.slice(0, eq);
    if (key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature') throw bad(`unknown field '${key.slice(0, 32)}'.`);
    if (fields.has(key)) throw bad(`'${key}' appears more than once.`);
    fields.set(key, field.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeadersText = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined) throw bad('missing Credential.');
  if (signedHeadersText === undefined) throw bad('missing SignedHeaders.');
  if (signature === undefined) throw bad('missing Signature.');
  if (!HEX64.test(signature)) throw bad('the Signature must be 64 lower-case hex digits.');
  const cred = parseCredential(credential, bad);
  const signedHeaders = parseSignedHeaders(signedHeadersText, bad);

  const amzDateText = single(headers, 'x-amz-date');
  if (amzDateText === undefined) {
    throw authErrors.accessDenied('malformed', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  const requestTimeMs = parseAmzDate(amzDateText);
  if (requestTimeMs === undefined) throw authErrors.accessDenied('malformed', 'AWS authentication requires a valid Date or x-amz-date header');
  const payloadHash = single(headers, 'x-amz-content-sha256');
  if (payloadHash === undefined) throw authErrors.invalidRequest('malformed', 'Missing required header for this request: x-amz-content-sha256');
  return {
    presigned: false, ...cred, amzDate: amzDateText, requestTimeMs, signedHeaders, signature, payloadHash,
    method: req.method, rawPath, query, headers,
  };
}

function parseQueryForm(req: RequestParts, headers: Map<string, string[]>, query: QueryParam[], rawPath: string): SigV4ClaimUntrusted {
  const bad = (m: string) => authErrors.queryMalformed(`Error parsing the X-Amz-Credential parameter; ${m}`);
  const need = (name: string) => {
    const v = queryValue(query, name);
    if (v === undefined) {
      throw authErrors.queryMalformed(`Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters (missing ${name}).`);
    }
    return v;
  };
  const algorithm = need('X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) {
    throw authErrors.queryMalformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`, algorithm.startsWith('AWS4-') ? 'unsupported' : 'malformed');
  }
  const credential = need('X-Amz-Credential');
  if (credential.length > SIGV4_LIMITS.authorizationLengthMax) throw authErrors.limit('X-Amz-Credential');
  const cred = parseCredential(credential, bad);
  const amzDateText = need('X-Amz-Date');
  const requestTimeMs = parseAmzDate(amzDateText);
  if (requestTimeMs === undefined) throw authErrors.queryMalformed('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  const expiresText = need('X-Amz-Expires');
  if (!/^\d{1,7}$/.test(expiresText)) throw authErrors.queryMalformed('X-Amz-Expires should be a number');
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds < 1) throw authErrors.queryMalformed('X-Amz-Expires must be non-negative');
  if (expiresSeconds > 604800) throw authErrors.queryMalformed('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  const signedHeaders = parseSignedHeaders(need('X-Amz-SignedHeaders'),
    (m) => authErrors.queryMalformed(`Error parsing the X-Amz-SignedHeaders parameter; ${m}`));
  const signature = need('X-Amz-Signature');
  if (!HEX64.test(signature)) throw authErrors.queryMalformed('X-Amz-Signature must be 64 lower-case hex digits');
  return {
    presigned: true, ...cred, amzDate: amzDateText, requestTimeMs, signedHeaders, signature, expiresSeconds,
    payloadHash: UNSIGNED, method: req.method, rawPath, query, headers,
  };
}

/** Canonical request text of a claim (exported for tests and for the client signer's self-check). */
export function claimCanonicalRequest(claim: SigV4ClaimUntrusted, pathRules: PathRules = S3_PATH_RULES): string {
  return canonicalRequest({
    method: claim.method,
    canonicalUri: canonicalUri(claim.rawPath, pathRules),
    canonicalQuery: canonicalQuery(claim.query, claim.presigned ? 'X-Amz-Signature' : undefined),
    canonicalHeaders: canonicalHeaders(claim.headers, claim.signedHeaders),
    signedHeaders: claim.signedHeaders,
    payloadHash: claim.payloadHash,
  });
}

function payloadModeOf(claim: SigV4ClaimUntrusted): PayloadMode {
  const h = claim.payloadHash;
  if (claim.presigned || h === UNSIGNED) return { kind: 'unsigned' };
  if (HEX64.test(h)) return { kind: 'signed', sha256Hex: h };
  if (h === STREAMING_SIGNED) return { kind: 'streaming-signed', trailer: false };
  if (h === STREAMING_SIGNED_TRAILER) return { kind: 'streaming-signed', trailer: true };
  if (h === STREAMING_UNSIGNED_TRAILER) return { kind: 'streaming-unsigned-trailer' };
  if (h.startsWith('STREAMING-')) {
    throw authErrors.invalidRequest('unsupported', `x-amz-content-sha256 '${h.slice(0, 64)}' is not supported (SigV4a and event streams are not)`);
  }
  throw authErrors.invalidArgument('malformed',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER or a lower-case hex SHA-256');
}

/** A small LRU of derived signing keys: HMAC chains cost four HMACs per request otherwise. */
class SigningKeyCache {
  private readonly map = new Map<string, Buffer>();
  constructor(private readonly max: number) {}
  get(secret: string, date: string, region: string, service: string): Buffer {
    // The map key hashes the secret so the cache never holds it in clear twice.
    const id = `${createHash('sha256').update(secret).digest('base64')}\0${date}\0${region}\0${service}`;
    const hit = this.map.get(id);
    if (hit !== undefined) {
      this.map.delete(id);
      this.map.set(id, hit);
      return hit;
    }
    const key = deriveSigningKey(secret, date, region, service);
    this.map.set(id, key);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return key;
  }
  get size(): number {
    return this.map.size;
  }
}

export function constantTimeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'latin1');
  const bb = Buffer.from(b, 'latin1');
  // Equal-length buffers for timingSafeEqual; a length mismatch is not secret (both are 64 by syntax).
  if (ab.length !== bb.length) return false;
  return timingSafeEqual(ab, bb);
}

export interface SigV4VerifierOptions {
  region: string;
  lookup: SecretLookup;
  /** Allowed clock difference for the header form and for presigned URLs dated in the future (15 min). */
  clockSkewMs?: number;
  now?: () => number;
  /** Longest presigned validity accepted (7 days, S3's limit). */
  maxPresignSeconds?: number;
  /** Service name in the credential scope ('s3'). */
  service?: string;
}

export class SigV4Verifier {
  private readonly region: string;
  private readonly lookup: SecretLookup;
  private readonly clockSkewMs: number;
  private readonly now: () => number;
  private readonly maxPresignSeconds: number;
  private readonly service: string;
  private readonly keys = new SigningKeyCache(SIGV4_LIMITS.signingKeyCacheMax);

  constructor(opts: SigV4VerifierOptions) {
    if (typeof opts.region !== 'string' || !/^[a-z0-9-]{1,64}$/.test(opts.region)) throw new TypeError('region must be a region name like us-east-1');
    if (typeof opts.lookup !== 'function') throw new TypeError('lookup must be a function');
    this.region = opts.region;
    this.lookup = opts.lookup;
    this.clockSkewMs = opts.clockSkewMs ?? 15 * 60 * 1000;
    this.now = opts.now ?? Date.now;
    this.maxPresignSeconds = Math.min(opts.maxPresignSeconds ?? 604800, 604800);
    this.service = opts.service ?? 's3';
  }

  /** Signing keys currently cached (for tests and metrics). */
  get signingKeysCached(): number {
    return this.keys.size;
  }

  async verify(req: RequestParts): Promise<Verified> {
    const claim = parseSigV4(req);
    const isHeader = !claim.presigned;
    const scopeError = (m: string) => (isHeader ? authErrors.headerMalformed(m, 'scope') : authErrors.queryMalformed(m, 'scope'));

    // Scope: date, region, service, terminator (S3 answers these with the *Malformed codes).
    if (claim.scopeDate !== claim.amzDate.slice(0, 8)) {
      throw scopeError(`The authorization header is malformed; Invalid credential date "${claim.scopeDate}". This date is not the same as X-Amz-Date: "${claim.amzDate.slice(0, 8)}".`);
    }
    if (claim.region !== this.region) {
      throw scopeError(`The authorization header is malformed; the region '${claim.region}' is wrong; expecting '${this.region}'`);
    }
    if (claim.service !== this.service) {
      throw scopeError(`The authorization header is malformed; incorrect service "${claim.service.slice(0, 32)}". This endpoint belongs to "${this.service}".`);
    }
    if (claim.terminator !== 'aws4_request') {
      throw scopeError(`The authorization header is malformed; incorrect terminal "${claim.terminator.slice(0, 32)}". This endpoint uses "aws4_request".`);
    }

    // Time.
    const now = this.now();
    if (isHeader) {
      if (Math.abs(now - claim.requestTimeMs) > this.clockSkewMs) throw authErrors.skewed();
    } else {
      if (claim.requestTimeMs - now > this.clockSkewMs) throw authErrors.accessDenied('future', 'Request is not valid yet');
      if (claim.expiresSeconds! > this.maxPresignSeconds) {
        throw authErrors.queryMalformed(`X-Amz-Expires must be at most ${this.maxPresignSeconds} seconds on this server`);
      }
      if (now > claim.requestTimeMs + claim.expiresSeconds! * 1000) throw authErrors.accessDenied('expired', 'Request has expired');
    }

    // What must be signed: host, every x-amz-* header sent, content-md5 when present.
    if (!claim.signedHeaders.includes('host') || !claim.headers.has('host')) {
      throw authErrors.accessDenied('unsigned-header', 'The host header must be present and signed');
    }
    for (const name of claim.headers.keys()) {
      if ((name.startsWith('x-amz-') || name === 'content-md5') && !claim.signedHeaders.includes(name)) {
        throw authErrors.accessDenied('unsigned-header', `There were headers present in the request which were not signed: ${name.slice(0, 64)}`);
      }
    }
    if (isHeader && claim.headers.has('x-amz-security-token')) {
      throw new AuthError('InvalidToken', 400, 'unsupported', 'Session tokens are not supported by this server');
    }
    if (!isHeader && claim.query.some((p) => p.name === 'X-Amz-Security-Token')) {
      throw new AuthError('InvalidToken', 400, 'unsupported', 'Session tokens are not supported by this server');
    }

    const payload = payloadModeOf(claim);
    let decodedContentLength: number | undefined;
    let trailerNames: string[] | undefined;
    const streaming = payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer';
    if (streaming) {
      const dcl = single(claim.headers, 'x-amz-decoded-content-length');
      if (dcl === undefined) throw authErrors.missingSecurityHeader('Missing required header for this request: x-amz-decoded-content-length');
      if (!/^\d{1,15}$/.test(dcl)) throw authErrors.invalidArgument('malformed', 'x-amz-decoded-content-length must be a non-negative integer');
      decodedContentLength = Number(dcl);
      const hasTrailer = payload.kind === 'streaming-unsigned-trailer' || payload.trailer;
      const declared = single(claim.headers, 'x-amz-trailer');
      if (hasTrailer) {
        if (declared === undefined || declared.trim() === '') {
          throw authErrors.invalidRequest('trailer', `x-amz-trailer is required with x-amz-content-sha256 ${claim.payloadHash}`);
        }
        trailerNames = declared.split(',').map((s) => s.trim().toLowerCase());
        if (trailerNames.length > 8 || trailerNames.some((n) => !/^x-amz-checksum-[a-z0-9]{1,16}$/.test(n))) {
          throw authErrors.invalidRequest('trailer', 'x-amz-trailer may only name x-amz-checksum-* headers');
        }
      } else if (declared !== undefined) {
        throw authErrors.invalidRequest('trailer', 'x-amz-trailer was sent without a trailer payload mode');
      }
    }

    // The secret, only now.
    const entry = await this.lookup(claim.accessKeyId);
    if (entry === undefined) throw authErrors.invalidAccessKeyId('unknown-key');
    if (!entry.enabled) throw authErrors.invalidAccessKeyId('disabled-key');
    const scope = `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`;
    const signingKey = this.keys.get(entry.secretAccessKey, claim.scopeDate, claim.region, claim.service);
    const sts = stringToSign(claim.amzDate, scope, claimCanonicalRequest(claim));
    const expected = hmac(signingKey, sts).toString('hex');
    if (!constantTimeEqualHex(expected, claim.signature)) throw authErrors.signatureMismatch();

    const verified: Verified = {
      accessKeyId: claim.accessKeyId,
      principal: entry.principal,
      presigned: claim.presigned,
      region: claim.region,
      payload,
      signedHeaders: claim.signedHeaders,
      requestTimeMs: claim.requestTimeMs,
    };
    if (decodedContentLength !== undefined) verified.decodedContentLength = decodedContentLength;
    if (trailerNames !== undefined) verified.trailerNames = trailerNames;
    if (streaming) {
      // Not enumerable: a Verified that ends up in a log line (pino serialises enumerable fields) must not
      // carry the derived signing key, which is as good as the secret for a day.
      Object.defineProperty(verified, 'chain', {
        value: { signingKey, scope, amzDate: claim.amzDate, seedSignature: claim.signature } satisfies ChunkChain,
        enumerable: false,
      });
    }
    return verified;
  }
}
