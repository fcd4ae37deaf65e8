// Runbooks that are exercised (issue 13): every runbook in docs/runbooks/ has the sections an operator needs
// (when to use it, the invariants involved, the signals, the steps) and a test here that breaks a real pool
// the way the runbook describes and then runs the runbook's own command blocks (test/support/runbook.ts),
// so a runbook whose commands stopped working fails the suite. Real pools on temporary directories, the real
// CLI, and for the access-key runbook the real daemon driven by the AWS SDK.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { DAEMON_ROOT, startDaemon, stopAllDaemons } from './support/daemon.js';
import { RUNBOOK_DIR, RUNBOOK_SECTIONS, cleanupPools, cli, cliBuilt, expectObjects, loadRunbook, ok, pool, scratch, track } from './support/runbook.js';

const TEST_DIR = __dirname;
const ready = cliBuilt() && native() !== null;
if (!ready) console.warn('runbooks: skipped (dist/lib/cli.js or the native addon is not built: npm run build)');

afterAll(async () => {
  await stopAllDaemons();
  cleanupPools();
});

describe('runbooks: structure', () => {
  it('every runbook has its sections and steps, and a test (test/runbooks*.test.ts) that follows it', () => {
    const files = readdirSync(RUNBOOK_DIR).filter((f) => f.endsWith('.md')).sort();
    expect(files.length).toBeGreaterThan(0);
    const tests = readdirSync(TEST_DIR).filter((f) => /^runbooks.*\.test\.ts$/.test(f)).map((f) => readFileSync(join(TEST_DIR, f), 'utf8')).join('\n');
    for (const f of files) {
      const book = loadRunbook(f);
      for (const s of RUNBOOK_SECTIONS) expect(book.text, `${f}: ${s}`).toContain(`\n${s}\n`);
      expect(book.text, `${f} names no invariant`).toMatch(/\*\*I[1-9]\*\*/);
      expect(book.steps.length, f).toBeGreaterThan(0);
      expect(tests, `${f} has no test calling loadRunbook('${f}')`).toContain(`loadRunbook('${f}')`);
    }
  });
});

describe.skipIf(!ready)('runbooks: followed on real pools', () => {
  it('disk-failure.md: a disk removed, found by status, replaced, repaired, verified; every object exact', () => {
    const book = loadRunbook('disk-failure.md');
    const p = pool('disk');
    rmSync(p.disk(2), { recursive: true, force: true }); // the disk "died": its directory is gone
    const found = book.run('find', { ...p.env, META: p.meta });
    const line = found.stdout.split('\n').find((l) => /^\S+ missing \//.test(l)); // the jq line, not the table
    expect(line, found.stdout).toBeDefined();
    const [diskId, condition, path] = line!.split(' ');
    expect(condition).toBe('missing');
    expect(path).toBe(p.disk(2));
    expect(found.stdout).toContain(`shardvault disk replace ${diskId}`);
    // Before replace the verify step fails: objects are at risk (the runbook's check is not vacuous).
    expect(book.run('verify', { ...p.env, META: p.meta }, { allowFailure: true }).status).not.toBe(0);
    book.run('replace', { ...p.env, META: p.meta, DISK: diskId, NEW_DISK: `${p.disk(6)}:host=h2` });
    book.run('verify', { ...p.env, META: p.meta });
    expectObjects(p.meta, p.objects, p.env);
    const audit = JSON.parse(ok(['audit', 'tail', '-n', '20', '--json', '--meta', p.meta], p.env)) as { records: Array<{ action: string; detail?: string }> };
    expect(audit.records.map((r) => r.action)).toEqual(expect.arrayContaining(['disk.add', 'disk.remove', 'repair.move']));
    book.assertAllRun();
  });

  it('lost-catalog.md: the catalog deleted, evidence kept, rebuilt from the disks, verified; every object exact', () => {
    const book = loadRunbook('lost-catalog.md');
    const p = pool('catalog');
    rmSync(join(p.meta, 'catalog'), { recursive: true, force: true });
    // The symptom the runbook describes: the pool does not open with its catalog gone (the bucket is unknown).
    expect(cli(['ls', 'photos', '--meta', p.meta], p.env).status).not.toBe(0);
    book.run('keep-evidence', { ...p.env, META: p.meta });
    expect(readdirSync(p.dir).some((f) => f.startsWith('meta.before-rebuild.'))).toBe(true);
    book.run('rebuild', { ...p.env, META: p.meta });
    const verified = book.run('verify', { ...p.env, META: p.meta });
    expect(verified.stdout).toContain('photos');
    expectObjects(p.meta, p.objects, p.env);
    book.assertAllRun();
  });

  it('compromised-access-key.md: the leaked key disabled (refused at once), its actions listed, replaced, deleted', async () => {
    const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const book = loadRunbook('compromised-access-key.md');
    const { dir } = track(scratch('akey'));
    const daemon = await startDaemon({ dataDir: join(dir, 'data') });
    const root = { SHARDVAULT_ROOT_ACCESS_KEY: DAEMON_ROOT.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: DAEMON_ROOT.secretAccessKey };
    const s3 = (c: { accessKeyId: string; secretAccessKey: string }) => new S3Client({ endpoint: daemon.url, region: 'us-east-1', forcePathStyle: true, credentials: c, maxAttempts: 1 });
    await s3(DAEMON_ROOT).send(new CreateBucketCommand({ Bucket: 'backups' }));
    const policy = join(dir, 'backup-policy.json');
    writeFileSync(policy, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::backups/*' }] }));
    const leaked = JSON.parse(ok(['keys', 'create', 'backup', '--policy', policy, '--endpoint', daemon.url], root)) as { accessKeyId: string; secretAccessKey: string; principal: string };
    // The attacker (holding the leaked secret) writes something.
    await s3(leaked).send(new PutObjectCommand({ Bucket: 'backups', Key: 'planted', Body: 'not ours' }));
    const env = { ...root, E: daemon.url, KEY: leaked.accessKeyId, NAME: 'backup', POLICY: policy };

    book.run('disable', env);
    const refused = await s3(leaked).send(new PutObjectCommand({ Bucket: 'backups', Key: 'more', Body: 'x' })).then(() => 200, (e: { $metadata?: { httpStatusCode?: number }; name?: string }) => e.$metadata?.httpStatusCode ?? 0);
    expect(refused).toBe(403);

    const seen = book.run('investigate', env).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action: string; key?: string });
    expect(seen.some((r) => r.key === 'planted'), JSON.stringify(seen)).toBe(true);

    const fresh = JSON.parse(book.run('replace', env).stdout) as { accessKeyId: string; secretAccessKey: string; principal: string };
    expect(fresh.principal).toBe(leaked.principal);
    await s3(fresh).send(new PutObjectCommand({ Bucket: 'backups', Key: 'after', Body: 'ours' }));
    const got = await s3(fresh).send(new GetObjectCommand({ Bucket: 'backups', Key: 'after' }));
    expect(await got.Body!.transformToString()).toBe('ours');

    book.run('delete', env);
    const keys = JSON.parse(ok(['keys', 'list', '--json', '--endpoint', daemon.url], root)) as { keys: Array<{ accessKeyId: string }> };
    expect(keys.keys.map((k) => k.accessKeyId)).not.toContain(leaked.accessKeyId);
    expect(keys.keys.map((k) => k.accessKeyId)).toContain(fresh.accessKeyId);
    book.assertAllRun();
    await daemon.stop();
  });
});
