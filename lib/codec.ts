/**
 * Reed-Solomon erasure codec over GF(2^8) (poly 0x11D, systematic Cauchy matrix): parity bytes identical to
 * ISA-L's ec_encode_data for the same k, m and data, whichever backend or kernel computes them.
 *
 *   const rs = new ReedSolomon(10, 4);
 *   rs.encodeSync(shards);                       // shards: 14 equal-length Uint8Arrays; fills the last 4
 *   rs.reconstructSync(shards, { present, targets: [0, 3] });
 *   await rs.encode(shards); await rs.encodeBatch(stripes);
 *
 * Buffers are used in place, never copied. While an async call runs, its buffers belong to it: do not
 * touch them until the promise settles (a second call on a busy buffer is refused with ERR_SV_BUFFER_BUSY).
 */
import { JsReedSolomon } from './codec-js.js';
import { blake3BatchSync } from './hash.js';
import { ErrorCode, ShardVaultError, rangeError, typeError } from './errors.js';
import { LIMITS } from './limits.js';
import { native, requireNative, warnFallbackOnce } from './native.js';
import type { CodecHandle, PlanHandle } from './binding/codec.js';
import { integer, oneOf, optionsObject } from './validate.js';

export const KERNELS = ['scalar', 'avx2', 'avx512', 'gfni256', 'gfni512', 'neon'] as const;
export type Kernel = (typeof KERNELS)[number];
export type Backend = 'native' | 'js';

export interface ReedSolomonOptions {
  /** 'native' (default when the addon loaded) or 'js' (pure TypeScript, byte-identical). */
  backend?: Backend;
  /** Force a SIMD kernel (native only); default: SHARDVAULT_KERNEL or the fastest the CPU has. */
  kernel?: Kernel;
}

export interface ReconstructOptions {
  /** present[i] is true when shard i holds valid bytes; length k + m. At least k must be true. */
  present: readonly boolean[];
  /** Shard indices to rebuild (data or parity), none of them present. Default: every missing data shard. */
  targets?: readonly number[];
}

/** Below this many bytes in a call, `encode`/`reconstruct` run synchronously: a thread-pool round trip costs
 *  ~25 us here (perf-anchors.md 1.4) while 10 x 4 KiB encodes in ~1 us. */
export const ASYNC_THRESHOLD_BYTES = 256 * 1024;

const busy = new WeakSet<ArrayBuffer | SharedArrayBuffer>();
/** Number of async calls in flight; the busy check is skipped entirely when none is (the common sync case). */
let busyCalls = 0;

export class ReedSolomon {
  readonly k: number;
  readonly m: number;
  readonly backend: Backend;
  /** Kernel in use ('js' for the pure-TypeScript backend). */
  readonly kernel: string;
  readonly #handle: CodecHandle | null;
  readonly #js: JsReedSolomon | null;

