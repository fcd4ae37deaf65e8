/**
 * Edge validation helpers (noble-hashes / sharp style): each narrows and returns the value or throws a
 * TypeError / RangeError with a stable code naming the argument. Validate once at the public edge;
 * inside the library, assert instead.
 */
import { ErrorCode, ShardVaultError, rangeError, typeError } from './errors.js';

export function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw typeError(name, `an integer in [${min}, ${max}]`, value);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw rangeError(name, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

export function bytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw typeError(name, 'a Uint8Array or Buffer', value);
  return value;
}

export function optionsObject<T extends object>(name: string, value: unknown, allowed: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(name, 'an options object', value);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ShardVaultError(
        ErrorCode.UNKNOWN_OPTION,
        `Unknown option "${key}" in ${name}; expected one of: ${allowed.join(', ')}`,
      );
    }
  }
  return value as Partial<T>;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw typeError(name, `one of ${allowed.join('|')}`, value);
  if (!(allowed as readonly string[]).includes(value)) throw rangeError(name, `one of ${allowed.join('|')}`, value);
  return value as T;
}

/** Throws unless `cond` holds. For invariants: a failure is a ShardVault bug, not bad input. */
export function assert(cond: unknown, message = 'assertion failed'): asserts cond {
  if (!cond) throw new Error(`shardvault internal assertion: ${message}`);
}
