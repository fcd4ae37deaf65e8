// Runbooks that are exercised (issue 13): every runbook in docs/runbooks/ has the sections an operator needs
// (when to use it, the invariants involved, the signals, the steps) and a test here that breaks a real pool
// the way the runbook describes and then runs the runbook's own command blocks (test/support/runbook.ts),
// so a runbook whose commands stopped working fails the suite. Real pools on temporary directories, the real
// CLI, and for the access-key runbook the real daemon driven by the AWS SDK.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { CLI, DAEMON_ROOT, startDaemon, stopAllDaemons } from './support/daemon.js';
import { RUNBOOK_DIR, RUNBOOK_SECTIONS, cliBuilt, loadRunbook, scratch } from './support/runbook.js';

const ready = cliBuilt() && native() !== null;
if (!ready) console.warn('runbooks: skipped (dist/lib/cli.js or the native addon is not built: npm run build)');

const cleanups: Array<() => void> = [];
afterAll(async () => {
  await stopAllDaemons();
  for (const c of cleanups) c();
});

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], env: Record<string, string> = {}): string {
  const r = cli(args, env);
  if (r.status !== 0) throw new Error(`shardvault ${args.join(' ')} failed (${String(r.status)}): ${r.stderr}`);
  return r.stdout;
}

/** A 4+2 pool of six directory disks (host labels h0..h5) with bucket `photos` and a few objects. */
function pool(name: string): { dir: string; meta: string; disk: (i: number) => string; objects: Map<string, Buffer> } {
  const { dir, cleanup } = scratch(name);
  cleanups.push(cleanup);
  const disk = (i: number) => join(dir, `d${i}`);
  for (let i = 0; i < 8; i++) mkdirSync(disk(i));
  const meta = join(dir, 'meta');
  ok(['init', ...Array.from({ length: 6 }, (_, i) => ['--disk', `${disk(i)}:host=h${i}`]).flat(), '--meta', meta, '--block', '65536', '--domain', 'host']);
  ok(['mb', 'photos', '--meta', meta]);
  const objects = new Map<string, Buffer>();
  for (const [key, size] of [['empty', 0], ['small', 1000], ['striped', 600_000]] as const) {
    const body = randomBytes(size);
    writeFileSync(join(dir, 'body'), body);
    ok(['put', 'photos', key, join(dir, 'body'), '--meta', meta]);
    objects.set(key, body);
  }
  return { dir, meta, disk, objects };
}

function expectObjects(meta: string, objects: Map<string, Buffer>): void {
  for (const [key, body] of objects) {
    const r = spawnSync(process.execPath, [CLI, 'get', 'photos', key, '-', '--meta', meta], { maxBuffer: 64 << 20 });
    expect(r.status, r.stderr?.toString()).toBe(0);
    expect(Buffer.compare(r.stdout, body), key).toBe(0);
  }
}

/** Every runbook file, and the test below that exercises it. */
const COVERED = ['compromised-access-key.md', 'disk-failure.md', 'lost-catalog.md'];

describe('runbooks: structure', () => {
  it('every runbook has its sections and steps, and each one is exercised by a test in this file', () => {
    const files = readdirSync(RUNBOOK_DIR).filter((f) => f.endsWith('.md')).sort();
    expect(files).toEqual([...COVERED].sort());
    for (const f of files) {
      const book = loadRunbook(f);
      for (const s of RUNBOOK_SECTIONS) expect(book.text, `${f}: ${s}`).toContain(`\n${s}\n`);
      expect(book.text, `${f} names no invariant`).toMatch(/\*\*I[1-9]\*\*/);
      expect(book.steps.length, f).toBeGreaterThan(0);
    }
  });
});

describe.skipIf(!ready)('runbooks: followed on real pools', () => {
  it('disk-failure.md: a disk removed, found by status, replaced, repaired, verified; every object exact', () => {
    const book = loadRunbook('disk-failure.md');
    const p = pool('disk');
    rmSync(p.disk(2), { recursive: true, force: true }); // the disk "died": its directory is gone
    const found = book.run('find', { META: p.meta });
    const line = found.stdout.split('\n').find((l) => /^\S+ missing \//.test(l)); // the jq line, not the table
    expect(line, found.stdout).toBeDefined();
    const [diskId, condition, path] = line!.split(' ');
    expect(condition).toBe('missing');
    expect(path).toBe(p.disk(2));
    expect(found.stdout).toContain(`shardvault disk replace ${diskId}`);
    // Before replace the verify step fails: objects are at risk (the runbook's check is not vacuous).
    expect(book.run('verify', { META: p.meta }, { allowFailure: true }).status).not.toBe(0);
    book.run('replace', { META: p.meta, DISK: diskId, NEW_DISK: `${p.disk(6)}:host=h2` });
    book.run('verify', { META: p.meta });
    expectObjects(p.meta, p.objects);
    const audit = JSON.parse(ok(['audit', 'tail', '-n', '20', '--json', '--meta', p.meta])) as { records: Array<{ action: string; detail?: string }> };
    expect(audit.records.map((r) => r.action)).toEqual(expect.arrayContaining(['disk.add', 'disk.remove', 'repair.move']));
    book.assertAllRun();
  });

  it('lost-catalog.md: the catalog deleted, evidence kept, rebuilt from the disks, verified; every object exact', () => {
    const book = loadRunbook('lost-catalog.md');
    const p = pool('catalog');
    rmSync(join(p.meta, 'catalog'), { recursive: true, force: true });
    // The symptom the runbook describes: the pool does not open with its catalog gone (the bucket is unknown).
    expect(cli(['ls', 'photos', '--meta', p.meta]).status).not.toBe(0);
    book.run('keep-evidence', { META: p.meta });
    expect(readdirSync(p.dir).some((f) => f.startsWith('meta.before-rebuild.'))).toBe(true);
    book.run('rebuild', { META: p.meta });
    const verified = book.run('verify', { META: p.meta });
    expect(verified.stdout).toContain('photos');
    expectObjects(p.meta, p.objects);
    book.assertAllRun();
  });

  it('compromised-access-key.md: the leaked key disabled (refused at once), its actions listed, replaced, deleted', async () => {
    const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const book = loadRunbook('compromised-access-key.md');
    const { dir, cleanup } = scratch('akey');
    cleanups.push(cleanup);
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
