// The real daemon as a child process (`node dist/lib/cli.js serve`): first start creates the pool, the
// listening line is machine-readable, the health probes answer without authentication and reveal nothing
// else, an anonymous request is AccessDenied as S3 XML with a request id, and SIGTERM stops it cleanly (the
// pool reopens without recovery work); a config file with an unknown key is refused naming the key.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-s3d-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function serve(args: string[]): Promise<{ child: ChildProcess; url: string; out: () => string; err: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--address', '127.0.0.1:0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m !== null) resolve({ child, url: m[1]!, out: () => out, err: () => err });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe.skipIf(!ready)(`shardvault serve${ready ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
  it('creates the pool, answers the probes, refuses anonymous requests, stops on SIGTERM and reopens', async () => {
    const data = join(work, 'data');
    const s = await serve(['--data', data]);
    try {
      expect(existsSync(join(data, 'meta', 'pool.json'))).toBe(true);
      for (let i = 0; i < 6; i++) expect(existsSync(join(data, `disk-${i}`))).toBe(true);
      const h = await fetch(`${s.url}/healthz`);
      expect(h.status).toBe(200);
      expect(await h.text()).toBe('ok\n');
      const r = await fetch(`${s.url}/readyz`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('ready\n');
      // Anonymous: AccessDenied on every route but the probes, before routing (even an unknown operation).
      for (const [method, path] of [['GET', '/'], ['PUT', '/bucket'], ['GET', '/bucket/key'], ['POST', '/bucket?tagging'], ['GET', '/healthz/x']] as const) {
        const res = await fetch(`${s.url}${path}`, { method });
        expect(res.status, `${method} ${path}`).toBe(403);
        const id = res.headers.get('x-amz-request-id');
        expect(id).toMatch(/^[0-9A-F]{16}$/);
        const body = await res.text();
        expect(body).toContain('<Code>AccessDenied</Code>');
        expect(body).toMatch(/<Message>[^<]+<\/Message>/);
        expect(body).toContain(`<RequestId>${id}</RequestId>`);
        expect(body).toContain('<Resource>');
      }
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await exited(s.child)).toBe(0);
    expect(s.err()).toContain('SIGTERM');
    // Reopens: the same pool, no new root key printed.
    const again = await serve(['--data', data]);
    try {
      expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
    } finally {
      again.child.kill('SIGINT');
    }
    expect(await exited(again.child)).toBe(0);
  });

  it('the admin API and /metrics through the daemon: `shardvault keys create --endpoint`, admin-only metrics', async () => {
    const env = { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: 'SVDAEMONTESTROOT0001', SHARDVAULT_ROOT_SECRET_KEY: 'daemon-test-root-secret-0123456789abcdef' };
    const data = join(work, 'admin');
    const child = spawn(process.execPath, [cli, 'serve', '--data', data, '--address', '127.0.0.1:0', '--metrics-address', '127.0.0.1:0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let metricsUrl = '';
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^listening (http:\/\/\S+)$/m.exec(out);
        const mm = /^metrics (http:\/\/\S+)$/m.exec(out);
        if (m !== null && mm !== null) {
          metricsUrl = mm[1]!;
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    try {
      const r = spawnSync(process.execPath, [cli, 'keys', 'create', 'reader', '--endpoint', url], { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      const created = JSON.parse(r.stdout) as { accessKeyId: string; secretAccessKey: string };
      expect(created.accessKeyId).toMatch(/^SV[A-Z2-7]{18}$/);
      const { signRequest } = await import('../lib/auth/index.js');
      const get = (creds: { accessKeyId: string; secretAccessKey: string }) => fetch(`${url}/metrics`, { headers: signRequest({ method: 'GET', url: new URL('/metrics', url), headers: {}, accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, region: 'us-east-1' }) });
      const m = await get({ accessKeyId: env.SHARDVAULT_ROOT_ACCESS_KEY, secretAccessKey: env.SHARDVAULT_ROOT_SECRET_KEY });
      expect(m.status).toBe(200);
      const text = await m.text();
      expect(text).toContain('shardvault_s3_requests_total');
      expect(text).toContain('operation="Admin"');
      expect((await get(created)).status).toBe(403);
      expect((await fetch(`${url}/metrics`)).status).toBe(403);
      // The path no bucket can take serves the same; once a bucket 'metrics' exists, GET /metrics is its listing.
      const at = (path: string) => fetch(`${url}${path}`, { headers: signRequest({ method: 'GET', url: new URL(path, url), headers: {}, accessKeyId: env.SHARDVAULT_ROOT_ACCESS_KEY, secretAccessKey: env.SHARDVAULT_ROOT_SECRET_KEY, region: 'us-east-1' }) });
      expect(await (await at('/_shardvault/metrics')).text()).toContain('shardvault_s3_requests_total');
      const mk = await fetch(`${url}/metrics`, { method: 'PUT', headers: signRequest({ method: 'PUT', url: new URL('/metrics', url), headers: {}, accessKeyId: env.SHARDVAULT_ROOT_ACCESS_KEY, secretAccessKey: env.SHARDVAULT_ROOT_SECRET_KEY, region: 'us-east-1' }) });
      expect(mk.status).toBe(200);
      expect(await (await at('/metrics')).text()).toContain('<ListBucketResult');
      expect(await (await at('/_shardvault/metrics')).text()).toContain('shardvault_s3_requests_total');
      // The separate metrics listener: unauthenticated, and nothing but /metrics.
      const open = await fetch(metricsUrl);
      expect(open.status).toBe(200);
      expect(await open.text()).toContain('shardvault_s3_requests_total');
      expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);
  });

  it('SIGTERM with an upload in flight: the upload is aborted past the deadline, exit 0, nothing visible after restart', async () => {
    const env = { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: 'SVDAEMONTESTROOT0002', SHARDVAULT_ROOT_SECRET_KEY: 'daemon-test-root-secret-0123456789abcdeg' };
    const creds = { accessKeyId: env.SHARDVAULT_ROOT_ACCESS_KEY, secretAccessKey: env.SHARDVAULT_ROOT_SECRET_KEY };
    const data = join(work, 'term');
    const config = join(work, 'term.json');
    writeFileSync(config, JSON.stringify({ limits: { shutdownDeadlineMs: 500 } }));
    const start = () => {
      const child = spawn(process.execPath, [cli, 'serve', '--data', data, '--address', '127.0.0.1:0', '--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env });
      return new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /^listening (http:\/\/\S+)$/m.exec(out);
          if (m !== null) resolve({ child, url: m[1]! });
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
    };
    const { signRequest } = await import('../lib/auth/index.js');
    const { request } = await import('node:http');
    const sign = (method: string, url: string, headers: Record<string, string> = {}, body?: 'UNSIGNED-PAYLOAD') => signRequest({ method, url: new URL(url), headers, ...(body !== undefined ? { body } : {}), ...creds, region: 'us-east-1' });
    const first = await start();
    expect((await fetch(`${first.url}/term-bucket`, { method: 'PUT', headers: sign('PUT', `${first.url}/term-bucket`) })).status).toBe(200);
    const url = `${first.url}/term-bucket/unfinished`;
    const req = request(url, { method: 'PUT', headers: sign('PUT', url, { 'content-length': String(8 << 20) }, 'UNSIGNED-PAYLOAD') });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1 << 20));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    req.destroy();
    const second = await start();
    try {
      const head = await fetch(url.replace(first.url, second.url), { method: 'HEAD', headers: sign('HEAD', url.replace(first.url, second.url)) });
      expect(head.status).toBe(404);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await exited(second.child)).toBe(0);
  });

  it('refuses a config file with an unknown key, naming it', () => {
    const file = join(work, 'bad.json');
    writeFileSync(file, JSON.stringify({ region: 'us-east-1', limits: { urlBytesMax: 100, bogusLimit: 1 } }));
    const r = spawnSync(process.execPath, [cli, 'serve', '--data', join(work, 'd2'), '--address', '127.0.0.1:0', '--config', file], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('limits.bogusLimit');
    expect(r.stderr).toContain('ERR_SV_UNKNOWN_OPTION');
  });
});
