// Vault.openObject (issue 12: the daemon's GET read the manifest twice, head() then get()): one verified
// manifest copy gives the metadata and the bytes of the same version. A put between open and stream does not
// change what the stream reads; ranges are checked as get()'s; a bad copy met while opening is queued for
// repair once; an absent or deleted key is undefined; minSequence is honoured.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { damageCopy } from './support/copies.js';
import { testPools } from './support/pools.js';

const hasNative = native() !== null;
const pools = testPools('sv-openobj-');

async function drain(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe.skipIf(!hasNative)(`Vault.openObject${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('gives the head and the bytes of one version, even when a put lands in between (striped and inline)', async () => {
    const { vault } = await pools.make();
    try {
      for (const [key, size] of [['big', 50_000], ['small', 300]] as const) {
        const v1 = Buffer.alloc(size, 1);
        const r1 = await vault.put('bkt', key, v1, { computeMd5: true });
        const opened = await vault.openObject('bkt', key);
        expect(opened).toBeDefined();
        const same = await vault.head('bkt', key);
        expect(opened!.head).toEqual(same);
        expect(opened!.head.versionId).toBe(r1.versionId);
        const v2 = Buffer.alloc(size + 7, 2);
        await vault.put('bkt', key, v2);
        expect((await drain(opened!.stream())).equals(v1), key).toBe(true);
        expect((await drain(opened!.stream({ range: { start: 10, end: 20 } }))).equals(v1.subarray(10, 20))).toBe(true);
        expect((await drain(opened!.stream({ range: { start: size } }))).length).toBe(0);
        // A fresh open sees the new version.
        const again = await vault.openObject('bkt', key);
        expect(again!.head.size).toBe(size + 7);
        expect((await drain(again!.stream())).equals(v2)).toBe(true);
      }
    } finally {
      await vault.close();
    }
  });

  it('checks its arguments as get() does', async () => {
    const { vault } = await pools.make();
    try {
      const receipt = await vault.put('bkt', 'k', Buffer.alloc(1000, 3));
      const opened = (await vault.openObject('bkt', 'k'))!;
      await expect(drain(opened.stream({ range: { start: 5, end: 2000 } }))).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(drain(opened.stream({ range: { start: -1 } }))).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      expect(() => opened.stream({ bogus: 1 } as never)).toThrow(/bogus/);
      const ac = new AbortController();
      ac.abort();
      await expect(drain(opened.stream({ signal: ac.signal }))).rejects.toMatchObject({ name: 'AbortError' });
      await expect(vault.openObject('bkt', 'k', { minSequence: BigInt(receipt.sequence) + 1n })).rejects.toMatchObject({ code: 'ERR_SV_STALE' });
      expect(await vault.openObject('nope', 'k')).toBeUndefined(); // as head(): the daemon tells NoSuchBucket apart
    } finally {
      await vault.close();
    }
  });

  it('is undefined for an absent or deleted key', async () => {
    const { vault } = await pools.make();
    try {
      expect(await vault.openObject('bkt', 'absent')).toBeUndefined();
      await vault.put('bkt', 'gone', Buffer.alloc(10, 1));
      await vault.delete('bkt', 'gone');
      expect(await vault.openObject('bkt', 'gone')).toBeUndefined();
    } finally {
      await vault.close();
    }
  });

  it('queues a bad manifest copy met while opening for repair, once, and still reads exact bytes', async () => {
    const { vault } = await pools.make();
    try {
      const body = Buffer.alloc(30_000, 9);
      await vault.put('bkt', 'k', body);
      const loc = (await vault.locate('bkt', 'k'))!;
      damageCopy(loc.shards[0].copy!, 'flip');
      const opened = (await vault.openObject('bkt', 'k'))!;
      expect((await drain(opened.stream())).equals(body)).toBe(true);
      expect((await drain(opened.stream())).equals(body)).toBe(true);
      expect((await vault.status()).repairQueued).toBe(1);
      const repaired = await vault.repair();
      expect(repaired.failed).toBe(0);
      expect((await vault.status()).repairQueued).toBe(0);
    } finally {
      await vault.close();
    }
  });
});
