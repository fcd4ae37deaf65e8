// Without the addon the package still works on the pure-TS codec and @noble/hashes, says why, once, and
// writes the same bytes. Runs the compiled package (dist/, built by `npm install`) in a child process with
// SHARDVAULT_NO_NATIVE=1 and compares with this process (native when it loaded).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';
import { blake3Sync, createBlake3 } from '../lib/hash.js';

const entry = join(__dirname, '..', 'dist', 'lib', 'index.js');
const shardsFor = () => Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 33 }, (_, j) => (i < 4 ? i * 7 + j : 0)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('fallback when the addon is unavailable', () => {
  it.skipIf(!existsSync(entry))(
    `pure-TS codec and noble BLAKE3: same bytes, reason reported, one warning${existsSync(entry) ? '' : ' (skipped: dist/ not built)'}`,
    () => {
      const script = `
        import { ReedSolomon, nativeInfo, blake3Sync, createBlake3 } from ${JSON.stringify(entry)};
        const info = nativeInfo();
        const a = new ReedSolomon(4, 2); const b = new ReedSolomon(10, 4);
        const shards = Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 33 }, (_, j) => (i < 4 ? i * 7 + j : 0)));
        a.encodeSync(shards);
        let code; try { new ReedSolomon(4, 2, { backend: 'native' }); } catch (e) { code = e.code; }
        const b3 = Buffer.from(blake3Sync(new TextEncoder().encode('abc'))).toString('hex');
        const b3ctx = Buffer.from(createBlake3({ context: 'ctx' }).update(new Uint8Array(3)).digest()).toString('hex');
        console.log(JSON.stringify({ loaded: info.loaded, reason: info.reason, backends: a.backend + ',' + b.backend,
          parity: Buffer.from(shards[5]).toString('hex'), code, b3, b3ctx }));
      `;
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, SHARDVAULT_NO_NATIVE: '1' },
        encoding: 'utf8',
      });
      expect(res.status, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout.trim());
      expect(out.loaded).toBe(false);
      expect(out.reason).toMatch(/SHARDVAULT_NO_NATIVE/);
      expect(out.backends).toBe('js,js');
      expect(out.code).toBe('ERR_SV_NATIVE_UNAVAILABLE');
      const shards = shardsFor();
      new ReedSolomon(4, 2).encodeSync(shards);
      expect(out.parity).toBe(hex(shards[5]));
      expect(out.b3).toBe(hex(blake3Sync(new TextEncoder().encode('abc'))));
      expect(out.b3ctx).toBe(hex(createBlake3({ context: 'ctx' }).update(new Uint8Array(3)).digest()));
      const warnings = res.stderr.split('\n').filter((l) => l.includes('SHARDVAULT_NATIVE_FALLBACK'));
      expect(warnings.length, res.stderr).toBe(1);
    },
  );
});

// The install script and the loader on a copy of the published layout (dist, binding.gyp, scripts, native,
// prebuilds; node_modules linked): which binary is used, and what a user is told when there is none.
const root = join(__dirname, '..');
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const havePrebuild = existsSync(prebuilt) && readdirSync(prebuilt).some((n) => n.endsWith('.node'));

