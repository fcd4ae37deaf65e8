// Benchmarks are not timed tests, but they must not rot: run bench/codec.mjs --smoke and check it reports
// its machine header and every table.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const built = existsSync(join(root, 'dist', 'lib', 'index.js'));

describe('benchmark smoke', () => {
  it.skipIf(!built)(`bench/codec.mjs --smoke runs every contender${built ? '' : ' (skipped: dist/ not built)'}`, () => {
    const res = spawnSync(process.execPath, [join(root, 'bench', 'codec.mjs'), '--smoke'], { encoding: 'utf8', timeout: 120_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^cpu: /m);
    expect(res.stdout).toMatch(/^node: v\d+/m);
    expect(res.stdout).toMatch(/^native: /m);
    expect(res.stdout).toMatch(/encode, GB\/s/);
    expect(res.stdout).toMatch(/reconstruct \(first e data shards lost\)/);
    expect(res.stdout).toMatch(/bench\/codec\.mjs: ok/);
  });
});
