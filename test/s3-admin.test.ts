// lib/server/admin.ts behind a plain node:http server that does what the daemon's core does before it: SigV4
// verification with lib/auth (SigV4Verifier over the pool's KeyStore), the admin flag of the principal, a
// size-bounded body. Driven two ways: raw signed requests (every route, every error code), and the real CLI
// binary (`shardvault keys|status|scrub|repair|audit --endpoint URL`, dist/lib/cli.js). Then `keys --data DIR`
// on the pool directly: refused while a process holds the pool, working once it is free.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KeyStore, SigV4Verifier, signRequest } from '../lib/auth/index.js';
import { ADMIN_PREFIX, abortAdminJobs, handleAdmin } from '../lib/server/admin.js';
import { Vault } from '../lib/vault.js';

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && existsSync(join(root, 'dist', 'lib', 'server', 'admin.js'));
const REGION = 'us-east-1';
const BODY_MAX = 1 << 20;

const work = mkdtempSync(join(tmpdir(), 'sv-admin-'));
const dataDir = join(work, 'data');
const meta = join(dataDir, 'meta');
let vault: Vault;
let keys: KeyStore;
let server: Server;
let url = '';
let rootKey: { accessKeyId: string; secretAccessKey: string };

async function startAdminServer(): Promise<void> {
  const verifier = new SigV4Verifier({ region: REGION, lookup: keys.lookup });
  server = createServer((req, res) => {
    void (async () => {
      const requestId = `R${Math.random().toString(16).slice(2, 10)}`;
      let who;
      try {
        const v = await verifier.verify({ method: req.method ?? 'GET', target: req.url ?? '/', rawHeaders: req.rawHeaders });
        who = { principal: v.principal, admin: keys.principal(v.principal)?.admin === true, requestId };
      } catch (err) {
        res.statusCode = (err as { status?: number }).status ?? 403;
        res.end(`<Error><Code>${(err as { s3Code?: string }).s3Code ?? 'AccessDenied'}</Code><Message>${(err as Error).message}</Message></Error>`);
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const c of req) {
        bytes += (c as Buffer).length;
        if (bytes > BODY_MAX) {
          res.statusCode = 413;
          res.end();
          return;
        }
        chunks.push(c as Buffer);
      }
      if (!(req.url ?? '').startsWith(ADMIN_PREFIX)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      await handleAdmin({ vault, keys }, req, res, who, Buffer.concat(chunks));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const disks = Array.from({ length: 4 }, (_, i) => ({ path: join(dataDir, `disk-${i}`), labels: { disk: `disk-${i}` } }));
  for (const d of disks) mkdirSync(d.path, { recursive: true });
  vault = await Vault.init({ disks, metaDir: meta, k: 2, m: 1, blockBytes: 4096, failureDomain: 'disk' });
  await vault.createBucket('bkt');
  for (let i = 0; i < 20; i++) await vault.put('bkt', `obj-${i}`, new Uint8Array(20_000).fill(i));
  keys = await KeyStore.open(meta);
  const r = await keys.ensureRoot();
  rootKey = { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey! };
  await startAdminServer();
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (vault !== undefined) {
    await abortAdminJobs(vault);
    await vault.close().catch(() => undefined);
  }
  rmSync(work, { recursive: true, force: true });
});

/** One signed admin request. */
function call(method: string, path: string, body?: unknown, creds = rootKey): Promise<{ status: number; json: any; text: string; headers: Record<string, string | string[] | undefined> }> {
  const target = new URL(`${ADMIN_PREFIX}${path}`, url);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = signRequest({ method, url: target, headers: { 'content-length': String(payload.length) }, body: payload, accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, region: REGION });
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const readOnlyPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::bkt', 'arn:aws:s3:::bkt/public/*'] }] };

describe('admin API (signed requests)', () => {
  let alice: { accessKeyId: string; secretAccessKey: string; principal: string };

  it('creates a key and returns its secret once; lists and shows keys without secrets', async () => {
    const r = await call('POST', 'keys', { name: 'alice', policy: readOnlyPolicy });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    alice = r.json;
    expect(alice.accessKeyId).toMatch(/^SV[A-Z2-7]{18}$/);
    expect(alice.secretAccessKey.length).toBe(40);
    expect(alice.principal).toBe('alice');
    const list = await call('GET', 'keys');
    expect(list.status).toBe(200);
    expect(list.json.keys.map((k: { name: string }) => k.name).sort()).toEqual(['alice', 'root']);
    expect(list.json.keys.find((k: { name: string }) => k.name === 'alice')).toMatchObject({ accessKeyId: alice.accessKeyId, principal: 'alice', admin: false, enabled: true, hasPolicy: true });
    const one = await call('GET', `keys/${alice.accessKeyId}`);
    expect(one.json.policy.Statement[0].Action).toEqual(['s3:GetObject', 's3:ListBucket']);
    for (const t of [list.text, one.text]) {
      expect(t).not.toContain(alice.secretAccessKey);
      expect(t).not.toContain(rootKey.secretAccessKey);
    }
  });

  it('refuses a principal that is not an admin with 403 AccessDenied, on every route', async () => {
    for (const [method, path] of [['GET', 'keys'], ['POST', 'keys'], ['GET', 'status'], ['POST', 'scrub'], ['GET', 'audit/verify'], ['GET', 'nonsense']] as const) {
      const r = await call(method, path, method === 'POST' ? { name: 'mallory', admin: true } : undefined, alice);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.json).toEqual({ code: 'AccessDenied', message: expect.any(String) });
    }
    expect(keys.list().some((k) => k.name === 'mallory')).toBe(false);
  });

  it('disables, enables, changes the policy of and deletes keys; each change takes effect at once', async () => {
    const d = await call('POST', `keys/${alice.accessKeyId}/disable`);
    expect(d.status).toBe(200);
    expect(d.json.enabled).toBe(false);
    expect((await keys.lookup(alice.accessKeyId))?.enabled).toBe(false);
    expect((await call('POST', `keys/${alice.accessKeyId}/enable`)).json.enabled).toBe(true);
    expect((await keys.lookup(alice.accessKeyId))?.enabled).toBe(true);
    const detach = await call('PUT', `keys/${alice.accessKeyId}/policy`, { policy: null });
    expect(detach.status).toBe(200);
    expect(detach.json.hasPolicy).toBe(false);
    expect(keys.principal('alice')?.policy).toBeUndefined();
    const set = await call('PUT', `keys/${alice.accessKeyId}/policy`, { policy: readOnlyPolicy });
    expect(set.json.policy).toEqual(readOnlyPolicy);
    const tmp = (await call('POST', 'keys', { name: 'temp' })).json;
    expect((await call('DELETE', `keys/${tmp.accessKeyId}`)).json).toEqual({ accessKeyId: tmp.accessKeyId, deleted: true });
    expect(await keys.lookup(tmp.accessKeyId)).toBeUndefined();
    expect((await call('GET', `keys/${tmp.accessKeyId}`)).json.code).toBe('NoSuchAccessKey');
  });

  it('answers bad requests with a stable JSON code', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', 'keys', '{not json', 400, 'InvalidRequest'],
      ['POST', 'keys', '[1,2]', 400, 'InvalidRequest'],
      ['POST', 'keys', { name: 'bob', colour: 'red' }, 400, 'InvalidRequest'],
      ['POST', 'keys', { name: '../etc' }, 400, 'InvalidRequest'],
      ['POST', 'keys', { name: 'bob', admin: 'yes' }, 400, 'InvalidRequest'],
      ['POST', 'keys', { name: 'bob', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: 's3:*', Resource: '*' }] } }, 400, 'MalformedPolicy'],
      ['PUT', `keys/${rootKey.accessKeyId}/policy`, {}, 400, 'InvalidRequest'],
      ['POST', 'keys/NOSUCHKEY0000000000/disable', undefined, 404, 'NoSuchAccessKey'],
      ['DELETE', 'keys/bad%20id', undefined, 404, 'NoSuchAccessKey'],
      ['GET', 'nowhere', undefined, 404, 'NotFound'],
      ['DELETE', 'status', undefined, 405, 'MethodNotAllowed'],
      ['GET', 'audit/tail?n=0', undefined, 400, 'InvalidRequest'],
      ['GET', 'audit/tail?n=1001', undefined, 400, 'InvalidRequest'],
      ['GET', 'audit/tail?n=abc', undefined, 400, 'InvalidRequest'],
      ['POST', 'scrub', { rateBytesPerSec: -1 }, 400, 'InvalidRequest'],
      ['POST', 'scrub', { fast: true }, 400, 'InvalidRequest'],
      // The last enabled admin key cannot lock the admin API out.
      ['POST', `keys/${rootKey.accessKeyId}/disable`, undefined, 400, 'InvalidRequest'],
      ['DELETE', `keys/${rootKey.accessKeyId}`, undefined, 400, 'InvalidRequest'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`).toBe(status);
      expect(r.json.code, `${method} ${path}`).toBe(code);
      expect(r.json.message.length).toBeGreaterThan(0);
    }
    expect((await call('DELETE', 'status')).headers.allow).toBe('GET');
    expect(keys.list().some((k) => k.name === 'bob')).toBe(false);
  });

  it('reports status and audits the chain (verify, tail)', async () => {
    const s = await call('GET', 'status');
    expect(s.status).toBe(200);
    expect(s.json.disks).toHaveLength(4);
    expect(s.json.objects).toBe(20);
    expect((await call('GET', 'audit/verify')).json).toEqual({ ok: true, records: (await vault.auditLog()).length });
    const t = await call('GET', 'audit/tail?n=3');
    expect(t.json.records).toHaveLength(3);
    expect(t.json.total).toBe((await vault.auditLog()).length);
    expect(t.json.records.at(-1)).toEqual(JSON.parse(JSON.stringify((await vault.auditLog()).at(-1))));
  });

  it('writes every key change to the audit chain with who, request id and source', async () => {
    const before = (await vault.auditLog()).length;
    const k = (await call('POST', 'keys', { name: 'carol' })).json;
    await call('POST', `keys/${k.accessKeyId}/disable`);
    await call('PUT', `keys/${k.accessKeyId}/policy`, { policy: readOnlyPolicy });
    await call('DELETE', `keys/${k.accessKeyId}`);
    const text = JSON.stringify((await vault.auditLog()).slice(before));
    for (const action of ['key.create', 'key.created', 'key.disable', 'key.policy.set', 'key.delete']) expect(text).toContain(action);
    expect(text).toContain(k.accessKeyId);
    expect(text).toContain('root');
    expect(text).toContain('127.0.0.1');
    expect(text).not.toContain(k.secretAccessKey);
    expect((await vault.verifyAudit())).toBe(-1);
  });

  it('runs scrub and repair as jobs: 202, progress, result; one at a time; cancel', async () => {
    const started = await call('POST', 'scrub', {});
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ kind: 'scrub', state: 'running', startedBy: 'root' });
    let job = started.json;
    while (job.state === 'running') job = (await call('GET', 'scrub')).json;
    expect(job).toMatchObject({ state: 'done', result: { objects: 20, bad: 0 } });

    // A slow scrub (1 byte/s would take forever): a second one is refused, cancel stops it.
    const slow = await call('POST', 'scrub', { rateBytesPerSec: 50_000 });
    expect(slow.status).toBe(202);
    const again = await call('POST', 'scrub', {});
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('JobRunning');
    const cancelled = await call('POST', 'scrub/cancel');
    expect(cancelled.json.state).toBe('cancelled');
    expect(cancelled.json.error.code).toBe('ERR_SV_ABORTED');

    const rep = await call('POST', 'repair', {});
    expect(rep.status).toBe(202);
    job = rep.json;
    while (job.state === 'running') job = (await call('GET', 'repair')).json;
    expect(job).toMatchObject({ state: 'done', result: { repaired: 0, failed: 0 } });
  });
});

// ---------------------------------------------------------------- the CLI

/** Runs the CLI (asynchronously: the admin server lives in this process's event loop). */
function sv(args: string[], env: Record<string, string | undefined> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
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
const ok = (r: Awaited<ReturnType<typeof sv>>, what: string) => {
  expect(r.status, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
};

describe.skipIf(!ready)(`shardvault CLI against the admin API${ready ? '' : ' (skipped: dist/ not built: npx tsc -p tsconfig.json)'}`, () => {
  it('keys create/list/disable/enable/policy/delete --endpoint', async () => {
    const policyPath = join(work, 'policy.json');
    writeFileSync(policyPath, JSON.stringify(readOnlyPolicy, null, 2));
    const created = JSON.parse(ok(await sv(['keys', 'create', 'dave', '--policy', policyPath, '--endpoint', url]), 'keys create'));
    expect(created).toMatchObject({ accessKeyId: expect.stringMatching(/^SV/), secretAccessKey: expect.any(String), principal: 'dave' });
    expect(keys.principal('dave')?.policy).toEqual(readOnlyPolicy);
    const list = JSON.parse(ok(await sv(['keys', 'list', '--endpoint', url, '--json']), 'keys list'));
    expect(list.keys.find((k: { name: string }) => k.name === 'dave')).toMatchObject({ enabled: true, hasPolicy: true });
    const human = ok(await sv(['keys', 'list', '--endpoint', url]), 'keys list');
    expect(human).toMatch(/^ACCESS KEY\s+PRINCIPAL/);
    expect(human).not.toContain(created.secretAccessKey);
    expect(ok(await sv(['keys', 'disable', created.accessKeyId, '--endpoint', url]), 'disable')).toContain('disabled');
    expect(keys.info(created.accessKeyId)?.enabled).toBe(false);
    expect(ok(await sv(['keys', 'enable', created.accessKeyId, '--endpoint', url]), 'enable')).toContain('enabled');
    expect(ok(await sv(['keys', 'policy', created.accessKeyId, '--detach', '--endpoint', url]), 'detach')).toContain('detached');
    expect(keys.principal('dave')?.policy).toBeUndefined();
    ok(await sv(['keys', 'policy', created.accessKeyId, policyPath, '--endpoint', url]), 'policy');
    expect(keys.principal('dave')?.policy).toEqual(readOnlyPolicy);
    ok(await sv(['keys', 'delete', created.accessKeyId, '--endpoint', url]), 'delete');
    expect(keys.info(created.accessKeyId)).toBeUndefined();
    const admin = JSON.parse(ok(await sv(['keys', 'create', 'ops-admin', '--admin', '--endpoint', url]), 'create --admin'));
    expect(keys.principal('ops-admin')?.admin).toBe(true);
    // The new admin key works for the admin API.
    ok(await sv(['keys', 'list', '--endpoint', url], { SHARDVAULT_ROOT_ACCESS_KEY: admin.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: admin.secretAccessKey }), 'list as the new admin');
  });

  it('status, scrub, repair and audit verify|tail --endpoint print what the local commands print', async () => {
    const st = JSON.parse(ok(await sv(['status', '--endpoint', url, '--json']), 'status'));
    expect(st).toMatchObject({ poolOpen: true, k: 2, m: 1, objects: 20, repairQueued: 0 });
    expect(st.disks).toHaveLength(4);
    expect(ok(await sv(['status', '--endpoint', url]), 'status')).toContain(`pool ${url}: 2+1`);
    const scrub = JSON.parse(ok(await sv(['scrub', '--endpoint', url, '--json']), 'scrub'));
    expect(scrub).toMatchObject({ objects: 20, bad: 0, repairQueued: 0, disksSkipped: [] });
    const repair = JSON.parse(ok(await sv(['repair', '--endpoint', url, '--json']), 'repair'));
    expect(repair).toMatchObject({ queued: 0, repaired: 0, failed: 0 });
    const verify = JSON.parse(ok(await sv(['audit', 'verify', '--endpoint', url, '--json']), 'audit verify'));
    expect(verify).toEqual({ ok: true, records: (await vault.auditLog()).length });
    const tail = JSON.parse(ok(await sv(['audit', 'tail', '-n', '2', '--endpoint', url, '--json']), 'audit tail'));
    expect(tail.records).toHaveLength(2);
    expect(ok(await sv(['audit', 'tail', '--endpoint', url]), 'audit tail')).toContain(`of ${(await vault.auditLog()).length} record(s)`);
    // The read-only commands also read the pool directly while this process holds it.
    const local = JSON.parse(ok(await sv(['audit', 'verify', '--data', dataDir, '--json']), 'audit verify --data'));
    expect(local.ok).toBe(true);
    expect(JSON.parse(ok(await sv(['status', '--data', dataDir, '--json']), 'status --data')).objects).toBe(20);
    expect(JSON.parse(ok(await sv(['keys', 'list', '--data', dataDir, '--json']), 'keys list --data')).keys.length).toBe(keys.list().length);
  });

  it('Ctrl-C on a remote scrub cancels it in the daemon', async () => {
    const child = spawn(process.execPath, [cli, 'scrub', '--rate', '20000', '--endpoint', url], {
      cwd: work, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: rootKey.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: rootKey.secretAccessKey },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    for (let i = 0; i < 100 && (await call('GET', 'scrub')).json.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('ERR_SV_ABORTED');
    expect((await call('GET', 'scrub')).json.state).toBe('cancelled');
  });

  it('fails with stable codes: no credentials, wrong credentials, non-admin key, daemon down, bad --endpoint', async () => {
    const noCreds = await sv(['keys', 'list', '--endpoint', url, '--json'], { SHARDVAULT_ROOT_ACCESS_KEY: '', SHARDVAULT_ROOT_SECRET_KEY: '' });
    expect(noCreds.status).toBe(2);
    expect(JSON.parse(noCreds.stderr).error.code).toBe('ERR_SV_CREDENTIALS');
    const wrong = await sv(['keys', 'list', '--endpoint', url, '--json'], { SHARDVAULT_ROOT_SECRET_KEY: 'x'.repeat(40) });
    expect(wrong.status).toBe(2);
    expect(JSON.parse(wrong.stderr).error).toMatchObject({ code: 'ERR_SV_ACCESS_DENIED', message: expect.stringContaining('SignatureDoesNotMatch') });
    const user = JSON.parse(ok(await sv(['keys', 'create', 'eve', '--endpoint', url]), 'create eve'));
    const denied = await sv(['status', '--endpoint', url, '--json'], { SHARDVAULT_ROOT_ACCESS_KEY: user.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: user.secretAccessKey });
    expect(JSON.parse(denied.stderr).error).toMatchObject({ code: 'ERR_SV_ACCESS_DENIED', message: expect.stringContaining('AccessDenied') });
    const down = await sv(['status', '--endpoint', 'http://127.0.0.1:1', '--json']);
    expect(down.status).toBe(5);
    expect(JSON.parse(down.stderr).error.code).toBe('ERR_SV_UNREACHABLE');
    const bad = await sv(['status', '--endpoint', 'ftp://x', '--json']);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('ERR_SV_USAGE');
    const both = await sv(['status', '--endpoint', url, '--data', dataDir, '--json']);
    expect(JSON.parse(both.stderr).error.code).toBe('ERR_SV_USAGE');
    const missing = await sv(['keys', 'disable', 'SVNOSUCHKEY000000000', '--endpoint', url, '--json']);
    expect(missing.status).toBe(3);
    expect(JSON.parse(missing.stderr).error.code).toBe('ERR_SV_NOT_FOUND');
  });

  it('disk add, drain, replace, rm through the admin API and `disk ... --endpoint`', async () => {
    // Raw routes and their errors.
    const added = await call('POST', 'disks', { path: join(dataDir, 'disk-4'), labels: { disk: 'disk-4' } });
    expect(added.status, added.text).toBe(200);
    expect((await call('GET', 'status')).json.disks.filter((d: { state: string }) => d.state !== 'removed')).toHaveLength(5);
    const refused = await call('POST', 'disks', { path: join(dataDir, 'disk-0'), labels: { disk: 'disk-x' } });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ code: 'InvalidDisk', svCode: 'ERR_SV_DISK_IDENTITY' });
    expect((await call('POST', 'disks', { path: 'relative/dir' })).json.code).toBe('InvalidRequest');
    expect((await call('POST', 'disks', { path: '/x', labels: { a: 1 } })).json.code).toBe('InvalidRequest');
    expect((await call('POST', 'disks/nosuch/drain')).json).toMatchObject({ code: 'NoSuchDisk' });
    // The CLI: drain and remove the new (empty) disk, replace an old one onto a new path, repair, all remote.
    const id = added.json.disk as string;
    expect(JSON.parse(ok(await sv(['disk', 'drain', id, '--endpoint', url, '--json']), 'disk drain'))).toEqual({ disk: id, queued: 0 });
    expect(JSON.parse(ok(await sv(['disk', 'rm', id, '--endpoint', url, '--json']), 'disk rm'))).toEqual({ disk: id, removed: true });
    const old = (await vault.status()).disks.find((d) => d.labels.disk === 'disk-3')!;
    const rep = JSON.parse(ok(await sv(['disk', 'replace', old.id, `${join(dataDir, 'disk-5')}:disk=disk-5`, '--allow-new-labels', '--endpoint', url, '--json']), 'disk replace'));
    expect(rep).toMatchObject({ disk: old.id, newDisk: expect.any(String) });
    expect(rep.queued).toBeGreaterThan(0);
    expect(JSON.parse(ok(await sv(['repair', '--endpoint', url, '--json']), 'repair')).failed).toBe(0);
    expect((await vault.status()).repairQueued).toBe(0);
    // Refusals with the codes the local commands give.
    const relative = await sv(['disk', 'add', 'some/dir:disk=disk-9', '--endpoint', url, '--json']);
    expect(JSON.parse(relative.stderr).error.code).toBe('ERR_SV_USAGE');
    const full = await sv(['disk', 'rm', (await vault.status()).disks.find((d) => d.labels.disk === 'disk-0')!.id, '--endpoint', url, '--json']);
    expect(JSON.parse(full.stderr).error.code).toBe('ERR_SV_OUT_OF_RANGE');
    const notEmpty = await sv(['disk', 'add', `${join(dataDir, 'disk-1')}:disk=disk-7`, '--allow-new-labels', '--endpoint', url, '--json']);
    expect(notEmpty.status).toBe(5);
    expect(JSON.parse(notEmpty.stderr).error.code).toBe('ERR_SV_DISK_IDENTITY');
    expect((await vault.verifyAudit())).toBe(-1);
    const audit = JSON.stringify((await vault.auditLog()));
    expect(audit).toContain('"principal":"root"');
  });

  it('keys --data DIR: refused while a process holds the pool, works on the pool once it is free', async () => {
    const busy = await sv(['keys', 'create', 'frank', '--data', dataDir, '--json']);
    expect(busy.status).toBe(4);
    expect(JSON.parse(busy.stderr).error).toMatchObject({ code: 'ERR_SV_POOL_BUSY', hint: expect.stringContaining('--endpoint') });
    const scrubBusy = await sv(['scrub', '--data', dataDir, '--json']);
    expect(scrubBusy.status).toBe(4);
    expect(JSON.parse(scrubBusy.stderr).error).toMatchObject({ code: 'ERR_SV_POOL_BUSY', hint: expect.stringContaining('shardvault scrub --endpoint URL') });
    // Free the pool (the "daemon" stops), change keys directly, reopen: the change is there.
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await vault.close();
    const created = JSON.parse(ok(await sv(['keys', 'create', 'frank', '--data', dataDir]), 'keys create --data'));
    ok(await sv(['keys', 'disable', created.accessKeyId, '--data', dataDir]), 'keys disable --data');
    const list = JSON.parse(ok(await sv(['keys', 'list', '--data', dataDir, '--json']), 'keys list --data'));
    expect(list.keys.find((k: { name: string }) => k.name === 'frank')).toMatchObject({ enabled: false });
    vault = await Vault.open(meta);
    keys = await KeyStore.open(meta);
    expect(keys.info(created.accessKeyId)?.enabled).toBe(false);
    expect(JSON.stringify((await vault.auditLog()))).toContain(created.accessKeyId);
    await startAdminServer();
  });

  it('secrets are nowhere in the pool in clear: only sealed in the 0600 key file', () => {
    const secrets = keys.list().length > 0 ? [rootKey.secretAccessKey] : [];
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dataDir);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const s of secrets) expect(bytes.includes(Buffer.from(s)), f).toBe(false);
    }
    const keyFile = join(meta, 'auth', 'keys.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(meta, 'auth', 'master.key')).mode & 0o777).toBe(0o600);
  });
});
