// Power cut after every acknowledgement (DESIGN.md I1, I4; fault-harness.md 2a, 3d): a 4+2 pool of six disks,
// each its own small loop-mounted xfs filesystem (the catalog on the first). One operation per cycle (put
// striped, put inline, overwrite, delete, put): a child runs it, prints the ack and goes on writing another
// object; on the ack the child is frozen (SIGSTOP), all six filesystems are shut down with
// `xfs_io -x -c shutdown` (no log flush: whatever is not on the device is gone), the child is killed, and
// the filesystems are unmounted and mounted again. Then the vault opens (grace 0) and every acknowledged
// object reads back bit-exact, the deleted one stays deleted, the unacknowledged object is absent or whole,
// and scrub finds 0 bad shards. The next cycle continues on the recovered pool.
// Needs root, loop devices and xfsprogs; skips (saying why) otherwise. Every mount and loop device made here
// is removed by name in afterAll, even when a test failed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loopDiskMissing } from './support/loopdisk.js';
import { tier } from './support/tier.js';

import { Vault } from '../lib/vault.js';
// @ts-expect-error plain ESM helper shared with the child
import { NOISE, OPS } from './fault/powercycle-ops.mjs';

const dist = join(__dirname, '..', 'dist');
const { ready, why } = tier('the vault power-cut tier', loopDiskMissing(['losetup', 'mkfs.xfs', 'xfs_io', 'mount', 'umount', 'findmnt'], 'lib/vault.js'));

const DISKS = 6;
const work = mkdtempSync(join(tmpdir(), 'sv-powercycle-'));
const imgs = Array.from({ length: DISKS }, (_, i) => join(work, `d${i}.img`));
const mnts = Array.from({ length: DISKS }, (_, i) => join(work, `m${i}`));
const devs: string[] = [];
const meta = join(mnts[0], 'meta');
let child: ReturnType<typeof spawn> | undefined;

function sh(cmd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }).trim();
}
const mounted = (mnt: string) => spawnSync('findmnt', ['-n', '-M', mnt]).status === 0;
const mountAll = () => mnts.forEach((mnt, i) => sh('mount', [devs[i], mnt]));
const umountAll = () => mnts.forEach((mnt) => sh('umount', [mnt]));

beforeAll(() => {
  if (!ready) return;
  for (let i = 0; i < DISKS; i++) {
    sh('truncate', ['-s', '64M', imgs[i]]);
    // mkfs.xfs refuses filesystems under 300 MiB unless it runs under fstests (these variables); small
    // images keep six of them cheap (sparse, ~6 MiB each).
    sh('mkfs.xfs', ['-q', '-f', imgs[i]], { TEST_DIR: work, TEST_DEV: imgs[i], QA_CHECK_FS: '1' });
    devs.push(sh('losetup', ['-f', '--show', imgs[i]])); // explicit device: it stays attached across remounts
    mkdirSync(mnts[i]);
    spawnSync('chattr', ['+i', mnts[i]]); // if a mount vanished, writes fail instead of landing on /
  }
  mountAll();
  // Each disk is a directory on its own loop-mounted xfs, the meta directory beside disk 0 on the first one
  // (on a cut filesystem too, never inside a disk: init refuses that overlap).
  for (const mnt of mnts) mkdirSync(join(mnt, 'disk'));
});

afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
  }
  for (const mnt of mnts) {
    if (mounted(mnt)) spawnSync('umount', [mnt]);
    if (mounted(mnt)) spawnSync('umount', ['-l', mnt]);
    spawnSync('chattr', ['-i', mnt]);
  }
  for (const dev of devs) spawnSync('losetup', ['-d', dev]);
  rmSync(work, { recursive: true, force: true });
});

/** Runs operation `step` in a child; on its ack freezes it, cuts the power on all six disks, kills it. */
async function runAndCut(step: number): Promise<void> {
  const disks = JSON.stringify(mnts.map((mnt) => ({ path: join(mnt, 'disk') })));
  const c = spawn(process.execPath, [join(__dirname, 'fault', 'vault-powercycle-child.mjs'), dist, meta, disks, String(step)], {
    env: { ...process.env, UV_USE_IO_URING: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = c;
  let stderr = '';
  c.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => c.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`step ${step}: no ack in 60 s: ${stderr}`)), 60_000);
    c.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (!out.includes(`acked ${step}`)) return;
      clearTimeout(timer);
      c.kill('SIGSTOP'); // nothing more reaches the page cache; what is there is what the cut sees
      try {
        for (const mnt of mnts) sh('xfs_io', ['-x', '-c', 'shutdown', mnt]); // power off, no log flush
      } finally {
        c.kill('SIGKILL');
      }
      resolve();
    });
    c.on('close', (code, signal) => reject(new Error(`step ${step}: child exited (${code ?? signal}) before its ack: ${stderr}`)));
  });
  await exited;
  child = undefined;
  umountAll();
  mountAll();
}

describe.skipIf(!ready)(`power cut after every ack on six loop-mounted xfs disks${why}`, () => {
  it('every acknowledged put and delete survives the cut; the unacknowledged write is absent or whole', async () => {
    const expected = new Map<string, Buffer | null>();
    let noiseSeen = 0;
    for (let step = 1; step <= OPS.length; step++) {
      const op = OPS[step - 1] as { key: string; data: Buffer | null };
      await runAndCut(step);
      expected.set(op.key, op.data);
      const vault = await Vault.open(meta, { orphanGraceMs: 0 });
      try {
        for (const [key, data] of expected) {
          const where = `after the cut following ack ${step}: b/${key}`;
          if (data === null) {
            await expect(vault.getBuffer('bkt', key), where).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
            expect(await vault.head('bkt', key), where).toBeUndefined();
            expect((await vault.list('bkt')).objects.map((o) => o.key), where).not.toContain(key);
          } else {
            expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data), where).toBe(true);
          }
        }
        try {
          expect(Buffer.from(await vault.getBuffer('bkt', 'noise')).equals(NOISE), `step ${step}: b/noise is whole`).toBe(true);
          noiseSeen++;
        } catch (err) {
          expect((err as { code?: string }).code, `step ${step}: b/noise`).toBe('ERR_SV_NOT_FOUND');
        }
        const scrub = await vault.scrub();
        expect(scrub.bad, `step ${step}: scrub`).toBe(0);
        expect((await vault.repairQueue()), `step ${step}: repair queue`).toEqual([]);
      } finally {
        await vault.close();
      }
    }
    console.log(`power cut after each of ${OPS.length} acks: all acked state survived; the unacked b/noise survived ${noiseSeen} cuts whole, absent otherwise`);
  });
});
