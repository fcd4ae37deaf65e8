// The operations runbooks of issue 13 followed on real pools (test/support/runbook.ts runs their own command
// blocks): rollback-alarm.md restores the disks and the meta directory of a pool from an older snapshot, sees
// the refusal naming both heads, keeps the evidence without changing anything, accepts the older state with
// break glass and checks the audit record, the re-anchored witness and a lost write's receipt refused as stale;
// and with the witness deleted, the unanchored warning and its re-anchoring. upgrade-and-downgrade.md runs a
// pool made by release 0.1.0 (built from git, test/support/previous-release.ts) under this release, back under
// 0.1.0, finalizes it, and sees 0.1.0 refuse it afterwards.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { previousPin, previousRelease, previousUnavailable, runPrevious } from './support/previous-release.js';
import { cleanupPools, cli, expectObjects, loadRunbook, ok, pool, scratch, track } from './support/runbook.js';
import { buildMissing, tier } from './support/tier.js';

afterAll(() => cleanupPools());

interface Receipt { sequence: string; versionId: string }

/** Puts `body` as photos/KEY through this release's CLI and returns its receipt. */
function put(p: { dir: string; meta: string; env: Record<string, string> }, key: string, body: Buffer): Receipt {
  writeFileSync(join(p.dir, 'body'), body);
  return JSON.parse(ok(['put', 'photos', key, join(p.dir, 'body'), '--meta', p.meta, '--json'], p.env)) as Receipt;
}

function auditRecords(meta: string, env: Record<string, string>): Array<{ action: string; detail?: string; principal: string }> {
  return (JSON.parse(ok(['audit', 'tail', '-n', '50', '--json', '--meta', meta], env)) as { records: Array<{ action: string; detail?: string; principal: string }> }).records;
}

const runbooks = tier('the operations runbook tests', buildMissing('lib/cli.js'));

describe.skipIf(!runbooks.ready)(`runbooks: rollback alarm, followed on real pools${runbooks.why}`, () => {
  // One copy of the runbook for both cases, so that the last test can check every step ran in one of them.
  const book = loadRunbook('rollback-alarm.md');

  it('rollback-alarm.md: disks and meta restored from a snapshot; refused naming both heads, evidence kept, accepted, audited, re-anchored; a lost receipt reads stale', () => {
    const p = pool('rollback');
    const kept = randomBytes(3000);
    const r1 = put(p, 'receipted', kept);
    // The snapshot: every disk and the meta directory, taken together while the pool is closed.
    const members = [...Array.from({ length: 6 }, (_, i) => `d${i}`), 'meta'];
    for (const m of members) cpSync(join(p.dir, m), join(p.dir, 'snap', m), { recursive: true });
    const r2 = put(p, 'receipted', randomBytes(5000)); // the write the restore will lose
    const newer = (JSON.parse(ok(['status', '--json', '--meta', p.meta], p.env)) as { witness: { witness: { head: string } } }).witness.witness.head;
    for (const m of members) {
      rmSync(join(p.dir, m), { recursive: true, force: true });
      cpSync(join(p.dir, 'snap', m), join(p.dir, m), { recursive: true });
    }
    const witness = p.env.SHARDVAULT_WITNESS;
    const env = { ...p.env, META: p.meta, WITNESS: witness, EVIDENCE: join(p.dir, 'evidence') };

    const found = book.run('find', env, { allowFailure: true });
    expect(found.status).toBe(6);
    expect(found.stderr).toContain('ERR_SV_ROLLBACK');
    expect(found.stderr).toContain(`witness audit head ${newer} (${witness}`);
    expect(found.stderr).toMatch(/catalog audit head \d+:[0-9a-f]{64}/);
    expect(found.stderr).toContain('docs/runbooks/rollback-alarm.md');

    const witnessBytes = readFileSync(witness);
    const evidence = book.run('keep-evidence', env);
    expect(readFileSync(join(env.EVIDENCE, 'witness')).equals(witnessBytes)).toBe(true);
    // The restored state's tail ends before the lost write, and looking at it changed nothing: the real witness
    // is as it was, the stand-in location was not written, and the pool still refuses.
    expect(evidence.stdout).toContain(r1.versionId);
    expect(evidence.stdout).not.toContain(r2.versionId);
    expect(evidence.stderr).toContain('SV_WITNESS_UNANCHORED');
    expect(readFileSync(witness).equals(witnessBytes)).toBe(true);
    expect(existsSync(join(env.EVIDENCE, 'none.witness'))).toBe(false);
    expect(cli(['ls', 'photos', '--meta', p.meta], p.env).status).toBe(6);

    const reason = 'the array failed; restored from the Tuesday snapshot';
    const accepted = book.run('accept', { ...env, REASON: reason });
    expect(accepted.stdout).toContain('rollback-accepted');
    expect(accepted.stderr).toContain('SV_WITNESS_ROLLBACK_ACCEPTED');
    book.run('verify', env);
    const record = auditRecords(p.meta, p.env).find((r) => r.action === 'witness.rollback-accepted');
    expect(record?.detail).toContain(`witness audit head ${newer}`);
    expect(record?.detail).toContain(`reason: ${reason}`);
    expect(readFileSync(witness).equals(witnessBytes)).toBe(false); // re-anchored at the restored head

    // The receipt of the lost write: stale, never the older bytes. The receipt of what was restored: reads.
    const stale = book.run('receipts', { ...env, BUCKET: 'photos', KEY: 'receipted', SEQUENCE: r2.sequence }, { allowFailure: true });
    expect(stale.status).toBe(6);
    expect(stale.stderr).toContain('ERR_SV_STALE');
    book.run('receipts', { ...env, BUCKET: 'photos', KEY: 'receipted', SEQUENCE: r1.sequence });
    expectObjects(p.meta, new Map([...p.objects, ['receipted', kept]]), p.env);
  });

  it('rollback-alarm.md: the witness deleted; the open says unanchored and writes nothing read-only; receipts checked; a writable open anchors it', () => {
    const p = pool('unanchored');
    const body = randomBytes(2000);
    const r = put(p, 'receipted', body);
    const witness = p.env.SHARDVAULT_WITNESS;
    rmSync(witness);
    const env = { ...p.env, META: p.meta };

    const seen = book.run('unanchored', env);
    expect(JSON.parse(seen.stdout)).toMatchObject({ state: 'unanchored', locations: [witness] });
    expect(seen.stderr).toContain('SV_WITNESS_UNANCHORED');
    expect(existsSync(witness)).toBe(false); // a read-only open writes no witness

    book.run('receipts', { ...env, BUCKET: 'photos', KEY: 'receipted', SEQUENCE: r.sequence });
    book.run('anchor', env);
    expect(existsSync(witness)).toBe(true);
    expectObjects(p.meta, new Map([...p.objects, ['receipted', body]]), p.env);
    book.assertAllRun(); // with the steps the restored-snapshot case ran
  });
});

