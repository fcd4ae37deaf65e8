/**
 * Pure-TypeScript Reed-Solomon codec: same matrix and byte-identical output as the native addon. Used when
 * the addon is unavailable or `backend: 'js'` is chosen, and as the native-vs-JS comparison in bench/.
 * No argument validation here: lib/codec.ts validates at the public edge.
 *
 * Speed notes: each output row is built in cache-sized column chunks by generated loops over up to eight
 * sources at once (see `kernel`), with 256-byte product rows as lookup tables.
 */
import { MUL, cauchyGenerator, gfMul, invert } from './gf-js.js';

const CHUNK_BYTES = 8192;
const PLAN_CACHE_ENTRIES_MAX = 128;

interface Plan {
  sources: number[];
  /** targets.length x k product tables over `sources`. */
  tables: Uint8Array[][];
}

export class JsReedSolomon {
  readonly k: number;
  readonly m: number;
  private readonly generator: Uint8Array;
  private readonly parityTables: Uint8Array[][];
  private readonly plans = new Map<string, Plan>();

  constructor(k: number, m: number) {
    this.k = k;
    this.m = m;
    this.generator = cauchyGenerator(k, m);
    this.parityTables = tablesFor(this.generator.subarray(k * k), m, k);
  }

  /** Fills shards[k..k+m-1] from shards[0..k-1]. */
  encode(shards: Uint8Array[]): void {
    const k = this.k;
    if (this.m === 0) return;
    dot(this.parityTables, shards.slice(0, k), shards.slice(k));
  }

  /** Rebuilds every index in `targets` from the first k shards with present[i] true. */
  reconstruct(shards: Uint8Array[], present: boolean[], targets: number[]): void {
    if (targets.length === 0) return;
    const sources: number[] = [];
    for (let i = 0; i < present.length && sources.length < this.k; i++) if (present[i]) sources.push(i);
    if (sources.length < this.k) throw new Error('shardvault internal assertion: fewer than k shards present');
    const plan = this.plan(sources, targets);
    dot(
      plan.tables,
      sources.map((s) => shards[s]),
      targets.map((t) => shards[t]),
    );
  }

  private plan(sources: number[], targets: number[]): Plan {
    const key = `${sources.join(',')}/${targets.join(',')}`;
    const hit = this.plans.get(key);
    if (hit !== undefined) {
      this.plans.delete(key);
      this.plans.set(key, hit); // most recently used last
      return hit;
    }
    const k = this.k;
    const b = new Uint8Array(k * k);
    sources.forEach((s, r) => b.set(this.generator.subarray(s * k, s * k + k), r * k));
    const d = invert(b, k);
    if (d === null) throw new Error('shardvault internal assertion: singular Cauchy sub-matrix');
    const coef = new Uint8Array(targets.length * k);
    targets.forEach((t, i) => {
      if (t < k) {
        coef.set(d.subarray(t * k, t * k + k), i * k);
        return;
      }
      const g = this.generator.subarray(t * k, t * k + k);
      for (let j = 0; j < k; j++) {
        let acc = 0;
        for (let x = 0; x < k; x++) acc ^= gfMul(g[x], d[x * k + j]);
        coef[i * k + j] = acc;
      }
    });
    const plan = { sources, tables: tablesFor(coef, targets.length, k) };
    this.plans.set(key, plan);
    if (this.plans.size > PLAN_CACHE_ENTRIES_MAX) this.plans.delete(this.plans.keys().next().value as string);
    return plan;
  }
}

type Kernel = (o: ArrayLike<number>, start: number, end: number, ...args: ArrayLike<number>[]) => void;

/** Generated kernels, keyed by (bytes | words, term count, first pass?). Byte form:
 *    o[i] (=|^=) t0[s0[i]] ^ ... ^ t(n-1)[s(n-1)[i]]
 *  Word form: the same over Int32Array views, four table lookups per 32-bit word, each product put back in
 *  the byte lane it came from (so it is correct on either endianness). One small generated loop per group of
 *  up to four sources keeps every table and source in a local; measured here the word form with four terms
 *  runs ~3x the byte form (1.7 vs 0.58 GB/s for one 10-term row). */
const kernels = new Map<string, Kernel>();
const TERMS_MAX = 4;

function kernel(words: boolean, n: number, first: boolean): Kernel {
  const key = `${words ? 'w' : 'b'}${n}${first ? '=' : '^'}`;
  let fn = kernels.get(key);
  if (fn === undefined) {
    const names = Array.from({ length: n }, (_, j) => [`t${j}`, `s${j}`]).flat();
    let body: string;
    if (words) {
      const loads = Array.from({ length: n }, (_, j) => `const w${j} = s${j}[i];`).join(' ');
      const expr = Array.from(
        { length: n },
        (_, j) =>
          `(t${j}[w${j} & 255] | (t${j}[(w${j} >>> 8) & 255] << 8) | (t${j}[(w${j} >>> 16) & 255] << 16) | (t${j}[w${j} >>> 24] << 24))`,
      ).join(' ^ ');
      body = `for (let i = start; i < end; i++) { ${loads} o[i] ${first ? '=' : '^='} ${expr}; }`;
    } else {
      const expr = Array.from({ length: n }, (_, j) => `t${j}[s${j}[i]]`).join(' ^ ');
      body = `for (let i = start; i < end; i++) o[i] ${first ? '=' : '^='} ${expr};`;
    }
    fn = new Function('o', 'start', 'end', ...names, body) as Kernel;
    kernels.set(key, fn);
  }
  return fn;
}

/** Product-table rows (256 B views into MUL) for a rows x k coefficient matrix. */
export function tablesFor(coef: Uint8Array, rows: number, k: number): Uint8Array[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: k }, (_, j) => MUL.subarray(coef[r * k + j] * 256, coef[r * k + j] * 256 + 256)),
  );
}

/** dst[r] = XOR_j coef[r][j] * src[j], all buffers the same length; `tables` from tablesFor. */
function dot(tables: Uint8Array[][], src: Uint8Array[], dst: Uint8Array[]): void {
  const len = dst[0].length;
  // Word kernels need every buffer 4-byte aligned; the last len % 4 bytes always go through the byte kernel.
  const aligned = src.every((b) => b.byteOffset % 4 === 0) && dst.every((b) => b.byteOffset % 4 === 0);
  const wordBytes = aligned ? len - (len % 4) : 0;
  if (wordBytes > 0) {
    const view = (b: Uint8Array) => new Int32Array(b.buffer, b.byteOffset, wordBytes / 4);
    run(tables, src.map(view), dst.map(view), wordBytes / 4, true);
  }
  if (wordBytes < len) {
    run(tables, src.map((b) => b.subarray(wordBytes)), dst.map((b) => b.subarray(wordBytes)), len - wordBytes, false);
  }
}

function run(tables: Uint8Array[][], src: ArrayLike<number>[], dst: ArrayLike<number>[], count: number, words: boolean): void {
  const k = src.length;
  const chunk = words ? CHUNK_BYTES / 4 : CHUNK_BYTES;
  const args: ArrayLike<number>[] = [];
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk);
    for (let r = 0; r < dst.length; r++) {
      for (let j = 0; j < k; j += TERMS_MAX) {
        const n = Math.min(TERMS_MAX, k - j);
        args.length = 0;
        for (let x = 0; x < n; x++) args.push(tables[r][j + x], src[j + x]);
        kernel(words, n, j === 0)(dst[r], start, end, ...args);
      }
    }
  }
}
