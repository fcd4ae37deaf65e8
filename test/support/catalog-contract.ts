// The contract every Catalog backend keeps (lib/catalog/catalog.ts): compare-and-set commits that write all or
// nothing, re-pointing by compare-and-set, ordered listing, persistence across reopen, paged walks that see
// commits made between pages, opaque copy references, and an audit chain identical to audit-chain.ts'. A
// backend test calls catalogContract with a factory that opens (or reopens) a catalog at a location.
import { describe, expect, it } from 'vitest';

import { auditHash, verifyChain } from '../../lib/catalog/audit-chain.js';
import { collect, type Catalog, type CommitRequest, type ListPageOptions } from '../../lib/catalog/catalog.js';

export interface CatalogBackend {
  /** A new, empty location. */
  fresh(): string;
  /** Opens (creating when empty) the catalog at `where`. */
  open(where: string): Promise<Catalog>;
}

export function req(key: string, expected: bigint, seq: bigint, extra: Partial<CommitRequest> = {}): CommitRequest {
  return {
    bucket: 'b', key, expectedSequence: expected,
    head: { versionId: `v${seq}`, sequence: seq, manifestHash: 'ab'.repeat(32), tombstone: false },
    audit: { action: 'put', principal: 'alice', timeMs: 1000 + Number(seq) }, ...extra,
  };
}

