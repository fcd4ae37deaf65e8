// Runs the whole suite (npm test, CI). Prints vitest's normal output, then "N skipped" and, as the very last
// line, "N passed, N failed" (what CI reads), summed from vitest's JSON reports: the full suite once, then
// the kernel-sensitive files once per forced SIMD level the CPU supports (klauspost/reedsolomon style).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'build', 'test-reports');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const extraArgs = process.argv.slice(2);

const totals = { passed: 0, failed: 0, skipped: 0 };
let runs = 0;

function run(label, args, env = {}) {
  const report = join(outDir, `report-${runs++}.json`);
  console.log(`\n--- vitest: ${label} ---`);
  const res = spawnSync(
    process.execPath,
    [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
    { cwd: root, stdio: 'inherit', env: { ...process.env, UV_USE_IO_URING: '0', ...env } },
  );
  if (!existsSync(report)) {
    console.log(`vitest (${label}) wrote no report (exit ${res.status ?? res.signal}); counting it as one failure`);
    totals.failed += 1;
    return;
  }
  const json = JSON.parse(readFileSync(report, 'utf8'));
  totals.passed += json.numPassedTests ?? 0;
  totals.failed += json.numFailedTests ?? 0;
  totals.skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  // A file that failed to load has no tests but is a failure.
  for (const file of json.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) totals.failed += 1;
  }
}

run('full suite', extraArgs);

// Forced-kernel re-runs: only when the addon loaded and reports its kernels. Found the way lib/native.ts
// finds it (node-gyp-build: the local build, else the prebuild for this platform).
const require = createRequire(import.meta.url);
let kernels = [];
try {
  const addon = require(require('node-gyp-build').resolve(root));
  if (typeof addon.codecKernels === 'function') kernels = addon.codecKernels().supported ?? [];
  if (typeof addon.blake3Kernels === 'function') {
    for (const k of addon.blake3Kernels().supported ?? []) {
      run(`forced BLAKE3 kernel ${k}`, ['test/blake3'], { SHARDVAULT_BLAKE3_KERNEL: k });
    }
  }
} catch (err) {
  console.log(`forced-kernel runs skipped: addon not loadable (${err.message})`);
}
if (extraArgs.length === 0) {
  for (const k of kernels) run(`forced codec kernel ${k}`, ['test/codec'], { SHARDVAULT_KERNEL: k });
}

// The sanitizer tier (issue 14): the binding tests again, against an ASan/UBSan build of the addon
// (scripts/sanitize.mjs). Part of every full run; SHARDVAULT_SANITIZE=0 leaves it out (say so when you do).
if (extraArgs.length === 0 && process.env.SHARDVAULT_SANITIZE !== '0') {
  console.log('\n--- sanitizer tier: the addon built with -fsanitize=address,undefined ---');
  const res = spawnSync(process.execPath, [join(root, 'scripts', 'sanitize.mjs')], { cwd: root, stdio: 'inherit', env: process.env });
  const report = join(root, 'build', 'sanitize', 'vitest.json');
  if (!existsSync(report)) {
    console.log(`sanitizer tier wrote no report (exit ${res.status ?? res.signal}); counting it as one failure`);
    totals.failed += 1;
  } else {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += json.numPassedTests ?? 0;
    totals.failed += (json.numFailedTests ?? 0) + (res.status !== 0 && !json.numFailedTests ? 1 : 0);
    totals.skipped += json.numPendingTests ?? 0;
  }
} else if (extraArgs.length === 0) {
  console.log('\nsanitizer tier left out: SHARDVAULT_SANITIZE=0');
}

console.log(`\n${totals.skipped} skipped`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 && totals.passed > 0 ? 0 : 1);
