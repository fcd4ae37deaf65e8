// The LMDB catalog's own cases (the backend-agnostic ones are the contract, test/catalog-contract.test.ts):
// tampering with the stored audit chain behind its back, and the format-1 -> 2 key migration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';

import { collect } from '../lib/catalog/catalog.js';
import { CATALOG_FORMAT, LmdbCatalog } from '../lib/catalog/lmdb.js';
import { req } from './support/catalog-contract.js';

const root = mkdtempSync(join(tmpdir(), 'sv-cat-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `c${n++}`);


describe('catalog: LMDB only', () => {
  it('persists across reopen and detects audit tampering', async () => {
    const path = fresh();
    let cat = await LmdbCatalog.open(path);
    await cat.createBucket('b', 'alice', 1);
    await cat.commit(req('k', 0n, 1n));
    await cat.commit(req('k', 1n, 2n));
    await cat.close();
    cat = await LmdbCatalog.open(path);
    expect((await cat.getHead('b', 'k'))?.sequence).toBe(2n);
    expect((await cat.verifyAudit())).toBe(-1);
    await cat.close();
    // Rewrite one record behind the catalog's back (a malicious or buggy writer).
    const raw = open({ path, keyEncoding: 'binary' });
    const key = [...raw.getKeys({ start: Buffer.from('audit\0'), end: Buffer.from('audit\x01') })].map((k) => Buffer.from(k as Uint8Array))[1];
    raw.putSync(key, { ...(raw.get(key) as object), principal: 'mallory' });
    await raw.close();
    cat = await LmdbCatalog.open(path);
    expect((await cat.verifyAudit())).toBe(1);
    await cat.close();
  });

  it('migrates a format-1 catalog (ordered-binary string keys, short and long) to byte keys at open', async () => {
    const path = fresh();
    const raw = open({ path, compression: false }); // as releases before issue 10 wrote it
    const long = `k/${'y'.repeat(70)}`;
    const head = (v: string) => ({ versionId: v, sequence: 1n, manifestHash: 'ab'.repeat(32), tombstone: false });
    await raw.put('bucket\0b', { createdMs: 1 });
    await raw.put('head\0b\0short', head('v1'));
    await raw.put(`head\0b\0${long}`, head('v2'));
    await raw.put('head\0b\0ctl\x04\x01', head('v3'));
    await raw.put('vid\0v1', { bucket: 'b', key: 'short', sequence: 1n });
    await raw.put(`repair\0b\0${long}\0v2\x003`, { disk: 'd3', shard: 3 });
    await raw.put('meta\0pool.config', { poolId: 'p' });
    await raw.close();
    const cat = await LmdbCatalog.open(path);
    expect(await cat.getMeta('catalog.format')).toBe(CATALOG_FORMAT);
    expect((await cat.listBuckets())).toEqual(['b']);
    expect((await collect(cat.heads())).map((h) => h.key)).toEqual(['ctl\x04\x01', long, 'short']);
    expect((await cat.getHead('b', 'short'))?.versionId).toBe('v1');
    expect(await cat.isCommittedVersion('v1')).toBe(true);
    expect(await collect(cat.repairQueue())).toEqual([{ bucket: 'b', key: long, versionId: 'v2', disk: 'd3', shard: 3 }]);
    expect((await cat.getMeta<{ poolId: string }>('pool.config'))?.poolId).toBe('p');
    await cat.close();
    const again = await LmdbCatalog.open(path); // idempotent
    expect((await collect(again.heads()))).toHaveLength(3);
    await again.close();
  });

});
