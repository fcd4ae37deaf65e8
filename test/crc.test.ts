// CRC32, CRC32C and CRC-64/NVME (lib/checksum.ts, native/crc): the catalogue check values, the AWS SDK's
// published x-amz-checksum-* values and the AWS common runtime's known CRCs (test/vectors/aws-checksums), every native kernel the CPU has against the
// table kernel (every length 0..300 at unaligned offsets, long buffers across each kernel's block sizes,
// incremental updates split at random points), the pure-TS fallback against native, Node's zlib.crc32 and
// @aws-crypto/crc32c as outside oracles, and coded errors for bad arguments at both edges.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

import { AwsCrc32c } from '@aws-crypto/crc32c';
import { describe, expect, it } from 'vitest';

import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_DIGEST_BYTES,
  CRC_KERNELS,
  type ChecksumAlgorithm,
  type CrcKernel,
  checksumBase64,
  combineChecksums,
  crc32,
  crc32Combine,
  crc32c,
  crc32cCombine,
  crc64nvme,
  crc64nvmeCombine,
  createChecksum,
} from '../lib/checksum.js';
import { crc32Js, crc32cJs, crc64nvmeJs, crcCombineJs } from '../lib/crc-js.js';
import { nativeInfo } from '../lib/native-info.js';
import { native } from '../lib/native.js';
import { prng } from './support/helpers.js';

const info = nativeInfo();
const kernels = (info.crc?.supported ?? []) as CrcKernel[];
const hasNative = info.crc !== null;

interface Vector { source: string; algorithm: ChecksumAlgorithm; input: string; hex: string; base64: string }
const vectors: Vector[] = JSON.parse(
  readFileSync(join(__dirname, 'vectors', 'aws-checksums', 'aws-sdk-js-v3.json'), 'utf8'),
).cases;

function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

const check = Buffer.from('123456789');

describe('catalogue check values ("123456789")', () => {
  it('pure TS', () => {
    expect(crc32Js(check)).toBe(0xcbf43926);
    expect(crc32cJs(check)).toBe(0xe3069283);
    expect(crc64nvmeJs(check)).toBe(0xae8b14860a799888n);
  });

  it('the public functions (native when loaded)', () => {
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc64nvme(check)).toBe(0xae8b14860a799888n);
  });

  it.skipIf(!hasNative)(`every native kernel: ${kernels.join(', ')}`, () => {
    expect(kernels).toContain('table');
    for (const kernel of kernels) {
      expect(crc32(check, 0, { kernel }), kernel).toBe(0xcbf43926);
      expect(crc32c(check, 0, { kernel }), kernel).toBe(0xe3069283);
      expect(crc64nvme(check, 0n, { kernel }), kernel).toBe(0xae8b14860a799888n);
    }
  });
});

describe('the AWS SDK for JavaScript v3 published checksum values', () => {
  it('has the vectors (every algorithm, 28 cases)', () => {
    expect(vectors.length).toBe(28);
    expect(new Set(vectors.map((v) => v.algorithm))).toEqual(new Set(CHECKSUM_ALGORITHMS));
  });

  for (const v of vectors) {
    it(`${v.algorithm} of ${v.input}: ${v.base64}`, () => {
      const data = Buffer.from(v.hex, 'hex');
      expect(checksumBase64(v.algorithm, data)).toBe(v.base64);
      // Byte by byte through the incremental interface; digest() twice does not disturb it.
      const h = createChecksum(v.algorithm);
      for (const byte of data) h.update(new Uint8Array([byte]));
      expect(h.digest().toString('base64')).toBe(v.base64);
      expect(h.digest().length).toBe(CHECKSUM_DIGEST_BYTES[v.algorithm]);
      expect(h.digest().toString('base64')).toBe(v.base64);
      const value = Buffer.from(v.base64, 'base64');
      if (v.algorithm === 'crc32') expect(crc32Js(data)).toBe(value.readUInt32BE(0));
      if (v.algorithm === 'crc32c') expect(crc32cJs(data)).toBe(value.readUInt32BE(0));
      if (v.algorithm === 'crc64nvme') expect(crc64nvmeJs(data)).toBe(value.readBigUInt64BE(0));
      for (const kernel of kernels) {
        if (v.algorithm === 'crc32') expect(crc32(data, 0, { kernel })).toBe(value.readUInt32BE(0));
        if (v.algorithm === 'crc32c') expect(crc32c(data, 0, { kernel })).toBe(value.readUInt32BE(0));
        if (v.algorithm === 'crc64nvme') expect(crc64nvme(data, 0n, { kernel })).toBe(value.readBigUInt64BE(0));
      }
    });
  }
});

