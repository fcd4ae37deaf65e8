// SigV4 verifier: cross-checked against the official AWS SDK for JavaScript on the wire (a capture server
// receives what @aws-sdk/client-s3 and @aws-sdk/s3-request-presigner send, and the verifier must accept it),
// every single-byte change to a signed part breaks it, and a table of refused requests with their S3 codes.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerMap, canonicalHeaders, canonicalRequest, deriveSigningKey, hmac, stringToSign, EMPTY_SHA256, amzDate } from '../lib/auth/canonical.js';
import {
  AuthError,
  createBodyStage,
  presignUrl,
  signRequest,
  SigV4Verifier,
  type RequestParts,
  type SecretLookup,
  type Verified,
} from '../lib/auth/index.js';

const KEY = { accessKeyId: 'SVTESTKEY0000000000A', secretAccessKey: 'test-secret-0123456789abcdefghijklmnopqrstuv' };
const OTHER = { accessKeyId: 'SVDISABLED0000000000', secretAccessKey: 'other-secret-0123456789abcdefghijklmnopqr' };
const lookup: SecretLookup = async (id) => {
  if (id === KEY.accessKeyId) return { secretAccessKey: KEY.secretAccessKey, principal: 'alice', enabled: true };
  if (id === OTHER.accessKeyId) return { secretAccessKey: OTHER.secretAccessKey, principal: 'bob', enabled: false };
  return undefined;
};

interface Captured { parts: RequestParts; body: Buffer }

