// vault.events for embedding: put, get, repair (with durations and bytes), diskDropped (with errno),
// repairQueued, scrubProgress; a listener that throws (or rejects) never breaks the engine and is reported as
// a process warning.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import type { VaultEventMap } from '../lib/events.js';
import { hex, objectId } from '../lib/format/ids.js';
import { objectDir } from '../lib/store/local/layout.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { testPools } from './support/pools.js';

const hasNative = native() !== null;
const pools = testPools('sv-events-');
const makeVault = (writeQuorum?: number) => pools.make({ disks: 4, k: 2, m: 2, writeQuorum });

function record(vault: Vault) {
  const seen: { [K in keyof VaultEventMap]: Array<VaultEventMap[K][0]> } = { put: [], get: [], repair: [], diskDropped: [], repairQueued: [], scrubProgress: [] };
  for (const name of Object.keys(seen) as Array<keyof VaultEventMap>) vault.events.on(name, (e: never) => (seen[name] as unknown[]).push(e));
  return seen;
}

describe.skipIf(!hasNative)(`vault events${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('put, get and scrubProgress report what was done, with bytes and durations', async () => {
    const { vault } = await makeVault();
    try {
      const seen = record(vault);
      const r1 = await vault.put('bkt', 'small', Buffer.from('hello'));
      const r2 = await vault.put('bkt', 'big', Buffer.alloc(50_000, 1));
      expect(seen.put).toEqual([
        { bucket: 'bkt', key: 'small', versionId: r1.versionId, bytes: 5, durationMs: expect.any(Number), degraded: false },
        { bucket: 'bkt', key: 'big', versionId: r2.versionId, bytes: 50_000, durationMs: expect.any(Number), degraded: false },
      ]);
      expect(seen.put.every((e) => e.durationMs >= 0)).toBe(true);
      await vault.getBuffer('bkt', 'big');
      await vault.getBuffer('bkt', 'big', { range: { start: 10, end: 110 } });
      for await (const _ of vault.get('bkt', 'small')) { /* drain */ }
      expect(seen.get.map((e) => [e.key, e.bytes])).toEqual([['big', 50_000], ['big', 100], ['small', 5]]);
      await expect(vault.getBuffer('bkt', 'missing')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
      expect(seen.get).toHaveLength(3); // a failed read has no 'get'
      const final = await vault.scrub();
      expect(seen.scrubProgress.map((p) => p.objects)).toEqual([1, 2]);
      const { disks, ...progress } = final; // the result adds the disks that are work to do (none here)
      expect(disks).toEqual([]);
      expect(seen.scrubProgress.at(-1)).toEqual(progress);
      expect(seen.diskDropped).toEqual([]);
      expect(seen.repairQueued).toEqual([]);
    } finally {
      await vault.close();
    }
  });

  it('a disk that fails mid-put: diskDropped with errno and syscall, repairQueued, a degraded put; then repair', async () => {
    const { vault, disks } = await makeVault(3);
    try {
      const seen = record(vault);
      // Make disk 0's object directory for this key a file: opening the shard file there fails (ENOTDIR).
      const dir = objectDir(disks[0].path, hex(objectId('bkt', 'k')));
      renameSync(dir, `${dir}.moved`);
      writeFileSync(dir, 'not a directory');
      const receipt = await vault.put('bkt', 'k', Buffer.alloc(40_000, 2));
      expect(receipt.degraded).toBe(true);
      expect(seen.diskDropped).toHaveLength(1);
      const dropped = seen.diskDropped[0];
      expect(dropped.op).toBe('open');
      expect(dropped.disk).toMatch(/^disk-0-/);
      expect(typeof dropped.errno).toBe('number');
      expect(typeof dropped.syscall).toBe('string');
      expect(dropped.message.length).toBeGreaterThan(0);
      expect(seen.repairQueued).toEqual([{ bucket: 'bkt', key: 'k', versionId: receipt.versionId, disk: dropped.disk, shard: expect.any(Number), reason: 'put' }]);
      expect(seen.put[0].degraded).toBe(true);
      rmSync(dir);
      renameSync(`${dir}.moved`, dir);
      const result = await vault.repair();
      expect(result.repaired).toBe(1);
      expect(seen.repair).toEqual([{ repaired: 1, dropped: 0, moved: 0, failed: 0, durationMs: expect.any(Number) }]);
      // Work found by a scrub is reported too, with its reason.
      const where = (await vault.locate('bkt', 'k'))!;
      rmSync(where.shards[1].shardFile!);
      await vault.scrub();
      expect(seen.repairQueued.at(-1)).toMatchObject({ bucket: 'bkt', key: 'k', shard: 1, reason: 'scrub' });
      await vault.scrub(); // already queued: not reported again
      expect(seen.repairQueued.filter((e) => e.reason === 'scrub')).toHaveLength(1);
    } finally {
      await vault.close();
    }
  });

  it('a listener that throws or rejects does not break the engine; it becomes a process warning', async () => {
    const { vault } = await makeVault();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const after: string[] = [];
      vault.events.on('put', () => {
        throw new Error('listener bug');
      });
      vault.events.on('put', async () => {
        throw new Error('async listener bug');
      });
      vault.events.on('put', (e) => after.push(e.key));
      vault.events.once('get', () => {
        throw new TypeError('once');
      });
      await expect(vault.put('bkt', 'k', Buffer.from('x'))).resolves.toMatchObject({ bucket: 'bkt' });
      expect(after).toEqual(['k']);
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).toString()).toBe('x');
      expect(vault.events.listenerCount('get')).toBe(0); // a once listener is still removed
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'SV_LISTENER_ERROR');
      expect(ours.map((w) => w.message)).toEqual(expect.arrayContaining([
        expect.stringContaining("'put' listener threw (Error: listener bug)"),
        expect.stringContaining("'put' listener threw (Error: async listener bug)"),
        expect.stringContaining("'get' listener threw (TypeError: once)"),
      ]));
      expect(ours).toHaveLength(3);
    } finally {
      process.off('warning', onWarning);
      await vault.close();
    }
  });
});