interface Known { zeros32: string; values0to31: string; check: string; residue: string; zeros3GiB?: string }
const known: Record<'crc32' | 'crc32c' | 'crc64nvme', Known> = JSON.parse(
  readFileSync(join(__dirname, 'vectors', 'aws-checksums', 'aws-checksums.json'), 'utf8'),
);

describe('the AWS common runtime (aws-checksums) known values', () => {
  const inputs = { zeros32: new Uint8Array(32), values0to31: Uint8Array.from({ length: 32 }, (_, i) => i), check };
  type Fns = { crc32: (b: Uint8Array, p?: number) => number; crc32c: (b: Uint8Array, p?: number) => number; crc64nvme: (b: Uint8Array, p?: bigint) => bigint };
  const impls: Array<[string, Fns]> = [
    ['pure TS', { crc32: crc32Js, crc32c: crc32cJs, crc64nvme: crc64nvmeJs }],
    ...kernels.map((kernel): [string, Fns] => [kernel, {
      crc32: (b, p) => crc32(b, p, { kernel }),
      crc32c: (b, p) => crc32c(b, p, { kernel }),
      crc64nvme: (b, p) => crc64nvme(b, p, { kernel }),
    }]),
  ];
  for (const [name, fns] of impls) {
    it(`${name}: 32 zeros, bytes 0..31, "123456789", and the residue`, () => {
      for (const [input, data] of Object.entries(inputs)) {
        const k = input as 'zeros32' | 'values0to31' | 'check';
        expect(fns.crc32(data).toString(16).padStart(8, '0'), `crc32 ${k}`).toBe(known.crc32[k]);
        expect(fns.crc32c(data).toString(16).padStart(8, '0'), `crc32c ${k}`).toBe(known.crc32c[k]);
        expect(fns.crc64nvme(data).toString(16).padStart(16, '0'), `crc64nvme ${k}`).toBe(known.crc64nvme[k]);
        // A message followed by its own CRC (little-endian) always leaves the same residue.
        const v32 = fns.crc32(data);
        const le32 = Buffer.alloc(4);
        le32.writeUInt32LE(v32);
        expect(fns.crc32(le32, v32).toString(16).padStart(8, '0')).toBe(known.crc32.residue);
        const v32c = fns.crc32c(data);
        le32.writeUInt32LE(v32c);
        expect(fns.crc32c(le32, v32c).toString(16).padStart(8, '0')).toBe(known.crc32c.residue);
        const v64 = fns.crc64nvme(data);
        const le64 = Buffer.alloc(8);
        le64.writeBigUInt64LE(v64);
        expect(fns.crc64nvme(le64, v64).toString(16).padStart(16, '0')).toBe(known.crc64nvme.residue);
      }
    });
  }

  const fast = kernels.filter((k) => k !== 'table');
  it.skipIf(fast.length === 0)(`3 GiB of zeros, 64 MiB at a time (${fast.join(', ')})`, () => {
    const zeros = new Uint8Array(64 << 20);
    for (const kernel of fast) {
      let a = 0;
      let d = 0n;
      for (let i = 0; i < 48; i++) {
        a = crc32(zeros, a, { kernel });
        d = crc64nvme(zeros, d, { kernel });
      }
      expect(a.toString(16).padStart(8, '0'), kernel).toBe(known.crc32.zeros3GiB);
      expect(d.toString(16).padStart(16, '0'), kernel).toBe(known.crc64nvme.zeros3GiB);
    }
  }, 60_000);
});

