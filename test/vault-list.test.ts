// Paged listing (S3 ListObjectsV2): byte order, prefixes, delimiter roll-up, startAfter, continuation tokens
// that are authenticated and bound to their listing; concatenated pages equal a naive model (fast-check), at
// the catalog with random key sets and through the Vault with tokens.
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Head } from '../lib/catalog/catalog.js';
import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { testPools } from './support/pools.js';

const hasNative = native() !== null;
const pools = testPools('sv-list-');
const root = pools.root;
let n = 0;

const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The naive model: every entry of the whole listing, in order (keys as 'K:key', common prefixes as 'P:prefix'). */
function model(keys: Iterable<string>, prefix: string, delimiter: string | undefined, startAfter: string | undefined): string[] {
  const out: string[] = [];
  for (const k of [...new Set(keys)].sort(byteCompare)) {
    if (!k.startsWith(prefix) || (startAfter !== undefined && byteCompare(k, startAfter) <= 0)) continue;
    const at = delimiter === undefined ? -1 : k.indexOf(delimiter, prefix.length);
    if (at < 0) out.push(`K:${k}`);
    else if (out.at(-1) !== `P:${k.slice(0, at + delimiter!.length)}`) out.push(`P:${k.slice(0, at + delimiter!.length)}`);
  }
  return out;
}

// Characters that stress byte order against UTF-16 order: ASCII below and above '/', 2-, 3- and 4-byte UTF-8,
// U+FFFF (the old range end) and a character above it (a surrogate pair in UTF-16, which sorts below U+E000
// there but above it in UTF-8).
const ALPHABET = ['a', 'b', '/', '-', '.', 'é', '\ue000', '\uffff', '\u{1F600}', '\u{10FFFF}'];
const keyArb = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 5 }).map((cs) => cs.join(''));
const queryArb = fc.record({
  prefix: fc.oneof(fc.constant(''), fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 2 }).map((cs) => cs.join(''))),
  delimiter: fc.option(fc.constantFrom('/', '-', 'é', '\u{1F600}', 'a/', '/b'), { nil: undefined }),
  startAfter: fc.option(keyArb, { nil: undefined }),
  maxKeys: fc.integer({ min: 1, max: 7 }),
});

const head = (i: number, tombstone = false): Head => ({ versionId: `v${i}`, sequence: 1n, manifestHash: 'ab'.repeat(32), tombstone, size: i, timeMs: 1000 + i });

