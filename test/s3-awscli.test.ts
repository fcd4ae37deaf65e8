// The daemon driven by the AWS CLI from Debian (/usr/bin/aws), unchanged: `aws s3 mb/ls/cp/sync/rm` and
// `aws s3api put-object/head-object/get-object/list-objects-v2/copy-object/delete-objects`, with the CLI's
// default checksums, against startServer() in this process (the CLI runs as a child, asynchronously, so the
// daemon keeps serving). Config and credentials live in temporary files (AWS_CONFIG_FILE,
// AWS_SHARED_CREDENTIALS_FILE): nothing of the user's AWS setup is read. A multipart `aws s3 cp` of 20 MiB
// (three parts) and an aborted upload.
// A tier (test/support/tier.ts): without the AWS CLI the file skips, saying why, except under
// SHARDVAULT_CI_REQUIRE_ALL=1, where it fails.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tier } from './support/tier.js';

const root = join(__dirname, '..');
const AWS = ['/usr/bin/aws', '/usr/local/bin/aws'].find((p) => existsSync(p));
const awsWorks = AWS !== undefined && spawnSync(AWS, ['--version'], { encoding: 'utf8' }).status === 0;
const serverBuilt = existsSync(join(root, 'dist', 'lib', 'server', 'index.js'));
const missing = [...(awsWorks ? [] : ['the AWS CLI (/usr/bin/aws; apt-get install awscli)']), ...(serverBuilt ? [] : ['dist/lib/server (npx tsc -p tsconfig.json)'])];

const work = mkdtempSync(join(tmpdir(), 'sv-awscli-'));
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

interface Running { url: string; root: { accessKeyId: string; secretAccessKey?: string }; close(ms?: number): Promise<void> }
let running: Running;
let env: NodeJS.ProcessEnv;