  constructor(k: number, m: number, options?: ReedSolomonOptions) {
    integer('k', k, 1, LIMITS.shardCountDataMax);
    integer('m', m, 0, LIMITS.shardCountParityMax);
    if (k + m > LIMITS.shardCountTotalMax) throw rangeError('k + m', `at most ${LIMITS.shardCountTotalMax}`, k + m);
    const opts = optionsObject<ReedSolomonOptions>('options', options, ['backend', 'kernel']);
    const backend = opts.backend === undefined ? undefined : oneOf('options.backend', opts.backend, ['native', 'js']);
    const kernel = opts.kernel === undefined ? undefined : oneOf('options.kernel', opts.kernel, KERNELS);
    this.k = k;
    this.m = m;
    const addon = native();
    if (backend === 'js' || (backend === undefined && kernel === undefined && addon === null)) {
      if (backend === undefined) warnFallbackOnce('Reed-Solomon coding');
      if (kernel !== undefined) {
        throw new ShardVaultError(ErrorCode.KERNEL_UNAVAILABLE, `kernel "${kernel}" needs the native backend`);
      }
      this.backend = 'js';
      this.kernel = 'js';
      this.#handle = null;
      this.#js = new JsReedSolomon(k, m);
      return;
    }
    const nativeAddon = addon ?? requireNative(kernel === undefined ? 'the native codec backend' : `kernel "${kernel}"`);
    this.backend = 'native';
    this.#handle = nativeAddon.codecCreate(k, m, kernel);
    this.kernel = nativeAddon.codecInfo(this.#handle).kernel;
    this.#js = null;
  }

  /** Fills the last m of k + m equal-length shards from the first k. */
  encodeSync(shards: readonly Uint8Array[]): void {
    const list = this.#checkShards('shards', shards);
    if (this.m === 0) return;
    if (this.#js !== null) this.#js.encode(list);
    else native()!.codecEncodeSync(this.#handle!, list);
  }

  /**
   * The small-stripe entry point: `stripe` holds all k + m shards back to back (shard i is bytes
   * [i * len, (i + 1) * len) with len = stripe.length / (k + m)); fills the parity part. One native call and one
   * typed-array query, against k + m for encodeSync, which is what a 4 KiB stripe's cost is made of.
   */
  encodeStripe(stripe: Uint8Array): void {
    const len = this.#checkStripe(stripe);
    if (this.m === 0) return;
    if (this.#js !== null) this.#js.encode(this.#views(stripe, len));
    else native()!.codecEncodeStripeSync(this.#handle!, stripe);
  }

  /**
   * A decode plan for one erasure pattern ({ present, targets } as for reconstructSync), checked and inverted
   * once: reconstructStripe with it pays neither again. Plans belong to the codec that made them.
   */
  plan(options: ReconstructOptions): DecodePlan {
    const { present, targets } = this.#checkPattern(options);
    const handle = this.#js === null && targets.length > 0 ? native()!.codecPlan(this.#handle!, present, targets) : null;
    return new DecodePlan(this, present, targets, handle);
  }

  /** Rebuilds `plan`'s targets inside one contiguous stripe (the layout of encodeStripe). */
  reconstructStripe(stripe: Uint8Array, plan: DecodePlan): void {
    if (!(plan instanceof DecodePlan) || plan.codec !== this) throw typeError('plan', "a DecodePlan made by this codec's plan()", plan);
    const len = this.#checkStripe(stripe);
    if (plan.targets.length === 0) return;
    if (this.#js !== null) this.#js.reconstruct(this.#views(stripe, len), plan.present.slice(), plan.targets.slice());
    else native()!.codecReconstructStripeSync(plan.handle!, stripe);
  }

  #checkStripe(stripe: Uint8Array): number {
    if (!(stripe instanceof Uint8Array)) throw typeError('stripe', 'a Uint8Array holding k + m shards', stripe);
    const n = this.k + this.m;
    const len = stripe.length / n;
    if (stripe.length === 0 || !Number.isInteger(len) || len > LIMITS.shardSizeBytesMax) {
      throw new ShardVaultError(ErrorCode.SHARD_SIZE_MISMATCH, `stripe length ${stripe.length} is not k + m = ${n} times a shard length in [1, ${LIMITS.shardSizeBytesMax}]`);
    }
    if (busyCalls > 0 && busy.has(stripe.buffer)) throw new ShardVaultError(ErrorCode.BUFFER_BUSY, 'stripe is in use by a pending async codec call');
    return len;
  }

  #views(stripe: Uint8Array, len: number): Uint8Array[] {
    return Array.from({ length: this.k + this.m }, (_, i) => stripe.subarray(i * len, (i + 1) * len));
  }

  /** Like encodeSync; large stripes are encoded on the libuv thread pool. */
  async encode(shards: readonly Uint8Array[]): Promise<void> {
    const list = this.#checkShards('shards', shards);
    if (this.m === 0) return;
    if (this.#js !== null || list[0].length * list.length < ASYNC_THRESHOLD_BYTES) {
      this.encodeSync(list);
      return;
    }
    await this.#runAsync([list], () => native()!.codecEncodeAsync(this.#handle!, [list]));
  }

  /** Encodes many stripes in one thread-pool call (amortizes the ~25 us hop over the batch). */
  async encodeBatch(stripes: readonly (readonly Uint8Array[])[]): Promise<void> {
    if (!Array.isArray(stripes)) throw typeError('stripes', 'an array of shard arrays', stripes);
    const lists = stripes.map((s, i) => this.#checkShards(`stripes[${i}]`, s));
    checkBatchLengths(lists);
    if (this.m === 0 || lists.length === 0) return;
    if (this.#js !== null) {
      for (const list of lists) this.#js.encode(list);
      return;
    }
    await this.#runAsync(lists, () => native()!.codecEncodeAsync(this.#handle!, lists));
  }

  /**
   * The write path's fused step: encodes every stripe and BLAKE3-hashes each of its k + m blocks in one
   * thread-pool call, while each stripe is still in cache. Returns one fingerprint vector (k + m 32-byte
   * digests) per stripe.
   */
  async encodeAndHash(stripes: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[][]> {
    if (!Array.isArray(stripes)) throw typeError('stripes', 'an array of shard arrays', stripes);
    const lists = stripes.map((s, i) => this.#checkShards(`stripes[${i}]`, s));
    checkBatchLengths(lists);
    if (lists.length === 0) return [];
    const n = this.k + this.m;
    if (this.#js !== null) {
      return lists.map((list) => {
        this.#js!.encode(list);
        return blake3BatchSync(list);
      });
    }
    let out: Buffer | undefined;
    await this.#runAsync(lists, async () => {
      out = await native()!.stripeEncodeHash(this.#handle!, lists);
    });
    return lists.map((_, s) =>
      Array.from({ length: n }, (_, i) => new Uint8Array(out!.buffer, out!.byteOffset + (s * n + i) * 32, 32)),
    );
  }

  /** Rebuilds the target shards in place from any k present shards. */
  reconstructSync(shards: readonly Uint8Array[], options: ReconstructOptions): void {
    const list = this.#checkShards('shards', shards);
    const { present, targets } = this.#checkPattern(options);
    if (targets.length === 0) return;
    if (this.#js !== null) this.#js.reconstruct(list, present, targets);
    else native()!.codecReconstructSync(this.#handle!, list, present, targets);
  }

  async reconstruct(shards: readonly Uint8Array[], options: ReconstructOptions): Promise<void> {
    const list = this.#checkShards('shards', shards);
    const { present, targets } = this.#checkPattern(options);
    if (targets.length === 0) return;
    if (this.#js !== null || list[0].length * list.length < ASYNC_THRESHOLD_BYTES) {
      this.reconstructSync(list, { present, targets });
      return;
    }
    await this.#runAsync([list], () => native()!.codecReconstructAsync(this.#handle!, [list], present, targets));
  }

  #checkShards(name: string, shards: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(shards)) throw typeError(name, 'an array of Uint8Array', shards);
    const n = this.k + this.m;
    if (shards.length !== n) {
      throw new ShardVaultError(ErrorCode.SHARD_COUNT, `Expected ${n} shards in ${name} (k + m) but received ${shards.length}`);
    }
    let len = -1;
    for (let i = 0; i < n; i++) {
      const s: unknown = shards[i];
      if (!(s instanceof Uint8Array)) throw typeError(`${name}[${i}]`, 'a Uint8Array or Buffer', s);
      if (s.length < 1 || s.length > LIMITS.shardSizeBytesMax) {
        throw rangeError(`${name}[${i}].length`, `an integer in [1, ${LIMITS.shardSizeBytesMax}]`, s.length);
      }
      if (len === -1) len = s.length;
      else if (s.length !== len) {
        throw new ShardVaultError(
          ErrorCode.SHARD_SIZE_MISMATCH,
          `All shards must have the same length: ${name}[${i}] has ${s.length}, ${name}[0] has ${len}`,
        );
      }
      if (busyCalls > 0 && busy.has(s.buffer)) {
        throw new ShardVaultError(ErrorCode.BUFFER_BUSY, `${name}[${i}] is in use by a pending async codec call`);
      }
    }
    // The native binding checks overlap itself by address (same code), so only the JS backend pays for it
    // here: reading `.buffer` costs ~20 ns per typed array, which would dominate a 4 KiB stripe call.
    if (this.#js !== null) checkDisjoint(name, shards as Uint8Array[]);
    return shards as Uint8Array[];
  }

  #checkPattern(options: ReconstructOptions): { present: boolean[]; targets: number[] } {
    const opts = optionsObject<ReconstructOptions>('options', options, ['present', 'targets']);
    const n = this.k + this.m;
    const presentIn: unknown = opts.present;
    if (!Array.isArray(presentIn) || presentIn.length !== n || presentIn.some((p) => typeof p !== 'boolean')) {
      throw typeError('options.present', `an array of ${n} booleans`, presentIn);
    }
    const present = presentIn as boolean[];
    const count = present.filter(Boolean).length;
    if (count < this.k) {
      throw new ShardVaultError(ErrorCode.TOO_FEW_SHARDS, `${count} shards present; at least k = ${this.k} are needed`);
    }
    let targets: number[];
    if (opts.targets === undefined) {
      targets = [];
      for (let i = 0; i < this.k; i++) if (!present[i]) targets.push(i);
    } else {
      if (!Array.isArray(opts.targets)) throw typeError('options.targets', 'an array of shard indices', opts.targets);
      targets = opts.targets.map((t, i) => integer(`options.targets[${i}]`, t, 0, n - 1));
      const seen = new Set<number>();
      for (const t of targets) {
        if (present[t] || seen.has(t)) {
          throw new ShardVaultError(ErrorCode.BAD_TARGETS, `target ${t} is marked present or listed twice`);
        }
        seen.add(t);
      }
    }
    return { present: present.slice(), targets };
  }

  async #runAsync(lists: Uint8Array[][], start: () => Promise<void>): Promise<void> {
    const buffers = new Set<ArrayBuffer | SharedArrayBuffer>();
    for (const list of lists) for (const s of list) buffers.add(s.buffer);
    for (const b of buffers) busy.add(b);
    busyCalls++;
    try {
      await start();
    } finally {
      busyCalls--;
      for (const b of buffers) busy.delete(b);
    }
  }
}

/** A checked erasure pattern of one codec (ReedSolomon.plan), reusable for any number of stripes. */
export class DecodePlan {
  /** @internal */
  constructor(
    readonly codec: ReedSolomon,
    readonly present: readonly boolean[],
    readonly targets: readonly number[],
    /** @internal */ readonly handle: PlanHandle | null,
  ) {
    Object.freeze(this.present);
    Object.freeze(this.targets);
  }
}

/** Two shards may share an ArrayBuffer (subarrays of one allocation) but never a byte. */
function checkDisjoint(name: string, shards: Uint8Array[]): void {
  // Fast path (the usual case: one allocation per shard): distinct ArrayBuffers cannot overlap. A quadratic
  // identity scan is cheaper than building maps for the shard counts of real codes.
  let shared = false;
  if (shards.length <= 64) {
    const buffers = shards.map((s) => s.buffer);
    outer: for (let i = 1; i < buffers.length; i++) {
      const b = buffers[i];
      for (let j = 0; j < i; j++) {
        if (buffers[j] === b) {
          shared = true;
          break outer;
        }
      }
    }
    if (!shared) return;
  }
  const byBuffer = new Map<ArrayBuffer | SharedArrayBuffer, Array<[number, number]>>();
  for (const s of shards) {
    let ranges = byBuffer.get(s.buffer);
    if (ranges === undefined) byBuffer.set(s.buffer, (ranges = []));
    ranges.push([s.byteOffset, s.byteOffset + s.byteLength]);
  }
  for (const ranges of byBuffer.values()) {
    if (ranges.length < 2) continue;
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i][0] < ranges[i - 1][1]) {
        throw new ShardVaultError(ErrorCode.SHARD_OVERLAP, `Shards in ${name} overlap in memory`);
      }
    }
  }
}

function checkBatchLengths(lists: Uint8Array[][]): void {
  if (lists.length === 0) return;
  const len = lists[0][0].length;
  for (let i = 1; i < lists.length; i++) {
    if (lists[i][0].length !== len) {
      throw new ShardVaultError(ErrorCode.SHARD_SIZE_MISMATCH, `stripes[${i}] shard length differs from stripes[0]`);
    }
  }
  checkDisjoint('stripes', lists.flat());
}
