// The signing-key and security-floor runbooks (issue 13, "Runbooks that are exercised"), followed on real pools
// with the real CLI (test/support/runbook.ts). compromised-signing-key.md: a pool made for release 0.1.0 whose
// original key leaked, with a forged newer version planted on every disk by whoever holds the key; the runbook
// finalizes, rotates, revokes, re-signs and verifies, and afterwards a catalog rebuild still refuses the
// forgery. security-floor-override.md: one disk of a 4+2 pool is a small loop-mounted ext4 filesystem that is
// full, so puts fail at the default write quorum (all six disks); the runbook lowers the quorum with
// break-glass, repairs once space is back, raises the floor back and checks the override is gone.
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { copyBytes, openCopy } from '../lib/format/manifest-copy.js';
import { signManifest } from '../lib/format/manifest.js';
import { blake3Sync } from '../lib/hash.js';
import { native } from '../lib/native.js';
import { localStores } from '../lib/store/local/local-store.js';
import type { MemberConfig } from '../lib/store/shard-store.js';
import { Vault } from '../lib/vault.js';
import { copyPayload } from './support/copies.js';
import { loopDiskMissing } from './support/loopdisk.js';
import { cleanupPools, cli, cliBuilt, expectObjects, loadRunbook, ok, pool, scratch, track } from './support/runbook.js';
import { tier } from './support/tier.js';

const ready = cliBuilt() && native() !== null;
if (!ready) console.warn('runbooks (rbkeys): skipped (dist/lib/cli.js or the native addon is not built: npm run build)');

/** Undoes the loop mount of the floor test (before cleanupPools removes the directory it is mounted in). */
const unmounts: Array<() => void> = [];
afterAll(() => {
  for (const u of unmounts.splice(0)) u();
  cleanupPools();
});

type Ring = { generation: number; keys: Array<{ id: string; state: string; revokeReason?: string }>; resignQueued: number };
type AuditRecord = { action: string; key?: string; detail?: string };

const auditActions = (meta: string, env: Record<string, string>): AuditRecord[] =>
  (JSON.parse(ok(['audit', 'tail', '-n', '1000', '--json', '--meta', meta], env)) as { records: AuditRecord[] }).records;

