/**
 * The one module that loads the native addon. Everything else imports typed functions from here.
 *
 * If the addon is missing or fails to load, ShardVault keeps working on its pure-TypeScript codec and
 * @noble/hashes; `nativeUnavailableReason()` says why and a single warning is printed the first time a
 * caller falls back (not at import, so a program that never needs native stays quiet).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Blake3Binding } from './binding/blake3.js';
import type { CodecBinding } from './binding/codec.js';
import type { IoBinding } from './binding/io.js';

export interface NativeConstants {
  readonly SHARD_COUNT_TOTAL_MAX: number;
  readonly SHARD_SIZE_BYTES_MAX: number;
  readonly BLAKE3_OUT_BYTES: number;
}

export type NativeAddon = NativeConstants & CodecBinding & Blake3Binding & IoBinding;

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

let loaded: NativeAddon | null = null;
let reason: string | null = null;

(function load(): void {
  if (process.env.SHARDVAULT_NO_NATIVE === '1') {
    reason = 'disabled by SHARDVAULT_NO_NATIVE=1';
    return;
  }
  const require = createRequire(import.meta.url);
  const candidates = [
    join(packageRoot, 'build', 'Release', 'shardvault.node'),
    join(packageRoot, 'build', 'Debug', 'shardvault.node'),
  ];
  const errors: string[] = [];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      loaded = require(file) as NativeAddon;
      return;
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  const note = join(packageRoot, 'build', 'native-build-failure.txt');
  if (errors.length > 0) {
    reason = `the addon failed to load: ${errors.join('; ')}`;
  } else if (existsSync(note)) {
    reason = `the addon failed to build at install: ${readFileSync(note, 'utf8').trim()}`;
  } else {
    reason = 'the addon is not built (run `npm run build:native`)';
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

/** Prints, once per process, why a caller is falling back to pure TypeScript. */
export function warnFallbackOnce(what: string): void {
  if (warned || loaded !== null) return;
  warned = true;
  process.emitWarning(`shardvault: native addon unavailable (${reason}); ${what} uses the pure-TypeScript path`, {
    code: 'SHARDVAULT_NATIVE_FALLBACK',
  });
}
