// The one-buffer stripe entry points (issue 15): encodeStripe and plan() + reconstructStripe give the same bytes
// as encodeSync / reconstructSync on separate shard buffers, on every kernel this CPU has and on the pure-TS
// backend, for random codes, lengths and erasure patterns; and they refuse what they must, with codes.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';
import { nativeInfo } from '../lib/native-info.js';
import { prng } from './support/helpers.js';

const info = nativeInfo();
const forced = process.env.SHARDVAULT_KERNEL;
const kernels = info.loaded ? (info.codec?.supported ?? []).filter((k) => forced === undefined || k === forced) : [];
const backends: Array<{ name: string; make: (k: number, m: number) => ReedSolomon }> = [
  ...kernels.map((kernel) => ({ name: kernel, make: (k: number, m: number) => new ReedSolomon(k, m, { kernel: kernel as never }) })),
  { name: 'js', make: (k: number, m: number) => new ReedSolomon(k, m, { backend: 'js' }) },
];

function split(stripe: Uint8Array, n: number): Uint8Array[] {
  const len = stripe.length / n;
  return Array.from({ length: n }, (_, i) => new Uint8Array(stripe.subarray(i * len, (i + 1) * len)));
}

describe.each(backends)('one-buffer stripes, $name', ({ name, make }) => {
  const rand = prng(name.length * 7919 + 15);
  const shapes: Array<[number, number]> = [[1, 1], [4, 2], [10, 4], [3, 3], [16, 4], [12, 0]];
  const lengths = name === 'js' ? [1, 31, 4096] : [1, 31, 32, 63, 64, 127, 129, 4096, 4097, 65536 + 33];

  it('encodeStripe equals encodeSync on separate buffers', () => {
    for (const [k, m] of shapes) {
      const rs = make(k, m);
      for (const len of lengths) {
        const stripe = new Uint8Array((k + m) * len);
        stripe.set(randomBytes(k * len));
        const shards = split(stripe, k + m);
        rs.encodeSync(shards);
        rs.encodeStripe(stripe);
        expect(Buffer.from(stripe).equals(Buffer.concat(shards)), `${k}+${m} len ${len}`).toBe(true);
      }
    }
  });

  it('reconstructStripe with a plan rebuilds exactly what was lost, for random patterns', () => {
    for (const [k, m] of shapes.filter(([, m]) => m > 0)) {
      const rs = make(k, m);
      const n = k + m;
      for (const len of lengths) {
        const stripe = new Uint8Array(n * len);
        stripe.set(randomBytes(k * len));
        rs.encodeStripe(stripe);
        const lost = new Set<number>();
        const want = 1 + Math.floor(rand() * m);
        while (lost.size < want) lost.add(Math.floor(rand() * n));
        const present = Array.from({ length: n }, (_, i) => !lost.has(i));
        const plan = rs.plan({ present, targets: [...lost] });
        const broken = new Uint8Array(stripe);
        for (const i of lost) broken.fill(0xee, i * len, (i + 1) * len);
        rs.reconstructStripe(broken, plan);
        expect(Buffer.from(broken).equals(Buffer.from(stripe)), `${k}+${m} len ${len} lost ${[...lost]}`).toBe(true);
        // The same plan again, on another stripe with the same pattern.
        const other = new Uint8Array(n * len);
        other.set(randomBytes(k * len));
        rs.encodeStripe(other);
        const copy = new Uint8Array(other);
        for (const i of lost) copy.fill(0, i * len, (i + 1) * len);
        rs.reconstructStripe(copy, plan);
        expect(Buffer.from(copy).equals(Buffer.from(other))).toBe(true);
      }
    }
  });

  it('refuses bad stripes and foreign plans with codes', () => {
    const rs = make(4, 2);
    const other = make(4, 2);
    const plan = rs.plan({ present: [false, true, true, true, true, true], targets: [0] });
    const code = (f: () => void) => { try { f(); return 'none'; } catch (e) { return (e as { code?: string }).code; } };
    expect(code(() => rs.encodeStripe(new Uint8Array(7)))).toBe('ERR_SV_SHARD_SIZE_MISMATCH');
    expect(code(() => rs.encodeStripe(new Uint8Array(0)))).toBe('ERR_SV_SHARD_SIZE_MISMATCH');
    expect(code(() => rs.encodeStripe([new Uint8Array(6)] as never))).toBe('ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => other.reconstructStripe(new Uint8Array(60), plan))).toBe('ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => rs.reconstructStripe(new Uint8Array(60), { present: [], targets: [] } as never))).toBe('ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => rs.plan({ present: [true, false, false, false, true, true], targets: [1] }))).toBe('ERR_SV_TOO_FEW_SHARDS');
    expect(code(() => rs.plan({ present: [true, true, true, true, true, false], targets: [0] }))).toBe('ERR_SV_BAD_TARGETS');
  });
});