describe('catalog listing', () => {
  it('pages of any size concatenate to the model, for random keys, prefixes, delimiters and start points', async () => {
    await fc.assert(
      // scanMax (the per-page step budget) small too: pages then end early over runs of deleted keys.
      fc.asyncProperty(fc.uniqueArray(keyArb, { minLength: 0, maxLength: 40 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), queryArb, fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }), async (keys, dead, q, scanMax) => {
        const cat = await LmdbCatalog.open(join(root, `c${n++}`));
        try {
          await cat.restore(keys.map((key, i) => ({ bucket: 'bkt', key, head: head(i, dead[i]), older: [] })), ['bkt', 'other'], { action: 'test', principal: 't', timeMs: 1 });
          const live = keys.filter((_, i) => !dead[i]);
          const got: string[] = [];
          let after = q.startAfter === undefined ? undefined : { value: q.startAfter, isPrefix: false };
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(keys.length + 1);
            const page = await cat.listPage('bkt', { prefix: q.prefix, delimiter: q.delimiter, after, maxKeys: q.maxKeys, scanMax });
            expect(page.entries.length).toBeLessThanOrEqual(q.maxKeys);
            if (page.truncated && scanMax === undefined) expect(page.entries.length).toBe(q.maxKeys);
            got.push(...page.entries.map((e) => ('key' in e ? `K:${e.key}` : `P:${e.prefix}`)));
            if (!page.truncated) break;
            after = page.next!;
          }
          expect(got).toEqual(model(live, q.prefix, q.delimiter, q.startAfter));
        } finally {
          await cat.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a run of deleted keys ends a page early (bounded work) but never the listing', async () => {
    const cat = await LmdbCatalog.open(join(root, `c${n++}`));
    const keys = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    await cat.restore(keys.map((key, i) => ({ bucket: 'bkt', key, head: head(i, i > 0 && i < 2499), older: [] })), [], { action: 'test', principal: 't', timeMs: 1 });
    const first = await cat.listPage('bkt', { maxKeys: 5 });
    expect(first.entries.map((e) => ('key' in e ? e.key : ''))).toEqual(['k00000']);
    expect(first.truncated).toBe(true); // stepped over 1000 keys, 999 of them deleted
    let page = first;
    const got = [...first.entries];
    while (page.truncated) {
      page = await cat.listPage('bkt', { maxKeys: 5, after: page.next });
      got.push(...page.entries);
    }
    expect(got.map((e) => ('key' in e ? e.key : ''))).toEqual(['k00000', 'k02499']);
    await cat.close();
  });

  it('a delimiter listing seeks past rolled-up keys, and more than 1000 keys are never cut silently', async () => {
    const cat = await LmdbCatalog.open(join(root, `c${n++}`));
    const keys = [...Array.from({ length: 1500 }, (_, i) => `dir/${String(i).padStart(5, '0')}`), 'top1', 'top2'];
    await cat.restore(keys.map((key, i) => ({ bucket: 'bkt', key, head: head(i), older: [] })), [], { action: 'test', principal: 't', timeMs: 1 });
    const first = await cat.listPage('bkt', { maxKeys: 1000 });
    expect(first.entries).toHaveLength(1000);
    expect(first.truncated).toBe(true);
    const rolled = await cat.listPage('bkt', { delimiter: '/', maxKeys: 1000 });
    expect(rolled.entries.map((e) => ('key' in e ? e.key : e.prefix))).toEqual(['dir/', 'top1', 'top2']);
    expect(rolled.truncated).toBe(false);
    await cat.close();
  });
});

const makeVault = async () => (await pools.make({ buckets: ['bkt', 'other'] })).vault;

describe.skipIf(!hasNative)(`vault listing${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('pages with authenticated continuation tokens concatenate to the model; sizes, times and order are right', async () => {
    const vault = await makeVault();
    try {
      const keys = fc.sample(fc.uniqueArray(keyArb, { minLength: 30, maxLength: 30 }), { numRuns: 1, seed: 42 })[0];
      await Promise.all(keys.map((k, i) => vault.put('bkt', k, Buffer.alloc(i + 1, 7))));
      await vault.put('bkt', 'big/x', Buffer.alloc(100_000, 1)); // striped, not inline
      await vault.delete('bkt', keys[0]);
      const live = [...keys.slice(1), 'big/x'];
      const all = await vault.list('bkt');
      expect(all.isTruncated).toBe(false);
      expect(all.nextContinuationToken).toBeUndefined();
      expect(all.objects.map((o) => o.key)).toEqual([...live].sort(byteCompare));
      for (const o of all.objects) {
        expect(o.size).toBe(o.key === 'big/x' ? 100_000 : keys.indexOf(o.key) + 1);
        expect(o.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(o.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
      }
      await fc.assert(
        fc.asyncProperty(queryArb, async (q) => {
          const got: string[] = [];
          let continuationToken: string | undefined;
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(live.length + 1);
            const page = await vault.list('bkt', { prefix: q.prefix, delimiter: q.delimiter, startAfter: q.startAfter, continuationToken, maxKeys: q.maxKeys });
            expect(page.objects.length + page.commonPrefixes.length).toBeLessThanOrEqual(q.maxKeys);
            // Within a page, objects and prefixes interleave in order; the model's page is the same set.
            got.push(...[...page.objects.map((o) => `K:${o.key}`), ...page.commonPrefixes.map((p) => `P:${p}`)].sort((x, y) => byteCompare(x.slice(2), y.slice(2))));
            expect(page.isTruncated).toBe(page.nextContinuationToken !== undefined);
            if (!page.isTruncated) break;
            continuationToken = page.nextContinuationToken;
          }
          expect(got).toEqual(model(live, q.prefix, q.delimiter, q.startAfter));
        }),
        { numRuns: 80 },
      );
    } finally {
      await vault.close();
    }
  });

  it('refuses forged, altered and foreign tokens with ERR_SV_INVALID_TOKEN, and bad options with codes', async () => {
    const vault = await makeVault();
    try {
      for (const k of ['a/1', 'a/2', 'a/3', 'b']) await vault.put('bkt', k, Buffer.from(k));
      const page = await vault.list('bkt', { prefix: 'a/', maxKeys: 1 });
      expect(page.objects.map((o) => o.key)).toEqual(['a/1']);
      const token = page.nextContinuationToken!;
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect((await vault.list('bkt', { prefix: 'a/', continuationToken: token })).objects.map((o) => o.key)).toEqual(['a/2', 'a/3']);
      const bad = async (o: object, code: string) => expect(vault.list('bkt', o)).rejects.toMatchObject({ code });
      await bad({ prefix: 'a/', continuationToken: token.slice(0, -2) }, 'ERR_SV_INVALID_TOKEN');
      for (let i = 0; i < token.length; i += 3) {
        const c = token[i] === 'A' ? 'B' : 'A';
        await bad({ prefix: 'a/', continuationToken: token.slice(0, i) + c + token.slice(i + 1) }, 'ERR_SV_INVALID_TOKEN');
      }
      // A token whose payload was rewritten (to list another prefix from a chosen position) fails its tag.
      const raw = Buffer.from(token, 'base64url');
      const forged = Buffer.concat([Buffer.from(JSON.stringify([1, 'bkt', '', null, '', 0])), raw.subarray(raw.length - 16)]).toString('base64url');
      await bad({ continuationToken: forged }, 'ERR_SV_INVALID_TOKEN');
      await bad({ continuationToken: token }, 'ERR_SV_INVALID_TOKEN'); // other prefix
      await bad({ prefix: 'a/', delimiter: '/', continuationToken: token }, 'ERR_SV_INVALID_TOKEN');
      await expect(vault.list('other', { prefix: 'a/', continuationToken: token })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_TOKEN' });
      await bad({ continuationToken: 'x'.repeat(20_000) }, 'ERR_SV_INVALID_TOKEN');
      await bad({ continuationToken: '' }, 'ERR_SV_INVALID_TOKEN');
      await bad({ continuationToken: 5 }, 'ERR_SV_INVALID_TOKEN');
      await bad({ maxKeys: 0 }, 'ERR_SV_OUT_OF_RANGE');
      await bad({ maxKeys: 1001 }, 'ERR_SV_OUT_OF_RANGE');
      await bad({ maxKeys: '5' }, 'ERR_SV_INVALID_ARG_TYPE');
      await bad({ delimiter: '' }, 'ERR_SV_OUT_OF_RANGE');
      await bad({ prefix: 'a\0' }, 'ERR_SV_OUT_OF_RANGE');
      await bad({ limit: 5 }, 'ERR_SV_UNKNOWN_OPTION');
      await expect(vault.list('nope')).rejects.toMatchObject({ code: 'ERR_SV_NO_SUCH_BUCKET' });
    } finally {
      await vault.close();
    }
  });

  it('heads written before heads carried size and time are listed from their verified manifests', async () => {
    const made = await pools.make({ buckets: ['bkt', 'other'] });
    let vault = made.vault;
    try {
      await vault.put('bkt', 'old-inline', Buffer.from('twelve bytes'), { computeMd5: true });
      await vault.put('bkt', 'old-striped', Buffer.alloc(60_000, 3));
      // Rewrite the heads in the legacy shape behind the closed vault's back, then reopen it.
      await vault.close();
      const catalog = await LmdbCatalog.open(join(made.base, 'meta', 'catalog'));
      for (const key of ['old-inline', 'old-striped']) {
        const h = (await catalog.getHead('bkt', key))!;
        const { size: _s, timeMs: _t, etag: _e, ...legacy } = h;
        await catalog.replaceManifest('bkt', key, { versionId: h.versionId, manifestHash: h.manifestHash, copies: h.copies }, legacy, [], { action: 'test', principal: 't', timeMs: 1 });
        expect((await catalog.getHead('bkt', key))!.size).toBeUndefined();
      }
      await catalog.close();
      vault = await Vault.open(join(made.base, 'meta'));
      const { objects } = await vault.list('bkt');
      expect(objects.map((o) => [o.key, o.size])).toEqual([['old-inline', 12], ['old-striped', 60_000]]);
      expect(objects[0].etag).toMatch(/^[0-9a-f]{32}$/);
      expect(objects[1].etag).toBeUndefined();
      expect(objects[0].lastModified.getTime()).toBe((await vault.head('bkt', 'old-inline'))!.timeMs);
    } finally {
      await vault.close();
    }
  });
});