describe('createChecksum', () => {
  it('digest() does not end the checksum: updates go on after it', () => {
    for (const alg of CHECKSUM_ALGORITHMS) {
      const h = createChecksum(alg).update(Buffer.from('Hello '));
      h.digest();
      h.update(Buffer.from('world'));
      expect(h.digest().toString('base64'), alg).toBe(checksumBase64(alg, Buffer.from('Hello world')));
      expect(h.algorithm).toBe(alg);
    }
  });

  it('accepts any Uint8Array view (offsets into a larger buffer)', () => {
    const big = randomBytes(prng(7), 5000);
    for (const alg of CHECKSUM_ALGORITHMS) {
      const view = big.subarray(3, 4003);
      expect(checksumBase64(alg, view)).toBe(checksumBase64(alg, Buffer.from(view)));
    }
  });
});

describe.skipIf(!hasNative)(`every native kernel equals the table kernel${hasNative ? '' : ` (skipped: ${info.reason})`}`, () => {
  const others = kernels.filter((k) => k !== 'table');
  const rand = prng(0xc3c);
  const pool = randomBytes(rand, 1 << 17);

  it(`every length 0..300 at offsets 0..15 (${others.join(', ')})`, () => {
    for (let offset = 0; offset < 16; offset++) {
      for (let n = 0; n <= 300; n++) {
        const b = pool.subarray(offset, offset + n);
        const p32 = (rand() * 2 ** 32) >>> 0;
        const t32 = crc32(b, p32, { kernel: 'table' });
        const t32c = crc32c(b, p32, { kernel: 'table' });
        const t64 = crc64nvme(b, BigInt(p32) * 0x100000001n, { kernel: 'table' });
        for (const kernel of others) {
          if (crc32(b, p32, { kernel }) !== t32) expect.fail(`crc32 ${kernel} offset ${offset} length ${n}`);
          if (crc32c(b, p32, { kernel }) !== t32c) expect.fail(`crc32c ${kernel} offset ${offset} length ${n}`);
          if (crc64nvme(b, BigInt(p32) * 0x100000001n, { kernel }) !== t64) expect.fail(`crc64nvme ${kernel} offset ${offset} length ${n}`);
        }
      }
    }
  });

  // Around every block size the kernels switch at: 16, 64, 128, 256 (folding), 3 * 256 and 3 * 4096 (the
  // SSE4.2 three-stream crc32c), and well past them.
  const edges = [767, 768, 769, 1023, 1024, 4095, 4096, 4097, 3 * 4096 - 1, 3 * 4096, 3 * 4096 + 1, 3 * 4096 + 771, 65536 + 13, 131000];
  it(`long buffers across the block sizes: ${edges.join(', ')}`, () => {
    for (const n of edges) {
      const offset = n % 13;
      const b = pool.subarray(offset, offset + n);
      const t = [crc32(b, 0, { kernel: 'table' }), crc32c(b, 0, { kernel: 'table' }), crc64nvme(b, 0n, { kernel: 'table' })];
      expect(t[0], `zlib length ${n}`).toBe(zlib.crc32(b));
      for (const kernel of others) {
        expect([crc32(b, 0, { kernel }), crc32c(b, 0, { kernel }), crc64nvme(b, 0n, { kernel })], `${kernel} length ${n}`).toEqual(t);
      }
    }
  });

  it('incremental updates split at random points give the one-shot value, for every kernel', () => {
    for (let round = 0; round < 40; round++) {
      const n = (rand() * 20000) | 0;
      const b = pool.subarray(round, round + n);
      const one = [crc32(b, 0, { kernel: 'table' }), crc32c(b, 0, { kernel: 'table' }), crc64nvme(b, 0n, { kernel: 'table' })];
      for (const kernel of kernels) {
        let a = 0;
        let c = 0;
        let d = 0n;
        for (let at = 0; at < n;) {
          const step = Math.min(n - at, rand() < 0.3 ? (rand() * 8) | 0 : (rand() * 3000) | 0);
          const part = b.subarray(at, at + step);
          a = crc32(part, a, { kernel });
          c = crc32c(part, c, { kernel });
          d = crc64nvme(part, d, { kernel });
          at += step;
        }
        expect([a, c, d], `${kernel} round ${round} length ${n}`).toEqual(one);
      }
    }
  });

  it('the pure-TS fallback equals native on random lengths and splits', () => {
    for (let round = 0; round < 60; round++) {
      const n = round < 30 ? round : (rand() * 70000) | 0;
      const b = pool.subarray(round % 7, (round % 7) + n);
      expect(crc32Js(b)).toBe(crc32(b));
      expect(crc32cJs(b)).toBe(crc32c(b));
      expect(crc64nvmeJs(b)).toBe(crc64nvme(b));
      const cut = (rand() * n) | 0;
      expect(crc32cJs(b.subarray(cut), crc32cJs(b.subarray(0, cut)))).toBe(crc32c(b));
      expect(crc64nvmeJs(b.subarray(cut), crc64nvmeJs(b.subarray(0, cut)))).toBe(crc64nvme(b));
      expect(crc32Js(b.subarray(cut), crc32(b.subarray(0, cut)))).toBe(crc32(b));
    }
  });

  it('@aws-crypto/crc32c (what the AWS SDK uses) agrees', async () => {
    for (const n of [0, 1, 17, 1000, 4096, 100_001]) {
      const b = pool.subarray(5, 5 + n);
      const h = new AwsCrc32c();
      h.update(b);
      expect(Buffer.from(await h.digest()).readUInt32BE(0), `length ${n}`).toBe(crc32c(b));
    }
  });
});

