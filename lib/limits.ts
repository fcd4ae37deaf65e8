/**
 * Static limits. N.B. native/common/limits.h holds the same values for the addon; test/limits.test.ts checks
 * that both agree. Change them together.
 */
export const LIMITS = {
  /** k + m for GF(2^8) Cauchy codes (MDS up to 256 distinct field elements). */
  shardCountTotalMax: 256,
  shardCountDataMax: 256,
  shardCountParityMax: 255,
  /** Largest shard one codec call accepts (1 GiB); objects are cut into stripes well below this. */
  shardSizeBytesMax: 2 ** 30,
  blake3OutBytes: 32,
} as const;
