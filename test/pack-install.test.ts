// The package as a user gets it (issue 10: the published tarball could not be imported): `npm pack`, install
// the tarball into an empty project with production dependencies only (offline-safe: --prefer-offline over
// the warm npm cache), then there: import, require (Node >= 20.19 require(esm)), `npx shardvault --help`
// and `--version`, and a 4+2 put/get/scrub through the API and through the CLI, bytes verified. The install
// must have used the shipped prebuild, not a compile.
// Needs the prebuilds (npm run build:prebuilds; .ci/run builds them). Without them it skips, saying why,
// except under SHARDVAULT_CI_REQUIRE_ALL=1 (.ci/run), where a skip would hide a broken tier: it fails.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tier } from './support/tier.js';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };
const platformDir = `${process.platform}-${process.arch}`;
const prebuildDir = join(root, 'prebuilds', platformDir);

function missingTools(): string[] {
  const missing: string[] = [];
  if (spawnSync('npm', ['--version'], { encoding: 'utf8' }).status !== 0) missing.push('npm');
  // The tarball must carry both; this machine must be able to load one of them.
  for (const dir of [...new Set([prebuildDir, join(root, 'prebuilds', 'linux-x64'), join(root, 'prebuilds', 'linux-arm64')])]) {
    if (!existsSync(dir) || !readdirSync(dir).some((n) => n.endsWith('.node'))) {
      missing.push(`prebuilds/${dir.split('/').pop()} (npm run build:prebuilds)`);
    }
  }
  return missing;
}


const INSTALL_MS = 600_000;

let work = '';
let app = '';
let tarball = '';
let tarFiles: string[] = [];
let installOut = '';
const timings: Record<string, number> = {};

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: opts.cwd ?? app,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // The user's environment, not the repository's test switches.
    env: { ...process.env, SHARDVAULT_NO_NATIVE: '', SHARDVAULT_KERNEL: '', SHARDVAULT_BLAKE3_KERNEL: '', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
}

