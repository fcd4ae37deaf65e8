// BLAKE3 against the official test vectors (all three modes) and against @noble/hashes on random inputs,
// for every kernel this CPU has (CI also re-runs this file with SHARDVAULT_BLAKE3_KERNEL forced).
import { blake3 as noble } from '@noble/hashes/blake3.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { blake3, blake3Batch, blake3BatchSync, blake3Sync, createBlake3 } from '../lib/hash.js';
import { nativeInfo } from '../lib/native-info.js';
import { prng } from './support/helpers.js';

const vectors = JSON.parse(readFileSync(join(__dirname, 'vectors', 'blake3', 'test_vectors.json'), 'utf8')) as {
  key: string;
  context_string: string;
  cases: Array<{ input_len: number; hash: string; keyed_hash: string; derive_key: string }>;
};
const info = nativeInfo();
const forced = process.env.SHARDVAULT_BLAKE3_KERNEL;
const kernels: Array<string | undefined> = info.blake3 === null ? [undefined] : info.blake3.supported.filter((k) => forced === undefined || k === forced);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const input = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe('BLAKE3', () => {
  it.skipIf(forced === undefined || info.blake3 === null)(`a forced run really uses SHARDVAULT_BLAKE3_KERNEL=${forced}`, () => {
    expect(info.blake3!.chosen).toBe(forced);
  });

  for (const kernel of kernels) {
    const opt = kernel === undefined ? {} : { kernel: kernel as never };
    it(`${kernel ?? 'fallback'}: official vectors, ${vectors.cases.length} lengths x 3 modes`, () => {
      const key = new TextEncoder().encode(vectors.key);
      for (const c of vectors.cases) {
        const data = input(c.input_len);
        expect(hex(blake3Sync(data, opt)), `hash ${c.input_len}`).toBe(c.hash);
        expect(hex(blake3Sync(data, { ...opt, key })), `keyed ${c.input_len}`).toBe(c.keyed_hash);
        expect(hex(blake3Sync(data, { ...opt, context: vectors.context_string })), `derive ${c.input_len}`).toBe(c.derive_key);
      }
    });

    it(`${kernel ?? 'fallback'}: random inputs equal @noble/hashes in all modes`, () => {
      const r = prng(kernel?.length ?? 1);
      const lengths = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 31 * 1024, 65 * 1024 + 3];
      for (let i = 0; i < 20; i++) lengths.push(Math.floor(r() * 100 * 1024));
      // Whole aligned 64-chunk subtrees are reduced with SIMD parents: cover several of them and ragged ends.
      lengths.push(64 * 1024, 64 * 1024 + 1, 128 * 1024 + 1, 1 << 20, 3 * (1 << 20) + 5);
      const key = randomBytes(32);
      for (const n of lengths) {
        const data = randomBytes(n);
        expect(hex(blake3Sync(data, opt)), `len ${n}`).toBe(hex(noble(data)));
        expect(hex(blake3Sync(data, { ...opt, key }))).toBe(hex(noble(data, { key })));
        expect(hex(blake3Sync(data, { ...opt, context: 'shardvault test 2026' }))).toBe(
          hex(noble(data, { context: new TextEncoder().encode('shardvault test 2026') })),
        );
      }
    });
  }

  it('incremental hashing with random split points equals one-shot', () => {
    const r = prng(42);
    for (const n of [0, 1, 1024, 1025, 5000, 70_000, 300_000, 2_500_000]) {
      const data = randomBytes(n);
      for (const options of [{}, { key: randomBytes(32) }, { context: 'ctx' }]) {
        const h = createBlake3(options);
        let at = 0;
        while (at < n) {
          // Mostly small steps, sometimes big ones so that aligned 64-chunk runs take the bulk path mid-stream.
          const step = Math.min(n - at, 1 + Math.floor(r() * (r() < 0.2 ? 300_000 : 3000)));
          h.update(data.subarray(at, at + step));
          at += step;
        }
        expect(hex(h.digest())).toBe(hex(blake3Sync(data, options)));
      }
    }
  });

  it('batch and async equal single sync hashes', async () => {
    const blocks = [0, 1, 1024, 4097, 65536, 200_000].map((n) => randomBytes(n));
    const singles = blocks.map((b) => hex(blake3Sync(b)));
    expect(blake3BatchSync(blocks).map(hex)).toEqual(singles);
    expect((await blake3Batch(blocks)).map(hex)).toEqual(singles);
    for (const b of blocks) expect(hex(await blake3(b))).toBe(hex(blake3Sync(b)));
  });

  const bad: Array<[string, () => unknown, string]> = [
    ['data not bytes', () => blake3Sync('abc' as never), 'ERR_SV_INVALID_ARG_TYPE'],
    ['key too short', () => blake3Sync(new Uint8Array(1), { key: new Uint8Array(31) }), 'ERR_SV_OUT_OF_RANGE'],
    ['key not bytes', () => blake3Sync(new Uint8Array(1), { key: 'k'.repeat(32) as never }), 'ERR_SV_INVALID_ARG_TYPE'],
    ['key and context', () => blake3Sync(new Uint8Array(1), { key: new Uint8Array(32), context: 'x' }), 'ERR_SV_OUT_OF_RANGE'],
    ['context not string', () => blake3Sync(new Uint8Array(1), { context: 5 as never }), 'ERR_SV_INVALID_ARG_TYPE'],
    ['unknown option', () => blake3Sync(new Uint8Array(1), { keys: 1 } as never), 'ERR_SV_UNKNOWN_OPTION'],
    ['unknown kernel', () => blake3Sync(new Uint8Array(1), { kernel: 'avx9' as never }), 'ERR_SV_OUT_OF_RANGE'],
    ['blocks not array', () => blake3BatchSync(5 as never), 'ERR_SV_INVALID_ARG_TYPE'],
    ['a block not bytes', () => blake3BatchSync([new Uint8Array(1), 7 as never]), 'ERR_SV_INVALID_ARG_TYPE'],
    ['hasher update with string', () => createBlake3().update('x' as never), 'ERR_SV_INVALID_ARG_TYPE'],
  ];
  if (info.loaded) {
    const missing = process.arch === 'x64' ? 'neon' : 'avx2';
    bad.push([`kernel ${missing} on ${process.arch}`, () => blake3Sync(new Uint8Array(1), { kernel: missing }), 'ERR_SV_KERNEL_UNAVAILABLE']);
  }
  for (const [name, fn, code] of bad) {
    it(`bad argument: ${name} -> ${code}`, () => {
      let got: string | undefined = 'no error';
      try {
        fn();
      } catch (err) {
        got = (err as { code?: string }).code;
      }
      expect(got).toBe(code);
    });
  }
});
