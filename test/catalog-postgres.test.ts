// The PostgreSQL catalog (lib/catalog/postgres.ts) on a private cluster (test/support/postgres.ts): the catalog
// contract; parity with LMDB (the same operations give the same audit chain, heads, queues and uploads); weak
// durability settings refused at connect (I5); schema versions; exact bigints and values; two catalogs on one
// database appending to one chain; a tampered record found; and PostgreSQL stopped mid-use.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collect, type Catalog, type Head, type PartRecord } from '../lib/catalog/catalog.js';
import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { PostgresCatalog } from '../lib/catalog/postgres.js';
import { ShardVaultError } from '../lib/errors.js';
import { catalogContract, req } from './support/catalog-contract.js';
import { postgresMissing, startPostgres, type PostgresCluster } from './support/postgres.js';
import { tier } from './support/tier.js';

// A tier (test/support/tier.ts): it skips, saying why, when not root or without Debian's PostgreSQL, except
// under SHARDVAULT_CI_REQUIRE_ALL=1 (.ci/run, which installs it), where it fails.
const t = tier('the PostgreSQL catalog', postgresMissing());

const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

/** The same operations on any backend; what they returned and what the catalog holds afterwards. */
async function scenario(cat: Catalog): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const placement = ['d0', 'd1', 'd2'];
  const h = (versionId: string, sequence: bigint, extra: Partial<Head> = {}): Head => ({
    versionId, sequence, manifestHash: 'ab'.repeat(32), tombstone: false, placement, copies: [{ seg: 1, off: 2 }, null, { x: 3 }],
    striped: true, committedMs: 50, size: 10, timeMs: 40, etag: 'e1', ...extra,
  });
  const audit = (timeMs: number, action = 'put') => ({ action, principal: 'alice', timeMs, detail: `t=${timeMs}` });
  const part = (partId: string, size: number): PartRecord => ({
    partId, size, md5: '00'.repeat(16), contentHash: '11'.repeat(32), placement, missing: size === 6 ? [2] : [], hashTable: new Uint8Array([1, 2, 3, size]), timeMs: 30,
  });
  await cat.createBucket('b', 'alice', 1);
  await cat.createBucket('c', 'alice', 2);
  out.c1 = await cat.commit({ bucket: 'b', key: 'k1', expectedSequence: 0n, head: h('v1', 1n), audit: audit(10), repair: [{ disk: 'd1', shard: 1 }, { disk: 'd2', shard: 2, part: 0 }] });
  out.c2 = await cat.commit({ bucket: 'b', key: 'k1', expectedSequence: 1n, head: h('v2', 2n), audit: audit(11) });
  out.lost = await code(cat.commit({ bucket: 'b', key: 'k1', expectedSequence: 1n, head: h('v3', 3n), audit: audit(12) }));
  const items = [{ bucket: 'b', key: 'k1', versionId: 'v1', disk: 'd1', shard: 1 }, { bucket: 'b', key: 'k1', versionId: 'v2', disk: 'd0', shard: 0 }];
  out.queued1 = await cat.queueRepair(items, 'scrub', 20);
  out.queued2 = await cat.queueRepair(items, 'scrub', 21);
  out.queued3 = await cat.queueRepair([{ ...items[1], to: 'd5' }, { ...items[0], part: 3 }], 'drain', 22);
  await cat.completeRepair([{ bucket: 'b', key: 'k1', versionId: 'v1', shard: 1 }], 'repair.done', 'repair', 23);
  await cat.replaceManifest('b', 'k1', { versionId: 'v2', manifestHash: 'ab'.repeat(32), copies: h('v2', 2n).copies }, h('v2', 2n, { manifestHash: 'cd'.repeat(32), placement: ['d5', 'd1', 'd2'] }), [{ shard: 0 }], { action: 'repair', principal: 'repair', timeMs: 24 });
  out.moved = await code(cat.replaceManifest('b', 'k1', { versionId: 'v2', manifestHash: 'ab'.repeat(32) }, h('v2', 2n), [], { action: 'repair', principal: 'repair', timeMs: 25 }));

  await cat.createUpload('b', 'mp', 'u1', { initiatedMs: 30, principal: 'alice', contentType: 'text/plain', metadata: { a: '1', $n: 'like a tag' }, headers: { 'cache-control': 'no' } });
  out.dupUpload = await code(cat.createUpload('b', 'mp', 'u1', { initiatedMs: 30, principal: 'alice' }));
  out.noBucketUpload = await code(cat.createUpload('zz', 'mp', 'u9', { initiatedMs: 30, principal: 'alice' }));
  await cat.commitPart('b', 'mp', 'u1', 1, part('p1', 5), 'alice');
  await cat.commitPart('b', 'mp', 'u1', 2, part('p2', 6), 'alice');
  await cat.commitPart('b', 'mp', 'u1', 1, part('p1b', 7), 'alice'); // replaces p1: its files are garbage
  out.noUploadPart = await code(cat.commitPart('b', 'mp', 'u8', 1, part('x', 1), 'alice'));
  out.parts = await cat.listParts('u1');
  out.partsAfter = await cat.listParts('u1', { after: 1, limit: 1 });
  out.part2 = await cat.getPart('u1', 2);
  await cat.createUpload('b', 'mp', 'u2', { initiatedMs: 31, principal: 'alice' });
  await cat.createUpload('b', 'mq', 'u3', { initiatedMs: 32, principal: 'bob' });
  out.uploads = await cat.listUploads('b', { limit: 10 });
  out.uploadsAfter = await cat.listUploads('b', { after: { key: 'mp', uploadId: 'u1' }, limit: 10 });
  out.uploadsAfterKey = await cat.listUploads('b', { after: { key: 'mp' }, limit: 10 });
  out.uploadsPrefix = await cat.listUploads('b', { prefix: 'mq', limit: 10 });
  out.uploadsLimit = await cat.listUploads('b', { limit: 1 });
  out.upload = await cat.getUpload('b', 'mp', 'u1');
  out.ownerPart = await cat.versionOwner('p2');
  const mp = h('vm', 1n, { parts: [{ partId: 'p1b', placement }, { partId: 'p2', placement }] });
  out.changed = await code(cat.completeUpload({ bucket: 'b', key: 'mp', expectedSequence: 0n, head: mp, audit: audit(33, 'multipart.complete') }, 'u1', [{ partNumber: 1, partId: 'p1' }]));
  out.complete = await cat.completeUpload({ bucket: 'b', key: 'mp', expectedSequence: 0n, head: mp, audit: audit(34, 'multipart.complete'), repair: [{ disk: 'd2', shard: 2, part: 1 }] }, 'u1', [{ partNumber: 1, partId: 'p1b' }, { partNumber: 2, partId: 'p2' }]);
  out.ownerPartAfter = await cat.versionOwner('p2');
  out.ownerReplaced = await cat.versionOwner('p1');
  await cat.commitPart('b', 'mp', 'u2', 1, part('q1', 1), 'alice');
  await cat.abortUpload('b', 'mp', 'u2', 'multipart.abort', 'alice', 40);
  out.abortAgain = await code(cat.abortUpload('b', 'mp', 'u2', 'multipart.abort', 'alice', 41));

  await cat.queueGarbage({ bucket: 'b', key: 'x', head: h('orphan', 0n), supersededMs: 0 });
  out.garbageCommitted = await code(cat.queueGarbage({ bucket: 'b', key: 'k1', head: h('v2', 2n), supersededMs: 0 }));
  await cat.completeGarbage(['v1']);
  await cat.setMeta('pool.config', { k: 4, m: 2, disks: [{ id: 'd0', domain: 'r1' }], big: 7n }, { action: 'pool.init', principal: 'local', timeMs: 50 });
  await cat.setMeta('scrub.cursor', { bucket: 'b', key: 'k1' });
  await cat.setMeta('scrub.cursor', undefined);
  out.meta = [await cat.getMeta('pool.config'), await cat.getMeta('scrub.cursor')];
  out.evidence = await cat.appendAudit({ action: 'auth.fail', principal: 'anon', timeMs: 60, result: 'denied', target: 'b/k', requestId: 'r1', source: '127.0.0.1' });

  // Listing: tombstones stepped over within the scan budget, common prefixes, resumption.
  for (let i = 0; i < 10; i++) await cat.commit({ bucket: 'b', key: `t/${i}`, expectedSequence: 0n, head: h(`t${i}`, 1n), audit: audit(70 + i) });
  for (let i = 1; i < 8; i++) await cat.commit({ bucket: 'b', key: `t/${i}`, expectedSequence: 1n, head: h(`t${i}x`, 2n, { tombstone: true }), audit: audit(80 + i, 'delete') });
  out.pageBudget = await cat.listPage('b', { prefix: 't/', maxKeys: 2, scanMax: 3 });
  out.pageBudgetNext = await cat.listPage('b', { prefix: 't/', maxKeys: 2, scanMax: 3, after: { value: 't/2', isPrefix: false } });
  out.pageDelimiter = await cat.listPage('b', { delimiter: '/', maxKeys: 2 });
  out.pageDelimiterNext = await cat.listPage('b', { delimiter: '/', maxKeys: 2, after: { value: 'mp', isPrefix: false } });
  out.pageAfterPrefix = await cat.listPage('b', { delimiter: '/', maxKeys: 10, after: { value: 't/', isPrefix: true } });
  out.pageAll = await cat.listPage('b', { maxKeys: 100 });

  // A bucket with a deleted key and an upload in progress can go; the upload goes with it (its part to gc).
  await cat.commit({ bucket: 'c', key: 'gone', expectedSequence: 0n, head: h('g1', 1n), audit: audit(90) });
  out.notEmpty = await code(cat.deleteBucket('c', 'alice', 91));
  await cat.commit({ bucket: 'c', key: 'gone', expectedSequence: 1n, head: h('g2', 2n, { tombstone: true }), audit: audit(92, 'delete') });
  await cat.createUpload('c', 'z', 'u4', { initiatedMs: 93, principal: 'alice' });
  await cat.commitPart('c', 'z', 'u4', 1, part('r1', 1), 'alice');
  await cat.deleteBucket('c', 'alice', 94);
  out.noBucket = await code(cat.deleteBucket('c', 'alice', 95));
  out.buckets = await cat.listBuckets();

  out.heads = await collect(cat.heads({ tombstones: true }));
  out.liveHeads = (await collect(cat.heads())).map((e) => e.key);
  out.repair = await collect(cat.repairQueue());
  out.garbage = await collect(cat.garbageQueue());
  out.allUploads = await collect(cat.allUploads());
  out.committed = [await cat.isCommittedVersion('v2'), await cat.isCommittedVersion('orphan')];
  out.audit = await collect(cat.auditLog());
  out.verify = await cat.verifyAudit();
  return out;
}