function ok(res: SpawnSyncReturns<string>, what: string): string {
  expect(res.status, `${what}\n${res.stdout}\n${res.stderr}`).toBe(0);
  return res.stdout;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('pack-install tier: the tarball in an empty project, production dependencies only', () => {
  const { ready, why } = tier('the pack-install tier', missingTools());

  beforeAll(() => {
    if (!ready) return;
    work = mkdtempSync(join(tmpdir(), 'sv-pack-'));
    let t = Date.now();
    // --ignore-scripts: `prepare` would re-run tsc over dist/ while other test files import it. dist/ and
    // prebuilds/ are current here (npm install ran prepare; .ci/run ran build:prebuilds); a real `npm pack`
    // or publish runs both hooks (prepack rebuilds stale prebuilds).
    const packed = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root });
    ok(packed, 'npm pack');
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info[0].filename);
    tarFiles = info[0].files.map((f) => f.path);
    timings.packMs = Date.now() - t;

    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sv-consumer', version: '1.0.0', private: true }, null, 2));
    t = Date.now();
    const installed = run('npm', ['install', '--omit=dev', '--prefer-offline', '--foreground-scripts', '--no-audit', '--no-fund', tarball]);
    installOut = installed.stdout + installed.stderr;
    ok(installed, 'npm install --omit=dev <tarball>');
    timings.installMs = Date.now() - t;
  }, INSTALL_MS);

  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
    if (Object.keys(timings).length > 0) console.log(`pack-install timings: ${JSON.stringify(timings)}`);
  });

  it.skipIf(!ready)(`the tarball ships what a consumer needs and no tests${why}`, () => {
    for (const f of [
      'package.json', 'README.md', 'LICENSE', 'binding.gyp', 'scripts/build-native.mjs', 'dist/lib/index.js', 'dist/lib/index.d.ts',
      'dist/lib/cli.js', 'native/napi/addon.cc', 'prebuilds/linux-x64/shardvault.glibc.node', 'prebuilds/linux-arm64/shardvault.glibc.node',
    ]) {
      expect(tarFiles, f).toContain(f);
    }
    expect(tarFiles.filter((f) => /^(test|bench)\/|\.test\.|^dist\/(test|bench)\/|\.map$|^scripts\/(run-tests|prebuild)/.test(f))).toEqual([]);
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  });

  it.skipIf(!ready)(`the install used the shipped prebuild and pulled no devDependency${why}`, () => {
    const installed = join(app, 'node_modules', pkg.name);
    expect(installOut).toMatch(/shardvault: using the prebuilt addon prebuilds\/linux-x64\/shardvault\.glibc\.node \(nothing compiled\)/);
    expect(existsSync(join(installed, 'build')), 'a build/ directory means the install compiled').toBe(false);
    for (const dev of Object.keys(pkg.devDependencies)) {
      expect(existsSync(join(app, 'node_modules', dev)), `devDependency ${dev} installed`).toBe(false);
    }
  });

  it.skipIf(!ready)(`import('shardvault'): a 4+2 put/get/scrub through the API, on the prebuilt addon${why}`, () => {
    const script = `
      import { createHash, randomBytes } from 'node:crypto';
      import { Vault, nativeInfo } from 'shardvault';
      import { nativeAddonFile } from ${JSON.stringify(join(app, 'node_modules', pkg.name, 'dist', 'lib', 'native.js'))};
      const base = ${JSON.stringify(join(work, 'api'))};
      const disks = Array.from({ length: 6 }, (_, i) => ({ path: base + '/d' + i }));
      const data = randomBytes(3 * 1024 * 1024 + 4321);
      let vault = await Vault.init({ disks, metaDir: base + '/meta', k: 4, m: 2, blockBytes: 64 * 1024 });
      await vault.createBucket('photos');
      const receipt = await vault.put('photos', 'cat.jpg', data);
      await vault.close();
      vault = await Vault.open(base + '/meta');
      const back = await vault.getBuffer('photos', 'cat.jpg');
      const part = await vault.getBuffer('photos', 'cat.jpg', { range: { start: 100, end: 200 } });
      const scrub = await vault.scrub();
      await vault.close();
      const sha = (b) => createHash('sha256').update(b).digest('hex');
      console.log(JSON.stringify({ loaded: nativeInfo().loaded, file: nativeAddonFile(), same: sha(back) === sha(data),
        part: Buffer.from(part).equals(data.subarray(100, 200)), scrubbed: scrub.objects, bad: scrub.bad, seq: receipt.sequence }));
    `;
    const out = JSON.parse(ok(run(process.execPath, ['--input-type=module', '-e', script]), 'API round trip').trim().split('\n').pop()!);
    expect(out.loaded).toBe(true);
    expect(out.file).toBe(join(app, 'node_modules', pkg.name, 'prebuilds', 'linux-x64', 'shardvault.glibc.node'));
    expect(out.same).toBe(true);
    expect(out.part).toBe(true);
    expect(out.scrubbed).toBe(1);
    expect(out.bad).toBe(0);
  });

  it.skipIf(!ready)(`the public surface: the entry, the codec/hash/io subpaths, no engine internals${why}`, () => {
    const script = `
      const main = await import('shardvault');
      const codec = await import('shardvault/codec');
      const hash = await import('shardvault/hash');
      const io = await import('shardvault/io');
      console.log(JSON.stringify({
        main: Object.keys(main).sort(), codec: typeof codec.ReedSolomon, hash: typeof hash.blake3Sync, io: typeof io.openShardWriter,
        same: codec.ReedSolomon === main.ReedSolomon,
      }));
    `;
    const out = JSON.parse(ok(run(process.execPath, ['--input-type=module', '-e', script]), 'subpath imports').trim().split('\n').pop()!);
    expect(out).toMatchObject({ codec: 'function', hash: 'function', io: 'function', same: true });
    for (const name of ['Vault', 'ReedSolomon', 'blake3Sync', 'ShardVaultError', 'ErrorCode', 'AbortError', 'nativeInfo']) expect(out.main).toContain(name);
    for (const internal of ['Catalog', 'ShardWriter', 'openShardWriter', 'readRange', 'place', 'encodeManifest', 'signManifest']) expect(out.main).not.toContain(internal);
  });

  it.skipIf(!ready)(`require('shardvault') works (Node >= 20.19 loads the ES module)${why}`, () => {
    const res = run(process.execPath, ['-e', `
      const sv = require('shardvault');
      const rs = new sv.ReedSolomon(4, 2);
      const shards = Array.from({ length: 6 }, (_, i) => new Uint8Array(16).fill(i < 4 ? i + 1 : 0));
      rs.encodeSync(shards);
      console.log(JSON.stringify({ vault: typeof sv.Vault, backend: rs.backend, parity: Buffer.from(shards[5]).toString('hex') }));
    `]);
    const out = JSON.parse(ok(res, "require('shardvault')").trim().split('\n').pop()!);
    expect(out).toMatchObject({ vault: 'function', backend: 'native' });
    expect(out.parity).toMatch(/^[0-9a-f]{32}$/);
  });

  it.skipIf(!ready)(`npx shardvault --help and --version${why}`, () => {
    const help = ok(run('npx', ['--no-install', 'shardvault', '--help']), 'npx shardvault --help');
    expect(help).toMatch(/^Usage: shardvault/m);
    for (const cmd of ['init', 'put', 'get', 'scrub']) expect(help).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    expect(ok(run('npx', ['--no-install', 'shardvault', '--version']), 'npx shardvault --version').trim()).toBe(pkg.version);
  });

  it.skipIf(!ready)(`the CLI: init a 4+2 pool, mb, put, get, scrub, bytes verified${why}`, () => {
    const base = join(work, 'cli');
    const meta = join(base, 'meta');
    const disks = Array.from({ length: 6 }, (_, i) => ['--disk', join(base, `d${i}`)]).flat();
    const sv = (...args: string[]) => ok(run('npx', ['--no-install', 'shardvault', ...args]), `shardvault ${args.join(' ')}`);
    const file = join(work, 'in.bin');
    const data = randomBytes(2 * 1024 * 1024 + 777);
    writeFileSync(file, data);
    expect(sv('init', ...disks, '--meta', meta, '-k', '4', '-m', '2', '--block', String(64 * 1024))).toMatch(/pool formatted: 6 disks, 4\+2/);
    sv('mb', 'photos', '--meta', meta);
    const receipt = JSON.parse(sv('put', 'photos', 'cat.jpg', file, '--meta', meta, '--json').trim().split('\n').pop()!);
    expect(receipt).toBeTypeOf('object');
    const outFile = join(work, 'out.bin');
    sv('get', 'photos', 'cat.jpg', outFile, '--meta', meta);
    expect(sha(readFileSync(outFile))).toBe(sha(data));
    expect(sv('scrub', '--meta', meta)).toMatch(/scrub: 1 objects, [\d.]+ [kMG]?B read, 0 bad shard/);
  });
});
