// The sanitizer tier (issue 14): builds the addon a second time with AddressSanitizer and
// UndefinedBehaviorSanitizer, then runs the binding tests against that build (SHARDVAULT_ADDON points
// lib/native.ts at it, and nothing else may load) with the sanitizer runtimes preloaded into node.
//
// Why node-gyp flags and not a second build description (cmake-js): the source list, per-ISA flags and
// defines live in binding.gyp only; the sanitizer build is that same description with CFLAGS/CXXFLAGS/LDFLAGS
// added, in its own directory (build/sanitize), so it can never drift from what ships.
//
// Any sanitizer report aborts the test process (halt_on_error / abort_on_error), which fails the run. Leak
// checking is off: node itself does not free everything at exit, so LSan reports would be node's, not ours.
// Prints "N passed, N failed" (vitest's JSON reporter) as its last line. Needs g++ with libasan/libubsan.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'build', 'sanitize');
const reportFile = join(dir, 'vitest.json');
const tests = [
  'test/codec-args.test.ts', 'test/codec-kernels.test.ts', 'test/codec-vectors.test.ts', 'test/purejs-codec.test.ts',
  'test/blake3-hash.test.ts', 'test/blake3-stripe.test.ts', 'test/kernel-select.test.ts',
  'test/shardio.test.ts', 'test/shardio-faults.test.ts', 'test/native-args-fuzz.test.ts',
  ...['test/crc.test.ts', 'test/crc-kernels.test.ts'].filter((f) => existsSync(join(root, f))),
];

function runtime(name) {
  const r = spawnSync('g++', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const file = r.stdout?.trim();
  return file && file !== name && existsSync(file) ? file : undefined;
}

function fail(why) {
  console.log(`sanitizer tier: ${why}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const asan = runtime('libasan.so');
const ubsan = runtime('libubsan.so');
if (!asan || !ubsan) fail('g++ has no libasan.so/libubsan.so (Debian: apt-get install g++; they ship with libgcc-12-dev)');

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
cpSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));

const flags = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g';
console.log(`building the addon with ${flags} in ${dir}`);
const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Against the running Node's headers, as scripts/build-native.mjs does: never a headers download.
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
const build = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
  cwd: dir, stdio: 'inherit', env: { ...process.env, CFLAGS: flags, CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' },
});
const addon = join(dir, 'build', 'Release', 'shardvault.node');
if (build.status !== 0 || !existsSync(addon)) fail('the sanitizer build failed');

console.log(`running ${tests.length} binding test files against ${addon}`);
const res = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...tests], {
  cwd: root, stdio: 'inherit',
  env: {
    ...process.env,
    SHARDVAULT_ADDON: addon,
    SHARDVAULT_SANITIZED: '1',
    LD_PRELOAD: `${asan} ${ubsan}`,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1',
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    UV_USE_IO_URING: '0',
  },
});
if (!existsSync(reportFile)) fail(`vitest wrote no report (exit ${res.status ?? res.signal}); a sanitizer abort kills the worker`);
const j = JSON.parse(readFileSync(reportFile, 'utf8'));
let failed = j.numFailedTests ?? 0;
for (const f of j.testResults ?? []) if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) failed += 1;
if (res.status !== 0 && failed === 0) failed = 1; // a worker killed by a sanitizer abort
console.log(`${j.numPassedTests ?? 0} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
