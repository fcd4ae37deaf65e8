// The daemon's pure parts, table- and property-tested: the XML body parser (any input gives a value or
// MalformedXML, never a crash; DTDs, entity tricks and deep nesting refused), the error table (every engine
// code maps to an S3 code), routing (path and virtual-host style, every operation, refused sub-resources,
// bounded query), ranges, conditionals, admission arithmetic, and the config schema.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../lib/errors.js';
import { Admission } from '../lib/server/admission.js';
import { FailureAudit } from '../lib/server/audit.js';
import type { Vault } from '../lib/vault.js';
import { canonicalJson } from '../lib/format/canonical-json.js';
import { configHash, effectiveConfig, parseConfig } from '../lib/server/config.js';
import { evaluate, parseRange } from '../lib/server/conditions.js';
import { DEFAULT_LIMITS } from '../lib/server/limits.js';
import { operationOf, parseTarget } from '../lib/server/request.js';
import { S3Error, engineCodeMapping, toS3Error } from '../lib/server/s3-error.js';
import { childText, children, esc, parseXml, xmlDocument } from '../lib/server/xml.js';

const LIM = { depthMax: 8, bytesMax: 1 << 20 };
const s3code = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    if (!(err instanceof S3Error)) throw err;
    return err.s3Code;
  }
};

