#!/usr/bin/env node
// Catalog benchmark (issue 16): small commits per second (one head compare-and-set + version entry + audit
// record each, as a 4 KiB put commits) on the LMDB catalog and on the PostgreSQL catalog, sequentially and with
// 32 commits in flight (distinct keys), in one run on one filesystem. PostgreSQL is a private cluster started
// by scripts/pg-up.sh (as root it runs as the postgres user) and stopped by scripts/pg-down.sh.
// Usage: npx tsc -p . && node bench/catalog.mjs [--commits N]   (docs/catalog-postgres.md has results)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'lib', 'catalog');
const { LmdbCatalog } = await import(join(dist, 'lmdb.js'));
const { PostgresCatalog } = await import(join(dist, 'postgres.js'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const COMMITS = arg('--commits', 2000);
const CONCURRENCY = 32;

const commitReq = (key, seq) => ({
  bucket: 'b', key, expectedSequence: seq - 1n,
  head: { versionId: `${key}.${seq}`, sequence: seq, manifestHash: 'ab'.repeat(32), tombstone: false, placement: ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'], copies: [0, 1, 2, 3, 4, 5].map((i) => ({ seg: 0, off: i * 4096, len: 900 })), striped: false, committedMs: Date.now(), size: 4096, timeMs: Date.now(), etag: 'e' },
  audit: { action: 'put', principal: 'bench', timeMs: Date.now(), detail: 'size=4096' },
});

/** Commits per second: `n` commits, `inFlight` at a time, each worker on its own keys. */
async function rate(cat, label, n, inFlight) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    for (let i = next++; i < n; i = next++) await cat.commit(commitReq(`${label}/${i}`, 1n));
  }));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / s;
}

async function measure(name, cat) {
  await cat.createBucket('b', 'bench', 1);
  await rate(cat, 'warm', 100, 1);
  const seq = await rate(cat, 'seq', COMMITS, 1);
  const conc = await rate(cat, 'conc', COMMITS, CONCURRENCY);
  if ((await cat.verifyAudit()) !== -1) throw new Error(`${name}: the audit chain does not verify`);
  return { name, sequential: seq, concurrent: conc };
}

const work = mkdtempSync(join(tmpdir(), 'sv-bench-cat-'));
const pgDir = mkdtempSync(join(tmpdir(), 'sv-bench-pg-')); // its own: pg-up.sh hands it to the postgres user
const scripts = join(here, '..', 'scripts');
const results = [];
try {
  const lmdb = await LmdbCatalog.open(join(work, 'lmdb'));
  results.push(await measure('LMDB', lmdb));
  await lmdb.close();
  const port = 20000 + Math.floor(Math.random() * 30000);
  const url = execFileSync(join(scripts, 'pg-up.sh'), [pgDir, String(port)], { encoding: 'utf8' }).trim();
  try {
    for (const max of [10, CONCURRENCY]) {
      const pg = await PostgresCatalog.open({ connectionString: url, max }, { schema: `bench_${max}` });
      results.push(await measure(`PostgreSQL (pool of ${max})`, pg));
      await pg.close();
    }
  } finally {
    execFileSync(join(scripts, 'pg-down.sh'), [pgDir]);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(pgDir, { recursive: true, force: true });
}
console.log(`catalog commits/s, ${COMMITS} small commits each; ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${tmpdir()}`);
console.log('backend                     sequential   32 in flight');
for (const r of results) console.log(`${r.name.padEnd(28)}${r.sequential.toFixed(0).padStart(10)}   ${r.concurrent.toFixed(0).padStart(12)}`);
