// The daemon under bad clients and overload (I7), and its gates: a client that disconnects mid-upload, a
// slowloris on the headers, a body sent a byte at a time, admission control (global and per principal),
// graceful shutdown aborting what does not finish, aws-chunked uploads (signed chunks, trailers, a missing
// final chunk), virtual-host-style addressing, the policy matrix and the audit records of refusals.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CopyObjectCommand, CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { checksumBase64 } from '../lib/checksum.js';
import { signChunkedUpload, signRequest } from '../lib/auth/index.js';
import { native } from '../lib/native.js';
import { startServer } from '../lib/server/index.js';
import { codeOf, harness, raw, ROOT, signedHeaders, statusOf, type Harness } from './support/s3-helpers.js';

const ready = native() !== null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts an upload of `size` bytes that sends only `first` bytes now; returns the request and its response promise. */
function slowUpload(h: Harness, key: string, size: number, first: number, creds = ROOT) {
  const path = `/alpha/${key}`;
  const headers = signedHeaders(h.server, 'PUT', path, { 'content-length': String(size) }, 'UNSIGNED-PAYLOAD', creds);
  const req = httpRequest({ host: h.server.address.host, port: h.server.address.port, method: 'PUT', path, headers });
  const response = new Promise<{ status: number; body: string }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? -1, body }));
    });
    req.on('error', () => resolve({ status: -1, body: '' }));
  });
  req.write(Buffer.alloc(first, 1));
  return { req, response };
}

