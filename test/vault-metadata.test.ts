// Object metadata (content type, user metadata, MD5/ETag) through put, head and list: stored in a v2 manifest
// only when present, a declared Content-MD5 that does not match fails the put with ERR_SV_BAD_DIGEST and leaves
// nothing behind, bounds are enforced with codes before anything is written.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { testPools } from './support/pools.js';
import { copyPayload } from './support/copies.js';

const hasNative = native() !== null;
const pools = testPools('sv-meta-');
const makeVault = () => pools.make();

const md5hex = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Every file under the disks' objects/ directories (shard files). */
function shardFileCount(disks: Array<{ path: string }>): number {
  let count = 0;
  for (const d of disks) {
    for (const fan of readdirSync(join(d.path, 'objects'))) count += readdirSync(join(d.path, 'objects', fan)).length;
  }
  return count;
}

/** The manifest format version of the current version's first copy. */
async function manifestVersion(vault: Vault, key: string): Promise<number> {
  const copy = copyPayload((await vault.locate('bkt', key))!.shards[0].copy!);
  return copy.readUInt16BE(4 + 4); // u32 signed length | "SVMF" | u16 version
}

describe.skipIf(!hasNative)(`object metadata${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('stores content type, user metadata and the MD5 ETag (inline, striped, streamed); head and list return them', async () => {
    const { vault } = await makeVault();
    try {
      const bodies = { small: Buffer.from('hello metadata'), big: Buffer.alloc(50_000, 9), streamed: Buffer.alloc(70_000, 4) };
      const metadata = { owner: 'alice', 'x-camera': 'Nikon é ☃', empty: '' };
      await vault.put('bkt', 'small', bodies.small, { contentType: 'text/plain; charset=utf-8', metadata, computeMd5: true });
      await vault.put('bkt', 'big', bodies.big, { contentType: 'application/octet-stream', computeMd5: true });
      await vault.put('bkt', 'streamed', Readable.from([bodies.streamed.subarray(0, 10_000), bodies.streamed.subarray(10_000)]), { metadata: { a: '1' }, computeMd5: true });
      await vault.put('bkt', 'plain', Buffer.from('no metadata'));
      const small = await vault.head('bkt', 'small');
      expect(small).toMatchObject({ contentType: 'text/plain; charset=utf-8', metadata, etag: md5hex(bodies.small), size: bodies.small.length });
      expect(await vault.head('bkt', 'big')).toMatchObject({ contentType: 'application/octet-stream', metadata: {}, etag: md5hex(bodies.big) });
      expect(await vault.head('bkt', 'streamed')).toMatchObject({ metadata: { a: '1' }, etag: md5hex(bodies.streamed) });
      const plain = await vault.head('bkt', 'plain');
      expect(plain?.metadata).toEqual({});
      expect(plain?.etag).toBeUndefined();
      expect(plain?.contentType).toBeUndefined();
      // v2 only where there is metadata; the bytes read back are the bytes written.
      expect(await manifestVersion(vault, 'plain')).toBe(1);
      expect(await manifestVersion(vault, 'small')).toBe(2);
      expect(await manifestVersion(vault, 'big')).toBe(2);
      expect(Buffer.from(await vault.getBuffer('bkt', 'streamed')).equals(bodies.streamed)).toBe(true);
      const listed = await vault.list('bkt');
      expect(Object.fromEntries(listed.objects.map((o) => [o.key, o.etag]))).toEqual({ big: md5hex(bodies.big), plain: undefined, small: md5hex(bodies.small), streamed: md5hex(bodies.streamed) });
      // Metadata survives a scrub that reads and verifies every copy.
      await vault.scrub();
      expect((await vault.head('bkt', 'small'))?.metadata).toEqual(metadata);
    } finally {
      await vault.close();
    }
  });

  it('a declared Content-MD5 is checked: a match stores it, a mismatch fails with ERR_SV_BAD_DIGEST and leaves nothing', async () => {
    const { vault, disks } = await makeVault();
    try {
      const body = Buffer.alloc(40_000, 5);
      const digest = createHash('md5').update(body).digest();
      await vault.put('bkt', 'hex', body, { md5: digest.toString('hex') });
      await vault.put('bkt', 'b64', body, { md5: digest.toString('base64') });
      await vault.put('bkt', 'raw', Buffer.from('tiny'), { md5: createHash('md5').update('tiny').digest() });
      expect((await vault.head('bkt', 'b64'))?.etag).toBe(digest.toString('hex'));
      const before = shardFileCount(disks);
      const wrong = createHash('md5').update('something else').digest('hex');
      await expect(vault.put('bkt', 'bad-big', body, { md5: wrong })).rejects.toMatchObject({ code: 'ERR_SV_BAD_DIGEST' });
      await expect(vault.put('bkt', 'bad-small', Buffer.from('tiny'), { md5: wrong })).rejects.toMatchObject({ code: 'ERR_SV_BAD_DIGEST' });
      await expect(vault.put('bkt', 'bad-stream', Readable.from([body, body]), { md5: wrong })).rejects.toMatchObject({ code: 'ERR_SV_BAD_DIGEST' });
      await expect(vault.put('bkt', 'hex', Buffer.from('overwrite'), { md5: wrong })).rejects.toMatchObject({ code: 'ERR_SV_BAD_DIGEST' });
      expect(shardFileCount(disks)).toBe(before); // no shard file of the failed puts is left
      expect((await vault.list('bkt')).objects.map((o) => o.key)).toEqual(['b64', 'hex', 'raw']);
      expect(Buffer.from(await vault.getBuffer('bkt', 'hex')).equals(body)).toBe(true);
    } finally {
      await vault.close();
    }
  });

  it('refuses bad metadata options with codes before writing anything', async () => {
    const { vault, disks } = await makeVault();
    try {
      const before = shardFileCount(disks);
      const body = Buffer.alloc(30_000);
      const bad: Array<[object, string]> = [
        [{ metadata: { big: 'v'.repeat(2046) } }, 'ERR_SV_METADATA_TOO_LARGE'],
        [{ metadata: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'value'])) }, 'ERR_SV_METADATA_TOO_LARGE'],
        [{ contentType: 'x'.repeat(256) }, 'ERR_SV_METADATA_TOO_LARGE'],
        [{ metadata: { Upper: 'x' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ metadata: { 'has space': 'x' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ metadata: { ok: 'line\nbreak' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ metadata: { ok: 5 } }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ metadata: 'x=y' }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ contentType: '' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ contentType: 'text/é' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ contentType: 7 }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ md5: 'abc' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ md5: new Uint8Array(15) }, 'ERR_SV_OUT_OF_RANGE'],
        [{ md5: 5 }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ computeMd5: 'yes' }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ contentTyp: 'text/plain' }, 'ERR_SV_UNKNOWN_OPTION'],
      ];
      for (const [o, code] of bad) await expect(vault.put('bkt', 'k', body, o as never), JSON.stringify(o).slice(0, 60)).rejects.toMatchObject({ code });
      await expect(vault.put('bkt', 'k', body, { metadata: { big: 'v'.repeat(2045) } })).resolves.toBeDefined(); // exactly 2 KiB
      expect(shardFileCount(disks)).toBe(before + 3);
    } finally {
      await vault.close();
    }
  });
});
