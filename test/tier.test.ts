// The CI tier switch (test/support/tier.ts): a tier with something missing skips, naming it, on a developer's
// machine, and under SHARDVAULT_CI_REQUIRE_ALL=1 is one failing test naming it. The decision is checked
// directly; a child vitest over a one-tier fixture proves what the switch registers, both ways.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { tierDecision } from './support/tier.js';

const root = join(__dirname, '..');
mkdirSync(join(root, 'build'), { recursive: true });
// Inside the repository (build/ is ignored by git) so the fixture resolves vitest as the tests do.
const work = mkdtempSync(join(root, 'build', 'tier-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('tierDecision', () => {
  it('runs a tier that lacks nothing, whatever the switch says', () => {
    expect(tierDecision('t', [], true)).toEqual({ action: 'run', missing: [], reason: '' });
    expect(tierDecision('t', [null, undefined, false, ''], true).action).toBe('run');
  });

  it('skips a tier that lacks something, naming what', () => {
    expect(tierDecision('the qemu tier', ['qemu-aarch64', null, 'gcc'], false)).toEqual({ action: 'skip', missing: ['qemu-aarch64', 'gcc'], reason: 'the qemu tier needs qemu-aarch64, gcc' });
  });

  it('fails that tier instead under SHARDVAULT_CI_REQUIRE_ALL=1', () => {
    expect(tierDecision('the qemu tier', ['qemu-aarch64'], true)).toEqual({ action: 'fail', missing: ['qemu-aarch64'], reason: 'the qemu tier needs qemu-aarch64' });
  });
});

describe('tier() in a real vitest run', () => {
  const fixture = join(work, 'fixture.test.ts');
  // Its own config: the repository's would look for test/**/*.test.ts under the fixture's root.
  writeFileSync(join(work, 'vitest.config.mjs'), "export default { test: { include: ['*.test.ts'] } };\n");
  writeFileSync(
    fixture,
    [
      `import { describe, it } from 'vitest';`,
      `import { tier } from ${JSON.stringify(join(root, 'test', 'support', 'tier.ts'))};`,
      `const t = tier('the fixture tier', ['a-tool-no-machine-has']);`,
      `describe.skipIf(!t.ready)('guarded' + t.why, () => { it('would run', () => { throw new Error('ran without its tool'); }); });`,
      `it('an unrelated test passes', () => undefined);`,
      '',
    ].join('\n'),
  );

  function runFixture(requireAll: boolean) {
    const report = join(work, `report-${requireAll ? 'ci' : 'dev'}.json`);
    const env = { ...process.env, SHARDVAULT_CI_REQUIRE_ALL: requireAll ? '1' : '' };
    const res = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(work, 'vitest.config.mjs'), '--root', work, '--reporter=json', `--outputFile=${report}`],
      { cwd: work, env, encoding: 'utf8', timeout: 120_000 },
    );
    const json = JSON.parse(readFileSync(report, 'utf8')) as { testResults: { assertionResults: { title: string; fullName: string; status: string; failureMessages: string[] }[] }[] };
    return { status: res.status, tests: json.testResults.flatMap((f) => f.assertionResults) };
  }

  it('without the switch: the guarded tests and one test naming the tool skip; the run passes', () => {
    const { status, tests } = runFixture(false);
    expect(status).toBe(0);
    expect(tests.filter((t) => t.status === 'failed')).toEqual([]);
    expect(tests.find((t) => t.title === 'the fixture tier needs a-tool-no-machine-has')?.status).toBe('skipped');
    expect(tests.find((t) => t.title === 'would run')?.status).toBe('skipped');
    expect(tests.find((t) => t.title === 'an unrelated test passes')?.status).toBe('passed');
  });

  it('with SHARDVAULT_CI_REQUIRE_ALL=1: exactly one failing test, naming the tool; the run fails', () => {
    const { status, tests } = runFixture(true);
    expect(status).not.toBe(0);
    const failed = tests.filter((t) => t.status === 'failed');
    expect(failed.map((t) => t.title)).toEqual(['SHARDVAULT_CI_REQUIRE_ALL=1: the fixture tier needs a-tool-no-machine-has']);
    expect(failed[0].failureMessages.join('\n')).toMatch(/a-tool-no-machine-has/);
    expect(tests.find((t) => t.title === 'would run')?.status).toBe('skipped');
    expect(tests.find((t) => t.title === 'an unrelated test passes')?.status).toBe('passed');
  });
});