describe.skipIf(!ready)('S3 daemon: bad clients, overload, shutdown', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ limits: { concurrentRequestsMax: 4, principalShare: 0.5, headersTimeoutMs: 1000, bodyRateGraceMs: 600, bodyBytesPerSecMin: 2000, bodyIdleTimeoutMs: 5000 } });
    await h.client.send(new CreateBucketCommand({ Bucket: 'alpha' }));
  });
  afterAll(async () => h?.close());

  it('a client that disconnects mid-upload leaves nothing visible, and the daemon carries on', async () => {
    const { req } = slowUpload(h, 'cut', 8 << 20, 3 << 20);
    await sleep(200);
    req.destroy();
    await sleep(300);
    expect(await statusOf(h.client.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'cut' })))).toBe(404);
    expect((await h.client.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'cut' }))).KeyCount).toBe(0);
    expect(await statusOf(h.client.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'after-cut', Body: 'fine' })))).toBe(200);
  });

  it('admission: beyond a principal\'s fair share and beyond the global bound, 503 SlowDown with Retry-After', async () => {
    const held = [slowUpload(h, 'hold1', 1 << 20, 10), slowUpload(h, 'hold2', 1 << 20, 10)];
    await sleep(150);
    // Root holds 2 of 4 slots, its share (0.5): a third request of root is refused, at once.
    const t0 = Date.now();
    const r = await raw(h.server, 'GET', '/', signedHeaders(h.server, 'GET', '/'));
    expect(r.status).toBe(503);
    expect(r.body).toContain('<Code>SlowDown</Code>');
    expect(r.headers['retry-after']).toBe('1');
    expect(Date.now() - t0).toBeLessThan(1000);
    // Another principal still gets in (fair share), until the global bound.
    const other = await h.server.keys.create('other', { policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } });
    const oc = h.clientFor(other);
    expect((await oc.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toContain('alpha');
    const more = [slowUpload(h, 'hold3', 1 << 20, 10, other), slowUpload(h, 'hold4', 1 << 20, 10, other)];
    await sleep(150);
    const full = await raw(h.server, 'GET', '/', signedHeaders(h.server, 'GET', '/', {}, undefined, other));
    expect(full.status).toBe(503);
    for (const u of [...held, ...more]) u.req.destroy();
    await sleep(300);
    expect(await statusOf(h.client.send(new ListBucketsCommand({})))).toBe(200);
  });

  it('a slowloris (headers a byte at a time) is cut off near headersTimeout; others are served meanwhile', async () => {
    const sock = connect(h.server.address.port, h.server.address.host);
    sock.resume(); // read what the server sends (its 408 and FIN), or 'close' never comes
    const line = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const timer = setInterval(() => sock.writable && sock.write(line[i++ % line.length]!), 100);
    const t0 = Date.now();
    const closedMs = await new Promise<number>((resolve) => {
      sock.on('close', () => resolve(Date.now() - t0));
      sock.on('error', () => undefined);
    });
    clearInterval(timer);
    expect(closedMs).toBeLessThan(4000);
    expect(await statusOf(h.client.send(new ListBucketsCommand({})))).toBe(200);
  });

  it('a body sent a byte at a time is cut off (RequestTimeout) and stores nothing', async () => {
    const { req, response } = slowUpload(h, 'crawl', 10_000, 1);
    const timer = setInterval(() => req.writable && req.write(Buffer.from([7])), 100);
    const r = await response;
    clearInterval(timer);
    req.destroy();
    expect(r.status === 400 || r.status === -1).toBe(true);
    if (r.status === 400) expect(r.body).toContain('RequestTimeout');
    expect(await statusOf(h.client.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'crawl' })))).toBe(404);
  });

  it('aws-chunked uploads: signed chunks with a CRC32C trailer are verified and stored; a bad trailer or a missing final chunk stores nothing', async () => {
    const data = Buffer.alloc(150_000, 9);
    const put = async (key: string, o: { trailer?: string; finish?: boolean; mode?: 'signed' | 'unsigned-trailer' }) => {
      const path = `/alpha/${key}`;
      const url = new URL(path, h.server.url);
      const trailerNames = o.trailer !== undefined ? ['x-amz-checksum-crc32c'] : undefined;
      const { headers, encoder } = signChunkedUpload({ method: 'PUT', url, headers: {}, accessKeyId: ROOT.accessKeyId, secretAccessKey: ROOT.secretAccessKey, region: 'us-east-1', decodedContentLength: data.length, ...(o.mode !== undefined ? { mode: o.mode } : {}), ...(trailerNames !== undefined ? { trailerNames } : {}) });
      const parts = [encoder.chunk(data.subarray(0, 65536)), encoder.chunk(data.subarray(65536))];
      if (o.finish !== false) parts.push(encoder.finish(o.trailer !== undefined ? { 'x-amz-checksum-crc32c': o.trailer } : undefined));
      const body = Buffer.concat(parts);
      return raw(h.server, 'PUT', path, { ...headers, 'content-length': String(body.length) }, body);
    };
    const good = checksumBase64('crc32c', data);
    const ok = await put('chunked-ok', { trailer: good });
    expect(ok.status, ok.body).toBe(200);
    const back = await h.client.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'chunked-ok' }));
    expect(Buffer.from(await back.Body!.transformToByteArray()).equals(data)).toBe(true);
    const unsignedOk = await put('chunked-unsigned', { trailer: good, mode: 'unsigned-trailer' });
    expect(unsignedOk.status).toBe(200);
    const bad = await put('chunked-bad', { trailer: checksumBase64('crc32c', Buffer.from('other')) });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('<Code>BadDigest</Code>');
    const cut = await put('chunked-cut', { finish: false });
    expect(cut.status).toBe(400);
    expect(cut.body).toContain('<Code>IncompleteBody</Code>');
    for (const k of ['chunked-bad', 'chunked-cut']) expect(await statusOf(h.client.send(new HeadObjectCommand({ Bucket: 'alpha', Key: k })))).toBe(404);
  });

  it('Expect: 100-continue: the body is asked for only once the request is authenticated and authorized', async () => {
    const go = (creds: { accessKeyId: string; secretAccessKey: string }, key: string) => new Promise<[number, boolean]>((resolve) => {
      const url = new URL(`/alpha/${key}`, h.server.url);
      const headers = signRequest({ method: 'PUT', url, headers: { 'content-length': '5', expect: '100-continue' }, body: 'UNSIGNED-PAYLOAD', ...creds, region: 'us-east-1' });
      const req = httpRequest(url, { method: 'PUT', headers });
      let asked = false;
      req.on('continue', () => {
        asked = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve([res.statusCode ?? 0, asked]));
      });
      req.on('error', () => resolve([-1, asked]));
    });
    expect(await go(ROOT, 'continued')).toEqual([200, true]);
    expect(await go({ accessKeyId: ROOT.accessKeyId, secretAccessKey: 'not-the-secret-0123456789abcdefghijklm' }, 'refused')).toEqual([403, false]);
  });

  it('lib-storage Upload of a stream of unknown length (aws-chunked with a trailing checksum)', async () => {
    const { Readable } = await import('node:stream');
    const body = Readable.from([Buffer.alloc(100_000, 1), Buffer.alloc(50_000, 2)]);
    await new Upload({ client: h.client, params: { Bucket: 'alpha', Key: 'uploaded', Body: body } }).done();
    const head = await h.client.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'uploaded' }));
    expect(head.ContentLength).toBe(150_000);
  });

  it('policies: a key reading one prefix only; a key without a policy can do nothing; refusals are audited', async () => {
    for (const k of ['public/a', 'public/b', 'private/c']) await h.client.send(new PutObjectCommand({ Bucket: 'alpha', Key: k, Body: k }));
    const reader = await h.server.keys.create('reader', { policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: 'arn:aws:s3:::alpha/public/*' }] } });
    const rc = h.clientFor(reader);
    expect(await (await rc.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'public/a' }))).Body!.transformToString()).toBe('public/a');
    expect(await codeOf(rc.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'private/c' })))).toBe('AccessDenied');
    expect(await codeOf(rc.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'public/new', Body: 'x' })))).toBe('AccessDenied');
    expect(await codeOf(rc.send(new ListBucketsCommand({})))).toBe('AccessDenied');
    expect(await codeOf(rc.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'public/copy', CopySource: 'alpha/private/c' })))).toBe('AccessDenied');
    const listed = await rc.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'p' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(['public/a', 'public/b']);
    // A delimiter listing shows the directories a reader may look into (`team/` for a policy on
    // `team/alice/*`: a directory is not a key), and not the ones it may not.
    for (const k of ['team/alice/1', 'team/bob/2']) await h.client.send(new PutObjectCommand({ Bucket: 'alpha', Key: k, Body: k }));
    const alice = h.clientFor(await h.server.keys.create('alice', { policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: 'arn:aws:s3:::alpha/team/alice/*' }] } }));
    const top = await alice.send(new ListObjectsV2Command({ Bucket: 'alpha', Delimiter: '/' }));
    expect((top.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(['team/']);
    const team = await alice.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'team/', Delimiter: '/' }));
    expect((team.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(['team/alice/']);
    const del = await rc.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Objects: [{ Key: 'public/a' }] } }));
    expect(del.Errors?.[0]?.Code).toBe('AccessDenied');
    expect(await statusOf(h.client.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'public/a' })))).toBe(200);
    const nobody = await h.server.keys.create('nobody');
    expect(await codeOf(h.clientFor(nobody).send(new GetObjectCommand({ Bucket: 'alpha', Key: 'public/a' })))).toBe('AccessDenied');
    // Disabling a key takes effect on the next request.
    await h.server.keys.disable(reader.accessKeyId);
    expect(await codeOf(rc.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'public/a' })))).not.toBe('ok');
    // Anonymous on every route but the probes.
    expect((await fetch(`${h.server.url}/alpha/public/a`)).status).toBe(403);
    // Refusals are appended to the audit chain (asynchronously, after the answer): wait for them.
    type Rec = { action: string; principal: string; result?: string; requestId?: string; detail?: string; target?: string; source?: string };
    let audit: Rec[] = [];
    for (let i = 0; i < 50; i++) {
      audit = (await h.server.vault.auditLog()) as Rec[];
      if (audit.some((r) => r.action === 'auth' && r.target === 'alpha/public/a' && (r.result ?? '').startsWith('AccessDenied'))) break;
      await sleep(50);
    }
    // The effective config's hash at start, and the refusals with who, what, the request id and the source.
    expect(audit.some((r) => r.action === 'server.start' && (r.detail ?? '').startsWith(`config sha256=${h.server.configSha256}`))).toBe(true);
    const refusals = audit.filter((r) => r.principal === reader.principal && r.result === 'AccessDenied');
    expect(refusals.map((r) => r.action)).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 's3:ListAllMyBuckets']));
    expect(refusals.every((r) => typeof r.requestId === 'string' && r.requestId.length === 16 && r.source === '127.0.0.1')).toBe(true);
    expect(audit.some((r) => r.action === 'auth' && r.target === 'alpha/public/a' && (r.result ?? '').startsWith('AccessDenied'))).toBe(true);
  });
});

