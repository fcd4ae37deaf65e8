// status() and scrub() report unusable disks as work to do (issue 10): each disk directory is really broken
// (removed, emptied, given another pool's identity file, hidden under a mount, its identity torn) and each
// shows its condition and a hint naming the command that fixes it; drained and removed disks show as such;
// I/O errors are counted per disk since open; the pool's coding parameters are reported.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-status-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(root, { recursive: true, force: true });
});

async function pool(name: string, count: number) {
  const base = join(root, name);
  const disks = Array.from({ length: count }, (_, i) => {
    mkdirSync(join(base, `d${i}`), { recursive: true });
    return { path: join(base, `d${i}`), labels: { host: `h${i}` } };
  });
  const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k: 2, m: 2, blockBytes: 4096, failureDomain: 'host' });
  await vault.createBucket('bkt');
  return { vault, disks, base };
}

describe.skipIf(!hasNative)(`status and scrub report broken disks${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('missing, empty, foreign, wrong-device, unreadable, draining, removed: each with its hint', async () => {
    const { vault, disks, base } = await pool('p', 9);
    const other = await pool('other', 4);
    await other.vault.close();
    const data = Buffer.alloc(3 * 2 * 4096 + 5, 9);
    await vault.put('bkt', 'obj', data);
    let status = await vault.status();
    expect(status.pool).toMatchObject({ k: 2, m: 2, blockBytes: 4096, failureDomain: 'host', writeQuorum: 4 });
    expect(status.disks.every((d) => d.condition === 'online' && d.hint === undefined && d.errors.read === 0 && d.errors.write === 0)).toBe(true);
    const ids = status.disks.map((d) => d.id);

    // A read error, counted against its disk: one shard file gone, the read rebuilds around it.
    const lost = (await vault.locate('bkt', 'obj'))!.shards[0];
    unlinkSync(lost.shardFile!);
    expect(Buffer.from(await vault.getBuffer('bkt', 'obj')).equals(data)).toBe(true);
    expect((await vault.status()).disks.find((d) => d.id === lost.diskId)!.errors.read).toBeGreaterThan(0);

    // Lifecycle states: d8 drained, repaired and removed; d7 draining.
    await vault.drainDisk(ids[8]);
    await vault.repair();
    await vault.removeDisk(ids[8]);
    await vault.drainDisk(ids[7]);

    // Break d0..d4 for real.
    rmSync(disks[0].path, { recursive: true }); // missing
    for (const f of readdirSync(disks[1].path)) rmSync(join(disks[1].path, f), { recursive: true }); // emptied
    copyFileSync(join(other.disks[0].path, 'disk.json'), join(disks[2].path, 'disk.json')); // another pool's disk
    writeFileSync(join(disks[4].path, 'disk.json'), '{"diskId": "torn'); // unreadable identity
    const canMount = process.getuid?.() === 0;
    let mounted = false;
    if (canMount) {
      // An unmounted disk: the directory is on another device than at format time, with its identity file.
      const saved = join(base, 'saved-disk.json');
      copyFileSync(join(disks[3].path, 'disk.json'), saved);
      mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'svstatus', disks[3].path]).status === 0;
      if (mounted) {
        mounts.push(disks[3].path);
        copyFileSync(saved, join(disks[3].path, 'disk.json'));
      }
    } else {
      console.log('wrong-device case skipped: needs root to mount a tmpfs over a disk directory');
    }

    status = await vault.status();
    const byId = new Map(status.disks.map((d) => [d.id, d]));
    const expectDisk = (i: number, condition: string, hint?: RegExp) => {
      const d = byId.get(ids[i])!;
      expect(d.condition, `d${i}`).toBe(condition);
      if (hint === undefined) expect(d.hint, `d${i}`).toBeUndefined();
      else expect(d.hint, `d${i}`).toMatch(hint);
    };
    expectDisk(0, 'missing', new RegExp(`is gone.*shardvault disk replace ${ids[0]} NEWPATH:host=h0`));
    expectDisk(1, 'empty', new RegExp(`shardvault disk replace ${ids[1]} ${disks[1].path}:host=h1`));
    expectDisk(2, 'foreign', new RegExp(`not this pool.*shardvault disk replace ${ids[2]}`));
    if (mounted) expectDisk(3, 'wrong-device', /mount the disk/);
    expectDisk(4, 'unreadable', new RegExp(`shardvault disk replace ${ids[4]}`));
    expectDisk(5, 'online');
    expectDisk(6, 'online');
    expectDisk(7, 'draining', new RegExp(`shardvault repair.*shardvault disk rm ${ids[7]}`));
    expectDisk(8, 'removed');
    // The old fields stay: ok/problem for every unusable disk, state for the lifecycle.
    for (const i of [0, 1, 2, 4]) expect(byId.get(ids[i])).toMatchObject({ ok: false, problem: expect.any(String), state: 'active' });
    expect(byId.get(ids[7])).toMatchObject({ ok: true, state: 'draining' });

    // scrub reports the same disks as work to do.
    const scrubbed = await vault.scrub();
    const toFix = new Map((scrubbed.disks ?? []).map((d) => [d.id, d]));
    expect([...toFix.keys()].sort()).toEqual([0, 1, 2, ...(mounted ? [3] : []), 4, 7].map((i) => ids[i]).sort());
    expect(toFix.get(ids[0])).toMatchObject({ condition: 'missing', hint: expect.stringMatching(/disk replace/) });
    expect(toFix.get(ids[1])).toMatchObject({ condition: 'empty' });

    // repair cannot fix a missing disk by itself: its result names the disks still to fix, with the command.
    const repaired = await vault.repair();
    expect(repaired.disks.find((d) => d.id === ids[0])).toMatchObject({ condition: 'missing', hint: expect.stringMatching(/disk replace/) });

    // The hint for an emptied disk works as written: replace it by a new disk at the same path, then repair.
    const newId = await vault.replaceDisk(ids[1], { path: disks[1].path, labels: { host: 'h1' } });
    expect((await vault.status()).disks.find((d) => d.id === newId)).toMatchObject({ condition: 'online' });
    expect((await vault.status()).disks.find((d) => d.id === ids[1])).toMatchObject({ condition: 'removed' });
    await vault.close();
    if (mounted) {
      spawnSync('umount', [disks[3].path]);
      mounts.splice(mounts.indexOf(disks[3].path), 1);
    }
  });
});
