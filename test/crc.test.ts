// CRC32, CRC32C and CRC-64/NVME (lib/checksum.ts, native/crc): the catalogue check values, the AWS SDK's
// published x-amz-checksum-* values (test/vectors/aws-checksums), every native kernel the CPU has against the
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
  crc32,
  crc32c,
  crc64nvme,
  createChecksum,
} from '../lib/checksum.js';
import { crc32Js, crc32cJs, crc64nvmeJs } from '../lib/crc-js.js';
import { nativeInfo } from '../lib/native-info.js';
import { native } from '../lib/native.js';
import { prng } from './helpers.js';

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
    const other = process.arch === 'arm64' ? 'vpclmul' : 'armv8';
    expect(code(() => a.crc64nvme(check, 0n, other))).toBe('Error ERR_SV_KERNEL_UNAVAILABLE');
    // Boundary values are accepted.
    expect(a.crc32(check, 0xffffffff)).toBe(crc32Js(check, 0xffffffff));
    expect(a.crc64nvme(check, 0xffffffffffffffffn)).toBe(crc64nvmeJs(check, 0xffffffffffffffffn));
    expect(a.crc32c(check, null as unknown as number)).toBe(0xe3069283);
  });
});
