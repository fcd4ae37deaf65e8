// What the S3 daemon needs from a put (issue 12): conditional writes decided under the key's lock at commit
// (If-None-Match: * and If-Match as a compare-and-set: of two racing creates exactly one wins, and a failed
// condition leaves no file behind), S3 system headers and stored checksums in the signed manifest (v3),
// returned by head() after a reopen and after a catalog rebuild from the disks, and evidence records appended
// to the audit chain.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { copyPayload } from './support/copies.js';
import { testPools } from './support/pools.js';

const hasNative = native() !== null;
const pools = testPools('sv-cond-');
const md5hex = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Every file under the disks' objects/ directories (shard files). */
function shardFileCount(disks: Array<{ path: string }>): number {
  let count = 0;
  for (const d of disks) {
    for (const fan of readdirSync(join(d.path, 'objects'))) count += readdirSync(join(d.path, 'objects', fan)).length;
  }
  return count;
}

/** A stream that yields `first`, then waits for `gate` before yielding `rest` (to hold a put before its commit). */
function gated(first: Uint8Array, rest: Uint8Array, gate: Promise<void>): Readable {
  return Readable.from((async function* () {
    yield first;
    await gate;
    yield rest;
  })());
}

describe.skipIf(!hasNative)(`conditional puts, system headers, checksums, audit${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('ifNoneMatch: of racing creates exactly one wins (striped and inline); the losers leave no files', async () => {
    const { vault, disks } = await pools.make();
    try {
      for (const [name, size] of [['big', 60_000], ['small', 100]] as const) {
        const bodies = Array.from({ length: 4 }, (_, i) => Buffer.alloc(size, i + 1));
        const results = await Promise.allSettled(bodies.map((b) => vault.put('bkt', name, b, { ifNoneMatch: '*', computeMd5: true })));
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won.length, name).toBe(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
        const winner = bodies[results.findIndex((r) => r.status === 'fulfilled')];
        expect(Buffer.from(await vault.getBuffer('bkt', name)).equals(winner)).toBe(true);
        expect((await vault.head('bkt', name))?.etag).toBe(md5hex(winner));
      }
      // Only the winner's shard files exist (3 disks, one striped object; the inline one has none).
      expect(shardFileCount(disks)).toBe(3);
      // A racing create with streamed bodies: both pass the early check, only one can commit.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const a = vault.put('bkt', 'streamed', gated(Buffer.alloc(30_000, 1), Buffer.alloc(30_000, 2), gate), { ifNoneMatch: '*' });
      const b = vault.put('bkt', 'streamed', gated(Buffer.alloc(30_000, 3), Buffer.alloc(30_000, 4), gate), { ifNoneMatch: '*' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      open();
      const streamed = await Promise.allSettled([a, b]);
      expect(streamed.filter((r) => r.status === 'fulfilled').length).toBe(1);
      expect(streamed.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_SV_PRECONDITION_FAILED' } });
      expect(shardFileCount(disks)).toBe(6);
      // A deleted key can be created again; an existing one cannot, and the refusal writes nothing.
      await vault.delete('bkt', 'small');
      await vault.put('bkt', 'small', Buffer.from('again'), { ifNoneMatch: '*' });
      await expect(vault.put('bkt', 'big', Buffer.alloc(60_000, 9), { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      expect(shardFileCount(disks)).toBe(6);
    } finally {
      await vault.close();
    }
  });

  it('ifMatch: the live ETag (quoted or not) must match at commit; a stale ETag fails and leaves no files', async () => {
    const { vault, disks } = await pools.make();
    try {
      const v1 = Buffer.alloc(50_000, 1);
      await vault.put('bkt', 'k', v1, { computeMd5: true });
      const etag1 = md5hex(v1);
      const v2 = Buffer.alloc(50_000, 2);
      await vault.put('bkt', 'k', v2, { computeMd5: true, ifMatch: `"${etag1}"` });
      expect((await vault.head('bkt', 'k'))?.etag).toBe(md5hex(v2));
      const files = shardFileCount(disks);
      // Early refusal: the ETag is already stale before the body is read.
      await expect(vault.put('bkt', 'k', Buffer.alloc(50_000, 3), { ifMatch: etag1 })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      await expect(vault.put('bkt', 'k', Buffer.from('tiny'), { ifMatch: etag1.toUpperCase() })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      await expect(vault.put('bkt', 'none', Buffer.from('x'), { ifMatch: '*' })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      // Refusal at commit: the condition held when the put started, another put replaced the object while its
      // body streamed; its shard files (written, not yet sealed) are removed.
      const etag2 = md5hex(v2);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const late = vault.put('bkt', 'k', gated(Buffer.alloc(40_000, 4), Buffer.alloc(40_000, 5), gate), { ifMatch: etag2, computeMd5: true });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const v3 = Buffer.alloc(50_000, 6);
      await vault.put('bkt', 'k', v3, { computeMd5: true, ifMatch: etag2 });
      open();
      await expect(late).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      expect(shardFileCount(disks)).toBe(files + 3); // v3's files; none of the late put's (v2's go with gc)
      expect(Buffer.from(await vault.getBuffer('bkt', 'k')).equals(v3)).toBe(true);
      // An object stored without an MD5 has no ETag: only '*' matches it.
      await vault.put('bkt', 'plain', Buffer.alloc(20_000));
      await expect(vault.put('bkt', 'plain', Buffer.from('x'), { ifMatch: etag2 })).rejects.toMatchObject({ code: 'ERR_SV_PRECONDITION_FAILED' });
      await vault.put('bkt', 'plain', Buffer.from('y'), { ifMatch: '*' });
      // Bad conditions are refused with codes before anything else happens.
      await expect(vault.put('bkt', 'k', Buffer.from('x'), { ifNoneMatch: 'abc' as never })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(vault.put('bkt', 'k', Buffer.from('x'), { ifMatch: 'not-an-etag' })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(vault.put('bkt', 'k', Buffer.from('x'), { ifMatch: 5 as never })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    } finally {
      await vault.close();
    }
  });

  it('system headers and checksums round-trip through head(), a reopen and a catalog rebuild from the disks', async () => {
    const { vault: first, base } = await pools.make();
    const meta = join(base, 'meta');
    const headers = { contentEncoding: 'gzip', contentDisposition: 'attachment; filename="a b.txt"', cacheControl: 'max-age=60, public', expires: 'Thu, 01 Dec 2094 16:00:00 GMT', contentLanguage: 'en-GB' };
    const body = Buffer.alloc(70_000, 7);
    const sha256 = { algorithm: 'sha256' as const, value: createHash('sha256').update(body).digest('base64') };
    const crc = { algorithm: 'crc32c' as const, value: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64') };
    let vault = first;
    try {
      await vault.put('bkt', 'striped', body, { headers, checksum: sha256, contentType: 'text/plain', computeMd5: true });
      await vault.put('bkt', 'inline', Buffer.from('small'), { headers: { cacheControl: 'no-cache' }, checksum: crc });
      await vault.put('bkt', 'only-checksum', Buffer.alloc(30_000, 1), { checksum: { algorithm: 'crc64nvme', value: Buffer.alloc(8, 0xab).toString('base64') } });
      await vault.put('bkt', 'plain', Buffer.from('none'));
      const check = async (v: Vault, when: string) => {
        expect(await v.head('bkt', 'striped'), when).toMatchObject({ headers, checksum: sha256, contentType: 'text/plain', etag: md5hex(body) });
        expect(await v.head('bkt', 'inline'), when).toMatchObject({ headers: { cacheControl: 'no-cache' }, checksum: crc });
        expect((await v.head('bkt', 'only-checksum'))?.checksum, when).toEqual({ algorithm: 'crc64nvme', value: Buffer.alloc(8, 0xab).toString('base64') });
        const plain = await v.head('bkt', 'plain');
        expect(plain?.headers, when).toEqual({});
        expect(plain?.checksum, when).toBeUndefined();
        expect(Buffer.from(await v.getBuffer('bkt', 'striped')).equals(body), when).toBe(true);
      };
      await check(vault, 'after put');
      // v3 only where there is a v3 field; v1 stays v1.
      const version = async (key: string) => copyPayload((await vault.locate('bkt', key))!.shards[0].copy!).readUInt16BE(8);
      expect([await version('striped'), await version('inline'), await version('only-checksum'), await version('plain')]).toEqual([3, 3, 3, 1]);
      await vault.close();
      vault = await Vault.open(meta);
      await check(vault, 'after reopen');
      await vault.close();
      const rebuilt = await Vault.rebuildCatalog(meta);
      expect(rebuilt.objects).toBe(4);
      vault = await Vault.open(meta);
      await check(vault, 'after catalog rebuild');
      // ifMatch works against the rebuilt heads' ETags too.
      await vault.put('bkt', 'striped', Buffer.from('replaced'), { ifMatch: md5hex(body) });
    } finally {
      await vault.close();
    }
  });

  it('refuses bad headers and checksums with codes before writing anything', async () => {
    const { vault, disks } = await pools.make();
    try {
      const body = Buffer.alloc(30_000);
      const bad: Array<[object, string]> = [
        [{ headers: { cacheControl: 'a\r\nx-injected: 1' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ headers: { contentDisposition: 'fichier é' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ headers: { expires: '' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ headers: { expires: 'x'.repeat(1025) } }, 'ERR_SV_METADATA_TOO_LARGE'],
        [{ headers: { contentType: 'text/plain' } }, 'ERR_SV_UNKNOWN_OPTION'],
        [{ headers: { cacheControl: 5 } }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ headers: 'gzip' }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ checksum: { algorithm: 'md5', value: 'AAAA' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ checksum: { algorithm: 'crc32', value: Buffer.alloc(5).toString('base64') } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ checksum: { algorithm: 'crc32', value: 'not base64!' } }, 'ERR_SV_OUT_OF_RANGE'],
        [{ checksum: { algorithm: 'sha1', value: 7 } }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ checksum: { algorithm: 'sha1', value: Buffer.alloc(20).toString('base64'), extra: 1 } }, 'ERR_SV_UNKNOWN_OPTION'],
        [{ checksum: 'crc32' }, 'ERR_SV_INVALID_ARG_TYPE'],
      ];
      for (const [o, code] of bad) await expect(vault.put('bkt', 'k', body, o as never), JSON.stringify(o).slice(0, 80)).rejects.toMatchObject({ code });
      expect(shardFileCount(disks)).toBe(0);
      await expect(vault.put('bkt', 'k', body, { headers: { expires: 'x'.repeat(1024) } })).resolves.toBeDefined(); // exactly the bound
    } finally {
      await vault.close();
    }
  });

  it('appendAudit adds bounded evidence records to the same hash chain, which still verifies after a reopen', async () => {
    const { vault: first, base } = await pools.make();
    let vault = first;
    try {
      await vault.put('bkt', 'k', Buffer.from('x'));
      await vault.appendAudit({ principal: 'AKIAEXAMPLE', action: 'auth.fail', target: 'bkt/k', result: 'SignatureDoesNotMatch', requestId: 'req-1', source: '127.0.0.1:5555', detail: 'count=3' });
      await vault.appendAudit({ principal: 'root', action: 'key.create', result: 'ok' });
      const log = (await vault.auditLog());
      const last = log.slice(-2);
      expect(last[0]).toMatchObject({ principal: 'AKIAEXAMPLE', action: 'auth.fail', target: 'bkt/k', result: 'SignatureDoesNotMatch', requestId: 'req-1', source: '127.0.0.1:5555', detail: 'count=3' });
      expect(last[1]).toMatchObject({ principal: 'root', action: 'key.create', result: 'ok' });
      expect(last[1].target).toBeUndefined();
      expect(last[0].prevHash).toBe(log[log.length - 3].hash);
      expect((await vault.verifyAudit())).toBe(-1);
      const bad: Array<[object, string]> = [
        [{ principal: 'p', action: 'a' }, 'ERR_SV_INVALID_ARG_TYPE'], // result is required
        [{ principal: '', action: 'a', result: 'ok' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ principal: 'p', action: 'has space', result: 'ok' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ principal: 'p', action: 'a'.repeat(65), result: 'ok' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ principal: 'p', action: 'a', result: 'ok', detail: 'd'.repeat(1025) }, 'ERR_SV_OUT_OF_RANGE'],
        [{ principal: 'p', action: 'a', result: 'ok', source: 'line\nbreak' }, 'ERR_SV_OUT_OF_RANGE'],
        [{ principal: 'p', action: 'a', result: 'ok', requestId: 5 }, 'ERR_SV_INVALID_ARG_TYPE'],
        [{ principal: 'p', action: 'a', result: 'ok', when: 1 }, 'ERR_SV_UNKNOWN_OPTION'],
      ];
      for (const [r, code] of bad) await expect(vault.appendAudit(r as never), JSON.stringify(r).slice(0, 60)).rejects.toMatchObject({ code });
      expect((await vault.auditLog()).length).toBe(log.length);
      await vault.close();
      vault = await Vault.open(join(base, 'meta'));
      expect((await vault.verifyAudit())).toBe(-1);
      expect((await vault.auditLog()).slice(-2)[0].result).toBe('SignatureDoesNotMatch');
      await vault.close();
      const reader = await Vault.open(join(base, 'meta'), { readOnly: true });
      try {
        await expect(reader.appendAudit({ principal: 'p', action: 'a', result: 'ok' })).rejects.toMatchObject({ code: 'ERR_SV_READ_ONLY' });
      } finally {
        await reader.close();
      }
      vault = await Vault.open(join(base, 'meta'));
    } finally {
      await vault.close();
    }
  });
});
