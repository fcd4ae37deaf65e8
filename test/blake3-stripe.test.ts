// The fused encode + hash call returns exactly what encoding and then hashing each block separately gives.
import { describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';
import { blake3Sync } from '../lib/hash.js';
import { native } from '../lib/native.js';
import { randomShards } from './support/helpers.js';

const backends = native() === null ? (['js'] as const) : (['native', 'js'] as const);

describe('fused stripe encode + BLAKE3', () => {
  for (const backend of backends) {
    it(`${backend}: fingerprints equal separate encode then hash, parity written`, async () => {
      for (const [k, m, len] of [[10, 4, 65536], [4, 2, 1000], [3, 0, 17], [1, 1, 1]] as const) {
        const rs = new ReedSolomon(k, m, { backend });
        const stripes = Array.from({ length: 5 }, () => randomShards(k, m, len, 3));
        const copies = stripes.map((s) => s.map((b) => b.slice()));
        const fps = await rs.encodeAndHash(stripes);
        copies.forEach((c) => new ReedSolomon(k, m, { backend: 'js' }).encodeSync(c));
        expect(fps).toHaveLength(5);
        stripes.forEach((stripe, s) => {
          stripe.forEach((block, i) => {
            expect(Buffer.compare(block, copies[s][i])).toBe(0);
            expect(Buffer.from(fps[s][i]).toString('hex')).toBe(Buffer.from(blake3Sync(copies[s][i])).toString('hex'));
          });
        });
      }
    });
  }
  it('rejects bad stripes with codes', async () => {
    const rs = new ReedSolomon(4, 2);
    await expect(rs.encodeAndHash([randomShards(4, 2, 8), randomShards(4, 2, 9)])).rejects.toMatchObject({ code: 'ERR_SV_SHARD_SIZE_MISMATCH' });
    await expect(rs.encodeAndHash([randomShards(4, 1, 8)])).rejects.toMatchObject({ code: 'ERR_SV_SHARD_COUNT' });
  });
});
