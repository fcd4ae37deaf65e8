// lib/server/log.ts: one JSON line per request with the fields operators grep for, and no credential ever in
// the output, however it is passed (a header object, a URL with a presigned query, an Authorization value in
// a message, an error's message, a child logger's bindings). Then the real daemon (startServer): after
// signed, presigned, failing and anonymous requests, its log and every file of its pool are searched for the
// secrets: they are only in the key store, sealed (AES-256-GCM), never in clear.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { createLogger, logRequest, REDACTED, scrub } from '../lib/server/log.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SIGNATURE = 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
const AKID = 'SVEXAMPLEAKID0000001';

function capture(level = 'info') {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const log = createLogger({ level, destination: out });
  return { log, text: () => Buffer.concat(chunks).toString('utf8'), lines: () => Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger / logRequest', () => {
  it('writes one JSON line per request with request id, principal, operation, status, bytes and duration', () => {
    const { log, lines } = capture();
    logRequest(log, { requestId: 'R1', principal: 'alice', operation: 'PutObject', status: 200, bytesIn: 4096, bytesOut: 0, durationMs: 12.34567, source: '127.0.0.1:5555' });
    logRequest(log, { requestId: 'R2', operation: 'GetObject', status: 503, bytesIn: 0, bytesOut: 120, durationMs: 1, errorCode: 'SlowDown' });
    const [a, b] = lines();
    expect(a).toMatchObject({ level: 'info', msg: 'request', service: 'shardvault', requestId: 'R1', principal: 'alice', operation: 'PutObject', status: 200, bytesIn: 4096, bytesOut: 0, durationMs: 12.346, source: '127.0.0.1:5555' });
    expect(typeof a.time).toBe('string');
    expect(Number.isNaN(Date.parse(a.time as string))).toBe(false);
    expect(b).toMatchObject({ level: 'error', requestId: 'R2', status: 503, errorCode: 'SlowDown' });
    expect(b).not.toHaveProperty('principal');
  });

  it('honours the level and refuses an unknown one', () => {
    const { log, text } = capture('warn');
    logRequest(log, { requestId: 'R', operation: 'GetObject', status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1 });
    log.warn('kept');
    expect(text()).not.toContain('"R"');
    expect(text()).toContain('kept');
    expect(() => createLogger({ level: 'loud', destination: new PassThrough() })).toThrow(RangeError);
  });

  it('never writes a secret, a signature or a credential, whichever way it is passed', () => {
    const { log, text } = capture('debug');
    const authorization = `AWS4-HMAC-SHA256 Credential=${AKID}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIGNATURE}`;
    const presigned = `/bkt/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${AKID}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIGNATURE}`;
    log.info({ req: { method: 'GET', url: presigned, headers: { authorization, 'x-amz-security-token': SECRET, host: 'h' } } }, 'incoming');
    log.info({ headers: { Authorization: authorization } }, `auth header was ${authorization}`);
    log.info({ url: presigned }, 'url %s', presigned);
    log.info({ key: { accessKeyId: AKID, secretAccessKey: SECRET, secret_key: SECRET, SigningKey: SECRET } }, 'created');
    log.info({ v2: `AWS ${AKID}:${Buffer.from(SIGNATURE, 'hex').toString('base64')}` });
    log.error({ err: new Error(`request ${presigned} failed, Signature=${SIGNATURE}`) }, 'failed');
    log.child({ authorization, requestId: 'C1' }).info('from a child');
    log.child({ component: 'admin' }).child({ headers: { authorization }, presigned }).info('from a grandchild');
    log.info({ deep: [{ a: { b: { c: { password: SECRET, token: SECRET } } } }] });
    const out = text();
    for (const secret of [SECRET, SIGNATURE, Buffer.from(SIGNATURE, 'hex').toString('base64'), `${AKID}/20260101`, `${AKID}%2F20260101`]) expect(out).not.toContain(secret);
    // ...while what operators need stays: which form, which access key (in its own field), which request.
    expect(out).toContain('X-Amz-Signature=[Redacted]');
    expect(out).toContain('X-Amz-Credential=[Redacted]');
    expect(out).toContain('"accessKeyId":"SVEXAMPLEAKID0000001"');
    expect(out).toContain('"requestId":"C1"');
    expect(out).toContain('"host":"h"');
    expect(out).toContain('"type":"Error"');
  });

  it('bounds what one log call can cost (depth, keys, string length)', () => {
    let deep: Record<string, unknown> = { x: 1 };
    for (let i = 0; i < 100; i++) deep = { deep };
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    const long = 'a'.repeat(1 << 20);
    const s = JSON.stringify(scrub({ deep, wide, long, buf: Buffer.alloc(1 << 20) }));
    expect(s.length).toBeLessThan(20_000);
    expect(s).toContain('[Too deep]');
    expect(s).toContain('more chars]');
    expect(s).toContain('[1048576 bytes]');
    expect(scrub({ Authorization: 'x', 'X-Amz-Signature': 'y', ok: 'z' })).toEqual({ Authorization: REDACTED, 'X-Amz-Signature': REDACTED, ok: 'z' });
  });
});

