// The engine benchmark must not rot: run bench/vault.mjs --smoke.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

const root = join(__dirname, '..');
const ready = existsSync(join(root, 'dist', 'lib', 'index.js')) && native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-bench-vault-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('benchmark smoke (vault)', () => {
  it.skipIf(!ready)(`bench/vault.mjs --smoke${ready ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
    const res = spawnSync(process.execPath, [join(root, 'bench', 'vault.mjs'), '--smoke'], {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, BENCH_DIR: work },
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^cpu: /m);
    expect(res.stdout).toMatch(/put\/baseline/);
    expect(res.stdout).toMatch(/4 KiB puts\/s/);
    expect(res.stdout).toMatch(/event-loop lag p99/);
    expect(res.stdout).toMatch(/bench\/vault\.mjs: ok/);
  });
});