describe('combining CRCs (the full-object checksum of a multipart upload from its parts)', () => {
  const rand = prng(0xc0b);
  const pool = randomBytes(rand, 400_000);

  it('combine(crc(A), crc(B), |B|) = crc(A then B), native and pure TS, lengths 0 .. 200 000', () => {
    const lengths = [0, 1, 3, 8, 15, 16, 17, 255, 4096, 65_537, 200_000];
    for (const la of lengths) {
      for (const lb of lengths) {
        const a = pool.subarray(0, la);
        const b = pool.subarray(la, la + lb);
        const ab = pool.subarray(0, la + lb);
        expect(crc32Combine(crc32(a), crc32(b), lb), `crc32 ${la}+${lb}`).toBe(crc32(ab));
        expect(crc32cCombine(crc32c(a), crc32c(b), lb), `crc32c ${la}+${lb}`).toBe(crc32c(ab));
        expect(crc64nvmeCombine(crc64nvme(a), crc64nvme(b), lb), `crc64nvme ${la}+${lb}`).toBe(crc64nvme(ab));
        if (la % 2 === 1 || lb > 70_000) continue; // the bigint fallback is slow: a sample is enough
        expect(crcCombineJs('crc32', BigInt(crc32Js(a)), BigInt(crc32Js(b)), lb)).toBe(BigInt(crc32Js(ab)));
        expect(crcCombineJs('crc32c', BigInt(crc32cJs(a)), BigInt(crc32cJs(b)), lb)).toBe(BigInt(crc32cJs(ab)));
        expect(crcCombineJs('crc64nvme', crc64nvmeJs(a), crc64nvmeJs(b), lb)).toBe(crc64nvmeJs(ab));
      }
    }
  });

  it('combineChecksums over digests: ten random parts give the whole body\'s digest', () => {
    for (const alg of ['crc32', 'crc32c', 'crc64nvme'] as const) {
      let acc = createChecksum(alg).digest();
      let at = 0;
      for (let part = 0; part < 10; part++) {
        const n = (rand() * 25_000) | 0;
        const body = pool.subarray(at, at + n);
        acc = combineChecksums(alg, acc, createChecksum(alg).update(body).digest(), n);
        at += n;
      }
      expect(acc.toString('base64'), alg).toBe(checksumBase64(alg, pool.subarray(0, at)));
    }
  });

  it('48 parts of 64 MiB of zeros combine to the published CRCs of 3 GiB of zeros', () => {
    const part = 64 << 20;
    const zeros = new Uint8Array(part);
    const c32 = crc32(zeros);
    const c64 = crc64nvme(zeros);
    let a = c32;
    let d = c64;
    for (let i = 1; i < 48; i++) {
      a = crc32Combine(a, c32, part);
      d = crc64nvmeCombine(d, c64, part);
    }
    expect(a.toString(16).padStart(8, '0')).toBe(known.crc32.zeros3GiB);
    expect(d.toString(16).padStart(16, '0')).toBe(known.crc64nvme.zeros3GiB);
    expect(crcCombineJs('crc64nvme', c64, c64, part).toString(16)).toBe(crc64nvmeCombine(c64, c64, part).toString(16));
  });
});

