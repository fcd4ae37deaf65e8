// Fuzz tier, the daemon's XML request bodies (issue 14): DeleteObjects, CreateBucketConfiguration and
// CompleteMultipartUpload bodies, fuzzed and sent as correctly signed requests (sha256 of the body signed,
// Content-MD5 over it where S3 requires one), so every input reaches the XML parser and the operation's
// reading of the tree. Inputs: generated XML-shaped documents (the real element names, random nesting,
// entities and character references, CDATA, comments, PIs, DOCTYPE, namespaces, attributes, huge numbers,
// unclosed and mismatched tags) and the harness's byte mutations of valid bodies. Property: each answer is
// a success or a well-formed S3 error with a Code from a fixed, stable set — never 500 — and the daemon (a
// child process) stays up. FUZZ_XML_RUNS sets the count per body kind (default 300).
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signRequest } from '../lib/auth/index.js';
import { DAEMON_ROOT, exchange, healthz, parseFirstResponse, startDaemon, stopAllDaemons, type Daemon } from './support/daemon.js';
import { FUZZ_SEED, inputs } from './support/fuzz.js';

const RUNS = Number(process.env.FUZZ_XML_RUNS ?? 300);
const BATCH = 50;
const PARALLEL = 6;
const fixtureDir = new URL('./fuzz-fixtures/', import.meta.url).pathname;

/** The codes an XML body may be refused with: each names what is wrong, and none is a server fault. */
const STABLE = new Set(['MalformedXML', 'InvalidArgument', 'InvalidRequest', 'InvalidDigest', 'BadDigest', 'InvalidLocationConstraint',
  'IllegalLocationConstraintException', 'InvalidBucketName', 'BucketAlreadyOwnedByYou', 'BucketAlreadyExists', 'NoSuchBucket', 'NoSuchUpload',
  'InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'UserKeyMustBeSpecified', 'KeyTooLongError', 'MaxMessageLengthExceeded', 'NotImplemented',
  'MissingRequestBodyError', 'InvalidObjectName', 'InvalidURI', 'TooManyBuckets']);

let d: Daemon;
let multipart = false;
let uploadId = '';

function send(method: string, path: string, body: Buffer, md5: boolean): Promise<{ status: number; code?: string; problem?: string; body?: string }> {
  const url = new URL(path, d.url);
  const headers: Record<string, string> = { 'content-type': 'application/xml', 'content-length': String(body.length) };
  if (md5) headers['content-md5'] = createHash('md5').update(body).digest('base64');
  const h = signRequest({ method, url, headers, body, ...DAEMON_ROOT, region: 'us-east-1' });
  const head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return exchange(d, Buffer.concat([Buffer.from(head, 'latin1'), body]), 15_000).then((r) => {
    if (r.timedOut) return { status: 0, problem: 'no answer within 15 s' };
    const res = parseFirstResponse(r.received);
    if (res === undefined) return { status: 0, problem: `no HTTP response (${r.received.length} bytes${r.error ? `, ${r.error}` : ''})` };
    if (res.status < 300) return { status: res.status, body: res.body.toString('utf8') };
    const text = res.body.toString('utf8');
    if (XMLValidator.validate(text) !== true) return { status: res.status, problem: `error body is not XML: ${text.slice(0, 200)}` };
    const code = (new XMLParser().parse(text) as { Error?: { Code?: unknown } }).Error?.Code;
    if (typeof code !== 'string') return { status: res.status, problem: `error without a Code: ${text.slice(0, 200)}` };
    if (res.status >= 500 && code !== 'NotImplemented') return { status: res.status, code, problem: `${res.status} ${code}: ${text.slice(0, 300)}` };
    if (!STABLE.has(code)) return { status: res.status, code, problem: `unexpected code ${code}: ${text.slice(0, 300)}` };
    return { status: res.status, code };
  });
}

// ------------------------------------------------------------------ XML-shaped generator

