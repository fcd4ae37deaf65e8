/**
 * GF(2^8) over 0x11D in TypeScript: the pure-TS twin of native/ec/gf.cc. The Cauchy generator is built exactly
 * like ISA-L's gf_gen_cauchy1_matrix, so the pure-TS codec writes the same parity bytes as the addon and as
 * ISA-L's ec_encode_data. N.B. changing anything here changes stored bytes.
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}

/** Full product table: MUL[c * 256 + x] = c * x. 64 KiB, built once; rows are used as lookup tables. */
export const MUL = new Uint8Array(256 * 256);
for (let c = 1; c < 256; c++) {
  for (let x = 1; x < 256; x++) MUL[c * 256 + x] = EXP[LOG[c] + LOG[x]];
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

export function gfInv(a: number): number {
  if (a === 0) throw new Error('shardvault internal assertion: inverse of zero');
  return EXP[255 - LOG[a]];
}

/** (k + m) x k row-major systematic Cauchy generator (ISA-L gf_gen_cauchy1_matrix). */
export function cauchyGenerator(k: number, m: number): Uint8Array {
  const a = new Uint8Array((k + m) * k);
  for (let i = 0; i < k; i++) a[i * k + i] = 1;
  for (let i = k; i < k + m; i++) {
    for (let j = 0; j < k; j++) a[i * k + j] = gfInv(i ^ j);
  }
  return a;
}

/** Inverse of an n x n matrix (Gauss-Jordan); null when singular (never for Cauchy sub-matrices). */
export function invert(matrix: Uint8Array, n: number): Uint8Array | null {
  const a = matrix.slice();
  const inv = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && a[pivot * n + col] === 0) pivot++;
    if (pivot === n) return null;
    if (pivot !== col) {
      for (let c = 0; c < n; c++) {
        let t = a[pivot * n + c];
        a[pivot * n + c] = a[col * n + c];
        a[col * n + c] = t;
        t = inv[pivot * n + c];
        inv[pivot * n + c] = inv[col * n + c];
        inv[col * n + c] = t;
      }
    }
    const scale = gfInv(a[col * n + col]);
    for (let c = 0; c < n; c++) {
      a[col * n + c] = gfMul(a[col * n + c], scale);
      inv[col * n + c] = gfMul(inv[col * n + c], scale);
    }
    for (let r = 0; r < n; r++) {
      const f = r === col ? 0 : a[r * n + col];
      if (f === 0) continue;
      for (let c = 0; c < n; c++) {
        a[r * n + c] ^= gfMul(f, a[col * n + c]);
        inv[r * n + c] ^= gfMul(f, inv[col * n + c]);
      }
    }
  }
  return inv;
}
