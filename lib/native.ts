/**
 * The one module that loads the native addon. Everything else imports typed functions from here.
 *
 * Where the addon comes from (docs/packaging.md): node-gyp-build picks a local source build
 * (build/Release, made by `npm rebuild` or a source checkout's `npm install`) when there is one, else the
 * prebuilt binary shipped for this platform in prebuilds/<platform>-<arch>/. A local build that fails to load
 * falls through to the prebuild.
 *
 * If the addon is missing or fails to load, ShardVault keeps working on its pure-TypeScript codec and
 * @noble/hashes; `nativeUnavailableReason()` says why and a single warning is printed the first time a
 * caller falls back (not at import, so a program that never needs native stays quiet). What has no pure-TS
 * twin (durable shard I/O, hence every Vault) calls `requireNative()`, whose error says what is missing, why,
 * and the fix that applies to that cause.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Blake3Binding } from './binding/blake3.js';
import type { CodecBinding } from './binding/codec.js';
import type { CrcBinding } from './binding/crc.js';
import type { IoBinding } from './binding/io.js';
import { ErrorCode, ShardVaultError } from './errors.js';

export interface NativeConstants {
  readonly SHARD_COUNT_TOTAL_MAX: number;
  readonly SHARD_SIZE_BYTES_MAX: number;
  readonly BLAKE3_OUT_BYTES: number;
}

export type NativeAddon = NativeConstants & CodecBinding & Blake3Binding & IoBinding & CrcBinding;

/** Package root: lib/native.ts runs from <root>/lib (vitest) or <root>/dist/lib (compiled). */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return join(start, '..');
}

/** Why the addon is unavailable: each cause has its own fix (remedy()). */
type Cause = 'disabled' | 'build-failed' | 'load-failed' | 'missing';

let loaded: NativeAddon | null = null;
let loadedFile: string | null = null;
let reason: string | null = null;
let cause: Cause | null = null;
/** The fix build-native.mjs wrote for the failure it met (missing tools vs a compiler error). */
let buildFix: string | null = null;

(function load(): void {
  if (process.env.SHARDVAULT_NO_NATIVE === '1') {
    reason = 'disabled by SHARDVAULT_NO_NATIVE=1';
    cause = 'disabled';
    return;
  }
  const require = createRequire(import.meta.url);
  // SHARDVAULT_ADDON=<file>: load exactly this build and nothing else (the sanitizer tier's ASan/UBSan build,
  // scripts/sanitize.mjs). If it does not load, that is the reason: falling back would test the wrong binary.
  const forced = process.env.SHARDVAULT_ADDON;
  const candidates: string[] = forced ? [forced] : [];
  if (!forced) try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    candidates.push(nodeGypBuild.resolve(packageRoot));
  } catch {
    // No local build and no prebuild for this platform (node-gyp-build says "No native build was found").
  }
  // A local build that does not load (wrong Node, moved system libraries) must not hide a good prebuild.
  const prebuildDir = join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!forced && existsSync(prebuildDir)) {
    for (const name of readdirSync(prebuildDir).filter((n) => n.endsWith('.node')).sort()) {
      const file = join(prebuildDir, name);
      if (!candidates.includes(file)) candidates.push(file);
    }
  }
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      loaded = require(file) as NativeAddon;
      loadedFile = file;
      return;
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  const note = join(packageRoot, 'build', 'native-build-failure.txt');
  if (existsSync(note)) {
    // Line 1 is the summary (scripts/build-native.mjs); the compiler's output follows in the file.
    const [summary, fix] = readFileSync(note, 'utf8').split('\n');
    reason = `it failed to build at install: ${summary.trim()}; details in ${note}`;
    if (fix?.startsWith('fix: ')) buildFix = fix.slice('fix: '.length).trim();
    cause = 'build-failed';
  } else if (errors.length > 0) {
    reason = `it failed to load: ${errors.join('; ')}`;
    cause = 'load-failed';
  } else {
    reason = `no prebuilt binary for ${process.platform}-${process.arch} and no local build in ${join(packageRoot, 'build', 'Release')}`;
    cause = 'missing';
  }
})();

let warned = false;

/** The addon, or null when it is unavailable (see nativeUnavailableReason()). */
export function native(): NativeAddon | null {
  return loaded;
}

/** Why the addon is unavailable, or null when it loaded. */
export function nativeUnavailableReason(): string | null {
  return reason;
}

/** The file the addon was loaded from (a prebuild or a local build), or null. */
export function nativeAddonFile(): string | null {
  return loadedFile;
}

/** What to do about it, for the cause at hand (never a fix that cannot help). */
function remedy(): string {
  switch (cause) {
    case 'disabled':
      return 'unset SHARDVAULT_NO_NATIVE to use it';
    case 'build-failed':
      return buildFix ?? 'install python3, make and a C++17 compiler (g++), then run `npm rebuild shardvault`';
    default:
      return 'run `npm rebuild shardvault` (it compiles the addon from the shipped sources when no prebuilt binary fits; needs python3, make and g++)';
  }
}

/**
 * The addon, for callers that have no pure-TypeScript path. Throws ERR_SV_NATIVE_UNAVAILABLE naming what
 * needed it, why the addon is missing and the fix for that cause.
 */
export function requireNative(what: string): NativeAddon {
  if (loaded !== null) return loaded;
  throw new ShardVaultError(
    ErrorCode.NATIVE_UNAVAILABLE,
    `shardvault's native addon is missing (${reason}); ${what} needs it: ${remedy()}`,
  );
}

/** Prints, once per process, why a caller is falling back to pure TypeScript. */
export function warnFallbackOnce(what: string): void {
  if (warned || loaded !== null) return;
  warned = true;
  process.emitWarning(`shardvault: native addon unavailable (${reason}); ${what} uses the pure-TypeScript path`, {
    code: 'SHARDVAULT_NATIVE_FALLBACK',
  });
}