/** A catalog rebuild on a new catalog, then one refused on a catalog with heads. */
async function rebuild(cat: Catalog): Promise<Record<string, unknown>> {
  const h = (versionId: string, sequence: bigint, extra: Partial<Head> = {}): Head => ({ versionId, sequence, manifestHash: 'ef'.repeat(32), tombstone: false, placement: ['d0'], ...extra });
  await cat.restore([
    { bucket: 'r', key: 'a', head: h('ra2', 2n), older: [h('ra1', 1n)] },
    { bucket: 'r', key: 'm', head: h('rm1', 1n, { parts: [{ partId: 'rp1', placement: ['d1'] }] }), older: [] },
    { bucket: 's', key: 'dead', head: h('rd1', 4n, { tombstone: true }), older: [] },
  ], ['empty', 'r'], { action: 'catalog.rebuild', principal: 'local', timeMs: 5, detail: 'restored 3' });
  return {
    again: await code(cat.restore([], [], { action: 'catalog.rebuild', principal: 'local', timeMs: 6 })),
    buckets: await cat.listBuckets(),
    heads: await collect(cat.heads({ tombstones: true })),
    owners: [await cat.versionOwner('ra1'), await cat.versionOwner('rp1'), await cat.versionOwner('rd1')],
    audit: await collect(cat.auditLog()),
  };
}