const upgrade = tier('the upgrade runbook test', [previousUnavailable, ...buildMissing('lib/cli.js')]);

describe.skipIf(!upgrade.ready)(`runbooks: upgrade and downgrade, with release ${previousPin.release} built from git${upgrade.why}`, () => {
  it('upgrade-and-downgrade.md: a 0.1.0 pool under this release, rolled back to 0.1.0 (reads every byte), finalized, then refused by 0.1.0', async () => {
    const book = loadRunbook('upgrade-and-downgrade.md');
    const built = previousRelease();
    expect(built.version).toBe(previousPin.release);
    const { dir } = track(scratch('upgrade'));
    // The previous release's command as an operator has it installed: one executable.
    const PREVIOUS = join(dir, `shardvault-${built.version}`);
    writeFileSync(PREVIOUS, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(built.cli)} "$@"\n`);
    chmodSync(PREVIOUS, 0o755);
    const meta = join(dir, 'meta');
    const old = async (...args: string[]) => {
      const r = await runPrevious([...args, '--meta', meta], { cwd: dir });
      expect(r.status, `${built.version} ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    // The pool as 0.1.0 made it (its init has no --format: it writes format 3).
    const disks = Array.from({ length: 6 }, (_, i) => ['--disk', `${join(dir, `d${i}`)}:host=h${i}`]).flat();
    for (let i = 0; i < 6; i++) mkdirSync(join(dir, `d${i}`));
    await old('init', ...disks, '--block', '65536', '--domain', 'host');
    await old('mb', 'photos');
    const objects = new Map<string, Buffer>();
    for (const [key, size] of [['empty', 0], ['small', 1000], ['striped', 600_000]] as const) {
      objects.set(key, randomBytes(size));
      writeFileSync(join(dir, 'body'), objects.get(key)!);
      await old('put', 'photos', key, join(dir, 'body'));
    }
    const witness = join(dir, 'witness');
    const env = { SHARDVAULT_WITNESS: witness, META: meta, PREVIOUS };

    const status = book.run('status', env);
    expect(status.stdout).toContain('upgrade pending');
    expect(status.stderr).toContain('SV_WITNESS_UNANCHORED'); // 0.1.0 wrote no witness: said once, expected
    // What needs format 4 is refused until finalize.
    const rotate = cli(['keyring', 'rotate', '--meta', meta], env);
    expect(rotate.status).toBe(1);
    expect(rotate.stderr).toContain('ERR_SV_UPGRADE_PENDING');

    // This release serves for a while: new objects and an overwrite, all at format 3.
    const p = { dir, meta, env };
    objects.set('new', randomBytes(200_000));
    put(p, 'new', objects.get('new')!);
    objects.set('small', randomBytes(777));
    put(p, 'small', objects.get('small')!);
    book.run('check-new', env);

    // Rolled back: 0.1.0 on the same pool reads every byte this release wrote, and writes on.
    book.run('roll-back', env);
    for (const [key, bytes] of objects) expect((await old('get', 'photos', key)).stdout.equals(bytes), key).toBe(true);
    objects.set('old-again', randomBytes(4321));
    writeFileSync(join(dir, 'body'), objects.get('old-again')!);
    await old('put', 'photos', 'old-again', join(dir, 'body'));
    // Back on this release the catalog is ahead of the witness 0.1.0 did not write: anchored, not an alarm.
    expect((JSON.parse(ok(['status', '--json', '--meta', meta], env)) as { witness: { state: string } }).witness.state).toBe('anchored');

    book.run('finalize', env);
    book.run('verify', env);
    const finalize = auditRecords(meta, env).filter((r) => r.action === 'upgrade.finalize');
    expect(finalize).toHaveLength(1);
    expect(finalize[0].detail).toContain('pool format 3 -> 4, minRelease 0.2.0');
    expect(JSON.parse(readFileSync(join(meta, 'pool.json'), 'utf8')).formatVersion).toBe(4);

    const refused = book.run('downgrade-refused', env, { allowFailure: true });
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain('pool format version 4 is not 3');
    expect(refused.stdout).not.toContain('photos'); // refused before reading anything
    expectObjects(meta, objects, { SHARDVAULT_WITNESS: witness });
    book.assertAllRun();
  }, 300_000);
});