// ---------------------------------------------------------------- the real daemon

const serverBuilt = existsSync(join(__dirname, '..', 'dist', 'lib', 'server', 'index.js'));

describe.skipIf(!serverBuilt)(`the daemon's logs and data hold no secret in clear${serverBuilt ? '' : ' (skipped: dist/lib/server not built: npx tsc -p tsconfig.json)'}`, () => {
  it('after signed, presigned, failed and anonymous requests: the secrets are in no log line and in no file in clear; keys.json is 0600', async () => {
    const { S3Client, PutObjectCommand, GetObjectCommand, CreateBucketCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const { startServer } = await import(join(__dirname, '..', 'dist', 'lib', 'server', 'index.js'));
    const work = mkdtempSync(join(tmpdir(), 'sv-log-secrets-'));
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const running = await startServer({ dataDir: join(work, 'data'), address: '127.0.0.1:0', logLevel: 'debug', logDestination: out });
    const rootSecret: string = running.root.secretAccessKey;
    let alice: { accessKeyId: string; secretAccessKey: string } = { accessKeyId: '', secretAccessKey: '' };
    let signature = '';
    try {
      expect(rootSecret.length).toBeGreaterThanOrEqual(16);
      alice = await running.keys.create('alice', { policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } });
      const client = (accessKeyId: string, secretAccessKey: string) => new S3Client({ endpoint: running.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
      const s3 = client(alice.accessKeyId, alice.secretAccessKey);
      await s3.send(new CreateBucketCommand({ Bucket: 'logs' }));
      await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'k', Body: 'hello' }));
      await (await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'k' }))).Body!.transformToString();
      await s3.send(new ListObjectsV2Command({ Bucket: 'logs' }));
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'logs', Key: 'k' }), { expiresIn: 60 });
      signature = new URL(url).searchParams.get('X-Amz-Signature')!;
      expect(await (await fetch(url)).text()).toBe('hello');
      expect((await fetch(`${url.slice(0, -4)}0000`)).status).toBe(403); // a broken presigned signature
      await expect(client(alice.accessKeyId, 'x'.repeat(40)).send(new ListObjectsV2Command({ Bucket: 'logs' }))).rejects.toThrow();
      expect((await fetch(`${running.url}/logs/k`)).status).toBe(403); // anonymous
      const rootS3 = client(running.root.accessKeyId, rootSecret);
      await rootS3.send(new ListObjectsV2Command({ Bucket: 'logs' }));
    } finally {
      await running.close();
    }
    const log = Buffer.concat(chunks).toString('utf8');
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // One line per request with the fields operators grep for.
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(9);
    expect(requests.some((l) => l.principal === 'alice' && l.operation === 'PutObject' && l.status === 200 && l.bytesIn === 5)).toBe(true);
    expect(requests.filter((l) => l.status === 403).length).toBeGreaterThanOrEqual(3);
    for (const l of requests) expect(typeof l.requestId).toBe('string');
    const keysJson = join(work, 'data', 'meta', 'auth', 'keys.json');
    expect(statSync(keysJson).mode & 0o777).toBe(0o600);
    const secrets = [alice.secretAccessKey, rootSecret];
    for (const s of secrets) expect(log).not.toContain(s);
    expect(log).not.toContain(signature);
    // Every file of the pool (catalog, audit chain, disks, key store): the secret bytes appear nowhere in clear.
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d, { withFileTypes: true })) {
        if (n.isDirectory()) walk(join(d, n.name));
        else if (n.isFile()) files.push(join(d, n.name));
      }
    };
    walk(join(work, 'data'));
    expect(files).toContain(keysJson);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const s of secrets) {
        expect(bytes.includes(Buffer.from(s)), `${s.slice(0, 4)}... in ${f}`).toBe(false);
        expect(bytes.includes(Buffer.from(s).toString('base64')), `base64 of a secret in ${f}`).toBe(false);
      }
    }
    rmSync(work, { recursive: true, force: true });
  });
});
