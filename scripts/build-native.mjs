// Builds the native addon from source with node-gyp against the installed Node headers (no downloads).
// Run by `npm install`. If the build fails the package still works on the pure-TypeScript codec and
// @noble/hashes; lib/native.ts then explains why, once. `--strict` (npm run build) makes failure fatal.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const failureNote = join(root, 'build', 'native-build-failure.txt');

if (process.env.SHARDVAULT_SKIP_NATIVE === '1') {
  console.warn('shardvault: SHARDVAULT_SKIP_NATIVE=1, not building the native addon (pure-TS fallback).');
  process.exit(0);
}

const require = createRequire(import.meta.url);
let gypBin;
try {
  gypBin = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // npm bundles node-gyp; npm_config_node_gyp points at it during lifecycle scripts.
  gypBin = process.env.npm_config_node_gyp;
}
if (!gypBin || !existsSync(gypBin)) {
  fail('node-gyp was not found (neither the devDependency nor npm\'s bundled copy)');
}

// Build against the headers of the Node that runs us; never let node-gyp download a headers tarball.
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(`Node headers not found under ${nodedir}/include/node (install the Node development headers)`);
}
const jobs = process.env.JOBS ?? 'max';
const result = spawnSync(process.execPath, [gypBin, 'rebuild', `--nodedir=${nodedir}`, `--jobs=${jobs}`], {
  cwd: root,
  stdio: 'inherit',
  env: process.env,
});
if (result.status !== 0) {
  fail(`node-gyp rebuild exited with ${result.status ?? result.signal}`);
}
rmSync(failureNote, { force: true });

function fail(reason) {
  mkdirSync(dirname(failureNote), { recursive: true });
  writeFileSync(failureNote, `${reason}\n`);
  const message = `shardvault: native addon not built (${reason}); falling back to the pure-TypeScript codec.`;
  if (strict) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}
