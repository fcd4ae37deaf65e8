/** Shared test helpers: deterministic data and shard construction. */
import { randomBytes } from 'node:crypto';

/** xorshift32 byte stream, as in test/vectors/gen_isal_vectors.c. */
export function xorshiftShards(k: number, m: number, len: number): Uint8Array[] {
  let x = ((k * 65537 + m * 257 + len) | 1) >>> 0;
  const shards: Uint8Array[] = [];
  for (let j = 0; j < k; j++) {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      b[i] = x & 0xff;
    }
    shards.push(b);
  }
  for (let j = 0; j < m; j++) shards.push(new Uint8Array(len));
  return shards;
}

/** k random data shards plus m zeroed parity shards, each a subarray at byte offset `offset` of its own
 *  ArrayBuffer (misaligned on purpose), optionally ending exactly at the end of the ArrayBuffer. */
export function randomShards(k: number, m: number, len: number, offset = 0, tight = true): Uint8Array[] {
  const shards: Uint8Array[] = [];
  for (let i = 0; i < k + m; i++) {
    const buf = new Uint8Array(offset + len + (tight ? 0 : 64));
    const view = buf.subarray(offset, offset + len);
    if (i < k) view.set(randomBytes(len));
    shards.push(view);
  }
  return shards;
}

/** Mulberry32: small seeded PRNG for reproducible random cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
