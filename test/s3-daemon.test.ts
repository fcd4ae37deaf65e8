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

  it('refuses a config file with an unknown key, naming it', () => {
    const file = join(work, 'bad.json');
    writeFileSync(file, JSON.stringify({ region: 'us-east-1', limits: { urlBytesMax: 100, bogusLimit: 1 } }));
    const r = spawnSync(process.execPath, [cli, 'serve', '--data', join(work, 'd2'), '--address', '127.0.0.1:0', '--config', file], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('limits.bogusLimit');
    expect(r.stderr).toContain('ERR_SV_UNKNOWN_OPTION');
  });
});
