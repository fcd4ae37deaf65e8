// The BLAKE3 and durable-I/O benchmarks must not rot: run each with --smoke.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const built = existsSync(join(root, 'dist', 'lib', 'index.js'));
const work = mkdtempSync(join(tmpdir(), 'sv-bench-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('benchmark smoke (BLAKE3, durable I/O)', () => {
  for (const [file, marker] of [['hash.mjs', /GB\/s, single thread/], ['io.mjs', /sealed files per second/]] as const) {
    it.skipIf(!built)(`bench/${file} --smoke${built ? '' : ' (skipped: dist/ not built)'}`, () => {
      const res = spawnSync(process.execPath, [join(root, 'bench', file), '--smoke'], {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, BENCH_DIR: work },
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^cpu: /m);
      expect(res.stdout).toMatch(/^node: v\d+/m);
      expect(res.stdout).toMatch(marker);
      expect(res.stdout).toMatch(new RegExp(`bench/${file.replace('.', '\\.')}: ok`));
    });
  }
});
