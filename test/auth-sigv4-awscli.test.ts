// A second independent signer: the AWS CLI (botocore). Its requests, captured on the wire, must verify, and
// the bodies must pass their stage. A tier (test/support/tier.ts): skips (saying why) when `aws` is not
// installed, except under SHARDVAULT_CI_REQUIRE_ALL=1, where a skip would hide a broken tier: it fails.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBodyStage, SigV4Verifier, type RequestParts } from '../lib/auth/index.js';
import { tier } from './support/tier.js';

let awsVersion: string | undefined;
try {
  awsVersion = execFileSync('aws', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim();
} catch {
  awsVersion = undefined;
}

const KEY = { accessKeyId: 'SVAWSCLITEST00000000', secretAccessKey: 'awscli-secret-0123456789abcdefghijklmnop' };
const verifier = new SigV4Verifier({
  region: 'us-east-1',
  lookup: async (id) => (id === KEY.accessKeyId ? { secretAccessKey: KEY.secretAccessKey, principal: 'cli', enabled: true } : undefined),
});

interface Captured { parts: RequestParts; body: Buffer }

describe("the AWS CLI's requests verify", () => {
  if (!tier('the aws CLI signer tier', [awsVersion === undefined && 'the aws CLI (apt-get install awscli)']).ready) return;
  let server: Server;
  let endpoint: string;
  let captured: Captured[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sv-awscli-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        captured.push({ parts: { method: req.method!, target: req.url!, rawHeaders: [...req.rawHeaders] }, body: Buffer.concat(chunks) });
        res.setHeader('x-amz-request-id', 'capture');
        if (req.method === 'GET' && /list-type=2|prefix=|delimiter=/.test(req.url!)) {
          res.setHeader('content-type', 'application/xml');
          res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>some path/small.txt</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>');
        } else if (req.method === 'GET') {
          res.setHeader('content-length', '5');
          res.setHeader('etag', '"5d41402abc4b2a76b9719d911017c592"');
          res.setHeader('last-modified', 'Thu, 01 Jan 2026 00:00:00 GMT');
          res.end('hello');
        } else {
          res.setHeader('etag', '"d41d8cd98f00b204e9800998ecf8427e"');
          res.end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  // config: AWS CLI v1 presigns with Signature V2 unless told s3v4 ('v2' config = the CLI's default).
  const aws = (args: string[], config: 'v4' | 'v2' = 'v4') => new Promise<string>((resolve, reject) => {
    const configFile = join(dir, `config-${config}`);
    writeFileSync(configFile, config === 'v4' ? '[default]\ns3 =\n    signature_version = s3v4\n' : '[default]\n');
    execFile('aws', ['--endpoint-url', endpoint, ...args], {
      env: {
        PATH: process.env.PATH!, HOME: dir, AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        AWS_MAX_ATTEMPTS: '1', AWS_EC2_METADATA_DISABLED: 'true',
      },
      timeout: 60_000,
    }, (err, stdout, stderr) => (err ? reject(new Error(`aws ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });

  async function checkAll(): Promise<string[]> {
    expect(captured.length).toBeGreaterThan(0);
    const kinds: string[] = [];
    for (const c of captured) {
      const v = await verifier.verify(c.parts);
      expect(v.principal).toBe('cli');
      kinds.push(v.payload.kind);
      const b = createBodyStage(v);
      if (b.stage !== undefined) {
        const out: Buffer[] = [];
        b.stage.on('data', (d: Buffer) => out.push(d));
        await pipeline(Readable.from([c.body]), b.stage);
        if (b.decodedLength !== undefined) expect(Buffer.concat(out).length).toBe(b.decodedLength);
      }
    }
    return kinds;
  }

  it(`s3api put-object with an odd key and metadata (${awsVersion ?? 'aws'})`, async () => {
    captured = [];
    const file = join(dir, 'body.bin');
    writeFileSync(file, Buffer.alloc(100_000, 'z'));
    await aws(['s3api', 'put-object', '--bucket', 'bucket', '--key', "dir one/ünï+code$!*'()~.txt", '--body', file, '--metadata', 'colour=dark  blue,n=1', '--content-type', 'text/plain']);
    const kinds = await checkAll();
    if (process.env.AUTH_DEBUG) console.log('payload modes', kinds);
  });

  it('s3 cp of a file, s3 ls with a prefix, s3api get-object with a range', async () => {
    captured = [];
    const file = join(dir, 'small.txt');
    writeFileSync(file, 'hello from the cli');
    await aws(['s3', 'cp', file, 's3://bucket/some path/small.txt']);
    await aws(['s3', 'ls', 's3://bucket/some path/']);
    await aws(['s3api', 'get-object', '--bucket', 'bucket', '--key', 'a b', '--range', 'bytes=0-4', join(dir, 'out')]);
    const kinds = await checkAll();
    if (process.env.AUTH_DEBUG) console.log('payload modes', kinds);
  });

  it('s3 presign URLs verify when fetched', async () => {
    const url = (await aws(['s3', 'presign', 's3://bucket/pre signed/ü.txt', '--expires-in', '600'])).trim();
    captured = [];
    await new Promise<void>((resolve, reject) => {
      httpRequest(url, (res) => { res.resume(); res.on('end', () => resolve()); }).on('error', reject).end();
    });
    const v = await verifier.verify(captured[0].parts);
    expect(v.presigned).toBe(true);
  });

  it('the CLI v1 default presign (Signature V2) is refused as such', async () => {
    const url = (await aws(['s3', 'presign', 's3://bucket/k', '--expires-in', '600'], 'v2')).trim();
    const u = new URL(url);
    const verifying = verifier.verify({ method: 'GET', target: u.pathname + u.search, rawHeaders: ['Host', u.host] });
    if (u.searchParams.has('AWSAccessKeyId')) await expect(verifying).rejects.toMatchObject({ s3Code: 'InvalidRequest', reason: 'v2' });
    else expect((await verifying).presigned).toBe(true); // a CLI that presigns with SigV4 by default
  });
});
