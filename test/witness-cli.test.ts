// The freshness witness from the command line: --witness PATH and SHARDVAULT_WITNESS choose where it is; a pool
// restored with its catalog is refused (exit 6, ERR_SV_ROLLBACK, the runbook named), --break-glass needs
// --reason and accepts it (audited); status shows the witness; get --min-sequence refuses an older state.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-witness-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: work, env: { ...process.env, ...env } });
}

describe.skipIf(!ready)(`witness CLI${ready ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
  it('refuses a restored pool, accepts it with --break-glass --reason, and reads with --min-sequence', () => {
    const pool = join(work, 'pool');
    const meta = join(pool, 'meta');
    const witness = join(work, 'state', 'w');
    const env = { SHARDVAULT_WITNESS: witness };
    const disks = Array.from({ length: 3 }, (_, i) => {
      mkdirSync(join(pool, `d${i}`), { recursive: true });
      return ['--disk', join(pool, `d${i}`)];
    }).flat();
    expect(run(env, 'init', ...disks, '--meta', meta, '-k', '2', '-m', '1', '--block', '4096').status).toBe(0);
    expect(run(env, 'mb', 'bkt', '--meta', meta).status).toBe(0);
    const file = join(work, 'in.bin');
    writeFileSync(file, 'version one');
    expect(run(env, 'put', 'bkt', 'k', file, '--meta', meta).status).toBe(0);
    expect(existsSync(witness)).toBe(true);
    cpSync(pool, join(work, 'snap'), { recursive: true });
    writeFileSync(file, 'version two');
    const put = run(env, 'put', 'bkt', 'k', file, '--meta', meta, '--json');
    expect(put.status, put.stderr).toBe(0);
    const receipt = JSON.parse(put.stdout) as { sequence: string; auditIndex: number };
    expect(receipt.sequence).toBe('2');
    rmSync(pool, { recursive: true, force: true });
    cpSync(join(work, 'snap'), pool, { recursive: true });

    // The environment's witness, or the same file by --witness: refused, naming both heads and the runbook.
    for (const [e, extra] of [[env, []], [{}, ['--witness', witness]]] as const) {
      const r = run(e, 'ls', 'bkt', '--meta', meta, ...extra);
      expect(r.status, r.stderr).toBe(6);
      expect(r.stderr).toMatch(/ERR_SV_ROLLBACK/);
      expect(r.stderr).toMatch(/catalog audit head \d+:[0-9a-f]{64}, witness audit head \d+:[0-9a-f]{64}/);
      expect(r.stderr).toContain('docs/runbooks/rollback-alarm.md');
    }
    const noReason = run(env, 'status', '--meta', meta, '--break-glass');
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
    expect(run(env, 'status', '--meta', meta, '--reason', 'x').status).toBe(2);
    const accepted = run(env, 'status', '--meta', meta, '--json', '--break-glass', '--reason', 'restored after the array failed');
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(JSON.parse(accepted.stdout).witness).toMatchObject({ state: 'rollback-accepted', locations: [witness] });
    expect(accepted.stderr).toMatch(/SV_WITNESS_ROLLBACK_ACCEPTED/);
    const audit = run(env, 'audit', '--meta', meta, '--json');
    expect(audit.status, audit.stderr).toBe(0);
    expect(audit.stdout).toContain('witness.rollback-accepted');
    expect(audit.stdout).toContain('restored after the array failed');
    // Re-anchored: ordinary commands work again, and the lost write's receipt still reads stale.
    const status = run(env, 'status', '--meta', meta);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/witness anchored: /);
    const stale = run(env, 'get', 'bkt', 'k', join(work, 'out.bin'), '--meta', meta, '--min-sequence', receipt.sequence);
    expect(stale.status).toBe(6);
    expect(stale.stderr).toMatch(/ERR_SV_STALE/);
    expect(run(env, 'get', 'bkt', 'k', join(work, 'out.bin'), '--meta', meta, '--min-sequence', '1').status).toBe(0);
    expect(readFileSync(join(work, 'out.bin'), 'utf8')).toBe('version one');
  });

  it('says a pool without its witness runs unanchored', () => {
    const pool = join(work, 'pool2');
    const meta = join(pool, 'meta');
    const witness = join(work, 'state2', 'w');
    const disks = Array.from({ length: 3 }, (_, i) => {
      mkdirSync(join(pool, `d${i}`), { recursive: true });
      return ['--disk', join(pool, `d${i}`)];
    }).flat();
    expect(run({}, 'init', ...disks, '--meta', meta, '-k', '2', '-m', '1', '--witness', witness).status).toBe(0);
    expect(run({}, 'mb', 'bkt', '--meta', meta, '--witness', witness).status).toBe(0);
    writeFileSync(join(work, 'x'), 'x');
    expect(run({}, 'put', 'bkt', 'k', join(work, 'x'), '--meta', meta, '--witness', witness).status).toBe(0);
    rmSync(witness);
    const r = run({}, 'status', '--meta', meta, '--witness', witness, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).witness.state).toBe('unanchored');
    expect(r.stderr).toMatch(/SV_WITNESS_UNANCHORED.*runs unanchored/);
  });
});