describe.skipIf(!ready)('S3 daemon: a reader that stops reading', () => {
  it('is cut off after bodyIdleTimeoutMs and its slot is freed', async () => {
    const h = await harness({ limits: { bodyIdleTimeoutMs: 1000, concurrentRequestsMax: 2, principalShare: 1 } });
    try {
      await h.client.send(new CreateBucketCommand({ Bucket: 'slowread' }));
      await h.client.send(new PutObjectCommand({ Bucket: 'slowread', Key: 'big', Body: Buffer.alloc(24 << 20, 1) }));
      const path = '/slowread/big';
      // Two readers that take the headers and then stop reading hold both slots...
      const readers = await Promise.all([1, 2].map(() => new Promise<ReturnType<typeof httpRequest>>((resolve) => {
        const req = httpRequest({ host: h.server.address.host, port: h.server.address.port, path, headers: signedHeaders(h.server, 'GET', path) }, (res) => {
          res.pause(); // never read
          res.on('error', () => undefined);
          resolve(req);
        });
        req.on('error', () => undefined);
        req.end();
      })));
      expect(await statusOf(h.client.send(new ListBucketsCommand({})))).toBe(503);
      // ...until the daemon cuts them off (no progress for bodyIdleTimeoutMs).
      await sleep(2500);
      // Both slots are free again (the readers' connections still open on our side): two requests at once are served.
      const both = await Promise.all([statusOf(h.client.send(new ListBucketsCommand({}))), statusOf(h.client.send(new ListBucketsCommand({})))]);
      for (const r of readers) r.destroy();
      expect(both).toEqual([200, 200]);
    } finally {
      await h.close();
    }
  });
});