describe('XML request bodies', () => {
  it('parses S3 bodies, decoding the predefined entities and character references only', () => {
    const doc = parseXml(Buffer.from('<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a&amp;b&lt;&#x41;&#66;</Key></Object><Object><Key>2</Key></Object></Delete>'), LIM);
    const del = doc.Delete![0];
    expect(childText(del, 'Quiet')).toBe('true');
    expect(children(del, 'Object').map((o) => childText(o, 'Key'))).toEqual(['a&b<AB', '2']);
  });

  it('refuses DOCTYPE/ENTITY, deep nesting, oversized bodies and garbage with MalformedXML', () => {
    expect(s3code(() => parseXml(Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), LIM))).toBe('MalformedXML');
    expect(s3code(() => parseXml(Buffer.from(`${'<a>'.repeat(9)}${'</a>'.repeat(9)}`), LIM))).toBe('MalformedXML');
    expect(s3code(() => parseXml(Buffer.from(`${'<a>'.repeat(8)}${'</a>'.repeat(8)}`), LIM))).toBe('ok');
    expect(s3code(() => parseXml(Buffer.alloc(100, 0x61), { depthMax: 8, bytesMax: 10 }))).toBe('MalformedXML');
    expect(s3code(() => parseXml(Buffer.from('<a><b></a>'), LIM))).toBe('MalformedXML');
    expect(s3code(() => parseXml(Buffer.from('<Delete><Quiet>1</Quiet><Quiet>2</Quiet></Delete>'), LIM))).toBe('ok');
  });

  it('any input: a document or MalformedXML, never another error (property)', () => {
    const xmlish = fc.array(fc.oneof(fc.constantFrom('<', '>', '/', '&', ';', '<a>', '</a>', '<b/>', '<!--', '-->', '<![CDATA[', ']]>', '&amp;', '&#x0;', '&#99999999;', '<?xml?>', '"', '=', ' '), fc.string({ maxLength: 5 })), { maxLength: 60 }).map((a) => a.join(''));
    fc.assert(fc.property(fc.oneof(xmlish, fc.string({ maxLength: 200 })), (text) => {
      const code = s3code(() => parseXml(Buffer.from(text), LIM));
      expect(['ok', 'MalformedXML']).toContain(code);
    }), { numRuns: 2000 });
  });

  it('responses escape every special character', () => {
    expect(esc(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
    const out = xmlDocument('R', [['Key', 'a<b&c'], ['N', 3], ['Nested', [['X', 'y']]]]);
    expect(out).toContain('<Key>a&lt;b&amp;c</Key><N>3</N><Nested><X>y</X></Nested>');
    // And what we write, we read back.
    const back = parseXml(Buffer.from(xmlDocument('R', [['Key', `k<&>"'\u00e9`]])), LIM);
    expect(childText(back.R![0], 'Key')).toBe(`k<&>"'\u00e9`);
  });
});

describe('errors', () => {
  it('maps every engine error code to an S3 code and status, with a non-empty message', () => {
    for (const code of Object.values(ErrorCode)) {
      const m = engineCodeMapping(code);
      expect(m, code).toBeDefined();
      expect(m!.status).toBeGreaterThanOrEqual(400);
      const e = toS3Error(Object.assign(new Error(''), { code }));
      expect(e.message.length, code).toBeGreaterThan(0);
    }
    expect(toS3Error(new Error('secret path /x/y')).message).not.toContain('/x/y');
    expect(toS3Error(new Error('x')).s3Code).toBe('InternalError');
  });
});

describe('routing', () => {
  const route = (method: string, url: string, host?: string, copy = false) => {
    const t = parseTarget(url, host, { domain: 's3.example.com', queryParamsMax: 10 });
    return [t.bucket, t.key, operationOf(method, t, copy)];
  };
  it('names every operation, path-style and virtual-host-style', () => {
    expect(route('GET', '/')).toEqual([undefined, undefined, 'ListBuckets']);
    expect(route('PUT', '/b')).toEqual(['b', undefined, 'CreateBucket']);
    expect(route('GET', '/b?list-type=2&prefix=a')).toEqual(['b', undefined, 'ListObjectsV2']);
    expect(route('GET', '/b')).toEqual(['b', undefined, 'ListObjects']);
    expect(route('GET', '/b?location')).toEqual(['b', undefined, 'GetBucketLocation']);
    expect(route('GET', '/b?uploads')).toEqual(['b', undefined, 'ListMultipartUploads']);
    expect(route('POST', '/b?delete')).toEqual(['b', undefined, 'DeleteObjects']);
    expect(route('HEAD', '/b')).toEqual(['b', undefined, 'HeadBucket']);
    expect(route('DELETE', '/b')).toEqual(['b', undefined, 'DeleteBucket']);
    expect(route('PUT', '/b/a%2Fb%20c')).toEqual(['b', 'a/b c', 'PutObject']);
    expect(route('PUT', '/b/k', undefined, true)).toEqual(['b', 'k', 'CopyObject']);
    expect(route('PUT', '/b/k?partNumber=1&uploadId=x')).toEqual(['b', 'k', 'UploadPart']);
    expect(route('PUT', '/b/k?partNumber=1&uploadId=x', undefined, true)).toEqual(['b', 'k', 'UploadPartCopy']);
    expect(route('POST', '/b/k?uploads')).toEqual(['b', 'k', 'CreateMultipartUpload']);
    expect(route('POST', '/b/k?uploadId=x')).toEqual(['b', 'k', 'CompleteMultipartUpload']);
    expect(route('DELETE', '/b/k?uploadId=x')).toEqual(['b', 'k', 'AbortMultipartUpload']);
    expect(route('GET', '/b/k?uploadId=x')).toEqual(['b', 'k', 'ListParts']);
    expect(route('GET', '/k/x', 'photos.s3.example.com:9000')).toEqual(['photos', 'k/x', 'GetObject']);
    expect(route('GET', '/', 'photos.s3.example.com')).toEqual(['photos', undefined, 'ListObjects']);
    expect(route('GET', '/b/k', 'other.example.org')).toEqual(['b', 'k', 'GetObject']);
  });
  it('refuses unsupported sub-resources, repeated or too many query parameters, bad encodings', () => {
    expect(s3code(() => route('GET', '/b/k?tagging'))).toBe('NotImplemented');
    expect(s3code(() => route('PUT', '/b?versioning'))).toBe('NotImplemented');
    expect(s3code(() => route('POST', '/b'))).toBe('NotImplemented');
    expect(s3code(() => route('PATCH', '/b/k'))).toBe('MethodNotAllowed');
    expect(s3code(() => route('GET', '/b?a=1&a=2'))).toBe('InvalidArgument');
    expect(s3code(() => route('GET', `/b?${Array.from({ length: 11 }, (_, i) => `p${i}=1`).join('&')}`))).toBe('InvalidArgument');
    expect(s3code(() => route('GET', '/b/%E0%A4%A'))).toBe('InvalidURI');
  });
});

describe('ranges and conditions', () => {
  it('parses single ranges; unsatisfiable ones are InvalidRange; others are ignored', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=9-1', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(s3code(() => parseRange('bytes=100-', 100))).toBe('InvalidRange');
    expect(s3code(() => parseRange('bytes=-0', 100))).toBe('InvalidRange');
    expect(s3code(() => parseRange('bytes=0-', 0))).toBe('InvalidRange');
  });
  it('evaluates conditionals with S3 precedence', () => {
    const o = { etag: 'abc', timeMs: Date.parse('2024-01-01T00:00:00Z') };
    const before = 'Sun, 31 Dec 2023 00:00:00 GMT';
    const after = 'Tue, 02 Jan 2024 00:00:00 GMT';
    expect(evaluate({ ifMatch: '"abc"' }, o)).toBe('ok');
    expect(evaluate({ ifMatch: 'W/"abc", "x"' }, o)).toBe('ok');
    expect(s3code(() => evaluate({ ifMatch: '"x"' }, o))).toBe('PreconditionFailed');
    expect(evaluate({ ifMatch: '"abc"', ifUnmodifiedSince: before }, o)).toBe('ok');
    expect(s3code(() => evaluate({ ifUnmodifiedSince: before }, o))).toBe('PreconditionFailed');
    expect(evaluate({ ifNoneMatch: '"abc"' }, o)).toBe('not-modified');
    expect(evaluate({ ifNoneMatch: '"x"', ifModifiedSince: after }, o)).toBe('ok');
    expect(evaluate({ ifModifiedSince: after }, o)).toBe('not-modified');
    expect(evaluate({ ifModifiedSince: before }, o)).toBe('ok');
    expect(evaluate({ ifModifiedSince: 'not a date' }, o)).toBe('ok');
    expect(s3code(() => evaluate({ ifNoneMatch: '"abc"' }, o, { copy: true }))).toBe('PreconditionFailed');
  });
});

