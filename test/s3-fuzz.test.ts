// Random requests against the real daemon, signed by the root key so they get past authentication into the
// handlers: odd methods, paths and percent-encodings, sub-resources and query values, conditional and range
// headers, checksums, metadata, bodies. Every one gets an HTTP answer with a request id (an S3 XML error when
// it fails), and the daemon keeps serving. Plus raw garbage on the socket.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';

import { native } from '../lib/native.js';
import { harness, raw, signedHeaders, type Harness } from './support/s3-helpers.js';

const ready = native() !== null;

describe.skipIf(!ready)('S3 daemon fuzz', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ limits: { queryParamsMax: 8, urlBytesMax: 2048 } });
    await h.client.send(new CreateBucketCommand({ Bucket: 'fuzz' }));
    await h.client.send(new PutObjectCommand({ Bucket: 'fuzz', Key: 'obj', Body: 'some bytes here' }));
  });
  afterAll(async () => h?.close());

  it('answers every random signed request with a status and a request id, and stays up', async () => {
    const seg = fc.oneof(fc.constantFrom('fuzz', 'obj', 'nosuch', '%', '%zz', '%2F', '..', '.', 'a%20b', '%00', '%C3%A9', '%FF', 'x'.repeat(300)), fc.string({ maxLength: 12 }).map(encodeURIComponent));
    const path = fc.array(seg, { maxLength: 4 }).map((s) => `/${s.join('/')}`);
    const qname = fc.constantFrom('uploads', 'uploadId', 'partNumber', 'list-type', 'prefix', 'delimiter', 'max-keys', 'marker', 'continuation-token', 'start-after', 'encoding-type', 'location', 'delete', 'tagging', 'versionId', 'response-content-type', 'x-id', 'max-parts');
    const qval = fc.oneof(fc.constantFrom('', '2', '0', '-1', '99999999999', 'url', 'null', '*', '%'), fc.string({ maxLength: 10 }));
    const query = fc.array(fc.tuple(qname, qval), { maxLength: 5 }).map((q) => (q.length === 0 ? '' : `?${q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));
    const hname = fc.constantFrom('range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'x-amz-checksum-crc32', 'x-amz-checksum-sha256', 'x-amz-checksum-bogus', 'content-md5', 'x-amz-meta-a', 'x-amz-copy-source', 'x-amz-metadata-directive', 'content-type', 'cache-control', 'x-amz-trailer', 'x-amz-copy-source-range', 'expires');
    const hval = fc.oneof(fc.constantFrom('bytes=0-1', 'bytes=-0', 'bytes=5-', '*', '"x"', 'fuzz/obj', '/fuzz/obj', 'REPLACE', 'AAAAAA==', 'x-amz-checksum-crc32', 'Tue, 02 Jan 2024 00:00:00 GMT'), fc.stringMatching(/^[\x21-\x7e]{0,20}$/));
    const headers = fc.dictionary(hname, hval, { maxKeys: 4 });
    const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH');
    const body = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 300 }), fc.constantFrom('<Delete><Object><Key>obj</Key></Object></Delete>', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>', '<a><a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></a></a>').map((s) => (typeof s === 'string' ? Buffer.from(s) : s)));
    await fc.assert(fc.asyncProperty(method, path, query, headers, body, async (m, p, q, hs, b) => {
      const target = `${p}${q}`;
      const bodyBytes = b === undefined ? undefined : Buffer.from(b);
      const extra: Record<string, string> = { ...hs, ...(bodyBytes !== undefined ? { 'content-length': String(bodyBytes.length) } : {}) };
      let signed: Record<string, string>;
      try {
        signed = signedHeaders(h.server, m, target, extra, bodyBytes);
      } catch {
        return; // the signer refuses this target (not a daemon question)
      }
      const r = await raw(h.server, m, target, signed, bodyBytes);
      expect(r.status).toBeGreaterThanOrEqual(200);
      expect(r.status).toBeLessThan(600);
      expect(r.status, `${m} ${target} ${JSON.stringify(hs)}: ${r.body}`).not.toBe(500);
      expect(r.headers['x-amz-request-id']).toBeDefined();
      if (r.status >= 400 && m !== 'HEAD' && r.status !== 431) expect(r.body).toMatch(/<Code>[A-Za-z]+<\/Code><Message>[^<]+<\/Message>/);
    }), { numRuns: Number(process.env.SV_FUZZ_RUNS ?? 300) });
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200);
  });

  it('garbage on the socket gets a short answer or a closed connection, never a crash', async () => {
    const samples = ['\x00\x01\x02\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /\r\n\r\n', `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`, `GET / HTTP/1.1\r\nHost: x\r\nX: ${'b'.repeat(20000)}\r\n\r\n`, 'PUT /fuzz/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'];
    for (const s of samples) {
      const answer = await new Promise<string>((resolve) => {
        const sock = connect(h.server.address.port, h.server.address.host);
        let got = '';
        sock.on('data', (d) => (got += d));
        sock.on('close', () => resolve(got));
        sock.on('error', () => resolve(got));
        sock.end(s);
      });
      expect(answer === '' || /^HTTP\/1\.1 [45]\d\d/.test(answer), JSON.stringify(s.slice(0, 40))).toBe(true);
    }
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200);
  });
});