describe.skipIf(!ready)('runbooks: compromised-signing-key.md', () => {
  it('the leaked original key of a 0.1.0-format pool: finalize, rotate, revoke, re-sign; reads exact, the forgery stays refused', async () => {
    const book = loadRunbook('compromised-signing-key.md');
    const p = pool('signkey', ['--format', '3']);
    const leakedKey = createPrivateKey(readFileSync(join(p.meta, 'pool.key'), 'utf8'));

    // Whoever stole pool.key and can write to the disks appends a forged newer version of 'small' to every
    // member's copy log, validly signed by the stolen key (what test/keyring.test.ts does through the store API).
    const evil = Buffer.from('forged by whoever holds the leaked key');
    {
      const v = await Vault.open(p.meta, { witness: [p.env.SHARDVAULT_WITNESS] });
      const loc = (await v.locate('photos', 'small'))!;
      await v.close();
      const honest = openCopy(copyPayload(loc.shards[0].copy!), () => createPublicKey(leakedKey));
      const forged = copyBytes(signManifest({ ...honest.manifest, sequence: honest.manifest.sequence + 5n, inline: evil, size: evil.length, contentHash: blake3Sync(evil) }, leakedKey), new Uint8Array(0));
      const { poolId, disks } = JSON.parse(readFileSync(join(p.meta, 'pool.json'), 'utf8')) as { poolId: string; disks: MemberConfig[] };
      for (const d of disks) {
        const store = localStores.open(d, poolId);
        await store.appendCopy(forged);
        await store.close();
      }
    }
    // Reads take only the copy the catalog's head names: the forgery is not served even before the revocation.
    expectObjects(p.meta, p.objects, p.env);

    // At format 3 the key ring cannot change yet (release 0.1.0 could not verify a new key's signatures).
    const pending = cli(['keyring', 'rotate', '--meta', p.meta], p.env);
    expect(pending.status).not.toBe(0);
    expect(pending.stderr).toContain('ERR_SV_UPGRADE_PENDING');

    const inspected = book.run('inspect', { ...p.env, META: p.meta });
    expect(inspected.stdout).toContain('writes format 3');
    const before = JSON.parse(ok(['keyring', 'list', '--json', '--meta', p.meta], p.env)) as Ring;
    expect(before.keys.map((k) => k.state)).toEqual(['active']);
    const leaked = before.keys[0].id;
    expect(inspected.stdout).toMatch(new RegExp(`${leaked}\\s+active`));

    book.run('finalize', { ...p.env, META: p.meta });
    expect(ok(['upgrade', 'status', '--meta', p.meta], p.env)).toContain('writes format 4');

    const env = { ...p.env, META: p.meta, LEAKED: leaked, REASON: 'meta directory backup left on a stolen laptop' };
    // What the runbook says about skipping the rotation: the active key alone is not revoked (no successor).
    const alone = cli(['keyring', 'revoke', leaked, '--reason', env.REASON, '--meta', p.meta], p.env);
    expect(alone.status).not.toBe(0);
    expect(alone.stderr).toContain('ERR_SV_CONFLICT');
    book.run('revoke', env);
    const ring = JSON.parse(ok(['keyring', 'list', '--json', '--meta', p.meta], p.env)) as Ring;
    expect(ring.keys.find((k) => k.id === leaked)).toMatchObject({ state: 'revoked', revokeReason: env.REASON });
    expect(ring.keys.filter((k) => k.state === 'active')).toHaveLength(1);

    // The signal: what only the leaked key signed is refused (exit 6, the key named, the hint names this
    // runbook), and the runbook's own check fails until the objects are re-signed (scrub counts them).
    const refused = cli(['get', 'photos', 'striped', '-', '--meta', p.meta], p.env);
    expect(refused.status).toBe(6);
    expect(refused.stderr).toContain('ERR_SV_KEY_REVOKED');
    expect(refused.stderr).toContain(leaked);
    expect(refused.stderr).toContain('docs/runbooks/compromised-signing-key.md');
    expect(book.run('verify', env, { allowFailure: true }).status).not.toBe(0);
    expect((JSON.parse(ok(['keyring', 'list', '--json', '--meta', p.meta], p.env)) as Ring).resignQueued).toBe(p.objects.size);

    const resigned = book.run('resign', env);
    expect(resigned.stdout).toContain(`${p.objects.size} manifests re-signed by the active key, 0 could not be`);

    const verified = book.run('verify', env);
    expect(verified.stdout).toContain('keyring.revoke');
    expect(verified.stdout.split('\n').filter((l) => l.includes('manifest.resign'))).toHaveLength(p.objects.size);
    expectObjects(p.meta, p.objects, p.env);
    const audit = auditActions(p.meta, p.env);
    expect(audit.find((r) => r.action === 'keyring.revoke')?.detail).toContain(`reason=${env.REASON}`);
    expect(audit.filter((r) => r.action === 'manifest.resign').map((r) => r.key).sort()).toEqual([...p.objects.keys()].sort());
    book.assertAllRun();

    // The forgery was never re-signed: a catalog rebuilt from the disks refuses it (and the old copies of the
    // leaked key) and takes the re-signed copies, so 'small' is its real bytes, not the forged newer version.
    const rebuilt = JSON.parse(ok(['rebuild-catalog', '--json', '--meta', p.meta], p.env)) as { objects: number; copiesRevoked: number };
    expect(rebuilt.objects).toBe(p.objects.size);
    expect(rebuilt.copiesRevoked).toBeGreaterThanOrEqual(6 * p.objects.size + 6); // the old heads' copies and the forgery, per member
    expectObjects(p.meta, p.objects, p.env);
  });
});

