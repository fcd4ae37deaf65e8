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

/** A non-empty string without NUL (paths, names), or a TypeError / RangeError naming the argument. */
export function nonEmptyString(name: string, value: unknown): string {
  if (value === undefined) {
    const err = typeError(name, 'a non-empty string', value);
    err.message = `${name} is required (${err.message})`;
    throw err;
  }
  if (typeof value !== 'string') throw typeError(name, 'a non-empty string', value);
  if (value.length === 0 || value.includes('\0')) throw rangeError(name, 'a non-empty string without NUL', value);
  return value;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean', value);
  return value;
}

/** A plain object whose values are all strings (disk labels). */
export function stringRecord(name: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(name, 'an object of string values', value);
  for (const [k, v] of Object.entries(value)) {
    if (k.length === 0) throw rangeError(`${name} key`, 'a non-empty label name', k);
    if (typeof v !== 'string') throw typeError(`${name}.${k}`, 'a string', v);
  }
  return value as Record<string, string>;
}

/**
 * Why `name` breaks S3's bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html,
 * general purpose buckets), or undefined when it follows them: 3-63 characters of a-z 0-9 . -, starting and
 * ending with a letter or digit, no "..", not an IPv4 address, none of the reserved prefixes and suffixes.
 * Pools made now stay servable by the S3 daemon, where the name is a DNS label of the virtual host.
 */
export function bucketNameProblem(value: string): string | undefined {
  if (value.length < 3 || value.length > 63) return `must be 3 to 63 characters long (has ${value.length})`;
  if (!/^[a-z0-9.-]+$/.test(value)) return 'may only contain lowercase letters a-z, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(value) || !/[a-z0-9]$/.test(value)) return 'must start and end with a letter or digit';
  if (value.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) return 'must not be formatted as an IP address';
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) if (value.startsWith(prefix)) return `must not start with the reserved prefix "${prefix}"`;
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) if (value.endsWith(suffix)) return `must not end with the reserved suffix "${suffix}"`;
  return undefined;
}

/** A bucket name that follows S3's rules (see bucketNameProblem), else ERR_SV_INVALID_BUCKET_NAME naming the rule. */
export function bucketName(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(name, 'a bucket name string', value);
  const problem = bucketNameProblem(value);
  if (problem !== undefined) {
    throw new ShardVaultError(ErrorCode.INVALID_BUCKET_NAME, `invalid bucket name "${value.length > 70 ? `${value.slice(0, 70)}…` : value}": a bucket name ${problem}`);
  }
  return value;
}
