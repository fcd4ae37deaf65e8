// The admin API, /metrics and the CLI against the real daemon (startServer in this process; the CLI binary and
// @aws-sdk/client-s3 as its clients): a key made with `shardvault keys create --endpoint` works with the SDK as
// its policy says, a disable or delete refuses its very next request, the daemon's /metrics (admin only)
// counts what happened and passes `promtool check metrics`, and status/scrub/audit --endpoint see the
// daemon's pool and the key changes' audit records.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signRequest } from '../lib/auth/index.js';
import { tier } from './support/tier.js';

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && existsSync(join(root, 'dist', 'lib', 'server', 'index.js'));
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
const work = mkdtempSync(join(tmpdir(), 'sv-admin-daemon-'));

interface Running { url: string; root: { accessKeyId: string; secretAccessKey?: string }; close(ms?: number): Promise<void> }
let running: Running;
let rootKey: { accessKeyId: string; secretAccessKey: string };

function sv(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: work, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: rootKey.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: rootKey.secretAccessKey, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}
async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await sv(args, env);
  expect(r.status, `shardvault ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

async function signedGet(path: string, creds?: { accessKeyId: string; secretAccessKey: string }): Promise<{ status: number; text: string }> {
  const url = new URL(path, running.url);
  const headers = creds === undefined ? {} : signRequest({ method: 'GET', url, headers: {}, accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, region: 'us-east-1' });
  const { host: _host, ...rest } = headers;
  const res = await fetch(url, { headers: rest });
  return { status: res.status, text: await res.text() };
}

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe.skipIf(!ready)(`the admin API, /metrics and the CLI against the daemon${ready ? '' : ' (skipped: dist/ not built: npx tsc -p tsconfig.json)'}`, () => {
  beforeAll(async () => {
    const { startServer } = await import(join(root, 'dist', 'lib', 'server', 'index.js'));
    running = await startServer({ dataDir: join(work, 'data'), address: '127.0.0.1:0', logLevel: 'warn', logDestination: { write: () => true } as unknown as NodeJS.WritableStream });
    rootKey = { accessKeyId: running.root.accessKeyId, secretAccessKey: running.root.secretAccessKey! };
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('a key from `keys create --endpoint` works as its policy says; disable and delete refuse its next request', async () => {
    const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const s3 = (c: { accessKeyId: string; secretAccessKey: string }) => new S3Client({ endpoint: running.url, region: 'us-east-1', forcePathStyle: true, credentials: c, maxAttempts: 1 });
    const admin = s3(rootKey);
    await admin.send(new CreateBucketCommand({ Bucket: 'shared' }));
    await admin.send(new PutObjectCommand({ Bucket: 'shared', Key: 'public/a', Body: 'A' }));
    await admin.send(new PutObjectCommand({ Bucket: 'shared', Key: 'private/b', Body: 'B' }));
    const policy = join(work, 'reader.json');
    writeFileSync(policy, JSON.stringify({ Version: '2012-10-17', Statement: [
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/public/*' },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::shared' },
    ] }));
    const reader = JSON.parse(await ok(['keys', 'create', 'reader', '--policy', policy, '--endpoint', running.url]));
    const r = s3(reader);
    expect(await (await r.send(new GetObjectCommand({ Bucket: 'shared', Key: 'public/a' }))).Body!.transformToString()).toBe('A');
    await expect(r.send(new GetObjectCommand({ Bucket: 'shared', Key: 'private/b' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(r.send(new PutObjectCommand({ Bucket: 'shared', Key: 'public/c', Body: 'C' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    const listed = await r.send(new ListObjectsV2Command({ Bucket: 'shared' }));
    // s3:ListBucket on the bucket ARN lists the whole bucket, as in AWS (listPrefixFilter narrows only object-ARN grants).
    expect((listed.Contents ?? []).map((c) => c.Key)).toEqual(['private/b', 'public/a']);

    await ok(['keys', 'disable', reader.accessKeyId, '--endpoint', running.url]);
    await expect(r.send(new GetObjectCommand({ Bucket: 'shared', Key: 'public/a' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await ok(['keys', 'enable', reader.accessKeyId, '--endpoint', running.url]);
    expect(await (await r.send(new GetObjectCommand({ Bucket: 'shared', Key: 'public/a' }))).Body!.transformToString()).toBe('A');
    await ok(['keys', 'delete', reader.accessKeyId, '--endpoint', running.url]);
    await expect(r.send(new GetObjectCommand({ Bucket: 'shared', Key: 'public/a' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });

    // A non-admin key does not reach the admin API.
    const user = JSON.parse(await ok(['keys', 'create', 'user', '--policy', policy, '--endpoint', running.url]));
    const denied = await sv(['keys', 'list', '--endpoint', running.url, '--json'], { SHARDVAULT_ROOT_ACCESS_KEY: user.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: user.secretAccessKey });
    expect(JSON.parse(denied.stderr).error.code).toBe('ERR_SV_ACCESS_DENIED');
  });

  it('status, scrub and audit tail --endpoint see the daemon\'s pool and the key changes\' records', async () => {
    const st = JSON.parse(await ok(['status', '--endpoint', running.url, '--json']));
    expect(st).toMatchObject({ poolOpen: true, k: 4, m: 2, objects: 2 });
    expect(st.disks).toHaveLength(6);
    expect(JSON.parse(await ok(['scrub', '--endpoint', running.url, '--json']))).toMatchObject({ objects: 2, bad: 0 });
    const tail = JSON.parse(await ok(['audit', 'tail', '-n', '50', '--endpoint', running.url, '--json']));
    const actions = tail.records.map((r: { action: string }) => r.action);
    for (const a of ['key.create', 'key.created', 'key.disable', 'key.enable', 'key.delete']) expect(actions).toContain(a);
    expect(tail.records.find((r: { action: string }) => r.action === 'key.disable')).toMatchObject({ principal: 'root', result: 'ok', requestId: expect.any(String), source: expect.stringContaining('127.0.0.1') });
    expect(JSON.parse(await ok(['audit', 'verify', '--endpoint', running.url, '--json'])).ok).toBe(true);
  });

  it('/metrics: admins only; counts requests, auth failures and the pool; `shardvault metrics` prints it', async () => {
    expect((await signedGet('/_shardvault/metrics')).status).toBe(403);
    const m = await signedGet('/_shardvault/metrics', rootKey);
    expect((await signedGet('/metrics', rootKey)).status).toBe(200); // no bucket named metrics here
    expect(m.status).toBe(200);
    expect(sample(m.text, 'shardvault_s3_requests_total{operation="PutObject",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(sample(m.text, 'shardvault_s3_requests_total{operation="GetObject",status="403"}')).toBeGreaterThanOrEqual(1); // the policy's refusal
    // Refused before routing (authentication runs first): the operation is not known yet.
    expect(sample(m.text, 'shardvault_s3_requests_total{operation="Unknown",status="403"}')).toBeGreaterThanOrEqual(3);
    expect(sample(m.text, 'shardvault_auth_failures_total{reason="disabled-key"}')).toBe(1);
    expect(sample(m.text, 'shardvault_auth_failures_total{reason="unknown-key"}')).toBe(1);
    expect(sample(m.text, 'shardvault_auth_failures_total{reason="missing"}')).toBeGreaterThanOrEqual(1);
    expect(sample(m.text, 'shardvault_s3_requests_total{operation="Admin",status="200"}')).toBeGreaterThanOrEqual(5);
    expect(sample(m.text, 'shardvault_pool_up')).toBe(1);
    expect(sample(m.text, 'shardvault_objects')).toBe(2);
    expect(m.text.match(/^shardvault_disk_condition\{disk="[^"]+",condition="online"\} 1$/gm)).toHaveLength(6);
    const viaCli = await ok(['metrics', '--endpoint', running.url]);
    expect(viaCli).toMatch(/^# HELP shardvault_s3_requests_total/m);
    expect(sample(viaCli, 'shardvault_pool_up')).toBe(1);
  });

  const promtoolTier = tier('the promtool tier', [promtool === undefined && 'promtool (apt-get install prometheus)']);
  it.skipIf(!promtoolTier.ready)(`promtool check metrics accepts the daemon's /metrics${promtoolTier.why}`, async () => {
    const text = (await signedGet('/_shardvault/metrics', rootKey)).text;
    const child = spawn(promtool!, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.end(text);
    const code = await new Promise((r) => child.on('close', r));
    expect(code, out).toBe(0);
    expect(out.trim()).toBe('');
  });
});
