/**
 * BLAKE3 (hash, keyed_hash, derive_key; 32-byte output) on the native addon, with @noble/hashes as the
 * pure-JS fallback (identical output) when the addon is unavailable.
 *
 *   blake3Sync(data)                      blake3Sync(data, { key })        blake3Sync(data, { context })
 *   await blake3(data)                    // >= 64 KiB goes to the libuv pool
 *   blake3BatchSync(blocks) / await blake3Batch(blocks)   // one digest per block, one pool call
 *   createBlake3().update(a).update(b).digest()
 *   await h.updateAsync([a, b])   // same as update(a).update(b), on the libuv pool (large inputs, main thread free)
 */
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';

import { ErrorCode, ShardVaultError, typeError } from './errors.js';
import { native, warnFallbackOnce } from './native.js';
import { bytes, oneOf, optionsObject } from './validate.js';

export const BLAKE3_KERNELS = ['portable', 'sse41', 'avx2', 'avx512', 'neon'] as const;
export type Blake3Kernel = (typeof BLAKE3_KERNELS)[number];

export interface Blake3Options {
  /** 32-byte key: keyed_hash mode. */
  key?: Uint8Array;
  /** Context string: derive_key mode (the input is the key material). */
  context?: string;
  /** Force a native hash_many kernel (tests and benchmarks). */
  kernel?: Blake3Kernel;
}

/** Below this many bytes `blake3()` hashes synchronously: the pool round trip (~25-50 us) costs more. */
export const BLAKE3_ASYNC_THRESHOLD_BYTES = 64 * 1024;

interface Mode {
  key?: Uint8Array;
  context?: string;
  kernel?: Blake3Kernel;
}

function mode(options: unknown): Mode {
  const o = optionsObject<Blake3Options>('options', options, ['key', 'context', 'kernel']);
  const out: Mode = {};
  if (o.key !== undefined) {
    out.key = bytes('options.key', o.key);
    if (out.key.length !== 32) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `options.key must be 32 bytes, received ${out.key.length}`);
    }
  }
  if (o.context !== undefined) {
    if (typeof o.context !== 'string') throw typeError('options.context', 'a string', o.context);
    out.context = o.context;
  }
  if (out.key !== undefined && out.context !== undefined) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'options.key and options.context are mutually exclusive');
  }
  if (o.kernel !== undefined) {
    out.kernel = oneOf('options.kernel', o.kernel, BLAKE3_KERNELS);
    if (native() === null) {
      throw new ShardVaultError(ErrorCode.KERNEL_UNAVAILABLE, `kernel "${out.kernel}" needs the native addon`);
    }
  }
  return out;
}

function noble(data: Uint8Array, m: Mode): Uint8Array {
  warnFallbackOnce('BLAKE3');
  if (m.key !== undefined) return nobleBlake3(data, { key: m.key });
  if (m.context !== undefined) return nobleBlake3(data, { context: new TextEncoder().encode(m.context) });
  return nobleBlake3(data);
}

function asU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function blake3Sync(data: Uint8Array, options?: Blake3Options): Uint8Array {
  bytes('data', data);
  const m = mode(options);
  const addon = native();
  if (addon === null) return noble(data, m);
  return asU8(addon.blake3Sync(data, m.key, m.context, m.kernel));
}

export async function blake3(data: Uint8Array, options?: Blake3Options): Promise<Uint8Array> {
  bytes('data', data);
  const m = mode(options);
  const addon = native();
  if (addon === null) return noble(data, m);
  if (data.length < BLAKE3_ASYNC_THRESHOLD_BYTES) return asU8(addon.blake3Sync(data, m.key, m.context, m.kernel));
  return asU8(await addon.blake3Async(data, m.key, m.context, m.kernel));
}

function checkBlocks(blocks: unknown): Uint8Array[] {
  if (!Array.isArray(blocks)) throw typeError('blocks', 'an array of Uint8Array', blocks);
  blocks.forEach((b, i) => bytes(`blocks[${i}]`, b));
  return blocks as Uint8Array[];
}

function split(out: Buffer, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(out.buffer, out.byteOffset + i * 32, 32));
}

/** One digest per block, computed in one call. */
export function blake3BatchSync(blocks: readonly Uint8Array[], options?: Blake3Options): Uint8Array[] {
  const list = checkBlocks(blocks);
  const m = mode(options);
  const addon = native();
  if (addon === null) return list.map((b) => noble(b, m));
  return split(addon.blake3BatchSync(list, m.key, m.context, m.kernel), list.length);
}

/** One digest per block, all hashed in one thread-pool call. */
export async function blake3Batch(blocks: readonly Uint8Array[], options?: Blake3Options): Promise<Uint8Array[]> {
  const list = checkBlocks(blocks);
  const m = mode(options);
  const addon = native();
  if (addon === null) return list.map((b) => noble(b, m));
  return split(await addon.blake3BatchAsync(list, m.key, m.context, m.kernel), list.length);
}

export interface Blake3Hasher {
  update(data: Uint8Array): Blake3Hasher;
  /**
   * Feeds the chunks in order, on the thread pool (pure-JS fallback: synchronously). Until the promise
   * settles the hasher is busy: update, updateAsync and digest throw ERR_SV_WRITER_STATE. The chunks must not
   * be modified before it settles.
   */
  updateAsync(chunks: readonly Uint8Array[]): Promise<void>;
  /** The hash of everything so far; the hasher may keep being updated. */
  digest(): Uint8Array;
}

function hasherBusy(): ShardVaultError {
  return new ShardVaultError(ErrorCode.WRITER_STATE, 'BLAKE3 hasher is busy with an updateAsync');
}

export function createBlake3(options?: Omit<Blake3Options, 'kernel'>): Blake3Hasher {
  const m = mode(options);
  const addon = native();
  if (addon === null) {
    warnFallbackOnce('BLAKE3');
    const opts = m.key !== undefined ? { key: m.key } : m.context !== undefined ? { context: new TextEncoder().encode(m.context) } : {};
    const h = nobleBlake3.create(opts);
    const self: Blake3Hasher = {
      update(data) {
        h.update(bytes('data', data));
        return self;
      },
      async updateAsync(chunks) {
        for (const c of checkBlocks(chunks)) h.update(c);
      },
      digest() {
        return h.clone().digest();
      },
    };
    return self;
  }
  const handle = addon.blake3HasherCreate(m.key, m.context);
  let busy = false;
  const self: Blake3Hasher = {
    update(data) {
      if (busy) throw hasherBusy();
      addon.blake3HasherUpdate(handle, bytes('data', data));
      return self;
    },
    async updateAsync(chunks) {
      const list = checkBlocks(chunks);
      if (busy) throw hasherBusy();
      busy = true;
      try {
        await addon.blake3HasherUpdateAsync(handle, list);
      } finally {
        busy = false;
      }
    },
    digest() {
      if (busy) throw hasherBusy();
      return asU8(addon.blake3HasherDigest(handle));
    },
  };
  return self;
}