describe.skipIf(!ready)('runbooks: security-floor-override.md', () => {
  const t = tier('the full-disk runbook test', loopDiskMissing(['losetup', 'mkfs.ext4', 'mount', 'umount', 'findmnt', 'chattr', 'dd']));
  it.skipIf(!t.ready)('a full disk: the floor refuses quorum k+1, break-glass lowers it (status, audit), repaired, raised back, override gone', () => {
    const book = loadRunbook('security-floor-override.md');
    const { dir } = track(scratch('floor'));
    const env = { SHARDVAULT_WITNESS: join(dir, 'witness') };
    // Disk h3 is a small ext4 filesystem on a loop device (the mount point immutable, so nothing lands in the
    // directory under it if the mount goes away).
    const img = join(dir, 'small.img');
    const mnt = join(dir, 'small');
    execFileSync('truncate', ['-s', '8M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', img]); // -m 0: as root the 5 % reserve would blur "full"
    const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
    mkdirSync(mnt);
    spawnSync('chattr', ['+i', mnt]);
    unmounts.push(() => {
      if (spawnSync('findmnt', ['-n', '-M', mnt]).status === 0) spawnSync('umount', [mnt]);
      if (spawnSync('findmnt', ['-n', '-M', mnt]).status === 0) spawnSync('umount', ['-l', mnt]);
      spawnSync('losetup', ['-d', dev]);
      spawnSync('chattr', ['-i', mnt]);
    });
    execFileSync('mount', [dev, mnt]);
    const disks = Array.from({ length: 6 }, (_, i) => (i === 3 ? join(mnt, 'disk') : join(dir, `d${i}`)));
    for (const d of disks) mkdirSync(d);
    const meta = join(dir, 'meta');
    ok(['init', ...disks.flatMap((d, i) => ['--disk', `${d}:host=h${i}`]), '--meta', meta, '--block', '65536', '--domain', 'host'], env);
    ok(['mb', 'photos', '--meta', meta], env);
    const objects = new Map<string, Buffer>();
    const put = (key: string, body: Buffer) => {
      writeFileSync(join(dir, 'body'), body);
      return cli(['put', 'photos', key, join(dir, 'body'), '--json', '--meta', meta], env);
    };
    objects.set('before', randomBytes(300_000));
    expect(put('before', objects.get('before')!).status).toBe(0);

    // The disk fills up (a filler file until ENOSPC): a striped put cannot place its shard there, and with the
    // write quorum at all six disks it fails.
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k']);
    const during = randomBytes(600_000);
    const full = put('during', during);
    expect(full.status).toBe(5);
    expect(full.stderr).toContain('ERR_SV_NO_SPACE');
    expect(full.stderr).toContain('5 of 6 disks can seal, write quorum is 6');
    // The floor refuses the quorum that would let it through, naming the floor and this runbook.
    const refused = cli(['config', 'set', 'write-quorum', '5', '--meta', meta], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('ERR_SV_FLOOR');
    expect(refused.stderr).toContain('writeQuorum k+1 is below the floor k+2');
    expect(refused.stderr).toContain('docs/runbooks/security-floor-override.md');

    const inspected = book.run('inspect', { ...env, META: meta });
    expect(inspected.stdout).toContain('write-quorum=6 (k+2)');
    expect(inspected.stdout).toContain('write-quorum>=k+2');

    const vars = { ...env, META: meta, QUORUM: '5', REASON: 'disk on h3 full, replacement due Friday', FULL: '6', FLOOR: 'k+2' };
    const overridden = book.run('override', vars);
    expect(overridden.stdout).toContain('OVERRIDDEN since');
    expect(overridden.stdout).toMatch(/floor\.lower .*disk on h3 full, replacement due Friday/);
    const shown = JSON.parse(ok(['status', '--json', '--meta', meta], env)) as { floor: { overridden: boolean; reason: string; writeQuorumAboveK: number; previous: { writeQuorumAboveK: number } }; actions: Array<{ message: string }> };
    expect(shown.floor).toMatchObject({ overridden: true, reason: vars.REASON, writeQuorumAboveK: 1, previous: { writeQuorumAboveK: 2 } });
    expect(shown.actions.map((a) => a.message).join('\n')).toContain('config floor raise --k 4 --m 2 --write-quorum k+2');
    expect(auditActions(meta, env).map((r) => r.action)).toEqual(expect.arrayContaining(['floor.lower', 'pool.reconfigure', 'config.drift']));

    // Puts go through now, degraded (acknowledged on five disks), the missing shard queued for repair; the
    // runbook's repair check fails while it is queued.
    const degraded = put('during', during);
    expect(degraded.status, degraded.stderr).toBe(0);
    expect(JSON.parse(degraded.stdout)).toMatchObject({ degraded: true });
    objects.set('during', during);
    expect(book.run('repair', vars, { allowFailure: true }).status).not.toBe(0); // the disk is still full

    // The cause is fixed (space freed on the disk); repair rebuilds the shard; the quorum and floor go back.
    rmSync(join(mnt, 'filler'));
    book.run('repair', vars);
    // Before the raise the verify step fails: the override still stands.
    expect(book.run('verify', vars, { allowFailure: true }).status).not.toBe(0);
    book.run('raise', vars);
    const verified = book.run('verify', vars);
    expect(verified.stdout).toContain('write-quorum>=k+2');
    expect(verified.stdout).not.toContain('OVERRIDDEN');
    expect(JSON.parse(ok(['config', 'show', '--json', '--meta', meta], env))).toMatchObject({ pool: { writeQuorum: 6 }, floor: { overridden: false, writeQuorumAboveK: 2 } });
    expectObjects(meta, objects, env);
    book.assertAllRun();
  });
});
