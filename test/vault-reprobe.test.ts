// A transient problem does not take a disk away for the life of the process: a disk that was unusable at
// open (its directory moved away, then back, as a slow remount would) is checked again before writes, with
// backoff (first after 1 s), and comes back by itself. With the default write quorum (all k + m disks), every
// put failed with ERR_SV_PLACEMENT until the pool was reopened before this. status() keeps the last reason.
// And a delete's result says what happened, like a put's receipt: durable disks, degraded or not.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { isRoot, tier } from './support/tier.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-reprobe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!hasNative)(`disk re-probe${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('a disk unusable at open comes back after its backoff, and puts at full quorum work again', async () => {
    const disks = Array.from({ length: 4 }, (_, i) => join(root, `d${i}`));
    for (const d of disks) mkdirSync(d);
    const meta = join(root, 'meta');
    let vault = await Vault.init({ disks: disks.map((path) => ({ path })), metaDir: meta, k: 2, m: 2, blockBytes: 4096 });
    await vault.createBucket('bkt');
    await vault.close();

    renameSync(disks[1], `${disks[1]}.away`);
    vault = await Vault.open(meta);
    try {
      const dropped: string[] = [];
      vault.events.on('diskDropped', (e) => dropped.push(e.disk));
      const gone = (await vault.status()).disks[1];
      expect(gone.condition).toBe('missing');
      await expect(vault.put('bkt', 'a', Buffer.alloc(20_000, 1))).rejects.toMatchObject({ code: 'ERR_SV_PLACEMENT' });
      renameSync(`${disks[1]}.away`, disks[1]); // back, but before the backoff has passed: still counted out
      await expect(vault.put('bkt', 'b', Buffer.alloc(10, 2))).rejects.toMatchObject({ code: 'ERR_SV_PLACEMENT' });
      await new Promise((r) => setTimeout(r, 2100)); // status() above rescheduled it: first backoff 1 s, then 2 s
      const receipt = await vault.put('bkt', 'c', Buffer.alloc(20_000, 3));
      expect(receipt.durableDisks).toHaveLength(4);
      expect(receipt.degraded).toBe(false);
      const back = (await vault.status()).disks[1];
      expect(back).toMatchObject({ condition: 'online', ok: true, lastProblem: { problem: expect.stringMatching(/does not exist/), sinceMs: expect.any(Number), restoredMs: expect.any(Number) } });
      expect(dropped).toEqual([]); // it was already unusable at open: no second drop
      expect(Buffer.from(await vault.getBuffer('bkt', 'c')).equals(Buffer.alloc(20_000, 3))).toBe(true);
      // A delete says what it did like a put does: its tombstone's receipt names the durable disks.
      const del = await vault.delete('bkt', 'c');
      expect(del).toMatchObject({ durableDisks: expect.any(Array), degraded: false });
      expect(del!.durableDisks).toHaveLength(4);
      expect(await vault.delete('bkt', 'c')).toBeUndefined(); // nothing left to delete
    } finally {
      await vault.close();
    }
  });

  const chattr = tier('the degraded-delete case', [isRoot() ? null : 'root (chattr)']);
  it.skipIf(!chattr.ready)(`a delete on a degraded pool says so: its receipt names the durable disks and is degraded (root: chattr)${chattr.why}`, async () => {
    const base = join(root, 'deg');
    const disks = Array.from({ length: 4 }, (_, i) => join(base, `d${i}`));
    for (const d of disks) mkdirSync(d, { recursive: true });
    const meta = join(base, 'meta');
    const vault = await Vault.init({ disks: disks.map((path) => ({ path })), metaDir: meta, k: 2, m: 2, blockBytes: 4096, writeQuorum: 3 });
    const log = join(disks[3], 'log');
    try {
      await vault.createBucket('bkt');
      await vault.put('bkt', 'o', Buffer.alloc(30_000, 5));
      // Disk 3's copy log can no longer be written (EPERM on its segments): the tombstone lands on three disks.
      expect(spawnSync('chattr', ['-R', '+i', log]).status).toBe(0);
      const del = await vault.delete('bkt', 'o');
      expect(del).toMatchObject({ degraded: true });
      expect(del!.durableDisks).toHaveLength(3);
      const d3 = (await vault.status()).disks[3].id;
      expect(del!.durableDisks).not.toContain(d3);
      expect((await vault.repairQueue()).some((r) => r.disk === d3)).toBe(true);
      await expect(vault.getBuffer('bkt', 'o')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    } finally {
      spawnSync('chattr', ['-R', '-i', log]);
      await vault.close();
    }
  });
});
