// ENOSPC on one small loop-mounted ext4 disk in the middle of a put (root tier): with the default write quorum
// (all k + m) the put fails cleanly with ERR_SV_NO_SPACE and nothing becomes visible; with quorum k + 1 it succeeds degraded, says so
// in the receipt, queues the missing shard for repair, and the object reads back correctly.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loopDiskMissing } from './support/loopdisk.js';
import { tier } from './support/tier.js';

import { Vault } from '../lib/vault.js';

const { ready, why } = tier('the ENOSPC tier', loopDiskMissing(['losetup', 'mkfs.ext4', 'mount', 'umount', 'findmnt']));
const work = mkdtempSync(join(tmpdir(), 'sv-enospc-'));
const mnt = join(work, 'small');
let dev = '';

beforeAll(() => {
  if (!ready) return;
  const img = join(work, 'small.img');
  execFileSync('truncate', ['-s', '8M', img]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', img]); // -m 0: as root the 5 % reserve would blur "full"
  dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  mkdirSync(mnt);
  spawnSync('chattr', ['+i', mnt]);
  execFileSync('mount', [dev, mnt]);
});

afterAll(() => {
  if (ready) {
    if (spawnSync('findmnt', ['-n', '-M', mnt]).status === 0) spawnSync('umount', [mnt]);
    if (spawnSync('findmnt', ['-n', '-M', mnt]).status === 0) spawnSync('umount', ['-l', mnt]);
    if (dev !== '') spawnSync('losetup', ['-d', dev]);
    spawnSync('chattr', ['-i', mnt]);
  }
  rmSync(work, { recursive: true, force: true });
});

async function pool(name: string, writeQuorum?: number) {
  const disks = Array.from({ length: 6 }, (_, i) => {
    const path = i === 3 ? join(mnt, name) : join(work, name, `d${i}`);
    mkdirSync(path, { recursive: true });
    return { path };
  });
  const vault = await Vault.init({ disks, metaDir: join(work, name, 'meta'), k: 4, m: 2, blockBytes: 1 << 16, writeQuorum });
  await vault.createBucket('bkt');
  return vault;
}

describe.skipIf(!ready)(`ENOSPC on one disk mid-put${why}`, () => {
  // 48 MiB object: 12 MiB per shard, more than the 8 MiB disk holds.
  const big = Buffer.alloc(48 << 20, 0x5a);

  it('default quorum: the put fails cleanly, nothing is visible, the old version still reads', async () => {
    const vault = await pool('strict');
    await vault.put('bkt', 'k', Buffer.from('old'));
    await expect(vault.put('bkt', 'k', big)).rejects.toMatchObject({ code: 'ERR_SV_NO_SPACE', message: expect.stringMatching(/ENOSPC while writing shard/) });
    expect(Buffer.from(await vault.getBuffer('bkt', 'k')).toString()).toBe('old');
    await vault.close();
    const reopened = await Vault.open(join(work, 'strict', 'meta'), { orphanGraceMs: 0 }); // leftovers collected
    expect(Buffer.from(await reopened.getBuffer('bkt', 'k')).toString()).toBe('old');
    await reopened.close();
  });

  it('quorum k + 1: a degraded write that says so, queues repair, and reads back', async () => {
    const vault = await pool('degraded', 5);
    const receipt = await vault.put('bkt', 'k', big);
    expect(receipt.degraded).toBe(true);
    expect(receipt.durableDisks).toHaveLength(5);
    expect((await vault.repairQueue())).toHaveLength(1);
    expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(big)).toBe(true);
    await vault.close();
  });
});
