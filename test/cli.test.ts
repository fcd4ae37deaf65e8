// The shardvault CLI end to end: init, mb, put (receipt), get, ls, rm, and bad input with a clear message.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
    r = run('put', 'photos', 'cat.jpg', file, '--meta', meta, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ bucket: 'photos', key: 'cat.jpg', sequence: '1', degraded: false });
    expect(run('get', 'photos', 'cat.jpg', join(work, 'out.bin'), '--meta', meta).status).toBe(0);
    expect(readFileSync(join(work, 'out.bin')).equals(readFileSync(file))).toBe(true);
    expect(run('ls', 'photos', '--meta', meta).stdout.trim()).toBe('cat.jpg');
    expect(run('rm', 'photos', 'cat.jpg', '--meta', meta).status).toBe(0);
    expect(run('ls', 'photos', '--meta', meta).stdout.trim()).toBe('');
    r = run('get', 'photos', 'cat.jpg', '--meta', meta);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/ERR_SV_NOT_FOUND/);
  });

  it('streams big files with a progress bar, lists and deletes buckets, scrubs, repairs, and runs the disk lifecycle', () => {
    const meta = join(work, 'meta2');
    const disks = Array.from({ length: 7 }, (_, i) => ['--disk', `${join(work, `e${i}`)}:host=h${i}`]).flat();
    for (let i = 0; i < 8; i++) spawnSync('mkdir', ['-p', join(work, `e${i}`)]);
    expect(run('init', ...disks, '--meta', meta, '--block', '65536', '--domain', 'host').status).toBe(0);
    expect(run('mb', 'big', '--meta', meta).status).toBe(0);
    expect(run('mb', 'tmp', '--meta', meta).status).toBe(0);
    expect(run('buckets', '--meta', meta).stdout.trim().split('\n')).toEqual(['big', 'tmp']);
    expect(run('rb', 'tmp', '--meta', meta).status).toBe(0);
    expect(run('buckets', '--meta', meta).stdout.trim()).toBe('big');
    const file = join(work, 'big.bin');
    writeFileSync(file, randomBytes(3_000_000));
    let r = run('put', 'big', 'f', file, '--meta', meta, '--progress');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/put big\/f \[#+\] 100% 3\.0 MB\/3\.0 MB .*durable/);
    r = run('get', 'big', 'f', join(work, 'big.out'), '--meta', meta, '--progress');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/100%.*verified/);
    expect(readFileSync(join(work, 'big.out')).equals(readFileSync(file))).toBe(true);
    expect(run('scrub', '--meta', meta).stdout).toMatch(/scrub: 1 objects, [\d.]+ MB read, 0 bad/);
    const status = JSON.parse(run('status', '--meta', meta, '--json').stdout) as { disks: Array<{ id: string; shards: number }> };
    const busy = status.disks.find((d) => d.shards > 0)!;
    r = run('disk', 'replace', busy.id, `${join(work, 'e7')}:host=h9`, '--meta', meta);
    expect(r.stdout, r.stderr).toMatch(/1 shard\(s\) queued/);
    r = run('repair', '--meta', meta, '--progress');
    expect(r.stdout, r.stderr).toMatch(/1 rebuilt \(1 moved to another disk\), 0 failed/);
    const after = JSON.parse(run('status', '--meta', meta, '--json').stdout) as { disks: Array<{ id: string; state: string; shards: number }> };
    expect(after.disks.find((d) => d.id === busy.id)).toMatchObject({ state: 'removed', shards: 0 });
    expect(run('get', 'big', 'f', join(work, 'big.out2'), '--meta', meta).status).toBe(0);
    expect(readFileSync(join(work, 'big.out2')).equals(readFileSync(file))).toBe(true);
    expect(JSON.parse(run('gc', '--meta', meta, '--grace', '0', '--json').stdout)).toMatchObject({ repairQueued: 0 });
    // A disk added later takes its share after `rebalance` (queue + move in one command); a second finds nothing.
    spawnSync('mkdir', ['-p', join(work, 'e8')]);
    expect(run('disk', 'add', `${join(work, 'e8')}:host=h8`, '--meta', meta).status).toBe(0);
    r = run('rebalance', '--meta', meta);
    expect(r.stdout, r.stderr).toMatch(/rebalance: (\d+) shards queued, \1 moved, 0 failed/);
    expect(run('rebalance', '--meta', meta).stdout).toMatch(/rebalance: 0 shards queued, 0 moved, 0 failed/);
    expect(run('get', 'big', 'f', join(work, 'big.out3'), '--meta', meta).status).toBe(0);
    expect(readFileSync(join(work, 'big.out3')).equals(readFileSync(file))).toBe(true);
    r = run('get', 'big', 'nope', join(work, 'nope.out'), '--meta', meta);
    expect(r.status).toBe(3);
    expect(existsSync(join(work, 'nope.out'))).toBe(false);
  });
});
