// lib/server/log.ts: one JSON line per request with the fields operators grep for, and no credential ever in
// the output, however it is passed (a header object, a URL with a presigned query, an Authorization value in
// a message, an error's message, a child logger's bindings).
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