describe.skipIf(!ready)('S3 daemon: a failing disk', () => {
  it('a disk gone: reads reconstruct, a write that cannot reach its quorum is one 503, /readyz stays ready with k disks', async () => {
    const h = await harness();
    try {
      await h.client.send(new CreateBucketCommand({ Bucket: 'disks' }));
      const body = Buffer.alloc(3 << 20, 5);
      await h.client.send(new PutObjectCommand({ Bucket: 'disks', Key: 'before', Body: body }));
      const { rmSync } = await import('node:fs');
      const { join } = await import('node:path');
      rmSync(join(h.server.config.data, 'disk-0'), { recursive: true, force: true });
      const back = await h.client.send(new GetObjectCommand({ Bucket: 'disks', Key: 'before' }));
      expect(Buffer.from(await back.Body!.transformToByteArray()).equals(body)).toBe(true);
      const put = await codeOf(h.client.send(new PutObjectCommand({ Bucket: 'disks', Key: 'after', Body: body })));
      // The pool's write quorum is k + m (the default): with a disk gone a put cannot be durable everywhere and
      // fails (one 5xx answer, its files removed); repair after a disk replace restores writes.
      expect(['ServiceUnavailable', 'InternalError']).toContain(put);
      expect(await statusOf(h.client.send(new HeadObjectCommand({ Bucket: 'disks', Key: 'after' })))).toBe(404);
      expect(await statusOf(h.client.send(new ListBucketsCommand({})))).toBe(200);
      expect((await fetch(`${h.server.url}/readyz`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe.skipIf(!ready)('S3 daemon: virtual-host style and graceful shutdown', () => {
  it('serves BUCKET.<domain> requests, then on close aborts an upload past the deadline (nothing visible after reopen)', async () => {
    const h = await harness({ domain: 's3.test' });
    try {
      await h.client.send(new CreateBucketCommand({ Bucket: 'vhost' }));
      const url = new URL(`http://vhost.s3.test:${h.server.address.port}/obj`);
      const body = Buffer.from('virtual host');
      const headers = signRequest({ method: 'PUT', url, headers: { 'content-length': String(body.length) }, body, accessKeyId: ROOT.accessKeyId, secretAccessKey: ROOT.secretAccessKey, region: 'us-east-1' });
      const r = await raw(h.server, 'PUT', '/obj', headers, body);
      expect(r.status).toBe(200);
      expect(await (await h.client.send(new GetObjectCommand({ Bucket: 'vhost', Key: 'obj' }))).Body!.transformToString()).toBe('virtual host');
      // An upload that will not finish: close(300) aborts it; a quick request during the drain is refused (503).
      const path = '/vhost/unfinished';
      const sh = signedHeaders(h.server, 'PUT', path, { 'content-length': String(1 << 20) }, 'UNSIGNED-PAYLOAD');
      const req = httpRequest({ host: h.server.address.host, port: h.server.address.port, method: 'PUT', path, headers: sh });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(1000));
      await sleep(150);
      const t0 = Date.now();
      await h.server.close(300);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await h.close();
    }
  });

  it('an aborted upload at shutdown is not visible after the pool reopens', async () => {
    const h = await harness();
    const dataDir = h.server.config.data;
    await h.client.send(new CreateBucketCommand({ Bucket: 'bkt1' }));
    const path = '/bkt1/unfinished';
    const sh = signedHeaders(h.server, 'PUT', path, { 'content-length': String(4 << 20) }, 'UNSIGNED-PAYLOAD');
    const req = httpRequest({ host: h.server.address.host, port: h.server.address.port, method: 'PUT', path, headers: sh });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(2 << 20));
    await sleep(200);
    await h.server.close(200);
    const again = await startServer({ dataDir, address: '127.0.0.1:0', logLevel: 'silent' });
    try {
      expect(await again.vault.head('bkt1', 'unfinished')).toBeUndefined();
      expect((await again.vault.list('bkt1')).objects).toEqual([]);
    } finally {
      await again.close();
      await h.close();
    }
  });
});
