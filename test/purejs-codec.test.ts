// Property tests of the pure-TypeScript codec (runs whether or not the addon built): encode, erase any
// <= m shards, reconstruct returns the originals.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';

describe('pure-TS codec properties', () => {
  it('reconstructs any <= m erased shards', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (k, m, len, seed) => {
          const rs = new ReedSolomon(k, m, { backend: 'js' });
          const shards = Array.from({ length: k + m }, (_, i) => {
            const b = new Uint8Array(len);
            if (i < k) for (let j = 0; j < len; j++) b[j] = (seed * (i + 3) + j * 131) >>> (j % 13);
            return b;
          });
          rs.encodeSync(shards);
          const original = shards.map((s) => s.slice());
          const lost: number[] = [];
          let x = seed;
          while (lost.length < 1 + (seed % m)) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            const i = x % (k + m);
            if (!lost.includes(i)) lost.push(i);
          }
          for (const i of lost) shards[i].fill(0);
          rs.reconstructSync(shards, { present: shards.map((_, i) => !lost.includes(i)), targets: lost });
          for (const i of lost) expect(shards[i]).toEqual(original[i]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('first parity row of a Cauchy code is not plain XOR, yet 1+1 parity equals the data times 1/(1^0) = 1', () => {
    const rs = new ReedSolomon(1, 1, { backend: 'js' });
    const shards = [Uint8Array.from([1, 2, 3, 250]), new Uint8Array(4)];
    rs.encodeSync(shards);
    expect([...shards[1]]).toEqual([1, 2, 3, 250]);
  });
});
