/**
 * Durable shard files (native/io/shard_io.cc on the libuv pool).
 *
 *   const w = await openShardWriter(dir, 'obj.v1.s3', { expectDev });
 *   await w.append(block); ...; await w.seal();   // resolves only when data, rename and directory are durable
 *   const { data, ok } = await readRange(path, 0, len, { blockBytes, expectedHashes });
 *
 * `written` (in the page cache) is never `durable`. After any fsync failure the writer is lost for good
 * (I9): seal() refuses with ERR_SV_FSYNC_FAILED and the caller rewrites the shard to a new file.
 * Requires the native addon (there is no pure-JS twin of this module: Node's fs hides short writes and cannot
 * offer create-only renames).
 */
import { ErrorCode, ShardVaultError, typeError } from '../../errors.js';
import { requireNative } from '../../native.js';
import type { IoBinding, WriterHandle, WriterState } from '../../binding/io.js';
import { bytes, integer, optionsObject } from '../../validate.js';

const SAFE = Number.MAX_SAFE_INTEGER;

function io(): IoBinding {
  return requireNative('durable shard I/O (every Vault)');
}

function path(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(name, 'a path string', value);
  if (value.length === 0 || value.includes('\0')) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${name} must be a non-empty path without NUL`);
  return value;
}

export interface DiskStat {
  dev: number;
  ino: number;
}

/** st_dev / st_ino of a path (a disk root's identity at the filesystem level). */
export function statDisk(dir: string): DiskStat {
  return io().ioStat(path('dir', dir));
}

export function fsyncDir(dir: string): Promise<void> {
  return io().ioFsyncDir(path('dir', dir));
}

export interface ShardWriterOptions {
  /** Refuse to write unless `dir` is on this st_dev (from statDisk at format time). */
  expectDev?: number;
  /**
   * Create the file under its final name (O_EXCL) instead of a temporary one; seal() is fdatasync + directory
   * fsync without a rename (and cannot replace). A crash can leave a torn file under the final name: only for
   * files whose visibility is decided elsewhere (the vault's catalog commit) and that are removed as orphans
   * otherwise. Much cheaper on ext4, where a rename forces a full journal commit.
   */
  direct?: boolean;
}

export class ShardWriter {
  readonly #handle: WriterHandle;
  #busy = false;
  #closed = false;

  /** @internal use openShardWriter */
  constructor(handle: WriterHandle) {
    this.#handle = handle;
  }

  /** Bytes handed to the file (in the page cache; not durable until seal resolves). */
  get written(): number {
    return io().ioWriterState(this.#handle).written;
  }

  get state(): WriterState {
    return io().ioWriterState(this.#handle);
  }

  append(data: Uint8Array): Promise<void> {
    bytes('data', data);
    return this.#run(() => io().ioWriterAppend(this.#handle, data));
  }

  pwrite(data: Uint8Array, offset: number): Promise<void> {
    bytes('data', data);
    integer('offset', offset, 0, SAFE);
    return this.#run(() => io().ioWriterPwrite(this.#handle, data, offset));
  }

  /** fdatasync, create-only rename into place (unless `replace`), directory fsync. */
  seal(options?: { replace?: boolean }): Promise<void> {
    const o = optionsObject<{ replace?: boolean }>('options', options, ['replace']);
    if (o.replace !== undefined && typeof o.replace !== 'boolean') throw typeError('options.replace', 'a boolean', o.replace);
    return this.#run(() => io().ioWriterSeal(this.#handle, o.replace === true), true);
  }

  /** Closes and removes the temporary file. */
  abort(): Promise<void> {
    return this.#run(() => io().ioWriterAbort(this.#handle), true);
  }

  #run(op: () => Promise<void>, closes = false): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ShardVaultError(ErrorCode.WRITER_STATE, 'shard writer already sealed or aborted'));
    }
    if (this.#busy) {
      return Promise.reject(new ShardVaultError(ErrorCode.WRITER_STATE, 'another operation on this shard writer is still running'));
    }
    this.#busy = true;
    const p = op().finally(() => {
      this.#busy = false;
    });
    if (closes) {
      p.then(
        () => {
          this.#closed = true;
        },
        () => {
          // A failed seal leaves the writer usable only for abort (the native side refuses a second seal
          // after a failed fsync).
        },
      );
    }
    return p;
  }
}

export async function openShardWriter(dir: string, name: string, options?: ShardWriterOptions): Promise<ShardWriter> {
  path('dir', dir);
  if (typeof name !== 'string') throw typeError('name', 'a file name', name);
  const o = optionsObject<ShardWriterOptions>('options', options, ['expectDev', 'direct']);
  const dev = o.expectDev === undefined ? 0 : integer('options.expectDev', o.expectDev, 1, SAFE);
  if (o.direct !== undefined && typeof o.direct !== 'boolean') throw typeError('options.direct', 'a boolean', o.direct);
  return new ShardWriter(await io().ioWriterOpen(dir, name, dev, o.direct === true));
}

export interface ReadRangeOptions {
  /** Verify each block of this size against `expectedHashes` (the last block may be shorter). */
  blockBytes?: number;
  /** One 32-byte BLAKE3 digest per block, concatenated. */
  expectedHashes?: Uint8Array;
}

export interface ReadRangeResult {
  data: Uint8Array;
  /** Per block: true when it matched its expected hash (present only when verifying). */
  ok?: boolean[];
}

/** Reads exactly [offset, offset + length); a file that ends early is ERR_SV_SHORT_READ. */
export async function readRange(file: string, offset: number, length: number, options?: ReadRangeOptions): Promise<ReadRangeResult> {
  path('file', file);
  integer('offset', offset, 0, SAFE);
  integer('length', length, 0, 2 ** 30);
  const o = optionsObject<ReadRangeOptions>('options', options, ['blockBytes', 'expectedHashes']);
  let blockBytes = 0;
  if (o.expectedHashes !== undefined) {
    bytes('options.expectedHashes', o.expectedHashes);
    blockBytes = integer('options.blockBytes', o.blockBytes, 1, 2 ** 30);
    const blocks = Math.ceil(length / blockBytes);
    if (length === 0 || o.expectedHashes.length !== blocks * 32) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `options.expectedHashes must hold ${blocks} 32-byte digests`);
    }
  }
  const res = await io().ioReadRange(file, offset, length, blockBytes, o.expectedHashes);
  const data = new Uint8Array(res.data.buffer, res.data.byteOffset, res.data.byteLength);
  return res.ok === undefined ? { data } : { data, ok: [...res.ok].map((b) => b === 1) };
}
