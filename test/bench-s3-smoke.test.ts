// The S3 daemon benchmark must not rot: bench/s3.mjs --smoke runs every phase (raw Vault and S3 through
// @aws-sdk/client-s3, PUT and GET, each size and concurrency) against startServer() on a small scale, and its
// JSON report has every number the full run records in bench/RESULTS.md. Targets are not checked here (the
// machine varies): only that each is measured.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

const root = join(__dirname, '..');
const ready = existsSync(join(root, 'dist', 'lib', 'server', 'index.js')) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-bench-s3-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('benchmark smoke (S3 daemon)', () => {
  it.skipIf(!ready)(`bench/s3.mjs --smoke${ready ? '' : ' (skipped: dist/lib/server or the addon missing: npx tsc -p tsconfig.json)'}`, () => {
    const res = spawnSync(process.execPath, [join(root, 'bench', 's3.mjs'), '--smoke', '--json'], {
      encoding: 'utf8', timeout: 240_000, env: { ...process.env, BENCH_DIR: work },
    });
    expect(res.status, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
    expect(report.cpu.length).toBeGreaterThan(0);
    expect(report.endpoint).toBe('startServer');
    expect(report.clientChecksums).toBe('when_supported');
    expect(report.results.map((r: { size: string; concurrency: number }) => `${r.size}/c${r.concurrency}`)).toEqual(['4 KiB/c1', '4 KiB/c4', '1 MiB/c1', '1 MiB/c4', '8 MiB/c1', '8 MiB/c4']);
    for (const r of report.results) {
      for (const phase of ['raw_put', 'raw_get', 's3_put', 's3_get']) {
        expect(r[phase].opsPerSec, `${r.size} c${r.concurrency} ${phase}`).toBeGreaterThan(0);
        expect(r[phase].mbPerSec).toBeCloseTo((r[phase].opsPerSec * r.bytes) / 1e6, 3);
        expect(r[phase].lagP99Ms).toBeGreaterThanOrEqual(0);
      }
      expect(r.ratio_put).toBeGreaterThan(0);
      expect(r.ratio_get).toBeGreaterThan(0);
    }
    // Every target of issue 12 is measured: 2 ratios + 2 lags per concurrency of the biggest size, + 4 KiB c16-style ops/s.
    expect(report.checks).toHaveLength(2 * 4 + 1);
    for (const c of report.checks) expect(Number.isFinite(c.value)).toBe(true);
    // The pool and its objects are gone afterwards.
    expect(readdirSync(work)).toEqual([]);
  });
});
