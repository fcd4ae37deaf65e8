// Every SIMD kernel the CPU has against the scalar reference (the oracle), and native against pure TS:
// random k and m (including the extremes), odd lengths up to 1 MiB, misaligned offsets, shards that end
// exactly at the end of their ArrayBuffer, every erasure pattern for small codes, random ones for large.
import { describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';
import { nativeInfo } from '../lib/native-info.js';
import { prng, randomShards } from './support/helpers.js';

const info = nativeInfo();
const forced = process.env.SHARDVAULT_KERNEL;
const simd = (info.codec?.supported ?? []).filter((k) => k !== 'scalar' && (forced === undefined || k === forced));
const hasNative = info.loaded;

function clone(shards: Uint8Array[]): Uint8Array[] {
  return shards.map((s) => new Uint8Array(s));
}

function combinations(n: number, r: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, acc: number[]) => {
    if (acc.length === r) return void out.push(acc.slice());
    for (let i = start; i < n; i++) rec(i + 1, [...acc, i]);
  };
  rec(0, []);
  return out;
}

describe.skipIf(!hasNative)(`native kernels vs scalar${hasNative ? '' : ` (skipped: ${info.reason})`}`, () => {
  it.skipIf(forced === undefined)(`a forced run really uses SHARDVAULT_KERNEL=${forced}`, () => {
    expect(info.codec!.chosen).toBe(forced);
    expect(new ReedSolomon(4, 2).kernel).toBe(forced);
  });

  const cases: Array<[number, number, number, number]> = [
    [1, 0, 5, 0], [1, 1, 1, 0], [1, 1, 63, 1], [2, 1, 64, 3], [4, 2, 65, 7], [10, 4, 4096, 0], [10, 4, 4097, 13],
    [16, 4, 100, 31], [12, 8, 1000, 5], [255, 1, 129, 1], [128, 128, 67, 2], [3, 253, 33, 9], [1, 255, 31, 0],
    [10, 4, 1 << 20, 0], [6, 3, (1 << 20) - 3, 17],
  ];
  const rand = prng(0x5eed);
  for (let i = 0; i < 25; i++) {
    const k = 1 + Math.floor(rand() * 40);
    const m = Math.floor(rand() * 17);
    const len = 1 + Math.floor(rand() * (rand() < 0.2 ? 200_000 : 3000));
    cases.push([k, m, len, Math.floor(rand() * 64)]);
  }

  for (const kernel of simd) {
    it(`${kernel}: encode equals scalar and pure TS over ${cases.length} shapes`, () => {
      for (const [k, m, len, offset] of cases) {
        const shards = randomShards(k, m, len, offset, offset % 2 === 0);
        const viaScalar = clone(shards);
        const viaJs = clone(shards);
        new ReedSolomon(k, m, { kernel: kernel as never }).encodeSync(shards);
        new ReedSolomon(k, m, { kernel: 'scalar' }).encodeSync(viaScalar);
        if (len <= 70_000) new ReedSolomon(k, m, { backend: 'js' }).encodeSync(viaJs);
        for (let i = k; i < k + m; i++) {
          expect(Buffer.compare(shards[i], viaScalar[i]), `k=${k} m=${m} len=${len} off=${offset} shard ${i}`).toBe(0);
          if (len <= 70_000) expect(Buffer.compare(shards[i], viaJs[i])).toBe(0);
        }
      }
    });

    it(`${kernel}: reconstruct equals the originals for random patterns`, () => {
      const r = prng(kernel.length * 7919);
      for (const [k, m, len, offset] of cases) {
        if (m === 0) continue;
        const rs = new ReedSolomon(k, m, { kernel: kernel as never });
        const shards = randomShards(k, m, Math.min(len, 50_000), offset);
        rs.encodeSync(shards);
        const original = clone(shards);
        const lost = new Set<number>();
        const lose = 1 + Math.floor(r() * m);
        while (lost.size < lose) lost.add(Math.floor(r() * (k + m)));
        for (const i of lost) shards[i].fill(0xa5);
        const present = shards.map((_, i) => !lost.has(i));
        rs.reconstructSync(shards, { present, targets: [...lost] });
        for (const i of lost) expect(Buffer.compare(shards[i], original[i]), `k=${k} m=${m} lost ${[...lost]}`).toBe(0);
      }
    });
  }

  it('every erasure pattern of up to m shards for 4+2, 3+3 and 5+1 (data and parity targets)', () => {
    for (const [k, m] of [[4, 2], [3, 3], [5, 1]] as const) {
      const rs = new ReedSolomon(k, m);
      const shards = randomShards(k, m, 333, 3);
      rs.encodeSync(shards);
      const original = clone(shards);
      for (let e = 1; e <= m; e++) {
        for (const lost of combinations(k + m, e)) {
          const work = clone(original);
          for (const i of lost) work[i].fill(0);
          rs.reconstructSync(work, { present: work.map((_, i) => !lost.includes(i)), targets: lost });
          for (const i of lost) expect(Buffer.compare(work[i], original[i]), `${k}+${m} lost ${lost}`).toBe(0);
        }
      }
    }
  });

  it('reconstructs only the requested targets and leaves other missing shards untouched', () => {
    const rs = new ReedSolomon(10, 4);
    const shards = randomShards(10, 4, 4096);
    rs.encodeSync(shards);
    const original = clone(shards);
    for (const i of [1, 5, 11]) shards[i].fill(7);
    const present = shards.map((_, i) => ![1, 5, 11].includes(i));
    rs.reconstructSync(shards, { present, targets: [5] });
    expect(Buffer.compare(shards[5], original[5])).toBe(0);
    expect(shards[1].every((b) => b === 7)).toBe(true);
    expect(shards[11].every((b) => b === 7)).toBe(true);
    rs.reconstructSync(shards, { present: shards.map((_, i) => ![1, 11].includes(i)) }); // default: data only
    expect(Buffer.compare(shards[1], original[1])).toBe(0);
    expect(shards[11].every((b) => b === 7)).toBe(true);
  });

  it('async encode, batch encode and async reconstruct match the sync path', async () => {
    const rs = new ReedSolomon(10, 4);
    const stripes = Array.from({ length: 8 }, () => randomShards(10, 4, 64 * 1024, 5));
    const expected = stripes.map((s) => {
      const c = clone(s);
      rs.encodeSync(c);
      return c;
    });
    await rs.encodeBatch(stripes);
    stripes.forEach((s, j) => s.forEach((b, i) => expect(Buffer.compare(b, expected[j][i])).toBe(0)));
    const big = randomShards(4, 2, 1 << 20);
    const bigCopy = clone(big);
    await new ReedSolomon(4, 2).encode(big);
    new ReedSolomon(4, 2).encodeSync(bigCopy);
    expect(Buffer.compare(big[5], bigCopy[5])).toBe(0);
    const present = [false, true, true, false, true, true];
    big[0].fill(0);
    big[3].fill(0);
    await new ReedSolomon(4, 2).reconstruct(big, { present });
    expect(Buffer.compare(big[0], bigCopy[0])).toBe(0);
    expect(Buffer.compare(big[3], bigCopy[3])).toBe(0);
  });

  it('m = 0 is a no-op that touches nothing', () => {
    const rs = new ReedSolomon(3, 0);
    const shards = randomShards(3, 0, 10);
    const before = clone(shards);
    rs.encodeSync(shards);
    shards.forEach((s, i) => expect(Buffer.compare(s, before[i])).toBe(0));
  });
});