const names = ['Delete', 'Object', 'Key', 'VersionId', 'Quiet', 'CreateBucketConfiguration', 'LocationConstraint', 'Location', 'Bucket',
  'CompleteMultipartUpload', 'Part', 'PartNumber', 'ETag', 'ChecksumCRC32', 'ChecksumSHA256', 'x', 's3:Key', 'Object '];
const texts = fc.oneof(
  fc.constantFrom('', 'k', 'true', 'false', 'TRUE', '1', '0', '-1', '10001', '99999999999999999999', 'us-east-1', 'eu-west-1', 'EU', '""', '"etag"',
    '&amp;', '&lt;x&gt;', '&#0;', '&#x0;', '&#xD800;', '&#1114112;', '&#x110000;', '&unknown;', '&', '<![CDATA[a<b]]>', '<!-- c -->', '<?pi x?>',
    'a'.repeat(1100), '\u0000', '\uffff', '\ud800', 'é', ' '.repeat(50), 'null', 'undefined', '__proto__', 'constructor', 'hasOwnProperty'),
  fc.string({ maxLength: 30 }),
);
const attrs = fc.constantFrom('', ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', ' xmlns:s3="x"', ' a="1"', ' a=1', ' a="<"', ' xml:space="preserve"');
type El = string;
const element: fc.Arbitrary<El> = fc.letrec<{ el: El }>((tie) => ({
  el: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.constantFrom(...names), attrs, texts).map(([n, a, t]) => `<${n}${a}>${t}</${n.split(' ')[0]}>`),
    fc.tuple(fc.constantFrom(...names), attrs, fc.array(tie('el'), { maxLength: 5 })).map(([n, a, cs]) => `<${n}${a}>${cs.join('')}</${n.split(' ')[0]}>`),
    fc.constantFrom(...names).map((n) => `<${n}/>`),
    fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)).map(([a, b]) => `<${a}>x</${b}>`), // mismatched
    fc.constantFrom(...names).map((n) => `<${n}>`), // unclosed
  ),
})).el;
const prolog = fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.1"?>', '<?xml version="1.0" encoding="UTF-16"?>', '\ufeff',
  '<!DOCTYPE x [<!ENTITY a "b">]>', '<!DOCTYPE Delete SYSTEM "file:///etc/passwd">', '<!-- lead -->', ' \n');
const deepNest = fc.integer({ min: 5, max: 200 }).map((n) => `<Delete>${'<Object>'.repeat(n)}<Key>k</Key>${'</Object>'.repeat(n)}</Delete>`);
const manyObjects = fc.integer({ min: 900, max: 1200 }).map((n) => `<Delete>${'<Object><Key>k</Key></Object>'.repeat(n)}</Delete>`);
const rootShaped = (root: string) => fc.tuple(prolog, attrs, fc.array(element, { maxLength: 8 }), fc.constantFrom('', 'trailing', '<x/>'))
  .map(([p, a, cs, tail]) => `${p}<${root}${a}>${cs.join('')}</${root}>${tail}`);

function kindInputs(root: string, seeds: string[]): fc.Arbitrary<Buffer> {
  const bytes = seeds.map((s) => new Uint8Array(Buffer.from(s)));
  return fc.oneof(
    { arbitrary: rootShaped(root).map((s) => Buffer.from(s)), weight: 5 },
    { arbitrary: fc.tuple(prolog, element).map(([p, e]) => Buffer.from(p + e)), weight: 2 },
    { arbitrary: inputs(bytes, 8192).map((b) => Buffer.from(b)), weight: 4 },
    { arbitrary: fc.oneof(deepNest, manyObjects).map((s) => Buffer.from(s)), weight: 1 },
  );
}