describe('admission', () => {
  it('bounds requests, each principal\'s share and body bytes; a release frees all three', () => {
    const limits = { ...DEFAULT_LIMITS, concurrentRequestsMax: 4, principalShare: 0.5, bytesInFlightMax: 100, bodyChargeBytesMax: 60 };
    const rejected: string[] = [];
    const a = new Admission(() => limits, (r) => rejected.push(r));
    const t1 = a.enter();
    t1.forPrincipal('p');
    const t2 = a.enter();
    t2.forPrincipal('p');
    const t3 = a.enter();
    expect(s3code(() => t3.forPrincipal('p'))).toBe('SlowDown');
    t3.forPrincipal('q');
    const t4 = a.enter();
    expect(s3code(() => a.enter())).toBe('SlowDown');
    t1.chargeBody(1000); // charged 60 (the cap), not 1000
    expect(a.bytesInFlight).toBe(60);
    expect(s3code(() => t2.chargeBody(50))).toBe('SlowDown');
    for (const t of [t1, t2, t3, t4]) t.release();
    t1.release(); // idempotent
    expect([a.active, a.bytesInFlight]).toEqual([0, 0]);
    expect(rejected).toEqual(['principal', 'concurrency', 'bytes']);
  });
});

describe('config', () => {
  it('refuses unknown keys naming them, and bad values naming the field', () => {
    expect(() => parseConfig({ limits: { nope: 1 } })).toThrow(/limits\.nope/);
    expect(() => parseConfig({ pool: { disks: [{ path: '/a', lable: {} }, { path: '/b' }] } })).toThrow(/pool\.disks\.0\.lable/);
    expect(() => parseConfig({ address: 'nohost' })).toThrow(/address/);
    expect(() => parseConfig({ limits: { concurrentRequestsMax: -1 } })).toThrow(/limits\.concurrentRequestsMax/);
    expect(() => parseConfig({ logLevel: 'loud' })).toThrow(/logLevel/);
    try {
      parseConfig({ bogus: true });
    } catch (err) {
      expect((err as { code: string }).code).toBe(ErrorCode.UNKNOWN_OPTION);
    }
  });
  it('merges defaults < file < options; the hash is of canonical JSON (key order does not matter)', () => {
    const c = effectiveConfig(parseConfig({ region: 'eu-west-1', limits: { urlBytesMax: 4096 } }), { dataDir: '/d', limits: { queryParamsMax: 7 } });
    expect([c.region, c.limits.urlBytesMax, c.limits.queryParamsMax, c.limits.deleteKeysMax, c.address]).toEqual(['eu-west-1', 4096, 7, 1000, { host: '127.0.0.1', port: 9000 }]);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    const again = effectiveConfig(parseConfig({ limits: { urlBytesMax: 4096 }, region: 'eu-west-1' }), { limits: { queryParamsMax: 7 }, dataDir: '/d' });
    expect(configHash(again)).toBe(configHash(c));
    expect(configHash(effectiveConfig(undefined, { dataDir: '/d' }))).not.toBe(configHash(c));
  });
});

describe('audit of refusals', () => {
  it('records the first refusals of a window one by one and counts the rest into one summary record', async () => {
    const got: Array<{ action: string; result: string; detail?: string }> = [];
    const sink = { appendAudit: async (r: { action: string; result: string; detail?: string }) => { got.push(r); } } as unknown as Vault;
    const a = new FailureAudit(sink, { perWindow: 3, windowMs: 60_000, onError: (err) => { throw err; } });
    for (let i = 0; i < 10; i++) a.record({ principal: 'p', action: 'auth', result: 'AccessDenied', requestId: `r${i}` });
    await a.close();
    expect(got.length).toBe(4);
    expect(got.slice(0, 3).map((r) => r.action)).toEqual(['auth', 'auth', 'auth']);
    expect(got[3]).toMatchObject({ action: 'auth', result: 'AccessDenied', detail: '7 more in 60 s (rate-limited)' });
  });
});
