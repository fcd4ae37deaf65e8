/**
 * Pure-TypeScript Reed-Solomon codec: same matrix and byte-identical output as the native addon. Used when
 * the addon is unavailable or `backend: 'js'` is chosen, and as the native-vs-JS comparison in bench/.
 * No argument validation here: lib/codec.ts validates at the public edge.
 *
 * Speed notes: each output row is built in cache-sized column chunks, four sources per pass
 * (o[i] = t0[s0[i]] ^ t1[s1[i]] ^ t2[s2[i]] ^ t3[s3[i]]), so each output byte is loaded and stored k/4 times
 * instead of k times, with 256-byte product rows as lookup tables.
 */
import { MUL, cauchyGenerator, gfMul, invert } from './gf-js.js';

const CHUNK_BYTES = 8192;
const PLAN_CACHE_ENTRIES_MAX = 128;

interface Plan {
  sources: number[];
  /** targets.length x k coefficients over `sources`. */
  coef: Uint8Array;
}

export class JsReedSolomon {
  readonly k: number;
  readonly m: number;
  private readonly generator: Uint8Array;
  private readonly plans = new Map<string, Plan>();

  constructor(k: number, m: number) {
    this.k = k;
    this.m = m;
    this.generator = cauchyGenerator(k, m);
  }

  /** Fills shards[k..k+m-1] from shards[0..k-1]. */
  encode(shards: Uint8Array[]): void {
    const k = this.k;
    if (this.m === 0) return;
    dot(this.generator.subarray(k * k), k, shards.slice(0, k), shards.slice(k));
  }

  /** Rebuilds every index in `targets` from the first k shards with present[i] true. */
  reconstruct(shards: Uint8Array[], present: boolean[], targets: number[]): void {
    if (targets.length === 0) return;
    const sources: number[] = [];
    for (let i = 0; i < present.length && sources.length < this.k; i++) if (present[i]) sources.push(i);
    if (sources.length < this.k) throw new Error('shardvault internal assertion: fewer than k shards present');
    const plan = this.plan(sources, targets);
    dot(
      plan.coef,
      this.k,
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
    const plan = { sources, coef };
    this.plans.set(key, plan);
    if (this.plans.size > PLAN_CACHE_ENTRIES_MAX) this.plans.delete(this.plans.keys().next().value as string);
    return plan;
  }
}

/** dst[r] = XOR_j coef[r*k + j] * src[j], all buffers the same length. */
function dot(coef: Uint8Array, k: number, src: Uint8Array[], dst: Uint8Array[]): void {
  const len = dst[0].length;
  const zero = MUL.subarray(0, 256);
  for (let start = 0; start < len; start += CHUNK_BYTES) {
    const end = Math.min(len, start + CHUNK_BYTES);
    for (let r = 0; r < dst.length; r++) {
      const out = dst[r];
      for (let j = 0; j < k; j += 4) {
        const t0 = MUL.subarray(coef[r * k + j] * 256, coef[r * k + j] * 256 + 256);
        const s0 = src[j];
        const t1 = j + 1 < k ? MUL.subarray(coef[r * k + j + 1] * 256, coef[r * k + j + 1] * 256 + 256) : zero;
        const s1 = j + 1 < k ? src[j + 1] : s0;
        const t2 = j + 2 < k ? MUL.subarray(coef[r * k + j + 2] * 256, coef[r * k + j + 2] * 256 + 256) : zero;
        const s2 = j + 2 < k ? src[j + 2] : s0;
        const t3 = j + 3 < k ? MUL.subarray(coef[r * k + j + 3] * 256, coef[r * k + j + 3] * 256 + 256) : zero;
        const s3 = j + 3 < k ? src[j + 3] : s0;
        if (j === 0) {
          for (let i = start; i < end; i++) out[i] = t0[s0[i]] ^ t1[s1[i]] ^ t2[s2[i]] ^ t3[s3[i]];
        } else {
          for (let i = start; i < end; i++) out[i] ^= t0[s0[i]] ^ t1[s1[i]] ^ t2[s2[i]] ^ t3[s3[i]];
        }
      }
    }
  }
}
