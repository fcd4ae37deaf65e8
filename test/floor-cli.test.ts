// The security floor from the command line (dist/lib/cli.js): `config set write-quorum` below the floor is
// refused (ERR_SV_FLOOR, exit 2) naming the setting and the floor; with --break-glass --reason it is allowed,
// audited, and `status` shows the override until `config floor raise` puts the floor back; `config diff` shows
// what changed; `config floor lower` needs break-glass too.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-floorcli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: work });
}
const json = (r: ReturnType<typeof run>) => {
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>;
};

describe.skipIf(!ready)(`shardvault config and the security floor${ready ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
  it('refuses, breaks glass, shows the override, diffs, and raises the floor back', () => {
    const meta = join(work, 'meta');
    const disks = Array.from({ length: 4 }, (_, i) => {
      mkdirSync(join(work, `d${i}`), { recursive: true });
      return ['--disk', `${join(work, `d${i}`)}:host=h${i}`];
    }).flat();
    expect(run('init', ...disks, '--meta', meta, '-k', '2', '-m', '2', '--block', '4096', '--domain', 'host').status).toBe(0);
    expect(json(run('config', 'floor', '--meta', meta, '--json')).floor).toMatchObject({ writeQuorumAboveK: 2, overridden: false });

    let r = run('config', 'set', 'write-quorum', '3', '--meta', meta);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ERR_SV_FLOOR');
    expect(r.stderr).toContain('writeQuorum k+1 is below the floor k+2');
    expect(r.stderr).toContain('docs/runbooks/security-floor-override.md');
    expect(run('config', 'set', 'write-quorum', '3', '--meta', meta, '--break-glass').status).toBe(2); // no reason
    expect(run('config', 'set', 'fsync', 'off', '--meta', meta).stderr).toContain('fsync and verify-on-read are always on');

    const set = json(run('config', 'set', 'write-quorum', '3', '--meta', meta, '--break-glass', '--reason', 'rack 2 power work', '--json'));
    expect(set).toMatchObject({ before: 4, after: 3, floor: { overridden: true, reason: 'rack 2 power work' } });
    const status = json(run('status', '--meta', meta, '--json'));
    expect(status.floor).toMatchObject({ overridden: true, reason: 'rack 2 power work', writeQuorumAboveK: 1 });
    r = run('status', '--meta', meta);
    expect(r.stdout).toContain('the security floor is overridden');
    expect(r.stdout).toContain('config floor raise --k 2 --m 2 --write-quorum k+2');
    const audit = run('audit', '--meta', meta).stdout;
    expect(audit).toMatch(/floor\.lower .*rack 2 power work/);

    const diff = json(run('config', 'diff', '--meta', meta, '--json'));
    expect(diff.changes).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'pool.writeQuorum', before: 4, after: 3, security: true })]));
    expect(run('config', 'diff', '--meta', meta).stdout).toMatch(/! pool\.writeQuorum: 4 -> 3/);

    // Raising the floor while the pool runs below it is refused; put the quorum back first.
    r = run('config', 'floor', 'raise', '--write-quorum', 'k+2', '--meta', meta);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the pool runs below it');
    expect(run('config', 'set', 'write-quorum', '4', '--meta', meta).status).toBe(0);
    const raised = json(run('config', 'floor', 'raise', '--write-quorum', 'k+2', '--meta', meta, '--json'));
    expect(raised.floor).toMatchObject({ overridden: false, writeQuorumAboveK: 2 });
    expect(json(run('status', '--meta', meta, '--json')).floor).toMatchObject({ overridden: false });

    // Lowering the floor itself needs break-glass.
    r = run('config', 'floor', 'lower', '--write-quorum', 'k+1', '--meta', meta);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ERR_SV_FLOOR');
    const lowered = json(run('config', 'floor', 'lower', '--write-quorum', 'k+1', '--meta', meta, '--break-glass', '--reason', 'drill', '--json'));
    expect(lowered.floor).toMatchObject({ overridden: true, reason: 'drill', writeQuorumAboveK: 1 });
    expect(json(run('config', 'show', '--meta', meta, '--json'))).toMatchObject({ pool: { writeQuorum: 4 }, floor: { overridden: true } });
  });
});
