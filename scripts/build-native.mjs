// The install script (npm install / npm rebuild shardvault; docs/packaging.md):
//   1. a prebuilt binary in prebuilds/<platform>-<arch>/ that loads here: use it, compile nothing;
//   2. else compile from the shipped sources with node-gyp against the running Node's headers (no downloads);
//   3. if that fails: print the compiler's error and what to install, loudly, keep the install working
//      (the pure-TypeScript codec and @noble/hashes serve; a Vault, which needs durable native I/O, then
//      throws ERR_SV_NATIVE_UNAVAILABLE quoting build/native-build-failure.txt).
// A source checkout (a .git beside package.json) always compiles: the developer is changing native/, and a
// prebuild from older sources must not stand in for it. So does SHARDVAULT_BUILD_FROM_SOURCE=1.
// `--strict` (npm run build) makes a failed compile fatal; SHARDVAULT_SKIP_NATIVE=1 skips everything.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const failureNote = join(root, 'build', 'native-build-failure.txt');
const require = createRequire(import.meta.url);

const INSTALL_HINT =
  'install python3, make and a C++17 compiler, then run `npm rebuild shardvault`' +
  ' (Debian/Ubuntu: apt-get install python3 make g++; Fedora: dnf install python3 make gcc-c++;' +
  ' Alpine: apk add python3 make g++)';

if (process.env.SHARDVAULT_SKIP_NATIVE === '1') {
  console.warn('shardvault: SHARDVAULT_SKIP_NATIVE=1, not building the native addon (pure-TS fallback).');
  process.exit(0);
}

const sourceCheckout = existsSync(join(root, '.git'));
if (!strict && !sourceCheckout && process.env.SHARDVAULT_BUILD_FROM_SOURCE !== '1') {
  const prebuilt = loadablePrebuild();
  if (prebuilt.file !== null) {
    rmSync(failureNote, { force: true });
    console.log(`shardvault: using the prebuilt addon ${relative(root, prebuilt.file)} (nothing compiled)`);
    process.exit(0);
  }
  console.log(`shardvault: ${prebuilt.why}; compiling the addon from source`);
}

let gypBin;
try {
  gypBin = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // npm bundles node-gyp; npm_config_node_gyp points at it during lifecycle scripts.
  gypBin = process.env.npm_config_node_gyp;
}
if (!gypBin || !existsSync(gypBin)) {
  fail('node-gyp was not found (neither a node-gyp package nor npm\'s bundled copy)', '', 'run the install with npm, which bundles node-gyp, or `npm install -g node-gyp`; then `npm rebuild shardvault`');
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const cxx = process.env.CXX || (have('g++') ? 'g++' : have('c++') ? 'c++' : have('clang++') ? 'clang++' : null);
const missing = [
  have('python3') || process.env.PYTHON ? null : 'python3',
  have('make') ? null : 'make',
  cxx !== null ? null : 'a C++ compiler (g++)',
].filter((x) => x !== null);
if (missing.length > 0) fail(`${missing.join(', ')} not found`, '', INSTALL_HINT);

// Build against the headers of the Node that runs us; never let node-gyp download a headers tarball.
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(
    `Node headers not found under ${nodedir}/include/node`,
    '',
    'install the Node development headers (a Node from nodejs.org ships them; distribution packages call them nodejs-dev or libnode-dev) or set npm_config_nodedir, then run `npm rebuild shardvault`',
  );
}
const jobs = process.env.JOBS ?? 'max';
const result = spawnSync(process.execPath, [gypBin, 'rebuild', `--nodedir=${nodedir}`, `--jobs=${jobs}`], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
  env: process.env,
});
const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
if (result.status !== 0) {
  fail(
    `the compile failed (node-gyp rebuild exited with ${result.status ?? result.signal})`,
    output,
    `fix what the compiler reports above (the sources need C++17 and -mavx512f/-mgfni: GCC 8+ or clang 7+; ${cxx} was used), then run \`npm rebuild shardvault\``,
  );
}
if (process.env.SHARDVAULT_BUILD_VERBOSE === '1') process.stdout.write(output);
rmSync(failureNote, { force: true });
console.log('shardvault: native addon compiled from source (build/Release/shardvault.node)');

/** The first prebuild for this platform that loads in this Node, or why there is none. */
function loadablePrebuild() {
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.node')).sort() : [];
  if (files.length === 0) return { file: null, why: `no prebuilt addon for ${process.platform}-${process.arch}` };
  const errors = [];
  for (const name of files) {
    const file = join(dir, name);
    try {
      require(file);
      return { file, why: null };
    } catch (err) {
      errors.push(`${name}: ${err.message.split('\n')[0]}`);
    }
  }
  return { file: null, why: `the prebuilt addon does not load here (${errors.join('; ')})` };
}

/** The compiler's own error lines (else the last lines of its output), for the console and the note. */
function errorTail(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /\berror\b|fatal|not found/i.test(l) && !/^gyp (info|verb)/.test(l));
  return (errors.length > 0 ? errors.slice(0, 20) : lines.slice(-20)).join('\n');
}

function fail(reason, compilerOutput, hint) {
  const tail = errorTail(compilerOutput);
  const firstError = tail.split('\n').find((l) => /\berror\b/i.test(l))?.trim();
  const summary = firstError ? `${reason}: ${firstError}` : reason;
  mkdirSync(dirname(failureNote), { recursive: true });
  // Line 1 is what lib/native.ts quotes in ERR_SV_NATIVE_UNAVAILABLE; the rest is for a human.
  writeFileSync(failureNote, `${summary}\nfix: ${hint}\n${tail ? `\ncompiler output (tail):\n${tail}\n` : ''}`);
  const bar = '!'.repeat(100);
  const message = [
    bar,
    `shardvault: THE NATIVE ADDON WAS NOT BUILT: ${reason}.`,
    ...(tail ? ['', 'compiler output (tail):', tail, ''] : []),
    `To fix: ${hint}.`,
    strict
      ? 'npm run build is strict: failing.'
      : 'The install goes on: codec and hashing work in pure TypeScript, but a Vault (durable shard I/O) needs the addon' +
        ` and will throw ERR_SV_NATIVE_UNAVAILABLE until it is built. Details kept in ${relative(process.cwd(), failureNote) || failureNote}.`,
    bar,
  ].join('\n');
  console.error(message);
  process.exit(strict ? 1 : 0);
}
