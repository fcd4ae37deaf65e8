// Builds the prebuilt addons the package ships (npm run build:prebuilds; docs/packaging.md):
//   prebuilds/linux-x64/shardvault.glibc.node     native compiler
//   prebuilds/linux-arm64/shardvault.glibc.node   aarch64-linux-gnu-g++ (the cross compiler the NEON tests use)
// One binary per arch is enough: every SIMD kernel is compiled in and chosen at run time (cpuid / getauxval).
// Node-API (NAPI_VERSION 9), so one binary serves every Node >= the engines floor (no ABI tag); tagged glibc so
// node-gyp-build never offers it to a musl system (Alpine compiles from source).
//
// Each arch is compiled by prebuildify in its own staging copy of binding.gyp + native/ under
// build/prebuild-stage/, so build/Release (the local build the tests use) is never overwritten by an arm64
// binary. Headers come from the running Node (npm_config_nodedir): nothing is downloaded.
//
//   --if-stale      skip an arch whose binary is newer than every source (binding.gyp, native/, this script,
//                   node-addon-api's version)
//   --arch=x64|arm64  only that arch (repeatable)
// After building: the x64 binary is loaded in a child Node and hashes/encodes; the arm64 binary, when
// qemu-aarch64 is installed, is dlopen()ed (RTLD_NOW) by a small C program built with the cross compiler
// and run under qemu-aarch64, which also calls its Node-API version export.
// Missing cross compiler: warns and skips arm64, unless SHARDVAULT_CI_REQUIRE_ALL=1 (then it fails).
import { spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const ifStale = args.includes('--if-stale');
const requireAll = process.env.SHARDVAULT_CI_REQUIRE_ALL === '1';
const onlyArchs = args.filter((a) => a.startsWith('--arch=')).map((a) => a.slice('--arch='.length));
const name = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name;
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`prebuild: the release binaries are built on linux-x64 (this is ${process.platform}-${process.arch})`);
  process.exit(1);
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

const ARCHS = {
  x64: { env: {}, strip: 'strip', tools: ['g++', 'make', 'python3'] },
  arm64: {
    env: {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
    },
    strip: 'aarch64-linux-gnu-strip',
    tools: ['aarch64-linux-gnu-g++', 'aarch64-linux-gnu-gcc', 'aarch64-linux-gnu-strip', 'make', 'python3'],
  },
};

function outFile(arch) {
  return join(root, 'prebuilds', `linux-${arch}`, `${name}.glibc.node`);
}