export function catalogContract(name: string, backend: CatalogBackend): void {
  const fresh = () => backend.open(backend.fresh());

  describe(`catalog contract: ${name}`, () => {
    it('commits heads with compare-and-set; a lost race writes nothing', async () => {
      const cat = await fresh();
      await cat.createBucket('b', 'alice', 1);
      await cat.commit(req('k', 0n, 1n));
      expect((await cat.getHead('b', 'k'))?.sequence).toBe(1n);
      await expect(cat.commit(req('k', 0n, 2n))).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
      expect((await cat.getHead('b', 'k'))?.versionId).toBe('v1');
      expect(await collect(cat.auditLog())).toHaveLength(2); // bucket.create + one put: the failed commit left no record
      await cat.commit(req('k', 1n, 2n, { repair: [{ disk: 'd3', shard: 3 }] }));
      expect((await cat.getHead('b', 'k'))?.versionId).toBe('v2');
      expect(await collect(cat.repairQueue())).toEqual([{ bucket: 'b', key: 'k', versionId: 'v2', disk: 'd3', shard: 3 }]);
      expect(await collect(cat.garbageQueue())).toEqual([expect.objectContaining({ bucket: 'b', key: 'k', head: expect.objectContaining({ versionId: 'v1' }) })]);
      expect(await cat.versionOwner('v2')).toMatchObject({ bucket: 'b', key: 'k', sequence: 2n });
      expect(await cat.isCommittedVersion('v9')).toBe(false);
      await expect(cat.commit({ ...req('k', 2n, 3n), bucket: 'nope' })).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
      await cat.close();
    });

    it('re-points a head by compare-and-set on version, manifest hash and copy references, which stay opaque', async () => {
      const cat = await fresh();
      await cat.createBucket('b', 'alice', 1);
      // Any record of numbers is a store's reference: it comes back exactly as given.
      const copies = [{ seg: 0, off: 4096, len: 900 }, { anything: 7, else: 0 }];
      await cat.commit({ ...req('k', 0n, 1n), head: { ...req('k', 0n, 1n).head, placement: ['d0', 'd1'], copies } });
      const head = (await cat.getHead('b', 'k'))!;
      expect(head.copies).toEqual(copies);
      const audit = { action: 'gc.compact', principal: 'gc', timeMs: 5 };
      // Someone else (repair, compaction) re-pointed copy 1 meanwhile: a writer that read the old copies loses.
      await cat.replaceManifest('b', 'k', { versionId: 'v1', manifestHash: head.manifestHash, copies }, { ...head, copies: [copies[0], { seg: 4, off: 4096, len: 900 }] }, [], audit);
      await expect(cat.replaceManifest('b', 'k', { versionId: 'v1', manifestHash: head.manifestHash, copies }, { ...head, copies: [{ seg: 3, off: 0, len: 1 }, copies[1]] }, [], audit)).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
      expect((await cat.getHead('b', 'k'))!.copies![1]).toEqual({ seg: 4, off: 4096, len: 900 });
      await expect(cat.replaceManifest('b', 'k', { versionId: 'v1', manifestHash: 'cd'.repeat(32) }, head, [], audit)).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
      await cat.close();
    });

    it('lists live keys in order with prefix, startAfter, delimiter and limit', async () => {
      const cat = await fresh();
      await cat.createBucket('b', 'alice', 1);
      for (const k of ['a/1', 'a/2', 'a/3', 'b/1', 'c']) await cat.commit(req(k, 0n, 1n));
      await cat.commit({ ...req('a/2', 1n, 2n), head: { versionId: 'v2', sequence: 2n, manifestHash: '00', tombstone: true } });
      const keys = async (o: Partial<ListPageOptions> = {}) => (await cat.listPage('b', { maxKeys: 1000, ...o })).entries.map((e) => ('key' in e ? e.key : `P:${e.prefix}`));
      expect(await keys()).toEqual(['a/1', 'a/3', 'b/1', 'c']);
      expect(await keys({ prefix: 'a/' })).toEqual(['a/1', 'a/3']);
      expect(await keys({ after: { value: 'a/3', isPrefix: false } })).toEqual(['b/1', 'c']);
      expect(await keys({ maxKeys: 2 })).toEqual(['a/1', 'a/3']);
      expect((await cat.listPage('b', { maxKeys: 2 })).truncated).toBe(true);
      expect((await cat.listPage('b', { maxKeys: 4 })).truncated).toBe(false);
      expect(await keys({ delimiter: '/' })).toEqual(['P:a/', 'P:b/', 'c']);
      expect(await keys({ delimiter: '/', after: { value: 'a/', isPrefix: true } })).toEqual(['P:b/', 'c']);
      expect(await cat.listBuckets()).toEqual(['b']);
      expect(await cat.hasBucket('b')).toBe(true);
      expect(await cat.hasBucket('zz')).toBe(false);
      await expect(cat.deleteBucket('b', 'alice', 2)).rejects.toMatchObject({ code: 'ERR_SV_BUCKET_NOT_EMPTY' });
      await expect(cat.createBucket('b', 'alice', 3)).rejects.toMatchObject({ code: 'ERR_SV_BUCKET_EXISTS' });
      await cat.close();
    });

    it('has no audit head before its first record, and commit returns the record that becomes the head', async () => {
      const cat = await fresh();
      expect(await cat.auditHead()).toBeUndefined();
      expect(await cat.auditRecord(0)).toBeUndefined();
      await cat.createBucket('b', 'alice', 1);
      const rec = await cat.commit(req('k', 0n, 1n));
      expect(rec.index).toBe(1);
      expect(await cat.auditHead()).toEqual(rec);
      await cat.close();
    });

    it('persists across reopen, and its audit chain is the one audit-chain.ts computes', async () => {
      const where = backend.fresh();
      let cat = await backend.open(where);
      await cat.createBucket('b', 'alice', 1);
      await cat.commit(req('k', 0n, 1n));
      await cat.appendAudit({ action: 'auth.fail', principal: 'anon', timeMs: 7, result: 'denied', target: 'b/k' });
      await cat.commit(req('k', 1n, 2n));
      await cat.setMeta('pool.config', { poolId: 'p' });
      await cat.close();
      cat = await backend.open(where);
      expect((await cat.getHead('b', 'k'))?.sequence).toBe(2n);
      expect(await cat.getMeta<{ poolId: string }>('pool.config')).toEqual({ poolId: 'p' });
      const log = await collect(cat.auditLog());
      expect(log.map((r) => r.action)).toEqual(['bucket.create', 'put', 'auth.fail', 'put']);
      log.forEach((r, i) => {
        const { hash, ...body } = r;
        expect(body.index).toBe(i);
        expect(auditHash(body)).toBe(hash);
      });
      expect(await verifyChain(log)).toBe(-1);
      expect(await cat.verifyAudit()).toBe(-1);
      // The head and single records are the log's own (the freshness witness compares them across reopens).
      expect(await cat.auditHead()).toEqual(log[3]);
      expect(await cat.auditRecord(1)).toEqual(log[1]);
      expect(await cat.auditRecord(4)).toBeUndefined();
      expect(await cat.auditRecord(-1)).toBeUndefined();
      // The pure verifier finds an edited record (each backend's tamper test is its own).
      expect(await verifyChain(log.map((r, i) => (i === 1 ? { ...r, principal: 'mallory' } : r)))).toBe(1);
      await cat.close();
    });

    it('walks heads and queues a page at a time, seeing commits made between pages', async () => {
      const cat = await fresh();
      await cat.createBucket('b', 'alice', 1);
      const n = 600; // more than two pages of any sensible page size
      const name = (i: number) => `k${String(i).padStart(4, '0')}`;
      for (let i = 0; i < n; i += 2) await cat.commit(req(name(i), 0n, 1n, { repair: [{ disk: 'd1', shard: 0 }] }));
      const seen: string[] = [];
      let added = false;
      for await (const { key } of cat.heads()) {
        seen.push(key);
        if (!added && seen.length === 10) {
          added = true;
          await cat.commit(req(name(n - 1), 0n, 1n)); // after the cursor: the walk must meet it
        }
      }
      expect(seen).toEqual([...Array.from({ length: n / 2 }, (_, i) => name(2 * i)), name(n - 1)]);
      expect((await collect(cat.repairQueue())).length).toBe(n / 2);
      const after = await collect(cat.heads({ after: { bucket: 'b', key: name(n - 10) } }));
      expect(after.map((h) => h.key)).toEqual([name(n - 8), name(n - 6), name(n - 4), name(n - 2), name(n - 1)]);
      await cat.close();
    });

    it('keeps long keys and keys above U+FFFF inside their ranges, in UTF-8 byte order', async () => {
      const cat = await fresh();
      await cat.createBucket('b', 'alice', 1);
      const long = `some/longer/path/${'x'.repeat(80)}.bin`;
      const keys = ['a', long, 'z\u{1F600}', '\uffff', '\u{10FFFF}', 'é', 'ctl\x01\x04'];
      for (const k of keys) await cat.commit(req(k, 0n, 1n, { repair: [{ disk: 'd1', shard: 1 }] }));
      const byteOrder = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const page = await cat.listPage('b', { maxKeys: 1000 });
      expect(page.entries.map((e) => ('key' in e ? e.key : ''))).toEqual(byteOrder);
      expect((await collect(cat.heads())).map((h) => h.key)).toEqual(byteOrder);
      expect((await collect(cat.repairQueue())).map((r) => r.key).sort()).toEqual([...keys].sort());
      expect((await cat.listPage('b', { maxKeys: 1000, prefix: 'z' })).entries).toHaveLength(1);
      await cat.close();
    });

    it('rejects bad names with codes', async () => {
      const cat = await fresh();
      await expect(cat.getHead('b', '')).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(cat.getHead('b\0x', 'k')).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await expect(cat.getHead(5 as never, 'k')).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
      await expect(cat.createBucket('x'.repeat(64), 'a', 1)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
      await cat.close();
    });
  });
}