interface Kind { name: string; root: string; seeds: string[]; send: (body: Buffer, i: number) => ReturnType<typeof send> }
const kinds = (): Kind[] => [
  {
    name: 'DeleteObjects', root: 'Delete',
    seeds: ['<Delete><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key><VersionId>null</VersionId></Object><Quiet>true</Quiet></Delete>',
      '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>x</Key></Object></Delete>'],
    send: (b) => send('POST', '/fzx?delete', b, true),
  },
  {
    name: 'CreateBucketConfiguration', root: 'CreateBucketConfiguration',
    seeds: ['<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>',
      '<CreateBucketConfiguration><LocationConstraint></LocationConstraint></CreateBucketConfiguration>'],
    send: (b, i) => send('PUT', `/fzx-new-${i}`, b, false),
  },
  {
    name: 'CompleteMultipartUpload', root: 'CompleteMultipartUpload',
    seeds: ['<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0123456789abcdef0123456789abcdef"</ETag></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><ETag>x</ETag><PartNumber>2</PartNumber></Part><Part><PartNumber>1</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>'],
    send: (b) => send('POST', `/fzx/mp-key?uploadId=${encodeURIComponent(uploadId || 'no-such-upload')}`, b, false),
  },
];

beforeAll(async () => {
  d = await startDaemon();
  const mk = await send('PUT', '/fzx', Buffer.alloc(0), false);
  expect(mk.status, JSON.stringify(mk)).toBe(200);
  const probe = await send('POST', '/fzx/mp-key?uploads', Buffer.alloc(0), false);
  multipart = probe.status === 200;
  if (multipart) {
    uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(probe.body ?? '')?.[1] ?? '';
    expect(uploadId, probe.body).not.toBe('');
    // one real part, so a well-formed body naming part 1 can complete (then later bodies meet NoSuchUpload)
    const part = await send('PUT', `/fzx/mp-key?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, Buffer.alloc(1024, 1), false);
    expect(part.status, JSON.stringify(part)).toBe(200);
  }
  if (!multipart) console.log(`fuzz-xml: CreateMultipartUpload answers ${probe.status} ${probe.code ?? ''}: CompleteMultipartUpload bodies are sent against a missing upload (each must still get a stable code)`);
});

afterAll(async () => {
  await stopAllDaemons();
});

describe('fuzz: the daemon\'s XML request bodies, through signed requests', () => {
  for (const kind of kinds()) {
    it(`${kind.name}: ${RUNS} fuzzed bodies, each a success or a stable S3 error code, never 500; the daemon stays up`, async () => {
      const tally = new Map<string, number>();
      const started = performance.now();
      let i = 0;
      for (let b = 0; i < RUNS; b++) {
        const items = fc.sample(kindInputs(kind.root, kind.seeds), { seed: FUZZ_SEED + 7919 * b + kind.name.length, numRuns: Math.min(BATCH, RUNS - i) });
        const problems: string[] = [];
        let next = 0;
        await Promise.all(Array.from({ length: PARALLEL }, async () => {
          while (next < items.length) {
            const body = items[next++]!;
            const r = await kind.send(body, i++);
            const key = r.code ?? String(r.status);
            tally.set(key, (tally.get(key) ?? 0) + 1);
            if (r.problem !== undefined) {
              mkdirSync(fixtureDir, { recursive: true });
              const f = join(fixtureDir, `daemon-xml-${kind.name}-${createHash('sha256').update(body).digest('hex').slice(0, 16)}.bin`);
              writeFileSync(f, body);
              problems.push(`${r.problem} (body saved to ${f})`);
            }
          }
        }));
        expect(problems, problems.slice(0, 5).join('\n')).toEqual([]);
        expect(d.exit(), d.output()).toBeUndefined();
        expect(await healthz(d)).toBe(200);
      }
      const ms = Math.round(performance.now() - started);
      const rss = d.sample()?.rssBytes ?? 0;
      console.log(`fuzz-xml ${kind.name}: ${i} bodies in ${(ms / 1000).toFixed(1)} s, daemon RSS ${(rss / 2 ** 20).toFixed(0)} MiB; answers: ${[...tally].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' ')}`);
      if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify({ target: `daemon-xml-${kind.name}`, runs: i, accepted: (tally.get('200') ?? 0) + (tally.get('204') ?? 0), rejected: Object.fromEntries(tally), ms, rssBeforeMiB: 0, rssAfterMiB: Math.round(rss / 2 ** 20) })}\n`);
      expect(rss).toBeLessThan(512 * 1024 * 1024);
    });
  }
});
