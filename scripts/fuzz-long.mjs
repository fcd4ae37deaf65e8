// npm run fuzz:long — the fuzz tier's long mode (issue 14): every fuzz target with FUZZ_RUNS inputs (default
// 1,000,000), then one line per target (inputs, accepted, rejected by code, seconds, RSS before/after) and
// "N passed, N failed" from vitest's JSON report. FUZZ_SEED picks another fixed seed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const report = join(root, 'build', 'fuzz-long.jsonl');
const json = join(root, 'build', 'fuzz-long-vitest.json');
rmSync(report, { force: true });
const runs = process.env.FUZZ_RUNS ?? '1000000';
const files = process.argv.slice(2).length ? process.argv.slice(2) : ['test/fuzz-'];
const res = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, '--testTimeout=0', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: runs, FUZZ_REPORT: report } });
if (existsSync(report)) {
  console.log('\ntarget                      inputs   accepted  rejected (by code)                          s   RSS MiB');
  for (const line of readFileSync(report, 'utf8').trim().split('\n')) {
    const s = JSON.parse(line);
    const rejected = Object.entries(s.rejected).map(([c, n]) => `${c.replace('ERR_SV_', '')}:${n}`).join(' ') || '-';
    console.log(`${s.target.padEnd(26)} ${String(s.runs).padStart(8)} ${String(s.accepted).padStart(9)}  ${rejected.padEnd(42)} ${(s.ms / 1000).toFixed(1).padStart(6)}  ${s.rssBeforeMiB}->${s.rssAfterMiB}`);
  }
}
const j = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : { numPassedTests: 0, numFailedTests: 1 };
console.log(`${j.numPassedTests} passed, ${j.numFailedTests} failed`);
process.exit(res.status ?? 1);
