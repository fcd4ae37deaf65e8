// One pool run back and forth between the previous release (0.1.0, built from git: test/support/previous-release.ts)
// and this one (issue 13): the old release makes the pool and writes, this release reads exact bytes; this
// release writes before finalize (puts, overwrites, deletes, multipart, metadata), the old release reads every
// byte of it exact and its scrub is clean; this release finalizes; the old release then refuses to open the pool
// (its own check, naming the versions) for every command, never reading anything; this release still reads it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Vault } from '../lib/vault.js';
import { previousPin, previousRelease, previousUnavailable, runPrevious, type CliRun } from './support/previous-release.js';
import { buildMissing, tier } from './support/tier.js';

const work = mkdtempSync(join(tmpdir(), 'sv-mixed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Skipped, saying why, only when the previous release cannot be built (no git or no commit: a packed tarball, a
// shallow clone) or the addon is missing; under SHARDVAULT_CI_REQUIRE_ALL=1 (.ci/run) that is a failure instead.
const { ready, why } = tier('the mixed-version test', [previousUnavailable, ...buildMissing()]);
if (!ready) console.log(`upgrade-mixed:${why}`);

describe.skipIf(!ready)(`a pool between release ${previousPin.release} and this release${why}`, () => {
  const meta = join(work, 'meta');
  const old = (...args: string[]): Promise<CliRun> => runPrevious([...args, '--meta', meta], { cwd: work });
  const ok = async (...args: string[]): Promise<CliRun> => {
    const r = await old(...args);
    expect(r.status, `${previousPin.release} ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  /** What the bucket must hold: key -> exact bytes (absent keys are deleted). */
  const expected = new Map<string, Buffer>();
  const deleted = new Set<string>();
  let started = 0;
  let buildMs = 0;

  beforeAll(() => {
    const built = previousRelease();
    expect(built.version).toBe(previousPin.release);
    buildMs = built.buildMs;
    started = performance.now();
    console.log(`upgrade-mixed: release ${built.version} built in ${Math.round(built.buildMs)} ms (addon ${built.nativeRebuilt ? 'rebuilt' : 'reused: native sources unchanged'})`);
  });

  async function oldReadsEverything(): Promise<void> {
    for (const [key, bytes] of expected) {
      const r = await ok('get', 'bkt', key);
      expect(r.stdout.equals(bytes), `${previousPin.release} get ${key}`).toBe(true);
    }
    for (const key of deleted) {
      const r = await old('get', 'bkt', key);
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/ERR_SV_NOT_FOUND/);
    }
    const ls = await ok('ls', 'bkt', '--json');
    expect((JSON.parse(ls.stdout.toString()) as { keys: string[] }).keys).toEqual([...expected.keys()].sort());
  }

  async function newReadsEverything(v: Vault): Promise<void> {
    for (const [key, bytes] of expected) expect(Buffer.from(await v.getBuffer('bkt', key)).equals(bytes), `get ${key}`).toBe(true);
    for (const key of deleted) expect(await v.head('bkt', key)).toBeUndefined();
    expect((await v.list('bkt')).objects.map((o) => o.key)).toEqual([...expected.keys()].sort());
  }

  it('the previous release makes the pool and writes; this release reads exact bytes and keeps writing format 3', async () => {
    const disks = [0, 1, 2].flatMap((i) => {
      mkdirSync(join(work, `d${i}`));
      return ['--disk', join(work, `d${i}`)];
    });
    await ok('init', ...disks, '-k', '2', '-m', '1', '--block', '4096');
    await ok('mb', 'bkt');
    const files: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['small', randomBytes(100)],
      ['striped', randomBytes(50_000)], // 8 KiB stripes: 7 of them, the last partial
      ['replaced', randomBytes(9000)],
      ['gone', randomBytes(5000)],
    ];
    for (const [key, bytes] of files) {
      writeFileSync(join(work, 'in'), bytes);
      await ok('put', 'bkt', key, join(work, 'in'));
      expected.set(key, bytes);
    }
    const again = randomBytes(12_345);
    writeFileSync(join(work, 'in'), again);
    await ok('put', 'bkt', 'replaced', join(work, 'in'));
    expected.set('replaced', again);
    await ok('rm', 'bkt', 'gone');
    expected.delete('gone');
    deleted.add('gone');

    const v = await Vault.open(meta);
    try {
      expect(v.upgradeStatus()).toMatchObject({ formatVersion: 3, minRelease: '0.1.0', finalizePending: true, previousRelease: previousPin.release });
      await newReadsEverything(v);
    } finally {
      await v.close();
    }
    expect(JSON.parse(readFileSync(join(meta, 'pool.json'), 'utf8')).formatVersion).toBe(3);
  });

  it('this release writes before finalize (puts, metadata, overwrites, deletes, multipart); the previous release reads all of it exact and scrubs clean', async () => {
    const v = await Vault.open(meta, { minPartBytes: 0 });
    try {
      const put = async (key: string, bytes: Buffer, options = {}) => {
        await v.put('bkt', key, bytes, options);
        expected.set(key, bytes);
        deleted.delete(key);
      };
      await put('n-small', randomBytes(300), { contentType: 'text/plain', metadata: { owner: 'ops' } });
      await put('n-striped', randomBytes(41_000), { computeMd5: true });
      await put('n-headers', randomBytes(20_000), { headers: { cacheControl: 'no-cache' } });
      await put('small', randomBytes(77)); // overwrites the previous release's object
      await put('gone', randomBytes(6000)); // brings back a key the previous release deleted
      await v.delete('bkt', 'striped');
      expected.delete('striped');
      deleted.add('striped');
      const { uploadId } = await v.createUpload('bkt', 'n-multi', { contentType: 'application/octet-stream' });
      const parts = [randomBytes(10_000), randomBytes(9000), randomBytes(333)];
      const etags = [];
      for (const [i, p] of parts.entries()) etags.push({ partNumber: i + 1, etag: (await v.putPart('bkt', 'n-multi', uploadId, i + 1, p)).etag });
      await v.completeUpload('bkt', 'n-multi', uploadId, etags);
      expected.set('n-multi', Buffer.concat(parts));
      const aborted = await v.createUpload('bkt', 'n-aborted');
      await v.putPart('bkt', 'n-aborted', aborted.uploadId, 1, randomBytes(5000));
      await v.abortUpload('bkt', 'n-aborted', aborted.uploadId);
      expect(v.upgradeStatus().formatVersion).toBe(3);
      await newReadsEverything(v);
    } finally {
      await v.close();
    }
    await oldReadsEverything();
    const scrub = JSON.parse((await ok('scrub', '--json')).stdout.toString()) as { objects: number; bad: number; repairQueued: number };
    expect(scrub).toMatchObject({ objects: expected.size, bad: 0, repairQueued: 0 });
    await ok('audit', 'verify');
    // And the previous release writes again on top of it, which this release reads.
    const last = randomBytes(4321);
    writeFileSync(join(work, 'in'), last);
    await ok('put', 'bkt', 'n-striped', join(work, 'in'));
    expected.set('n-striped', last);
    const v2 = await Vault.open(meta, { readOnly: true });
    try {
      await newReadsEverything(v2);
    } finally {
      await v2.close();
    }
  });

  it('after finalize the previous release refuses to open the pool, naming the versions, and this release reads it', async () => {
    let v = await Vault.open(meta);
    try {
      await expect(v.rotateKey()).rejects.toMatchObject({ code: 'ERR_SV_UPGRADE_PENDING' }); // not before finalize
      expect(await v.finalizeUpgrade()).toMatchObject({ changed: true, from: 3, formatVersion: 4 });
      // Now what the previous release could not verify: objects signed by a rotated key.
      await v.rotateKey();
      const rotated = randomBytes(22_222);
      await v.put('bkt', 'n-rotated', rotated);
      expected.set('n-rotated', rotated);
    } finally {
      await v.close();
    }
    const poolJson = readFileSync(join(meta, 'pool.json'), 'utf8');
    for (const args of [['get', 'bkt', 'small'], ['ls', 'bkt'], ['scrub'], ['put', 'bkt', 'late', join(work, 'in')], ['rm', 'bkt', 'small'], ['audit']]) {
      const r = await old(...args);
      expect(r.status, `${previousPin.release} ${args.join(' ')}`).not.toBe(0);
      expect(r.stdout.length).toBe(0); // no bytes, no listing: refused before reading anything
      expect(r.stderr).toMatch(/pool format version 4 is not 3/);
    }
    expect(readFileSync(join(meta, 'pool.json'), 'utf8')).toBe(poolJson);
    v = await Vault.open(meta);
    try {
      expect(v.upgradeStatus()).toMatchObject({ formatVersion: 4, finalizePending: false });
      await newReadsEverything(v);
      expect((await v.scrub()).bad).toBe(0);
      expect(await v.verifyAudit()).toBe(-1);
    } finally {
      await v.close();
    }
  });

  it('a pool this release makes with format 3 is one the previous release opens; one at the default format 4 it refuses', async () => {
    const make = async (name: string, format?: number) => {
      const disks = [0, 1, 2].map((i) => {
        mkdirSync(join(work, `${name}-d${i}`));
        return { path: join(work, `${name}-d${i}`) };
      });
      const v = await Vault.init({ disks, metaDir: join(work, `${name}-meta`), k: 2, m: 1, blockBytes: 4096, ...(format !== undefined ? { format } : {}) });
      const body = randomBytes(30_000);
      try {
        await v.createBucket('bkt');
        await v.put('bkt', 'k', body);
      } finally {
        await v.close();
      }
      return { meta: join(work, `${name}-meta`), body };
    };
    const staged = await make('staged', 3);
    let r = await runPrevious(['get', 'bkt', 'k', '--meta', staged.meta], { cwd: work });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.equals(staged.body)).toBe(true);
    r = await runPrevious(['scrub', '--json', '--meta', staged.meta], { cwd: work });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ objects: 1, bad: 0 });
    const fresh = await make('fresh');
    r = await runPrevious(['get', 'bkt', 'k', '--meta', fresh.meta], { cwd: work });
    expect(r.status).not.toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/pool format version 4 is not 3/);
    const seconds = (performance.now() - started) / 1000;
    // Printed, not asserted: the budget (about 2 minutes with the build) is a goal, and a loaded machine is slower.
    console.log(`upgrade-mixed: the tests took ${seconds.toFixed(1)} s after the build (${((seconds * 1000 + buildMs) / 1000).toFixed(1)} s with it)`);
  });
});