/** A server that records each request and answers just enough S3 for the SDK to be satisfied. */
class CaptureServer {
  server!: Server;
  captured: Captured[] = [];
  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.captured.push({ parts: { method: req.method!, target: req.url!, rawHeaders: [...req.rawHeaders] }, body: Buffer.concat(chunks) });
        res.setHeader('x-amz-request-id', 'capture');
        if (req.method === 'GET' && req.url!.includes('list-type=2')) {
          res.setHeader('content-type', 'application/xml');
          res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>');
        } else if (req.method === 'POST' && req.url!.includes('delete')) {
          res.setHeader('content-type', 'application/xml');
          res.end('<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>');
        } else if (req.method === 'GET') {
          res.setHeader('content-length', '5');
          res.setHeader('etag', '"5d41402abc4b2a76b9719d911017c592"');
          res.end('hello');
        } else {
          res.setHeader('etag', '"d41d8cd98f00b204e9800998ecf8427e"');
          res.end();
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const verifier = new SigV4Verifier({ region: 'us-east-1', lookup });

/** Read a captured body the way the server will: through createBodyStage. */
async function readThrough(v: Verified, body: Buffer): Promise<{ data: Buffer; trailers: Record<string, string> }> {
  const out: Buffer[] = [];
  const b = createBodyStage(v);
  if (b.stage === undefined) return { data: body, trailers: b.trailers() };
  b.stage.on('data', (d: Buffer) => out.push(d));
  await pipeline(Readable.from([body]), b.stage);
  const data = Buffer.concat(out);
  if (b.decodedLength !== undefined) expect(data.length).toBe(b.decodedLength);
  return { data, trailers: b.trailers() };
}

describe('requests signed by the official AWS SDK verify', () => {
  const cap = new CaptureServer();
  let client: S3Client;
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await cap.start();
    client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: KEY, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await cap.stop();
  });

  const weirdKey = "dir one/ü nïcode+plus%pct$dollar!*'()~;,=&?@#x.txt";
  const cases: Array<[string, () => Promise<unknown>, (c: Captured, v: Verified, d: { data: Buffer; trailers: Record<string, string> }) => void]> = [
    ['PutObject with a string body and metadata', () => client.send(new PutObjectCommand({
      Bucket: 'bucket', Key: weirdKey, Body: 'hello world', ContentType: 'text/plain', Metadata: { 'a-b': 'v  with   spaces', utf8: 'grüße' },
    })), (_c, _v, d) => expect(d.data.toString()).toBe('hello world')],
    ['PutObject with a stream body (aws-chunked with a checksum trailer)', () => client.send(new PutObjectCommand({
      Bucket: 'bucket', Key: 'streamed', Body: Readable.from([Buffer.alloc(70000, 'x'), Buffer.alloc(1234, 'y')]), ContentLength: 71234,
    })), (_c, v, d) => {
      expect(d.data.length).toBe(71234);
      if (v.payload.kind === 'streaming-unsigned-trailer' || v.payload.kind === 'streaming-signed') {
        expect(Object.keys(d.trailers).some((k) => k.startsWith('x-amz-checksum-'))).toBe(true);
      }
    }],
    ['GetObject with Range and If-None-Match', () => client.send(new GetObjectCommand({ Bucket: 'bucket', Key: weirdKey, Range: 'bytes=0-3', IfNoneMatch: '"abc"' })), () => {}],
    ['HeadObject', () => client.send(new HeadObjectCommand({ Bucket: 'bucket', Key: 'k' })), () => {}],
    ['ListObjectsV2 with prefix, delimiter, start-after and encoding-type', () => client.send(new ListObjectsV2Command({
      Bucket: 'bucket', Prefix: 'a b/ü+', Delimiter: '/', StartAfter: 'a b/ü+0', EncodingType: 'url', MaxKeys: 7,
    })), () => {}],
    ['DeleteObjects (POST ?delete with a body checksum)', () => client.send(new DeleteObjectsCommand({
      Bucket: 'bucket', Delete: { Objects: [{ Key: 'a' }, { Key: weirdKey }], Quiet: true },
    })), (_c, _v, d) => expect(d.data.toString()).toContain('<Key>a</Key>')],
  ];
  for (const [name, send, check] of cases) {
    it(name, async () => {
      cap.captured = [];
      await send();
      expect(cap.captured.length).toBe(1);
      const c = cap.captured[0];
      const v = await verifier.verify(c.parts);
      expect(v.accessKeyId).toBe(KEY.accessKeyId);
      expect(v.principal).toBe('alice');
      if (process.env.AUTH_DEBUG) console.log(name, v.payload, v.signedHeaders.join(';'), c.parts.target);
      check(c, v, await readThrough(v, c.body));
      // Our client signer, given the SDK's signed headers and time, produces the SDK's signature.
      const raw = c.parts.rawHeaders;
      const sdkAuth = raw[raw.findIndex((h) => h.toLowerCase() === 'authorization') + 1];
      const headers: Record<string, string> = {};
      for (let i = 0; i < raw.length; i += 2) {
        // Node gave the wire bytes one char each; the signer takes JS strings.
        if (v.signedHeaders.includes(raw[i].toLowerCase())) headers[raw[i]] = Buffer.from(raw[i + 1], 'latin1').toString('utf8');
      }
      const amz = headers['x-amz-date'];
      const when = new Date(Date.UTC(+amz.slice(0, 4), +amz.slice(4, 6) - 1, +amz.slice(6, 8), +amz.slice(9, 11), +amz.slice(11, 13), +amz.slice(13, 15)));
      const ours = signRequest({ method: c.parts.method, url: new URL(`${endpoint}${c.parts.target}`), headers, ...KEY, region: 'us-east-1', now: when });
      expect(ours.authorization).toBe(sdkAuth);
    });
  }

  it('presigned GET and PUT URLs from @aws-sdk/s3-request-presigner verify; our presignUrl verifies too', async () => {
    const urls = [
      await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: weirdKey, ResponseContentType: 'text/x; a=b' }), { expiresIn: 900 }),
      await getSignedUrl(client, new PutObjectCommand({ Bucket: 'bucket', Key: 'put me' }), { expiresIn: 604800 }),
      presignUrl({ method: 'GET', url: new URL(`${endpoint}/bucket/a%20b?versionId=x`), ...KEY, region: 'us-east-1', expiresSeconds: 60 }).href,
    ];
    for (const [i, u] of urls.entries()) {
      cap.captured = [];
      await new Promise<void>((resolve, reject) => {
        const r = httpRequest(u, { method: i === 1 ? 'PUT' : 'GET' }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        r.on('error', reject);
        r.end(i === 1 ? 'body' : undefined);
      });
      const v = await verifier.verify(cap.captured[0].parts);
      expect(v.presigned).toBe(true);
      expect(v.payload.kind).toBe('unsigned');
    }
  });

  it('every single-byte change to a presigned URL (path or any query byte) or its host breaks it', async () => {
    const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: 'k/ü x', ResponseContentType: 'text/plain' }), { expiresIn: 600 }));
    const base: RequestParts = { method: 'GET', target: url.pathname + url.search, rawHeaders: ['Host', url.host] };
    await verifier.verify(base);
    const swap = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    let n = 0;
    for (let i = 0; i < base.target.length; i++, n++) {
      await expect(verifier.verify({ ...base, target: swap(base.target, i) }), `byte ${i}`).rejects.toBeInstanceOf(AuthError);
    }
    for (let i = 0; i < url.host.length; i++, n++) {
      await expect(verifier.verify({ ...base, rawHeaders: ['Host', swap(url.host, i)] })).rejects.toBeInstanceOf(AuthError);
    }
    expect(n).toBeGreaterThan(300);
  });

  it('our presignUrl reproduces the SDK presigner\'s signature for the same request and time', async () => {
    const signingDate = new Date(Date.UTC(2026, 5, 1, 12, 0, 0));
    for (const cmd of [new GetObjectCommand({ Bucket: 'bucket', Key: weirdKey, ResponseContentDisposition: 'attachment; filename="a b.txt"' }),
      new PutObjectCommand({ Bucket: 'bucket', Key: 'up/load.bin' })]) {
      const sdk = new URL(await getSignedUrl(client, cmd, { expiresIn: 3600, signingDate }));
      expect(sdk.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
      const bare = new URL(sdk.href);
      // Keep the SDK's other parameters (x-id, response-*, X-Amz-Content-Sha256); presignUrl adds the rest.
      const ours5 = /^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature)=/;
      const kept = sdk.search.slice(1).split('&').filter((p) => !ours5.test(p));
      bare.search = kept.length > 0 ? `?${kept.join('&')}` : '';
      const ours = presignUrl({ method: cmd instanceof PutObjectCommand ? 'PUT' : 'GET', url: bare, ...KEY, region: 'us-east-1', expiresSeconds: 3600, now: signingDate });
      if (process.env.AUTH_DEBUG) console.log('SDK', sdk.href, 'OURS', ours.href);
      expect(ours.searchParams.get('X-Amz-Signature')).toBe(sdk.searchParams.get('X-Amz-Signature'));
    }
  });

  it('every single-byte change to method, path, query, a signed header or the date breaks the signature', async () => {
    cap.captured = [];
    await client.send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'p/q r', MaxKeys: 3 }));
    const base = cap.captured[0].parts;
    await verifier.verify(base);
    const swap = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    const variants: RequestParts[] = [];
    for (let i = 0; i < base.method.length; i++) variants.push({ ...base, method: swap(base.method, i) });
    for (let i = 0; i < base.target.length; i++) variants.push({ ...base, target: swap(base.target, i) });
    const authzAt = base.rawHeaders.findIndex((h) => h.toLowerCase() === 'authorization');
    const signed = /SignedHeaders=([^,]+)/.exec(base.rawHeaders[authzAt + 1])![1].split(';');
    for (let h = 0; h < base.rawHeaders.length; h += 2) {
      const name = base.rawHeaders[h].toLowerCase();
      if (!signed.includes(name) && name !== 'authorization') continue;
      const value = base.rawHeaders[h + 1];
      for (let i = 0; i < value.length; i++) {
        const raw = [...base.rawHeaders];
        raw[h + 1] = swap(value, i);
        variants.push({ ...base, rawHeaders: raw });
      }
    }
    expect(variants.length).toBeGreaterThan(300);
    let refused = 0;
    for (const variant of variants) {
      const r = await verifier.verify(variant).then(() => undefined, (e: unknown) => e);
      expect(r, `${variant.method} ${variant.target}`).toBeInstanceOf(AuthError);
      refused++;
    }
    expect(refused).toBe(variants.length);
  });
});