describe.skipIf(!t.ready)(`catalog on PostgreSQL${t.why}`, () => {
  let pg: PostgresCluster;
  let admin: Pool;
  const lmdbRoot = mkdtempSync(join(tmpdir(), 'sv-catpg-'));
  let n = 0;
  beforeAll(() => {
    pg = startPostgres();
    admin = new Pool({ connectionString: pg.url, max: 2 });
    admin.on('error', () => undefined); // its idle connections end when the cluster is stopped below
  });
  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    pg?.destroy();
    rmSync(lmdbRoot, { recursive: true, force: true });
  });
  const sql = async (text: string, values: unknown[] = []) => (await admin.query(text, values)).rows as Array<Record<string, unknown>>;

  catalogContract('postgres', { fresh: () => `contract_${n++}`, open: (schema) => PostgresCatalog.open(pg.url, { schema }) });

  it('gives what LMDB gives for the same operations: results, heads, queues, uploads and the same audit chain', async () => {
    const lmdb = await LmdbCatalog.open(join(lmdbRoot, 'parity'));
    const pgc = await PostgresCatalog.open(pg.url, { schema: 'parity' });
    const [want, got] = [await scenario(lmdb), await scenario(pgc)];
    expect(got).toEqual(want);
    expect(got.verify).toBe(-1);
    expect((got.audit as unknown[]).length).toBeGreaterThan(40);
    const [wantRebuild, gotRebuild] = [await rebuild(await LmdbCatalog.open(join(lmdbRoot, 'rebuild'))), await rebuild(await PostgresCatalog.open(pg.url, { schema: 'rebuild' }))];
    expect(gotRebuild).toEqual(wantRebuild);
    expect(gotRebuild.again).toBe('ERR_SV_CONFLICT');
    await Promise.all([lmdb.close(), pgc.close()]);
  });

  it('refuses a server whose commits are not durable (synchronous_commit off or local, fsync off) with ERR_SV_FLOOR', async () => {
    for (const setting of ['off', 'local']) {
      const err = await PostgresCatalog.open({ connectionString: pg.url, options: `-c synchronous_commit=${setting}` }, { schema: 'floor' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_SV_FLOOR' });
      expect((err as Error).message).toContain(`synchronous_commit = ${setting}`);
    }
    for (const setting of ['on', 'remote_write', 'remote_apply']) {
      await (await PostgresCatalog.open({ connectionString: pg.url, options: `-c synchronous_commit=${setting}` }, { schema: 'floor' })).close();
    }
    // Checked on every new connection: a role setting made later reaches the catalog's next connection.
    const cat = await PostgresCatalog.open({ connectionString: pg.url, max: 1, idleTimeoutMillis: 100 }, { schema: 'floor' });
    await cat.createBucket('b', 'alice', 1);
    await sql('ALTER ROLE shardvault SET synchronous_commit = off');
    try {
      await new Promise((r) => setTimeout(r, 1000)); // the idle connection closes (after 100 ms)
      await expect(cat.commit(req('k', 0n, 1n))).rejects.toMatchObject({ code: 'ERR_SV_FLOOR' });
      expect(await cat.getHead('b', 'k').catch((e: { code: string }) => e.code)).toBe('ERR_SV_FLOOR');
    } finally {
      await sql('ALTER ROLE shardvault RESET synchronous_commit');
    }
    await cat.commit(req('k', 0n, 1n));
    await cat.close();
    // fsync is server-wide (reloadable): set off, refused, set back.
    const fsync = async () => (await sql("SELECT current_setting('fsync') AS v"))[0].v;
    const reload = async (want: string) => {
      await sql('SELECT pg_reload_conf()');
      for (let i = 0; i < 100 && (await fsync()) !== want; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await fsync()).toBe(want);
    };
    await sql('ALTER SYSTEM SET fsync = off');
    try {
      await reload('off');
      const err = await PostgresCatalog.open(pg.url, { schema: 'floor' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_SV_FLOOR' });
      expect((err as Error).message).toContain('fsync = off');
    } finally {
      await sql('ALTER SYSTEM RESET fsync');
      await reload('on');
    }
  });

  it('versions its schema: migration 1 once, a newer schema refused with ERR_SV_FORMAT_VERSION; bad targets are clear errors', async () => {
    await (await PostgresCatalog.open(pg.url, { schema: 'versioned' })).close();
    await (await PostgresCatalog.open(pg.url, { schema: 'versioned' })).close();
    expect(await sql('SELECT version FROM versioned.schema_version ORDER BY version')).toEqual([{ version: 1 }]);
    // Two gateways opening one new schema at once: one creates it, the other finds it (the advisory lock).
    const both = await Promise.all([PostgresCatalog.open(pg.url, { schema: 'racing' }), PostgresCatalog.open(pg.url, { schema: 'racing' })]);
    await Promise.all(both.map((c) => c.close()));
    // A gateway's role that may use the tables but create nothing opens the existing catalog and commits.
    await sql('CREATE ROLE gateway LOGIN');
    await sql('GRANT USAGE ON SCHEMA versioned TO gateway');
    await sql('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA versioned TO gateway');
    const gatewayUrl = pg.url.replace('shardvault@', 'gateway@');
    const gw = await PostgresCatalog.open(gatewayUrl, { schema: 'versioned' });
    await gw.createBucket('b', 'alice', 1);
    await gw.commit(req('k', 0n, 1n));
    expect(await gw.verifyAudit()).toBe(-1);
    await gw.close();
    const denied = await PostgresCatalog.open(gatewayUrl, { schema: 'not_yet' }).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
    expect((denied as Error).message).toContain('permission denied');
    await sql('INSERT INTO versioned.schema_version (version, applied_ms) VALUES (2, 0)');
    const err = await PostgresCatalog.open(pg.url, { schema: 'versioned' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_SV_FORMAT_VERSION' });
    expect((err as Error).message).toContain('schema version 2');
    await expect(PostgresCatalog.open(pg.url, { schema: 'no-dashes' })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await expect(PostgresCatalog.open(5 as never)).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    const down = await PostgresCatalog.open('postgresql://shardvault@127.0.0.1:1/shardvault').catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'ERR_SV_CATALOG_FAILED', syscall: 'connect' });
    expect((down as Error).message).toContain('ECONNREFUSED');
  });

  it('keeps u64 sequences and stored values exact', async () => {
    const cat = await PostgresCatalog.open(pg.url, { schema: 'exact' });
    expect(await cat.auditHead()).toBeUndefined();
    await cat.createBucket('b', 'alice', 1);
    const big = 2n ** 63n + 1n; // above int8 and far above Number.MAX_SAFE_INTEGER
    const max = 2n ** 64n - 1n;
    await cat.commit(req('k', 0n, big));
    await cat.commit(req('k', big, max));
    expect((await cat.getHead('b', 'k'))!.sequence).toBe(max);
    expect((await cat.versionOwner(`v${big}`))!.sequence).toBe(big);
    expect(await sql('SELECT generation::text AS g FROM exact.head')).toEqual([{ g: '18446744073709551615' }]);
    await expect(cat.commit(req('k2', 0n, 2n ** 64n))).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await expect(cat.commit(req('k', max - 1n, max))).rejects.toMatchObject({ code: 'ERR_SV_CONFLICT' });
    const tricky = JSON.parse('{"__proto__": {"polluted": true}, "$n": "5", "$$b": 1, "list": [null, "é\\ud83d\\ude00"]}') as Record<string, unknown>;
    Object.assign(tricky, { nested: [{ $b: 'not bytes' }, 7n, new Uint8Array([0, 255, 7])], neg: -3n, empty: {} });
    await cat.setMeta('tricky', tricky);
    const back = (await cat.getMeta<Record<string, unknown>>('tricky'))!;
    expect(back).toEqual({ ...tricky, nested: [{ $b: 'not bytes' }, 7n, Buffer.from([0, 255, 7])] }); // bytes come back as a Buffer, as from LMDB
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expect(cat.setMeta('when', { at: new Date(0) })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    await expect(cat.setMeta('nan', { x: Number.NaN })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    // A multipart object of more parts (and repair items) than one statement carries: its rows go separately.
    const parts = Array.from({ length: 1500 }, (_, i) => ({ partId: `many.p${i}`, placement: ['d0'] }));
    const repair = Array.from({ length: 1200 }, (_, i) => ({ disk: 'd0', shard: 0, part: i }));
    await cat.commit({ ...req('many', 0n, 1n), head: { ...req('many', 0n, 1n).head, versionId: 'many', parts }, repair });
    expect(await cat.versionOwner('many.p1499')).toEqual({ bucket: 'b', key: 'many', sequence: 1n, partOf: 'many' });
    expect((await collect(cat.repairQueue())).filter((r) => r.key === 'many')).toHaveLength(1200);
    // Counts that become LIMITs are checked before a statement is sent.
    await expect(cat.listPage('b', { maxKeys: 1.5 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await expect(cat.listUploads('b', { limit: -1 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await expect(cat.listParts('u', { limit: Number.NaN })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await cat.close();
  });

  it('two catalogs on one database commit concurrently into one valid audit chain; the head CAS picks one writer', async () => {
    const a = await PostgresCatalog.open(pg.url, { schema: 'shared' });
    const b = await PostgresCatalog.open(pg.url, { schema: 'shared' });
    await a.createBucket('b', 'alice', 1);
    const writers = [a, b].flatMap((cat, c) => Array.from({ length: 6 }, (_, w) => (async () => {
      for (let i = 0; i < 8; i++) await cat.commit(req(`c${c}w${w}`, BigInt(i), BigInt(i + 1)));
    })()));
    let wins = 0;
    const racer = (async () => {
      for (let s = 0n; s < 15n; s++) {
        const both = await Promise.allSettled([a.commit(req('hot', s, s + 1n)), b.commit(req('hot', s, s + 1n))]);
        const ok = both.filter((r) => r.status === 'fulfilled');
        expect(ok).toHaveLength(1); // the first of two writers of a new key included (no row to lock yet)
        expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_SV_CONFLICT' } });
        wins++;
      }
    })();
    await Promise.all([...writers, racer]);
    const log = await collect(b.auditLog());
    expect(log).toHaveLength(1 + 2 * 6 * 8 + wins);
    expect(log.map((r) => r.index)).toEqual(log.map((_, i) => i));
    expect(await a.verifyAudit()).toBe(-1);
    expect((await b.getHead('b', 'hot'))!.sequence).toBe(15n);
    // The chain head and single records (the freshness witness's accessors), as either catalog sees them.
    expect(await a.auditHead()).toEqual(log[log.length - 1]);
    expect(await b.auditRecord(5)).toEqual(log[5]);
    for (const bad of [log.length, -1, 1.5]) expect(await a.auditRecord(bad)).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });

  it('orders racing structural changes from two catalogs: one wins, the other gets its code, nothing deadlocks', async () => {
    const a = await PostgresCatalog.open(pg.url, { schema: 'racing_ops' });
    const b = await PostgresCatalog.open(pg.url, { schema: 'racing_ops' });
    const settle = async (...ps: Array<Promise<unknown>>) => (await Promise.allSettled(ps)).map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code));
    const part = (partId: string): PartRecord => ({ partId, size: 1, md5: '00', contentHash: '11', placement: ['d0'], missing: [], hashTable: new Uint8Array(1), timeMs: 1 });
    for (let i = 0; i < 8; i++) {
      // A commit into a bucket against its deletion: the commit lands and the bucket stays, or the bucket goes first.
      await a.createBucket(`x${i}`, 'alice', 1);
      const r1 = await settle(a.commit({ ...req('k', 0n, 1n), bucket: `x${i}` }), b.deleteBucket(`x${i}`, 'bob', 2));
      expect([['ok', 'ERR_SV_BUCKET_NOT_EMPTY'], ['ERR_SV_NO_SUCH_BUCKET', 'ok']]).toContainEqual(r1);
      expect(await b.hasBucket(`x${i}`)).toBe(r1[0] === 'ok');
      // A Complete against an abort of the same upload, and against the deletion of its (emptied) bucket.
      await a.createBucket(`y${i}`, 'alice', 1);
      await a.commit({ ...req('gone', 0n, 1n), bucket: `y${i}` });
      await a.commit({ ...req('gone', 1n, 2n), bucket: `y${i}`, head: { ...req('gone', 1n, 2n).head, tombstone: true } });
      for (const u of ['u1', 'u2']) {
        await a.createUpload(`y${i}`, 'mp', u, { initiatedMs: 1, principal: 'alice' });
        await a.commitPart(`y${i}`, 'mp', u, 1, part(`${u}p${i}`), 'alice');
      }
      const complete = (u: string) => a.completeUpload({ ...req('mp', 0n, 1n), bucket: `y${i}`, head: { ...req('mp', 0n, 1n).head, versionId: `${u}v${i}` } }, u, [{ partNumber: 1, partId: `${u}p${i}` }]);
      const r2 = await settle(complete('u1'), b.abortUpload(`y${i}`, 'mp', 'u1', 'multipart.abort', 'bob', 2));
      expect([['ok', 'ERR_SV_NO_SUCH_UPLOAD'], ['ERR_SV_NO_SUCH_UPLOAD', 'ok']]).toContainEqual(r2);
      const r3 = await settle(b.deleteBucket(`y${i}`, 'bob', 3), r2[0] === 'ok' ? b.abortUpload(`y${i}`, 'mp', 'u2', 'multipart.abort', 'bob', 3) : complete('u2'));
      expect([['ok', 'ERR_SV_NO_SUCH_UPLOAD'], ['ERR_SV_BUCKET_NOT_EMPTY', 'ok']]).toContainEqual(r3);
    }
    expect(await a.verifyAudit()).toBe(-1);
    await Promise.all([a.close(), b.close()]);
  });

  it('finds a record edited or removed in the database', async () => {
    const cat = await PostgresCatalog.open(pg.url, { schema: 'tamper' });
    await cat.createBucket('b', 'alice', 1);
    for (let i = 0n; i < 4n; i++) await cat.commit(req('k', i, i + 1n));
    expect(await cat.verifyAudit()).toBe(-1);
    await sql(`UPDATE tamper.audit SET record = jsonb_set(record::jsonb, '{principal}', '"mallory"')::json WHERE idx = 2`);
    expect(await cat.verifyAudit()).toBe(2);
    await sql('DELETE FROM tamper.audit WHERE idx = 1');
    expect(await cat.verifyAudit()).toBe(1);
    await cat.close();
  });

  // Last: it stops and restarts the cluster.
  it('fails cleanly while PostgreSQL is down; after the restart a new catalog has every commit that resolved', async () => {
    const cat = await PostgresCatalog.open(pg.url, { schema: 'crash' });
    const idle = await PostgresCatalog.open(pg.url, { schema: 'crash' });
    await cat.createBucket('b', 'alice', 1);
    await idle.getHead('b', 'w0'); // it has a pooled connection that the stop will break
    const resolved = new Map<string, bigint>();
    const errors: unknown[] = [];
    const writer = async (w: number) => {
      for (let seq = 0n; ; seq++) {
        try {
          await cat.commit(req(`w${w}`, seq, seq + 1n));
          resolved.set(`w${w}`, seq + 1n);
        } catch (err) {
          errors.push(err); // each writer stops at its first failure: its next expected sequence is unknown
          return;
        }
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    // Stopped once every writer has had commits resolve (however loaded the machine), while they keep going.
    for (let i = 0; i < 1500 && !(resolved.size === 4 && [...resolved.values()].every((s) => s >= 3n)); i++) await new Promise((r) => setTimeout(r, 20));
    await pg.stop('immediate');
    await Promise.all(writers);
    expect(resolved.size).toBe(4);
    expect(errors).toHaveLength(4);
    for (const e of errors) expect(e).toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
    const unknown = errors.filter((e) => (e as ShardVaultError).syscall === 'commit');
    expect(cat.failure === undefined).toBe(unknown.length === 0);
    // While it is down: every request fails at once with the code, reads included; nothing hangs.
    const t0 = Date.now();
    await expect(cat.getHead('b', 'w0')).rejects.toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
    await expect(collect(cat.heads())).rejects.toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
    const down = await idle.commit(req('idle', 0n, 1n)).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
    expect((down as ShardVaultError).syscall).not.toBe('commit'); // known not written: no fence
    expect(idle.failure).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(5000);

    await pg.start();
    const after = await PostgresCatalog.open(pg.url, { schema: 'crash' });
    for (const [key, seq] of resolved) {
      const head = (await after.getHead('b', key))!;
      // The commit in flight at the stop may have landed (its caller was told the outcome is unknown).
      expect(head.sequence === seq || head.sequence === seq + 1n).toBe(true);
    }
    const log = await collect(after.auditLog());
    const heads = await collect(after.heads());
    expect(log.filter((r) => r.action === 'put')).toHaveLength(Number(heads.reduce((sum, h) => sum + h.head.sequence, 0n)));
    expect(await after.verifyAudit()).toBe(-1);
    // The catalog that saw no unknown outcome recovers by itself; the fenced one refuses writes until reopened.
    await idle.commit(req('idle', 0n, 1n));
    expect((await cat.getHead('b', 'idle'))!.sequence).toBe(1n);
    if (cat.failure !== undefined) await expect(cat.commit(req('idle', 1n, 2n))).rejects.toMatchObject({ code: 'ERR_SV_CATALOG_FAILED' });
    await Promise.all([cat.close(), idle.close(), after.close()]);
  });
});
