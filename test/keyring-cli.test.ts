// `shardvault keyring list|rotate|revoke` and `repair --resign` through the built CLI (dist/), on a format 4
// pool made with the library (the CLI's init makes format 3 pools until `upgrade finalize` exists).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const ready = existsSync(cli) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-keyring-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: work });
}

function json<T>(...args: string[]): T {
  const r = run(...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

type Ring = { generation: number; keys: Array<{ id: string; state: string; revokeReason?: string }> };

describe.skipIf(!ready)(`shardvault keyring${ready ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
  it('lists, rotates and revokes; reads of the revoked key fail with its exit code until repair --resign', async () => {
    const meta = join(work, 'meta');
    const disks = Array.from({ length: 6 }, (_, i) => {
      mkdirSync(join(work, `d${i}`), { recursive: true });
      return { path: join(work, `d${i}`) };
    });
    const v = await Vault.init({ disks, metaDir: meta, k: 4, m: 2, blockBytes: 4096 });
    await v.createBucket('bkt');
    await v.put('bkt', 'doc', Buffer.from('signed by the first key'));
    await v.close();

    const m = ['--meta', meta];
    const before = json<Ring>('keyring', 'list', ...m);
    expect(before.keys).toEqual([expect.objectContaining({ state: 'active' })]);
    const first = before.keys[0].id;
    expect(run('keyring', 'list', ...m).stdout).toMatch(new RegExp(`${first}\\s+active`));

    const rotated = json<{ id: string; retired: string }>('keyring', 'rotate', ...m);
    expect(rotated.retired).toBe(first);

    // The active key needs --rotate; a key id that is not one is a usage error, --reason is required.
    let r = run('keyring', 'revoke', rotated.id, '--reason', 'x', ...m);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/active signing key.*--rotate/);
    expect(run('keyring', 'revoke', first, ...m).status).not.toBe(0);
    expect(run('keyring', 'revoke', 'nothex', '--reason', 'x', ...m).stderr).toMatch(/key id/);

    const revoked = json<{ revoked: string; active: string }>('keyring', 'revoke', first, '--reason', 'key leaked', ...m);
    expect(revoked).toMatchObject({ revoked: first, active: rotated.id });
    expect(json<Ring>('keyring', 'list', ...m).keys.find((k) => k.id === first)).toMatchObject({ state: 'revoked', revokeReason: 'key leaked' });

    r = run('get', 'bkt', 'doc', '-', ...m);
    expect(r.status).toBe(6); // Exit.INTEGRITY
    expect(r.stderr).toContain('ERR_SV_KEY_REVOKED');
    expect(r.stderr).toContain('repair --resign');
    expect(r.stderr).toContain(first);

    const repaired = json<{ resign: { resigned: number; failed: number } }>('repair', '--resign', ...m);
    expect(repaired.resign).toEqual({ resigned: 1, failed: 0, errors: [] });
    r = run('get', 'bkt', 'doc', '-', ...m);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('signed by the first key');
  });
});