describe('bad arguments give coded errors', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return `${(err as Error).constructor.name} ${(err as { code?: string }).code}`;
    }
    return 'no error';
  };

  it('at the TypeScript edge', () => {
    expect(code(() => crc32('abc' as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => crc32c(new Uint16Array(2) as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => crc32(check, -1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32(check, 2 ** 32))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32c(check, 1.5))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32(check, 1n as unknown as number))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => crc64nvme(check, 1 as unknown as bigint))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => crc64nvme(check, -1n))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc64nvme(check, 1n << 64n))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32(check, 0, { kernel: 'sse9' as CrcKernel }))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32(check, 0, { kernal: 'table' } as unknown as { kernel: CrcKernel }))).toBe('ShardVaultError ERR_SV_UNKNOWN_OPTION');
    expect(code(() => createChecksum('md5' as ChecksumAlgorithm))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => createChecksum(undefined as unknown as ChecksumAlgorithm))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => createChecksum('crc32c').update(null as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => createChecksum('sha256').update('x' as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => checksumBase64('crc64nvme', [1, 2] as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(CRC_KERNELS).toContain('table');
    const d4 = Buffer.alloc(4);
    expect(code(() => combineChecksums('sha256', d4, d4, 1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => combineChecksums('crc64nvme', d4, d4, 1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => combineChecksums('crc32', d4, 'abcd' as unknown as Uint8Array, 1))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => combineChecksums('crc32', d4, d4, -1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32Combine(1, 2, 2 ** 53))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc32cCombine(2 ** 32, 2, 3))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => crc64nvmeCombine(1n, 2 as unknown as bigint, 3))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => crc64nvmeCombine(1n, 2n, 3n as unknown as number))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
  });

  it.skipIf(!hasNative)('in the binding (re-checked there, not trusted from lib/)', () => {
    const a = native()!;
    expect(code(() => a.crc32(undefined as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc32c({} as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc64nvme(new Int8Array(3) as unknown as Uint8Array))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc32(check, '1' as unknown as number))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc32(check, -1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc32c(check, 4294967296))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc32c(check, NaN))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc32c(check, 0.5))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc64nvme(check, 5 as unknown as bigint))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc64nvme(check, -5n))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc64nvme(check, 1n << 64n))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc32(check, 0, 7 as unknown as string))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc32(check, 0, 'sse9'))).toBe('Error ERR_SV_KERNEL_UNAVAILABLE');
    const other = process.arch === 'arm64' ? 'vpclmul512' : 'pmull';
    expect(code(() => a.crc64nvme(check, 0n, other))).toBe('Error ERR_SV_KERNEL_UNAVAILABLE');
    expect(code(() => a.crc32Combine(1, 2, -1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc32Combine(1, undefined as unknown as number, 1))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    expect(code(() => a.crc32cCombine(1.5, 2, 1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc64nvmeCombine(1n, 2n, 1.5))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc64nvmeCombine(1n, -2n, 1))).toBe('RangeError ERR_SV_OUT_OF_RANGE');
    expect(code(() => a.crc64nvmeCombine(1n, 2n, '1' as unknown as number))).toBe('TypeError ERR_SV_INVALID_ARG_TYPE');
    // Boundary values are accepted.
    expect(a.crc32(check, 0xffffffff)).toBe(crc32Js(check, 0xffffffff));
    expect(a.crc64nvme(check, 0xffffffffffffffffn)).toBe(crc64nvmeJs(check, 0xffffffffffffffffn));
    expect(a.crc32c(check, null as unknown as number)).toBe(0xe3069283);
  });
});
