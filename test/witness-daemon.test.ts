// The freshness witness and minimum-sequence reads through the daemon: a PUT answers with its sequence
// (x-shardvault-sequence), a GET/HEAD with x-shardvault-min-sequence (added by AWS SDK middleware, and by raw
// SigV4) is served at that sequence or newer and otherwise refused with 503 naming ERR_SV_STALE, never older
// bytes; a daemon over a restored data directory refuses to start (ERR_SV_ROLLBACK) unless broken glass
// accepts it (audited, logged, metrics say so).
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { startServer, type RunningServer } from '../lib/server/index.js';
import { ServerMetrics } from '../lib/server/metrics.js';
import { ROOT, logSink, raw, signedHeaders } from './support/s3-helpers.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-witness-d-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

process.env.SHARDVAULT_ROOT_ACCESS_KEY = ROOT.accessKeyId;
process.env.SHARDVAULT_ROOT_SECRET_KEY = ROOT.secretAccessKey;

/** An SDK client whose requests carry x-shardvault-min-sequence when `min.value` is set, and which records the
 *  last x-shardvault-sequence answered. */
function clientOf(server: RunningServer) {
  const client = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: ROOT, maxAttempts: 1 });
  const state: { min?: string; sequence?: string } = {};
  client.middlewareStack.add((next) => async (args) => {
    const req = args.request as { headers: Record<string, string> };
    if (state.min !== undefined) req.headers['x-shardvault-min-sequence'] = state.min;
    const out = await next(args);
    const res = out.response as { headers: Record<string, string> };
    state.sequence = res.headers['x-shardvault-sequence'];
    return out;
  }, { step: 'build', name: 'minSequence' });
  return { client, state };
}

async function failure(p: Promise<unknown>): Promise<{ status?: number; name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, name: e.name, message: e.message };
  }
  throw new Error('expected the request to fail');
}

describe.skipIf(!hasNative)(`witness through the daemon${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('serves a minimum sequence or answers 503 ERR_SV_STALE; a restored data directory is refused, break-glass accepts it', async () => {
    const dir = join(root, 'a');
    const data = join(dir, 'data');
    const witness = [join(dir, 'state', 'w')];
    let server = await startServer({ dataDir: data, address: '127.0.0.1:0', logLevel: 'warn', logDestination: logSink().stream, witness });
    let { client, state } = clientOf(server);
    await client.send(new CreateBucketCommand({ Bucket: 'bkt' }));
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'version one' }));
    const seq1 = state.sequence!;
    expect(seq1).toBe('1');
    client.destroy();
    await server.close(2000);
    cpSync(data, join(dir, 'snap'), { recursive: true });

    server = await startServer({ dataDir: data, address: '127.0.0.1:0', logLevel: 'warn', logDestination: logSink().stream, witness });
    ({ client, state } = clientOf(server));
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'version two' }));
    const seq2 = state.sequence!;
    expect(BigInt(seq2)).toBe(2n);
    // At or below the head's sequence: served, and the answer names its sequence.
    state.min = seq2;
    expect(await (await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' }))).Body!.transformToString()).toBe('version two');
    expect(state.sequence).toBe(seq2);
    state.min = seq1;
    expect((await client.send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'k' }))).ContentLength).toBe('version two'.length);
    // Newer than the store holds: 503 with the code in the message (GET), 503 (HEAD has no body).
    state.min = String(BigInt(seq2) + 1n);
    const get = await failure(client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' })));
    expect(get).toMatchObject({ status: 503, name: 'ServiceUnavailable' });
    expect(get.message).toContain('ERR_SV_STALE');
    expect((await failure(client.send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'k' })))).status).toBe(503);
    expect((await failure(client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'absent' })))).status).toBe(503);
    state.min = 'twelve';
    expect((await failure(client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' })))).status).toBe(400);
    // Raw SigV4: the header is signed like any other.
    const rawGet = await raw(server, 'GET', '/bkt/k', signedHeaders(server, 'GET', '/bkt/k', { 'x-shardvault-min-sequence': String(BigInt(seq2) + 5n) }));
    expect(rawGet.status).toBe(503);
    expect(rawGet.body).toContain('<Code>ServiceUnavailable</Code>');
    expect(rawGet.body).toContain('ERR_SV_STALE');
    client.destroy();
    await server.close(2000);

    // The whole data directory goes back (disks and catalog); the witness stays where it is.
    rmSync(data, { recursive: true, force: true });
    cpSync(join(dir, 'snap'), data, { recursive: true });
    await expect(startServer({ dataDir: data, address: '127.0.0.1:0', logLevel: 'warn', logDestination: logSink().stream, witness }))
      .rejects.toMatchObject({ code: 'ERR_SV_ROLLBACK', message: expect.stringMatching(/catalog audit head \d+:[0-9a-f]{64}, witness audit head \d+:[0-9a-f]{64}/) });
    const log = logSink();
    server = await startServer({ dataDir: data, address: '127.0.0.1:0', logLevel: 'info', logDestination: log.stream, witness, breakGlass: { reason: 'restored after the controller died' } });
    expect(log.text()).toContain('freshness witness: rollback-accepted');
    expect((await server.vault.auditLog()).some((r) => r.action === 'witness.rollback-accepted' && r.principal === 'serve' && r.detail?.includes('restored after the controller died'))).toBe(true);
    const metrics = new ServerMetrics({ poolSnapshotMs: 0 });
    metrics.attachVault(server.vault);
    const text = await metrics.text();
    expect(text).toMatch(/shardvault_witness_state\{state="rollback-accepted"\} 1/);
    expect(text).toMatch(/shardvault_witness_state\{state="anchored"\} 0/);
    metrics.close();
    ({ client, state } = clientOf(server));
    // The receipt of the write the restore lost: still refused, never version one.
    state.min = seq2;
    expect((await failure(client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' })))).status).toBe(503);
    state.min = seq1;
    expect(await (await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' }))).Body!.transformToString()).toBe('version one');
    client.destroy();
    await server.close(2000);
  });

  it('takes its witness locations from the config file, refuses one inside the pool, and counts failed writes', async () => {
    const dir = join(root, 'b');
    const data = join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    const inside = join(dir, 'inside.json');
    writeFileSync(inside, JSON.stringify({ witness: [join(data, 'meta', 'w')] }));
    // A first start creates the pool, then refuses the witness inside its meta directory.
    await expect(startServer({ dataDir: data, address: '127.0.0.1:0', logLevel: 'warn', logDestination: logSink().stream, configFile: inside })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    writeFileSync(join(dir, 'file'), 'x');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ witness: [join(dir, 'file', 'w')] }));
    const log = logSink();
    const server = await startServer({ dataDir: data, address: '127.0.0.1:0', logLevel: 'warn', logDestination: log.stream, configFile: bad });
    expect((await server.vault.status()).witness?.locations).toEqual([join(dir, 'file', 'w')]);
    const metrics = new ServerMetrics({ poolSnapshotMs: 0 });
    metrics.attachVault(server.vault);
    const { client } = clientOf(server);
    await client.send(new CreateBucketCommand({ Bucket: 'bkt' }));
    await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'x' }));
    await new Promise((r) => setTimeout(r, 1300));
    expect(await metrics.text()).toMatch(/shardvault_witness_write_failures_total\{location="[^"]+"\} [1-9]/);
    expect(log.text()).toContain('could not be written');
    metrics.close();
    client.destroy();
    await server.close(2000);
    writeFileSync(bad, JSON.stringify({ witness: 'one' }));
    await expect(startServer({ dataDir: data, address: '127.0.0.1:0', logDestination: logSink().stream, configFile: bad })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
  });
});