// Build a header-signed request by hand (repeated headers, odd forms the SDK never sends).
function handSigned(opts: { method?: string; target?: string; raw?: string[]; signed?: string[]; date?: Date; key?: typeof KEY;
  region?: string; service?: string; scopeDate?: string; terminator?: string; payload?: string; authzRaw?: string }): RequestParts {
  const when = opts.date ?? new Date();
  const payload = opts.payload ?? EMPTY_SHA256;
  const raw = opts.raw ?? ['Host', 'example.test', 'x-amz-date', amzDate(when), 'x-amz-content-sha256', payload];
  const headers = headerMap(raw);
  // Sign with the time the request carries (a table row's x-amz-date may be from a second ago).
  const sent = headers.get('x-amz-date')?.[0];
  const date = sent !== undefined && /^\d{8}T\d{6}Z$/.test(sent) ? sent : amzDate(when);
  const signed = opts.signed ?? [...headers.keys()].sort();
  const target = opts.target ?? '/bucket/key';
  const q = target.indexOf('?');
  const key = opts.key ?? KEY;
  const region = opts.region ?? 'us-east-1';
  const service = opts.service ?? 's3';
  const scope = `${opts.scopeDate ?? date.slice(0, 8)}/${region}/${service}/${opts.terminator ?? 'aws4_request'}`;
  // Canonical request computed independently of the verifier's parse, via the pure functions.
  const creq = canonicalRequest({
    method: opts.method ?? 'GET',
    canonicalUri: q < 0 ? target : target.slice(0, q),
    canonicalQuery: q < 0 ? '' : target.slice(q + 1).split('&').sort().join('&'),
    canonicalHeaders: canonicalHeaders(headers, signed),
    signedHeaders: signed,
    payloadHash: payload,
  });
  const sk = deriveSigningKey(key.secretAccessKey, scope.slice(0, 8), region, service);
  const sig = hmac(sk, stringToSign(date, scope, creq)).toString('hex');
  const authz = opts.authzRaw ?? `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  return { method: opts.method ?? 'GET', target, rawHeaders: [...raw, 'Authorization', authz] };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (!(e instanceof AuthError)) throw e;
    return `${e.s3Code}/${e.status}/${e.reason}`;
  }
}

describe('SigV4Verifier: what it accepts and refuses', () => {
  const now = Date.now();
  const dateNow = amzDate(new Date(now));
  it('a hand-signed request verifies (the baseline for the table)', async () => {
    expect(await codeOf(verifier.verify(handSigned({})))).toBe('OK');
  });

  it('repeated headers are canonicalised from rawHeaders in arrival order, joined with ","', async () => {
    const raw = ['Host', 'example.test', 'x-amz-date', dateNow, 'x-amz-content-sha256', EMPTY_SHA256,
      'X-Amz-Meta-Tag', ' one  two ', 'x-amz-meta-tag', 'three'];
    const req = handSigned({ raw });
    expect(await codeOf(verifier.verify(req))).toBe('OK');
    // The same values in the other order are a different request.
    const swapped = [...req.rawHeaders];
    [swapped[7], swapped[9]] = [swapped[9], swapped[7]];
    expect(await codeOf(verifier.verify({ ...req, rawHeaders: swapped }))).toBe('SignatureDoesNotMatch/403/signature');
  });

  it("a raw '+' in the query is a space (as the router reads it): signed as %20, and a signed %2B is not a raw '+'", async () => {
    // The router decodes prefix=a+b to "a b"; the signature must cover that, not "a+b".
    const spaced = signRequest({ method: 'GET', url: new URL('http://example.test/b?prefix=a%20b'), headers: {}, ...KEY, region: 'us-east-1' });
    const wire = { method: 'GET', target: '/b?prefix=a+b', rawHeaders: Object.entries(spaced).flat() };
    expect(await codeOf(verifier.verify(wire))).toBe('OK');
    const plus = signRequest({ method: 'GET', url: new URL('http://example.test/b?prefix=a%2Bb'), headers: {}, ...KEY, region: 'us-east-1' });
    expect(await codeOf(verifier.verify({ method: 'GET', target: '/b?prefix=a%2Bb', rawHeaders: Object.entries(plus).flat() }))).toBe('OK');
    expect(await codeOf(verifier.verify({ method: 'GET', target: '/b?prefix=a+b', rawHeaders: Object.entries(plus).flat() }))).toBe('SignatureDoesNotMatch/403/signature');
    // In the path '+' is a plus.
    const pathPlus = signRequest({ method: 'GET', url: new URL('http://example.test/b/a+b'), headers: {}, ...KEY, region: 'us-east-1' });
    expect(await codeOf(verifier.verify({ method: 'GET', target: '/b/a%2Bb', rawHeaders: Object.entries(pathPlus).flat() }))).toBe('OK');
    expect(await codeOf(verifier.verify({ method: 'GET', target: '/b/a%20b', rawHeaders: Object.entries(pathPlus).flat() }))).toBe('SignatureDoesNotMatch/403/signature');
  });

  const presign = (expires: number, at: Date, extra = '') => {
    const u = presignUrl({ method: 'GET', url: new URL(`http://example.test/bucket/key${extra}`), ...KEY, region: 'us-east-1', expiresSeconds: expires, now: at });
    return { method: 'GET', target: u.pathname + u.search, rawHeaders: ['Host', 'example.test'] };
  };
  const withTwoAuth = () => {
    const r = handSigned({});
    return { ...r, rawHeaders: [...r.rawHeaders, 'Authorization', r.rawHeaders[r.rawHeaders.length - 1]] };
  };
  const headerPlusQuery = () => {
    const p = presign(60, new Date(now));
    const h = handSigned({ target: p.target });
    return h;
  };
  const table: Array<[string, () => RequestParts, string]> = [
    ['anonymous', () => ({ method: 'GET', target: '/bucket/key', rawHeaders: ['Host', 'example.test'] }), 'AccessDenied/403/missing'],
    ['Signature V2 header', () => ({ method: 'GET', target: '/b/k', rawHeaders: ['Host', 'h', 'Authorization', 'AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg='] }), 'InvalidRequest/400/v2'],
    ['Signature V2 query', () => ({ method: 'GET', target: '/b/k?AWSAccessKeyId=AKIA&Expires=1&Signature=abc', rawHeaders: ['Host', 'h'] }), 'InvalidRequest/400/v2'],
    ['SigV4a / other schemes', () => ({ method: 'GET', target: '/b/k', rawHeaders: ['Host', 'h', 'Authorization', 'AWS4-ECDSA-P256-SHA256 Credential=x'] }), 'InvalidRequest/400/unsupported'],
    ['two Authorization headers', withTwoAuth, 'InvalidArgument/400/double-auth'],
    ['header and query signature together', headerPlusQuery, 'InvalidArgument/400/double-auth'],
    ['header and an X-Amz-Credential query parameter', () => handSigned({ target: '/b/k?X-Amz-Credential=x' }), 'InvalidArgument/400/double-auth'],
    ['an x-amz-* header not signed', () => handSigned({ raw: ['Host', 'example.test', 'x-amz-date', dateNow, 'x-amz-content-sha256', EMPTY_SHA256, 'x-amz-meta-evil', '1'], signed: ['host', 'x-amz-content-sha256', 'x-amz-date'] }), 'AccessDenied/403/unsigned-header'],
    ['content-md5 not signed', () => handSigned({ raw: ['Host', 'example.test', 'x-amz-date', dateNow, 'x-amz-content-sha256', EMPTY_SHA256, 'Content-MD5', '1B2M2Y8AsgTpgAmY7PhCfg=='], signed: ['host', 'x-amz-content-sha256', 'x-amz-date'] }), 'AccessDenied/403/unsigned-header'],
    ['host not signed', () => handSigned({ signed: ['x-amz-content-sha256', 'x-amz-date'] }), 'AccessDenied/403/unsigned-header'],
    ['16 minutes slow', () => handSigned({ date: new Date(now - 16 * 60_000) }), 'RequestTimeTooSkewed/403/skew'],
    ['16 minutes fast', () => handSigned({ date: new Date(now + 16 * 60_000) }), 'RequestTimeTooSkewed/403/skew'],
    ['14 minutes slow is fine', () => handSigned({ date: new Date(now - 14 * 60_000) }), 'OK'],
    ['wrong region', () => handSigned({ region: 'eu-west-1' }), 'AuthorizationHeaderMalformed/400/scope'],
    ['wrong service', () => handSigned({ service: 'ec2' }), 'AuthorizationHeaderMalformed/400/scope'],
    ['scope date is not x-amz-date\'s date', () => handSigned({ scopeDate: '20200101' }), 'AuthorizationHeaderMalformed/400/scope'],
    ['wrong terminator', () => handSigned({ terminator: 'aws5_request' }), 'AuthorizationHeaderMalformed/400/scope'],
    ['unknown key', () => handSigned({ key: { accessKeyId: 'SVNOSUCHKEY000000000', secretAccessKey: 'x'.repeat(40) } }), 'InvalidAccessKeyId/403/unknown-key'],
    ['disabled key', () => handSigned({ key: OTHER }), 'InvalidAccessKeyId/403/disabled-key'],
    ['wrong secret', () => handSigned({ key: { ...KEY, secretAccessKey: 'not-the-secret-0123456789abcdefghijklmnop' } }), 'SignatureDoesNotMatch/403/signature'],
    ['missing x-amz-date', () => handSigned({ raw: ['Host', 'example.test', 'x-amz-content-sha256', EMPTY_SHA256] }), 'AccessDenied/403/malformed'],
    ['x-amz-date not a real date', () => handSigned({ raw: ['Host', 'example.test', 'x-amz-date', '20230231T000000Z', 'x-amz-content-sha256', EMPTY_SHA256] }), 'AccessDenied/403/malformed'],
    ['missing x-amz-content-sha256', () => handSigned({ raw: ['Host', 'example.test', 'x-amz-date', dateNow] }), 'InvalidRequest/400/malformed'],
    ['x-amz-content-sha256 neither hex nor a mode', () => handSigned({ payload: 'NOT-A-HASH' }), 'InvalidArgument/400/malformed'],
    ['SigV4a streaming mode', () => handSigned({ payload: 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' }), 'InvalidRequest/400/unsupported'],
    ['aws-chunked without x-amz-decoded-content-length', () => handSigned({ payload: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }), 'MissingSecurityHeader/400/malformed'],
    ['trailer mode without x-amz-trailer', () => handSigned({ payload: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', raw: ['Host', 'example.test', 'x-amz-date', dateNow, 'x-amz-content-sha256', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length', '5'] }), 'InvalidRequest/400/trailer'],
    ['session token', () => handSigned({ raw: ['Host', 'example.test', 'x-amz-date', dateNow, 'x-amz-content-sha256', EMPTY_SHA256, 'x-amz-security-token', 'tok'] }), 'InvalidToken/400/unsupported'],
    ['Authorization without Signature', () => handSigned({ authzRaw: `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${dateNow.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host` }), 'AuthorizationHeaderMalformed/400/malformed'],
    ['Authorization with an unknown field', () => handSigned({ authzRaw: `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${dateNow.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}, Extra=1` }), 'AuthorizationHeaderMalformed/400/malformed'],
    ['SignedHeaders unsorted', () => handSigned({ authzRaw: `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${dateNow.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date;host, Signature=${'0'.repeat(64)}` }), 'AuthorizationHeaderMalformed/400/malformed'],
    ['Credential with four parts', () => handSigned({ authzRaw: `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${dateNow.slice(0, 8)}/us-east-1/s3, SignedHeaders=host, Signature=${'0'.repeat(64)}` }), 'AuthorizationHeaderMalformed/400/malformed'],
    ['Authorization longer than 4 KiB', () => handSigned({ authzRaw: `AWS4-HMAC-SHA256 Credential=${'A'.repeat(5000)}` }), 'InvalidRequest/400/limit'],
    ['too many headers', () => handSigned({ raw: ['Host', 'example.test', ...Array.from({ length: 600 }, (_, i) => [`h${i}`, 'v']).flat()] }), 'InvalidRequest/400/limit'],
    ['URL longer than 16 KiB', () => handSigned({ target: `/b/${'k'.repeat(17000)}` }), 'InvalidRequest/400/limit'],
    ['too many query parameters', () => handSigned({ target: `/b/k?${Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&')}` }), 'InvalidRequest/400/limit'],
    ['bad percent-encoding in the path', () => handSigned({ target: '/b/%zz' }), 'InvalidRequest/400/malformed'],
    ['a header value wider than a byte (cannot come off the wire)', () => ({ method: 'GET', target: '/b/k', rawHeaders: ['Host', 'h', 'x-amz-meta-a', '\u{1F600}'] }), 'InvalidRequest/400/malformed'],
    ['raw non-ASCII bytes in the URL', () => ({ method: 'GET', target: '/b/\u00c3\u00bc', rawHeaders: ['Host', 'h'] }), 'InvalidRequest/400/malformed'],
    ['a raw space in the URL', () => ({ method: 'GET', target: '/b/a b', rawHeaders: ['Host', 'h'] }), 'InvalidRequest/400/malformed'],
    ['absolute-form target', () => ({ method: 'GET', target: 'http://example.test/b/k', rawHeaders: ['Host', 'example.test'] }), 'InvalidRequest/400/malformed'],
    ['presigned, valid', () => presign(60, new Date(now)), 'OK'],
    ['presigned, expired', () => presign(60, new Date(now - 120_000)), 'AccessDenied/403/expired'],
    ['presigned, dated 20 minutes in the future', () => presign(3600, new Date(now + 20 * 60_000)), 'AccessDenied/403/future'],
    ['presigned, dated 10 minutes in the future (within skew)', () => presign(3600, new Date(now + 10 * 60_000)), 'OK'],
    ['presigned, X-Amz-Expires 0', () => {
      const p = presign(60, new Date(now));
      return { ...p, target: p.target.replace('X-Amz-Expires=60', 'X-Amz-Expires=0') };
    }, 'AuthorizationQueryParametersError/400/malformed'],
    ['presigned, X-Amz-Expires 604801', () => {
      const p = presign(60, new Date(now));
      return { ...p, target: p.target.replace('X-Amz-Expires=60', 'X-Amz-Expires=604801') };
    }, 'AuthorizationQueryParametersError/400/malformed'],
    ['presigned, X-Amz-Expires changed (signed)', () => {
      const p = presign(60, new Date(now));
      return { ...p, target: p.target.replace('X-Amz-Expires=60', 'X-Amz-Expires=61') };
    }, 'SignatureDoesNotMatch/403/signature'],
    ['presigned, missing X-Amz-SignedHeaders', () => {
      const p = presign(60, new Date(now));
      return { ...p, target: p.target.replace('&X-Amz-SignedHeaders=host', '') };
    }, 'AuthorizationQueryParametersError/400/malformed'],
    ['presigned, a parameter twice', () => {
      const p = presign(60, new Date(now));
      return { ...p, target: `${p.target}&X-Amz-Date=20200101T000000Z` };
    }, 'AuthorizationQueryParametersError/400/malformed'],
    ['presigned, wrong algorithm', () => {
      const p = presign(60, new Date(now));
      return { ...p, target: p.target.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1') };
    }, 'AuthorizationQueryParametersError/400/unsupported'],
    ['presigned, an unsigned x-amz header sent along', () => {
      const p = presign(60, new Date(now));
      return { ...p, rawHeaders: [...p.rawHeaders, 'x-amz-acl', 'public-read'] };
    }, 'AccessDenied/403/unsigned-header'],
    ['presigned, a signed query parameter changed after signing', () => {
      const p = presign(60, new Date(now), '?response-content-type=text%2Fhtml');
      return { ...p, target: p.target.replace('text%2Fhtml', 'text%2Fxml') };
    }, 'SignatureDoesNotMatch/403/signature'],
  ];
  for (const [name, make, want] of table) {
    it(`${name} -> ${want}`, async () => {
      expect(await codeOf(verifier.verify(make()))).toBe(want);
    });
  }

  it('signing keys are cached in a bounded LRU', async () => {
    const many = new Map<string, string>();
    for (let i = 0; i < 1100; i++) many.set(`SVMANY${String(i).padStart(14, '0')}`, `secret-${i}-0123456789abcdefghijklmnopqrstu`);
    const v = new SigV4Verifier({ region: 'us-east-1', lookup: async (id) => (many.has(id) ? { secretAccessKey: many.get(id)!, principal: id, enabled: true } : undefined) });
    for (const [accessKeyId, secretAccessKey] of many) {
      const h = signRequest({ method: 'GET', url: new URL('http://example.test/b/k'), headers: {}, accessKeyId, secretAccessKey, region: 'us-east-1' });
      await v.verify({ method: 'GET', target: '/b/k', rawHeaders: Object.entries(h).flat() });
    }
    expect(v.signingKeysCached).toBe(1024);
  });

  it('a clock-injected verifier checks skew against its clock, not the host clock', async () => {
    const at = Date.UTC(2030, 0, 1);
    const v = new SigV4Verifier({ region: 'us-east-1', lookup, now: () => at });
    const h = signRequest({ method: 'GET', url: new URL('http://example.test/b/k'), headers: {}, ...KEY, region: 'us-east-1', now: new Date(at) });
    const req = { method: 'GET', target: '/b/k', rawHeaders: Object.entries(h).flat() };
    expect(await codeOf(v.verify(req))).toBe('OK');
    expect(await codeOf(verifier.verify(req))).toBe('RequestTimeTooSkewed/403/skew');
  });

  it('property: any method, target and raw headers give a verified result or an AuthError, never another exception', async () => {
    const header = fc.tuple(
      fc.oneof(fc.constantFrom('host', 'authorization', 'Authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-decoded-content-length', 'x-amz-trailer', 'content-md5'), fc.string({ maxLength: 12 })),
      fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(
        `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${dateNow.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'a'.repeat(64)}`,
        'AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=;;, Signature=', dateNow, EMPTY_SHA256, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')),
    );
    const target = fc.oneof(
      fc.string({ maxLength: 60 }).map((s) => `/${s}`),
      fc.constantFrom('/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Date=x&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=00',
        '/b/%', '/b/%e2%82', '/?&&=&=a&%ZZ', '/b?X-Amz-Signature=1'),
    );
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 8 }), target, fc.array(header, { maxLength: 10 }), async (method, t, hs) => {
      try {
        await verifier.verify({ method, target: t, rawHeaders: hs.flat() });
      } catch (e) {
        if (!(e instanceof AuthError)) throw e;
        expect(e.status === 400 || e.status === 403).toBe(true);
        expect(e.message.length).toBeGreaterThan(0);
      }
    }), { numRuns: 3000 });
  });
});
