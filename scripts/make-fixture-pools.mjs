// Makes the fixture pools of test/fixtures/pools/ (issue 13: every released pool format stays readable):
//   node scripts/make-fixture-pools.mjs [previous|current ...]    (default: both)
// `previous` builds the pinned previous release from git (scripts/previous-release.mjs, release 0.1.0: pool
// format 3) and makes the pool with its library; `current` compiles this checkout (tsc) and makes one at this
// release's format. Each pool is small (3 disks, 2+1, 1 KiB blocks) and holds: an empty object, a small inline
// one, a striped one of many stripes, an overwritten one, a multipart one, one with a content type, user
// metadata and system headers, and a tombstone; at format 4 also two objects signed by a rotated key of the key
// ring. It is written to test/fixtures/pools/<format>/ as pool.tar.gz
// (disks d0-d2 and meta/ without LMDB's lock file, paths in pool.json relative to the pool directory: the test
// re-homes a copy) beside expected.json: the release that made it, its format, and each object's size, BLAKE3 (hex) and metadata.
// Object bytes come from a seeded generator, so every run makes the same objects (pool ids and keys differ).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

import { blake3 } from '@noble/hashes/blake3.js';

import { buildRelease, pinnedRelease, repoRoot, unavailableReason } from './previous-release.mjs';

const BUCKET = 'fixtures';

/** Mulberry32 bytes (the tests' prng): the same objects on every run. */
function bytes(seed, n) {
  let a = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

const hex = (b) => Buffer.from(b).toString('hex');

async function makePool(library, release, format, outDir) {
  const { Vault } = await import(pathToFileURL(library).href);
  const work = mkdtempSync(join(tmpdir(), `sv-fixture-${format}-`));
  try {
    const disks = [0, 1, 2].map((i) => {
      mkdirSync(join(work, `d${i}`));
      return { path: join(work, `d${i}`), labels: { host: `h${i}` } };
    });
    const metaDir = join(work, 'meta');
    // The previous release's init takes no `format` (it writes only its own).
    const vault = await Vault.init({ disks, metaDir, k: 2, m: 1, blockBytes: 1024, failureDomain: 'host', minPartBytes: 0, ...(release === 'current' ? { format } : {}) });
    const objects = {};
    const put = async (key, body, options = {}) => {
      await vault.put(BUCKET, key, body, options);
      objects[key] = { size: body.length, blake3: hex(blake3(body)), ...options };
    };
    try {
      await vault.createBucket(BUCKET);
      await put('empty', new Uint8Array(0));
      await put('small-inline', bytes(1, 200));
      await put('striped', bytes(2, 40_000)); // 2 KiB stripes: 20 of them, the last partial
      await put('replaced', bytes(3, 3000));
      await put('replaced', bytes(4, 25_000));
      await put('with-metadata', bytes(5, 5000), { contentType: 'text/plain; charset=utf-8', metadata: { owner: 'fixtures', 'x-case': 'v2' } });
      await put('with-headers', bytes(6, 18_000), { headers: { cacheControl: 'max-age=60', contentDisposition: 'attachment' }, computeMd5: true });
      const { uploadId } = await vault.createUpload(BUCKET, 'multipart');
      const parts = [bytes(7, 3000), bytes(8, 3000), bytes(9, 777)];
      const done = [];
      for (const [i, p] of parts.entries()) done.push({ partNumber: i + 1, etag: (await vault.putPart(BUCKET, 'multipart', uploadId, i + 1, p)).etag });
      await vault.completeUpload(BUCKET, 'multipart', uploadId, done);
      const whole = Buffer.concat(parts);
      objects.multipart = { size: whole.length, blake3: hex(blake3(whole)), parts: parts.length };
      await put('deleted', bytes(10, 900));
      await vault.delete(BUCKET, 'deleted');
      delete objects.deleted;
      if (format >= 4) {
        // What only format 4 holds: objects signed by a rotated key of the key ring (0.1.0 knows only pool.key).
        await vault.rotateKey('fixtures');
        await put('rotated-key-inline', bytes(11, 3000));
        await put('rotated-key-striped', bytes(12, 20_000));
      }
    } finally {
      await vault.close();
    }
    // Paths relative to the pool directory: the absolute ones of this temporary directory mean nothing elsewhere.
    const poolJson = JSON.parse(readFileSync(join(metaDir, 'pool.json'), 'utf8'));
    if (poolJson.formatVersion !== format) throw new Error(`release ${release} wrote pool format ${poolJson.formatVersion}, expected ${format}`);
    poolJson.disks = poolJson.disks.map((d) => ({ ...d, path: relative(work, d.path) }));
    writeFileSync(join(metaDir, 'pool.json'), JSON.stringify(poolJson, null, 2));
    mkdirSync(outDir, { recursive: true });
    const tar = spawnSync('tar', ['-czf', join(outDir, 'pool.tar.gz'), '--owner=0', '--group=0', '--numeric-owner', '--exclude=lock.mdb', '-C', work, 'd0', 'd1', 'd2', 'meta'], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    return { objects, deleted: ['deleted'] };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const which = process.argv.slice(2);
const releases = which.length === 0 ? ['previous', 'current'] : which;
for (const release of releases) {
  let library;
  let version;
  let format;
  let cleanup = () => undefined;
  if (release === 'previous') {
    const pin = pinnedRelease();
    const why = unavailableReason(pin);
    if (why !== undefined) throw new Error(`cannot build release ${pin.release}: needs ${why}`);
    const dir = mkdtempSync(join(tmpdir(), `sv-release-${pin.release}-`));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    const built = buildRelease(pin.commit, dir);
    ({ library, version } = built);
    format = pin.poolFormat;
  } else if (release === 'current') {
    const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.json')], { encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
    library = join(repoRoot, 'dist', 'lib', 'index.js');
    version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
    format = (await import(pathToFileURL(join(repoRoot, 'dist', 'lib', 'format', 'versions.js')).href)).POOL_FORMAT;
  } else {
    throw new Error(`unknown release ${release}: give previous or current`);
  }
  try {
    const outDir = join(repoRoot, 'test', 'fixtures', 'pools', String(format));
    const made = await makePool(library, release, format, outDir);
    writeFileSync(join(outDir, 'expected.json'), `${JSON.stringify({ release: version, formatVersion: format, bucket: BUCKET, ...made }, null, 2)}\n`);
    console.log(`pool format ${format} (release ${version}): ${relative(repoRoot, outDir)}`);
  } finally {
    cleanup();
  }
}