function stagePackage(opts: { prebuilds: boolean; brokenNative: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sv-install-'));
  for (const f of ['package.json', 'binding.gyp']) cpSync(join(root, f), join(dir, f));
  cpSync(join(root, 'scripts', 'build-native.mjs'), join(dir, 'scripts', 'build-native.mjs'));
  cpSync(join(root, 'dist', 'lib'), join(dir, 'dist', 'lib'), { recursive: true });
  if (opts.brokenNative) {
    // Every source and header at its own path (native/ has one folder per concern), each one broken.
    for (const name of readdirSync(join(root, 'native'), { recursive: true }) as string[]) {
      const to = join(dir, 'native', name);
      if (statSync(join(root, 'native', name)).isDirectory()) mkdirSync(to, { recursive: true });
      else writeFileSync(to, '#error sv-test: this source is deliberately broken\n');
    }
  } else {
    cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
  }
  if (opts.prebuilds) cpSync(join(root, 'prebuilds'), join(dir, 'prebuilds'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function probe(dir: string, env: Record<string, string> = {}) {
  const script = `
    import { nativeInfo, Vault } from ${JSON.stringify(join(dir, 'dist', 'lib', 'index.js'))};
    import { nativeAddonFile } from ${JSON.stringify(join(dir, 'dist', 'lib', 'native.js'))};
    const info = nativeInfo();
    let error = null;
    if (!info.loaded) {
      const disks = Array.from({ length: 3 }, (_, i) => ({ path: ${JSON.stringify(join(dir, 'disks'))} + '/d' + i }));
      try { await Vault.init({ disks, metaDir: ${JSON.stringify(join(dir, 'meta'))}, k: 2, m: 1 }); }
      catch (e) { error = { code: e.code, message: e.message }; }
    }
    console.log(JSON.stringify({ loaded: info.loaded, reason: info.reason, file: nativeAddonFile(), error }));
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as {
    loaded: boolean;
    reason: string | null;
    file: string | null;
    error: { code: string; message: string } | null;
  };
}

function install(dir: string) {
  return spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, JOBS: '1', npm_config_node_gyp: join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') },
  });
}

describe('install script and loader (published layout)', () => {
  const distBuilt = existsSync(entry);
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it.skipIf(!distBuilt)(
    `a failed compile is loud, keeps the install working, and the first Vault says what is missing and how to rebuild${distBuilt ? '' : ' (skipped: dist/ not built)'}`,
    () => {
      const dir = stagePackage({ prebuilds: false, brokenNative: true });
      dirs.push(dir);
      const res = install(dir);
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stderr).toMatch(/THE NATIVE ADDON WAS NOT BUILT: the compile failed/);
      expect(res.stderr).toMatch(/sv-test: this source is deliberately broken/); // the compiler's own error
      expect(res.stderr).toMatch(/To fix: fix what the compiler reports above .*GCC 8\+ or clang 7\+.*then run `npm rebuild shardvault`/);
      expect(readFileSync(join(dir, 'build', 'native-build-failure.txt'), 'utf8')).toMatch(/^the compile failed.*deliberately broken/);

      const out = probe(dir);
      expect(out.loaded).toBe(false);
      expect(out.reason).toMatch(/failed to build at install: the compile failed/);
      expect(out.error?.code).toBe('ERR_SV_NATIVE_UNAVAILABLE');
      expect(out.error?.message).toMatch(/native addon is missing/);
      expect(out.error?.message).toMatch(/deliberately broken/);
      expect(out.error?.message).toMatch(/fix what the compiler reports .*then run `npm rebuild shardvault`/);
    },
    120_000,
  );

  it.skipIf(!distBuilt)('missing build tools: the install names them and what to install, compiles nothing', () => {
    const dir = stagePackage({ prebuilds: false, brokenNative: false });
    dirs.push(dir);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['sh', 'python3']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    const res = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: bin, CXX: '', npm_config_node_gyp: join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') },
    });
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stderr).toMatch(/NOT BUILT: make, a C\+\+ compiler \(g\+\+\) not found/);
    expect(res.stderr).toMatch(/apt-get install python3 make g\+\+/);
    expect(existsSync(join(dir, 'build', 'Release'))).toBe(false);
    expect(probe(dir).error?.message).toMatch(/install python3, make and a C\+\+17 compiler, then run `npm rebuild shardvault`/);
  });

  it.skipIf(!distBuilt)('no binary at all: the error says there is none and to run npm rebuild shardvault', () => {
    const dir = stagePackage({ prebuilds: false, brokenNative: false });
    dirs.push(dir);
    const out = probe(dir);
    expect(out.loaded).toBe(false);
    expect(out.reason).toMatch(/no prebuilt binary for .* and no local build/);
    expect(out.error?.message).toMatch(/native addon is missing.*run `npm rebuild shardvault`/);
  });

  it.skipIf(!distBuilt)('SHARDVAULT_NO_NATIVE=1: the fix offered is to unset it, not a rebuild', () => {
    const dir = stagePackage({ prebuilds: false, brokenNative: false });
    dirs.push(dir);
    const out = probe(dir, { SHARDVAULT_NO_NATIVE: '1' });
    expect(out.error?.code).toBe('ERR_SV_NATIVE_UNAVAILABLE');
    expect(out.error?.message).toMatch(/unset SHARDVAULT_NO_NATIVE/);
    expect(out.error?.message).not.toMatch(/rebuild/);
  });

  it.skipIf(!distBuilt || !havePrebuild)(
    `a prebuild that loads: the install compiles nothing and the loader uses it${havePrebuild ? '' : ' (skipped: no prebuilds/, run npm run build:prebuilds)'}`,
    () => {
      const dir = stagePackage({ prebuilds: true, brokenNative: true });
      dirs.push(dir);
      const res = install(dir);
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/using the prebuilt addon prebuilds\/linux-x64\/shardvault\.glibc\.node \(nothing compiled\)/);
      expect(existsSync(join(dir, 'build'))).toBe(false);
      const out = probe(dir);
      expect(out.loaded).toBe(true);
      expect(out.file).toBe(join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'shardvault.glibc.node'));
    },
  );

  it.skipIf(!distBuilt || !havePrebuild)('a local build that does not load falls through to the prebuild, and says why otherwise', () => {
    const dir = stagePackage({ prebuilds: true, brokenNative: false });
    dirs.push(dir);
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    writeFileSync(join(dir, 'build', 'Release', 'shardvault.node'), 'not an ELF file');
    expect(probe(dir).file).toMatch(/prebuilds\/linux-x64\/shardvault\.glibc\.node$/);
    rmSync(join(dir, 'prebuilds'), { recursive: true });
    const out = probe(dir);
    expect(out.loaded).toBe(false);
    expect(out.reason).toMatch(/failed to load: .*build\/Release\/shardvault\.node/);
    expect(out.error?.message).toMatch(/npm rebuild shardvault/);
  });
});
