/**
 * The pure-TypeScript CRC32, CRC32C and CRC-64/NVME (slicing-by-8 tables), for when the native addon is
 * unavailable. Same parameters and the same results as native/crc/crc_table.cc: reflected, init and xorout all
 * ones, `prev` continues a finished value (zlib's crc32(data, prev) convention). CRC-64 keeps its register as
 * two 32-bit halves so that the inner loop never touches a bigint.
 */

/** Eight 256-entry tables, flattened: entry [s][i] at s * 256 + i. */
function tables32(reflectedPoly: number): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = c & 1 ? (c >>> 1) ^ reflectedPoly : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let s = 1; s < 8; s++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(s - 1) * 256 + i];
      t[s * 256 + i] = ((prev >>> 8) ^ t[prev & 0xff]) >>> 0;
    }
  }
  return t;
}

function tables64(reflectedPolyHi: number, reflectedPolyLo: number): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(8 * 256);
  const lo = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let b = 0; b < 8; b++) {
      const odd = l & 1;
      l = ((l >>> 1) | (h << 31)) >>> 0;
      h >>>= 1;
      if (odd) {
        h = (h ^ reflectedPolyHi) >>> 0;
        l = (l ^ reflectedPolyLo) >>> 0;
      }
    }
    hi[i] = h;
    lo[i] = l;
  }
  for (let s = 1; s < 8; s++) {
    for (let i = 0; i < 256; i++) {
      const ph = hi[(s - 1) * 256 + i];
      const pl = lo[(s - 1) * 256 + i];
      const j = pl & 0xff;
      lo[s * 256 + i] = (((pl >>> 8) | (ph << 24)) ^ lo[j]) >>> 0;
      hi[s * 256 + i] = ((ph >>> 8) ^ hi[j]) >>> 0;
    }
  }
  return { hi, lo };
}

let t32: Uint32Array | null = null;
let t32c: Uint32Array | null = null;
let t64: { hi: Uint32Array; lo: Uint32Array } | null = null;

function update32(t: Uint32Array, prev: number, data: Uint8Array): number {
  let crc = ~prev >>> 0;
  const n = data.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ crc;
    const b = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    crc =
      t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
      t[768 + (b & 0xff)] ^ t[512 + ((b >>> 8) & 0xff)] ^ t[256 + ((b >>> 16) & 0xff)] ^ t[b >>> 24];
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ t[(crc ^ data[i]) & 0xff];
  return ~crc >>> 0;
}

/** CRC-32/ISO-HDLC (zlib, S3 `crc32`). */
export function crc32Js(data: Uint8Array, prev = 0): number {
  t32 ??= tables32(0xedb88320);
  return update32(t32, prev, data);
}

/** CRC-32/ISCSI (Castagnoli, S3 `crc32c`). */
export function crc32cJs(data: Uint8Array, prev = 0): number {
  t32c ??= tables32(0x82f63b78);
  return update32(t32c, prev, data);
}

/** CRC-64/NVME (S3 `crc64nvme`). */
export function crc64nvmeJs(data: Uint8Array, prev = 0n): bigint {
  t64 ??= tables64(0x9a6c9329, 0xac4bc9b5);
  const { hi: th, lo: tl } = t64;
  let hi = ~Number((prev >> 32n) & 0xffffffffn) >>> 0;
  let lo = ~Number(prev & 0xffffffffn) >>> 0;
  const n = data.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = ((data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ lo) >>> 0;
    const b = ((data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) ^ hi) >>> 0;
    const i7 = 1792 + (a & 0xff), i6 = 1536 + ((a >>> 8) & 0xff), i5 = 1280 + ((a >>> 16) & 0xff), i4 = 1024 + (a >>> 24);
    const i3 = 768 + (b & 0xff), i2 = 512 + ((b >>> 8) & 0xff), i1 = 256 + ((b >>> 16) & 0xff), i0 = b >>> 24;
    lo = tl[i7] ^ tl[i6] ^ tl[i5] ^ tl[i4] ^ tl[i3] ^ tl[i2] ^ tl[i1] ^ tl[i0];
    hi = th[i7] ^ th[i6] ^ th[i5] ^ th[i4] ^ th[i3] ^ th[i2] ^ th[i1] ^ th[i0];
  }
  for (; i < n; i++) {
    const j = (lo ^ data[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ tl[j];
    hi = (hi >>> 8) ^ th[j];
  }
  return (BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0);
}

interface CombineParams {
  width: number;
  rpoly: bigint;
  /** x^(2^k) mod P, reflected, k = 0..67 (enough for any 64-bit length times 8). */
  xpow2?: bigint[];
}
const combineParams: Record<'crc32' | 'crc32c' | 'crc64nvme', CombineParams> = {
  crc32: { width: 32, rpoly: 0xedb88320n },
  crc32c: { width: 32, rpoly: 0x82f63b78n },
  crc64nvme: { width: 64, rpoly: 0x9a6c9329ac4bc9b5n },
};

/** a * b mod P for reflected operands (bit width - 1 is the coefficient of x^0). */
function mulMod(a: bigint, b: bigint, p: CombineParams): bigint {
  let prod = 0n;
  for (let i = p.width - 1; i >= 0; i--) {
    if ((a >> BigInt(i)) & 1n) prod ^= b;
    b = b & 1n ? (b >> 1n) ^ p.rpoly : b >> 1n;
  }
  return prod;
}

/**
 * The finished CRC of A followed by B from crc(A), crc(B) and B's length (zlib's crc32_combine); the same
 * result as native/crc's Combine. Bigint arithmetic: a few hundred microseconds, for the fallback only.
 */
export function crcCombineJs(algorithm: 'crc32' | 'crc32c' | 'crc64nvme', crcA: bigint, crcB: bigint, lengthB: number): bigint {
  const p = combineParams[algorithm];
  if (p.xpow2 === undefined) {
    const t = [1n << BigInt(p.width - 2)];
    for (let k = 1; k < 68; k++) t.push(mulMod(t[k - 1], t[k - 1], p));
    p.xpow2 = t;
  }
  let shift = 1n << BigInt(p.width - 1);
  let n = BigInt(lengthB);
  for (let k = 3; n !== 0n; k++, n >>= 1n) {
    if (n & 1n) shift = mulMod(p.xpow2[k], shift, p);
  }
  return mulMod(shift, crcA, p) ^ crcB;
}
