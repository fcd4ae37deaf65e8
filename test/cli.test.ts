// The shardvault CLI end to end: init, mb, put (receipt), get, ls, rm, and bad input with a clear message.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: work });
}

describe.skipIf(!ready)(`shardvault CLI${ready ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
  it('init, mb, put, get, ls, rm', () => {
    const meta = join(work, 'meta');
    const disks = Array.from({ length: 6 }, (_, i) => ['--disk', `${join(work, `d${i}`)}:host=h${i}`]).flat();
    for (let i = 0; i < 6; i++) spawnSync('mkdir', ['-p', join(work, `d${i}`)]);
    let r = run('init', ...disks, '--meta', meta, '-k', '4', '-m', '2', '--block', '65536', '--domain', 'host');
    expect(r.status, r.stderr).toBe(0);
    expect(run('mb', 'photos', '--meta', meta).status).toBe(0);
    const file = join(work, 'in.bin');
    writeFileSync(file, Buffer.alloc(300_000, 7));
    r = run('put', 'photos', 'cat.jpg', file, '--meta', meta);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ bucket: 'photos', key: 'cat.jpg', sequence: '1', degraded: false });
    expect(run('get', 'photos', 'cat.jpg', join(work, 'out.bin'), '--meta', meta).status).toBe(0);
    expect(readFileSync(join(work, 'out.bin')).equals(readFileSync(file))).toBe(true);
    expect(run('ls', 'photos', '--meta', meta).stdout.trim()).toBe('cat.jpg');
    expect(run('rm', 'photos', 'cat.jpg', '--meta', meta).status).toBe(0);
    expect(run('ls', 'photos', '--meta', meta).stdout.trim()).toBe('');
    r = run('get', 'photos', 'cat.jpg', '--meta', meta);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERR_SV_NOT_FOUND/);
  });
});