/** The AWS CLI, asynchronously (the daemon lives in this event loop). */
function aws(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(AWS!, ['--endpoint-url', running.url, ...args], { cwd: work, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}
async function ok(args: string[]): Promise<string> {
  const r = await aws(args);
  expect(r.status, `aws ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
/** JSON output; the CLI prints nothing at all for an empty result (a listing with no keys). */
const json = async (args: string[]) => {
  const out = (await ok([...args, '--output', 'json'])).trim();
  return (out === '' ? {} : JSON.parse(out)) as Record<string, any>;
};
/** `aws s3 ls` of nothing: the CLI exits 1 with empty output (its documented behaviour), not an error from us. */
async function lsEmpty(args: string[]): Promise<void> {
  const r = await aws(['s3', 'ls', ...args]);
  expect(r.stdout, r.stderr).toBe('');
  expect(r.stderr).toBe('');
  expect([0, 1]).toContain(r.status);
}

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (n.isDirectory()) walk(p);
      else out[relative(dir, p)] = md5(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describe('the AWS CLI against the daemon', () => {
  if (!tier('the AWS CLI tier', missing).ready) return;

  beforeAll(async () => {
    const { startServer } = await import(join(root, 'dist', 'lib', 'server', 'index.js'));
    running = await startServer({ dataDir: join(work, 'data'), address: '127.0.0.1:0', logLevel: 'warn', logDestination: { write: () => true } as unknown as NodeJS.WritableStream });
    const config = join(work, 'aws-config');
    const credentials = join(work, 'aws-credentials');
    writeFileSync(config, '[default]\nregion = us-east-1\noutput = json\ns3 =\n  addressing_style = path\n');
    writeFileSync(credentials, `[default]\naws_access_key_id = ${running.root.accessKeyId}\naws_secret_access_key = ${running.root.secretAccessKey}\n`);
    // Only what the CLI needs: none of the user's AWS_* settings, no instance metadata lookups, no pager.
    env = {
      PATH: process.env.PATH, HOME: work, LANG: 'C.UTF-8',
      AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '',
    };
  }, 60_000);

  afterAll(async () => {
    await running?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('aws s3 mb, ls, cp up and down, ls of a prefix, rm', async () => {
    await ok(['s3', 'mb', 's3://cli-bkt']);
    expect(await ok(['s3', 'ls'])).toMatch(/\scli-bkt$/m);
    const file = join(work, 'hello.bin');
    const data = randomBytes(300_000);
    writeFileSync(file, data);
    await ok(['s3', 'cp', file, 's3://cli-bkt/dir/hello.bin']);
    await ok(['s3', 'cp', 's3://cli-bkt/dir/hello.bin', join(work, 'back.bin')]);
    expect(md5(readFileSync(join(work, 'back.bin')))).toBe(md5(data));
    const ls = await ok(['s3', 'ls', 's3://cli-bkt/dir/']);
    expect(ls).toMatch(/\s300000 hello\.bin$/m);
    expect(await ok(['s3', 'ls', 's3://cli-bkt/'])).toMatch(/PRE dir\/$/m);
    await ok(['s3', 'rm', 's3://cli-bkt/dir/hello.bin']);
    await lsEmpty(['s3://cli-bkt/dir/']);
  });

  it('aws s3 sync up, down, and again (nothing to do the second time); rm --recursive', async () => {
    const src = join(work, 'tree');
    for (const [p, n] of [['a.txt', 10], ['b/c.bin', 70_000], ['b/d/e.bin', 1], ['f g.txt', 5000], ['ü/ñ.txt', 20]] as const) {
      mkdirSync(join(src, p, '..'), { recursive: true });
      writeFileSync(join(src, p), randomBytes(n));
      // A minute old: S3's LastModified has whole seconds, so a file written in the second of its upload would
      // look newer than the object (by under a second) and be sent again, whatever the daemon answers.
      const old = new Date(Date.now() - 60_000);
      utimesSync(join(src, p), old, old);
    }
    await ok(['s3', 'sync', src, 's3://cli-bkt/sync/']);
    const dst = join(work, 'tree-back');
    await ok(['s3', 'sync', 's3://cli-bkt/sync/', dst]);
    expect(tree(dst)).toEqual(tree(src));
    // Same sizes and times: sync finds nothing to copy (it relies on ListObjectsV2's size and LastModified).
    expect((await ok(['s3', 'sync', src, 's3://cli-bkt/sync/'])).trim()).toBe('');
    await ok(['s3', 'rm', '--recursive', 's3://cli-bkt/sync/']);
    await lsEmpty(['--recursive', 's3://cli-bkt/sync/']);
  });

  it('aws s3api put-object, head-object, get-object, list-objects-v2, copy-object, delete-objects', async () => {
    const file = join(work, 'api.bin');
    const data = randomBytes(123_456);
    writeFileSync(file, data);
    const put = await json(['s3api', 'put-object', '--bucket', 'cli-bkt', '--key', 'api/one', '--body', file, '--content-type', 'application/x-test', '--metadata', 'colour=blue,size=big', '--cache-control', 'max-age=60']);
    expect(put.ETag).toBe(`"${md5(data)}"`);
    const head = await json(['s3api', 'head-object', '--bucket', 'cli-bkt', '--key', 'api/one']);
    expect(head).toMatchObject({ ContentLength: 123_456, ContentType: 'application/x-test', ETag: `"${md5(data)}"`, Metadata: { colour: 'blue', size: 'big' }, CacheControl: 'max-age=60' });
    const out = join(work, 'api-back.bin');
    const get = await json(['s3api', 'get-object', '--bucket', 'cli-bkt', '--key', 'api/one', out]);
    expect(get.ContentLength).toBe(123_456);
    expect(md5(readFileSync(out))).toBe(md5(data));
    const range = await json(['s3api', 'get-object', '--bucket', 'cli-bkt', '--key', 'api/one', '--range', 'bytes=100-199', join(work, 'range.bin')]);
    expect(range.ContentRange).toBe('bytes 100-199/123456');
    expect(readFileSync(join(work, 'range.bin'))).toEqual(data.subarray(100, 200));

    const copy = await json(['s3api', 'copy-object', '--bucket', 'cli-bkt', '--key', 'api/two', '--copy-source', 'cli-bkt/api/one']);
    expect(copy.CopyObjectResult.ETag).toBe(`"${md5(data)}"`);
    const replaced = await json(['s3api', 'copy-object', '--bucket', 'cli-bkt', '--key', 'api/three', '--copy-source', 'cli-bkt/api/one', '--metadata-directive', 'REPLACE', '--content-type', 'text/plain', '--metadata', 'colour=red']);
    expect(replaced.CopyObjectResult.ETag).toBe(`"${md5(data)}"`);
    const [three, two] = await Promise.all(['api/three', 'api/two'].map((k) => json(['s3api', 'head-object', '--bucket', 'cli-bkt', '--key', k])));
    expect(three).toMatchObject({ ContentType: 'text/plain', Metadata: { colour: 'red' } });
    expect(two.Metadata).toEqual({ colour: 'blue', size: 'big' });

    await Promise.all([0, 1, 2, 3, 4].map((i) => ok(['s3api', 'put-object', '--bucket', 'cli-bkt', '--key', `api/many/${i}`, '--body', file])));
    const page = await json(['s3api', 'list-objects-v2', '--bucket', 'cli-bkt', '--prefix', 'api/many/', '--max-keys', '2', '--no-paginate']);
    expect(page.KeyCount).toBe(2);
    expect(page.IsTruncated).toBe(true);
    expect(page.Contents.map((c: { Key: string }) => c.Key)).toEqual(['api/many/0', 'api/many/1']);
    const all = await json(['s3api', 'list-objects-v2', '--bucket', 'cli-bkt', '--prefix', 'api/', '--delimiter', '/']);
    expect(all.CommonPrefixes).toEqual([{ Prefix: 'api/many/' }]);
    expect(all.Contents.map((c: { Key: string }) => c.Key)).toEqual(['api/one', 'api/three', 'api/two']);

    const del = await json(['s3api', 'delete-objects', '--bucket', 'cli-bkt', '--delete', JSON.stringify({ Objects: [0, 1, 2, 3, 4].map((i) => ({ Key: `api/many/${i}` })).concat([{ Key: 'api/never-was' }]) })]);
    expect(del.Deleted).toHaveLength(6);
    expect(del.Errors ?? []).toEqual([]);
    expect((await json(['s3api', 'list-objects-v2', '--bucket', 'cli-bkt', '--prefix', 'api/many/'])).Contents ?? []).toEqual([]);
  });

  it('S3 errors reach the CLI as S3 errors (codes and messages it can print)', async () => {
    const noBucket = await aws(['s3', 'ls', 's3://no-such-bucket-here']);
    expect(noBucket.status).not.toBe(0);
    expect(noBucket.stderr).toContain('NoSuchBucket');
    const noKey = await aws(['s3api', 'get-object', '--bucket', 'cli-bkt', '--key', 'nope', join(work, 'nope')]);
    expect(noKey.status).not.toBe(0);
    expect(noKey.stderr).toContain('NoSuchKey');
    const notEmpty = await aws(['s3', 'rb', 's3://cli-bkt']);
    expect(notEmpty.status).not.toBe(0);
    expect(notEmpty.stderr).toContain('BucketNotEmpty');
    const wrong = await aws(['s3', 'ls'], { AWS_ACCESS_KEY_ID: running.root.accessKeyId, AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain('SignatureDoesNotMatch');
    const unknown = await aws(['s3', 'ls'], { AWS_ACCESS_KEY_ID: 'SVNOSUCHKEY000000000', AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
    expect(unknown.stderr).toContain('InvalidAccessKeyId');
  });

  it('a multipart aws s3 cp of 20 MiB (8 MiB parts, the CLI default), and an aborted upload', async () => {
    const probe = await json(['s3api', 'create-multipart-upload', '--bucket', 'cli-bkt', '--key', 'probe']);
    expect((await json(['s3api', 'list-multipart-uploads', '--bucket', 'cli-bkt'])).Uploads.map((u: { Key: string }) => u.Key)).toEqual(['probe']);
    await ok(['s3api', 'abort-multipart-upload', '--bucket', 'cli-bkt', '--key', 'probe', '--upload-id', probe.UploadId]);
    expect((await json(['s3api', 'list-multipart-uploads', '--bucket', 'cli-bkt'])).Uploads ?? []).toEqual([]);
    const file = join(work, 'big.bin');
    const data = randomBytes(20 << 20);
    writeFileSync(file, data);
    await ok(['s3', 'cp', file, 's3://cli-bkt/big.bin']);
    const head = await json(['s3api', 'head-object', '--bucket', 'cli-bkt', '--key', 'big.bin']);
    expect(head.ContentLength).toBe(20 << 20);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/); // 8 MiB parts (the CLI's default): 3 parts
    await ok(['s3', 'cp', 's3://cli-bkt/big.bin', join(work, 'big-back.bin')]);
    expect(md5(readFileSync(join(work, 'big-back.bin')))).toBe(md5(data));
  });

  it('aws s3 rb --force empties and removes the bucket', async () => {
    await ok(['s3', 'rb', '--force', 's3://cli-bkt']);
    expect(await ok(['s3', 'ls'])).not.toMatch(/cli-bkt/);
  });
});
