// `repair --resign` through the daemon (issue 13): a pool whose old signing key was revoked while the daemon
// was stopped refuses, through S3, the objects only that key signed (500, ERR_SV_KEY_REVOKED), until
// `shardvault repair --resign --endpoint URL` runs the re-signing as an admin job in the daemon; then every
// object reads back exact through the AWS SDK. The real daemon, the real CLI, the real SDK.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';

import { CLI, DAEMON_ROOT, startDaemon, stopAllDaemons, tempDataDir } from './support/daemon.js';

const ready = existsSync(CLI);
afterAll(() => stopAllDaemons());

const env = { SHARDVAULT_ROOT_ACCESS_KEY: DAEMON_ROOT.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: DAEMON_ROOT.secretAccessKey };
function ok(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, `shardvault ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

describe.skipIf(!ready)(`repair --resign through the daemon${ready ? '' : ' (skipped: dist/ not built: npx tsc -p tsconfig.json)'}`, () => {
  it('objects signed only by a revoked key are refused through S3 until `repair --resign --endpoint` re-signs them', async () => {
    const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const dataDir = tempDataDir('sv-keyring-daemon-');
    let daemon = await startDaemon({ dataDir });
    const s3 = () => new S3Client({ endpoint: daemon.url, region: 'us-east-1', forcePathStyle: true, credentials: DAEMON_ROOT, maxAttempts: 1 });
    const bodies = new Map([['small', randomBytes(1000)], ['striped', randomBytes(3 << 20)]]);
    await s3().send(new CreateBucketCommand({ Bucket: 'photos' }));
    for (const [key, body] of bodies) await s3().send(new PutObjectCommand({ Bucket: 'photos', Key: key, Body: body }));
    await daemon.stop();

    // The key leaked: rotate and revoke the old one on the pool directly (the keyring commands need the pool lock).
    const ring = JSON.parse(ok(['keyring', 'list', '--json', '--meta', join(dataDir, 'meta')])) as { keys: Array<{ id: string; state: string }> };
    const leaked = ring.keys.find((k) => k.state === 'active')!.id;
    ok(['keyring', 'rotate', '--meta', join(dataDir, 'meta')]);
    ok(['keyring', 'revoke', leaked, '--reason', 'leaked in a backup', '--meta', join(dataDir, 'meta')]);

    daemon = await startDaemon({ dataDir });
    const refused = await s3().send(new GetObjectCommand({ Bucket: 'photos', Key: 'small' })).then(() => 200, (e: { $metadata?: { httpStatusCode?: number }; message?: string }) => e.$metadata?.httpStatusCode ?? 0);
    expect(refused).toBe(500);

    const out = JSON.parse(ok(['repair', '--resign', '--json', '--endpoint', daemon.url])) as { resign?: { resigned: number; failed: number } };
    expect(out.resign).toMatchObject({ resigned: bodies.size, failed: 0 });
    for (const [key, body] of bodies) {
      const got = await s3().send(new GetObjectCommand({ Bucket: 'photos', Key: key }));
      expect(Buffer.compare(Buffer.from(await got.Body!.transformToByteArray()), body), key).toBe(0);
    }
    await daemon.stop();
  });
});