function newestSourceMs() {
  const files = [join(root, 'binding.gyp'), fileURLToPath(import.meta.url), require.resolve('node-addon-api/package.json')];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(root, 'native'));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function stage(arch) {
  const dir = join(root, 'build', 'prebuild-stage', arch);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
  cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true }) + '\n');
  // binding.gyp asks `node -p "require('node-addon-api').include_dir"` from its own directory.
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function build(arch) {
  const spec = ARCHS[arch];
  const missing = spec.tools.filter((t) => !have(t));
  if (missing.length > 0) {
    const msg = `prebuild: linux-${arch} needs ${missing.join(', ')} (scripts/install-system-deps.sh installs them)`;
    if (requireAll || arch === 'x64') {
      console.error(`${msg}; SHARDVAULT_CI_REQUIRE_ALL=1 or the host arch: failing`);
      process.exit(1);
    }
    console.warn(`${msg}; skipping linux-${arch}: THE PACKAGE WILL SHIP WITHOUT IT`);
    return false;
  }
  const dir = stage(arch);
  const started = Date.now();
  const prebuildify = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
  const res = spawnSync(
    process.execPath,
    [prebuildify, '--napi', '--tag-libc', '--strip', `--strip-bin=${spec.strip}`, `--arch=${arch}`, '--platform=linux', `--cwd=${dir}`, `--out=${root}`],
    {
      cwd: dir,
      stdio: 'inherit',
      env: {
        ...process.env,
        ...spec.env,
        npm_config_nodedir: nodedir,
        JOBS: process.env.JOBS ?? 'max',
        PREBUILD_NODE_GYP: join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js'),
      },
    },
  );
  if (res.status !== 0) {
    console.error(`prebuild: linux-${arch} failed (prebuildify exited ${res.status ?? res.signal})`);
    process.exit(1);
  }
  rmSync(dir, { recursive: true, force: true });
  const file = outFile(arch);
  if (!existsSync(file)) {
    console.error(`prebuild: linux-${arch} built but ${relative(root, file)} is missing`);
    process.exit(1);
  }
  console.log(`prebuild: ${relative(root, file)} (${statSync(file).size} bytes, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return true;
}

function smokeX64() {
  const script = `
    const a = require(${JSON.stringify(outFile('x64'))});
    const shards = Array.from({ length: 6 }, (_, i) => new Uint8Array(64).fill(i));
    const h = a.codecCreate(4, 2); a.codecEncodeSync(h, shards);
    if (a.blake3Sync(new Uint8Array(0)).toString('hex') !== 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262') throw new Error('blake3');
    console.log('kernels ' + a.codecKernels().supported.join(',') + ' / ' + a.blake3Kernels().supported.join(','));
  `;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (res.status !== 0) {
    console.error(`prebuild: linux-x64 binary does not load or work:\n${res.stderr}`);
    process.exit(1);
  }
  console.log(`prebuild: linux-x64 loads in Node ${process.version}, ${res.stdout.trim()}`);
}

// dlopen(RTLD_NOW) needs every undefined symbol resolved: libstdc++/libc from the aarch64 sysroot, and the
// napi_* / node_api_* functions Node would provide, which the stub defines (never called) and exports.
function smokeArm64() {
  if (!have('qemu-aarch64')) {
    const msg = 'prebuild: qemu-aarch64 not installed: linux-arm64 binary not smoke-loaded';
    if (requireAll) {
      console.error(`${msg} (SHARDVAULT_CI_REQUIRE_ALL=1)`);
      process.exit(1);
    }
    console.warn(msg);
    return;
  }
  const file = outFile('arm64');
  const nm = spawnSync('aarch64-linux-gnu-nm', ['-D', '--undefined-only', file], { encoding: 'utf8' });
  const napi = [...nm.stdout.matchAll(/\b(napi_\w+|node_api_\w+)\b/g)].map((m) => m[1]);
  const tmp = mkdtempSync(join(tmpdir(), 'sv-arm64-smoke-'));
  try {
    const c = [
      '#include <dlfcn.h>',
      '#include <stdio.h>',
      '#include <stdlib.h>',
      ...[...new Set(napi)].map((s) => `void ${s}(void) { abort(); }`),
      'int main(int argc, char** argv) {',
      '  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);',
      '  if (!h) { fprintf(stderr, "dlopen: %s\\n", dlerror()); return 1; }',
      '  if (!dlsym(h, "napi_register_module_v1")) { fprintf(stderr, "no napi_register_module_v1\\n"); return 1; }',
      '  int (*ver)(void) = (int (*)(void))dlsym(h, "node_api_module_get_api_version_v1");',
      '  printf("dlopen ok, Node-API version %d\\n", ver ? ver() : -1);',
      '  return 0;',
      '}',
    ].join('\n');
    writeFileSync(join(tmp, 'smoke.c'), c);
    const cc = spawnSync('aarch64-linux-gnu-gcc', ['-O1', '-rdynamic', '-o', join(tmp, 'smoke'), join(tmp, 'smoke.c'), '-ldl'], {
      encoding: 'utf8',
    });
    if (cc.status !== 0) {
      console.error(`prebuild: could not build the arm64 dlopen stub:\n${cc.stderr}`);
      process.exit(1);
    }
    const run = spawnSync('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', join(tmp, 'smoke'), file], { encoding: 'utf8' });
    if (run.status !== 0) {
      console.error(`prebuild: linux-arm64 binary does not load under qemu-aarch64:\n${run.stdout}${run.stderr}`);
      process.exit(1);
    }
    console.log(`prebuild: linux-arm64 under qemu-aarch64: ${run.stdout.trim()} (${napi.length} Node-API imports stubbed)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const archs = onlyArchs.length > 0 ? onlyArchs : Object.keys(ARCHS);
for (const a of archs) {
  if (!(a in ARCHS)) {
    console.error(`prebuild: unknown arch ${a} (x64, arm64)`);
    process.exit(1);
  }
}
const sourcesMs = newestSourceMs();
for (const arch of archs) {
  const file = outFile(arch);
  if (ifStale && existsSync(file) && statSync(file).mtimeMs > sourcesMs) {
    console.log(`prebuild: ${relative(root, file)} is newer than its sources, kept`);
  } else if (!build(arch)) {
    continue;
  }
  if (arch === 'x64') smokeX64();
  else smokeArm64();
}
