// Builds a released version of this repository from git into a directory of its own (issue 13: the
// mixed-version test and the fixture pools run a pool under the previous release). The sources are `git archive`
// of the release's commit; node_modules is a symlink to this checkout's (the release's dependencies are
// resolved from it); the native addon is this checkout's build/Release/shardvault.node when
// `git diff --quiet <commit> HEAD -- native binding.gyp` says the native sources are the same, else it is
// compiled there with node-gyp; then tsc compiles the release's TypeScript to its dist/. Its CLI is then
// `node <dir>/dist/lib/cli.js` and its library `<dir>/dist/lib/index.js`.
//
// Used by test/support/previous-release.ts (the test side: the pinned commit, skip reasons, one build per run)
// and scripts/make-fixture-pools.mjs. As a program: `node scripts/previous-release.mjs DIR` builds the pinned
// previous release (test/fixtures/previous-release.json) into DIR and prints DIR.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The release the tests pin as the previous one: { release, tag, commit, poolFormat }. */
export function pinnedRelease() {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'previous-release.json'), 'utf8'));
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return { status: r.error !== undefined ? -1 : r.status, stdout: r.stdout ?? '', stderr: r.error !== undefined ? String(r.error.message) : r.stderr ?? '' };
}

/**
 * What building the pinned release from this checkout lacks (git, a git checkout, the commit: missing e.g. when
 * running from the packed tarball or a shallow clone), as a phrase that reads after "needs", or undefined. A tag that exists but names another commit
 * than the pinned one is not a reason to skip: it throws, since then one of the two is wrong.
 */
export function unavailableReason(pin = pinnedRelease()) {
  if (run('git', ['--version']).status !== 0) return 'git (not installed)';
  if (run('git', ['-C', repoRoot, 'rev-parse', '--git-dir']).status !== 0) return `a git checkout (${repoRoot} is not one: a packed tarball?)`;
  if (run('git', ['-C', repoRoot, 'cat-file', '-e', `${pin.commit}^{commit}`]).status !== 0) return `commit ${pin.commit} of release ${pin.release} (not in this clone: shallow?)`;
  const tagged = run('git', ['-C', repoRoot, 'rev-parse', '-q', '--verify', `refs/tags/${pin.tag}^{commit}`]);
  if (tagged.status === 0 && tagged.stdout.trim() !== pin.commit) {
    throw new Error(`tag ${pin.tag} names commit ${tagged.stdout.trim()}, but test/fixtures/previous-release.json pins ${pin.commit} for release ${pin.release}`);
  }
  return undefined;
}

function must(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr.slice(-4000)}${r.stdout.slice(-2000)}`);
  return r;
}

/**
 * Builds the release at `commit` into `dir` (created; must not hold a build yet). Returns
 * { dir, cli, library, version, nativeRebuilt }.
 */
export function buildRelease(commit, dir) {
  mkdirSync(dir, { recursive: true });
  const tar = join(dir, '.source.tar');
  must(run('git', ['-C', repoRoot, 'archive', '--format=tar', '-o', tar, commit]), `git archive ${commit}`);
  must(run('tar', ['-xf', tar, '-C', dir]), 'tar -x');
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const sameNative = run('git', ['-C', repoRoot, 'diff', '--quiet', commit, 'HEAD', '--', 'native', 'binding.gyp']).status === 0;
  const addon = join(repoRoot, 'build', 'Release', 'shardvault.node');
  let nativeRebuilt = false;
  if (sameNative && existsSync(addon)) {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    copyFileSync(addon, join(dir, 'build', 'Release', 'shardvault.node'));
  } else {
    must(run(process.execPath, [join(repoRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild'], { cwd: dir }), `node-gyp rebuild of ${commit}`);
    nativeRebuilt = true;
  }
  must(run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir }), `tsc of ${commit}`);
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  return { dir, cli: join(dir, 'dist', 'lib', 'cli.js'), library: join(dir, 'dist', 'lib', 'index.js'), version, nativeRebuilt };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (out === undefined) {
    console.error('usage: node scripts/previous-release.mjs DIR');
    process.exit(2);
  }
  const pin = pinnedRelease();
  const why = unavailableReason(pin);
  if (why !== undefined) {
    console.error(`cannot build release ${pin.release}: needs ${why}`);
    process.exit(1);
  }
  const built = buildRelease(pin.commit, resolve(out));
  console.log(built.dir);
}
