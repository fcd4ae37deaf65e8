// Bad arguments: every public codec entry point rejects them with a stable code and never crashes.
import { describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { randomShards } from './support/helpers.js';

const hasNative = native() !== null;
const backends = hasNative ? (['native', 'js'] as const) : (['js'] as const);

type Case = [string, () => unknown, string];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
}

describe('constructor', () => {
  const table: Case[] = [
    ['k not a number', () => new ReedSolomon('4' as never, 2), 'ERR_SV_INVALID_ARG_TYPE'],
    ['k = 0', () => new ReedSolomon(0, 2), 'ERR_SV_OUT_OF_RANGE'],
    ['k fractional', () => new ReedSolomon(2.5, 2), 'ERR_SV_OUT_OF_RANGE'],
    ['k NaN', () => new ReedSolomon(NaN, 2), 'ERR_SV_OUT_OF_RANGE'],
    ['m negative', () => new ReedSolomon(4, -1), 'ERR_SV_OUT_OF_RANGE'],
    ['k + m = 257', () => new ReedSolomon(200, 57), 'ERR_SV_OUT_OF_RANGE'],
    ['k = 257', () => new ReedSolomon(257, 0), 'ERR_SV_OUT_OF_RANGE'],
    ['options not an object', () => new ReedSolomon(4, 2, 5 as never), 'ERR_SV_INVALID_ARG_TYPE'],
    ['misspelled option', () => new ReedSolomon(4, 2, { backEnd: 'js' } as never), 'ERR_SV_UNKNOWN_OPTION'],
    ['unknown backend', () => new ReedSolomon(4, 2, { backend: 'wasm' as never }), 'ERR_SV_OUT_OF_RANGE'],
    ['unknown kernel', () => new ReedSolomon(4, 2, { kernel: 'sse9' as never }), 'ERR_SV_OUT_OF_RANGE'],
    ['kernel with js backend', () => new ReedSolomon(4, 2, { backend: 'js', kernel: 'scalar' }), 'ERR_SV_KERNEL_UNAVAILABLE'],
  ];
  if (hasNative) {
    const missing = process.arch === 'x64' ? 'neon' : 'avx2';
    table.push([`kernel ${missing} on ${process.arch}`, () => new ReedSolomon(4, 2, { kernel: missing }), 'ERR_SV_KERNEL_UNAVAILABLE']);
  } else {
    table.push(['native requested without addon', () => new ReedSolomon(4, 2, { backend: 'native' }), 'ERR_SV_NATIVE_UNAVAILABLE']);
  }
  for (const [name, fn, code] of table) it(`${name} -> ${code}`, () => expect(codeOf(fn)).toBe(code));
});

for (const backend of backends) {
  describe(`${backend} backend: encode and reconstruct`, () => {
    const rs = new ReedSolomon(4, 2, { backend });
    const ok = () => randomShards(4, 2, 64);
    const shared = new Uint8Array(64 * 6);
    const overlapping = [0, 1, 2, 3, 4, 5].map((i) => shared.subarray(i * 60, i * 60 + 64));
    const table: Case[] = [
      ['shards not an array', () => rs.encodeSync('x' as never), 'ERR_SV_INVALID_ARG_TYPE'],
      ['too few shards', () => rs.encodeSync(ok().slice(0, 5)), 'ERR_SV_SHARD_COUNT'],
      ['too many shards', () => rs.encodeSync([...ok(), new Uint8Array(64)]), 'ERR_SV_SHARD_COUNT'],
      ['a shard is a string', () => rs.encodeSync([...ok().slice(0, 5), 'x' as never]), 'ERR_SV_INVALID_ARG_TYPE'],
      ['a shard is an Int16Array', () => rs.encodeSync([...ok().slice(0, 5), new Int16Array(32) as never]), 'ERR_SV_INVALID_ARG_TYPE'],
      ['unequal lengths', () => rs.encodeSync([...ok().slice(0, 5), new Uint8Array(65)]), 'ERR_SV_SHARD_SIZE_MISMATCH'],
      ['empty shards', () => rs.encodeSync(randomShards(4, 2, 0)), 'ERR_SV_OUT_OF_RANGE'],
      ['overlapping subarrays', () => rs.encodeSync(overlapping), 'ERR_SV_SHARD_OVERLAP'],
      ['same buffer twice', () => { const s = ok(); s[5] = s[0]; rs.encodeSync(s); }, 'ERR_SV_SHARD_OVERLAP'],
      ['reconstruct without options', () => rs.reconstructSync(ok(), undefined as never), 'ERR_SV_INVALID_ARG_TYPE'],
      ['present wrong length', () => rs.reconstructSync(ok(), { present: [true, true] }), 'ERR_SV_INVALID_ARG_TYPE'],
      ['present not booleans', () => rs.reconstructSync(ok(), { present: [1, 1, 1, 1, 1, 1] as never }), 'ERR_SV_INVALID_ARG_TYPE'],
      ['too few present', () => rs.reconstructSync(ok(), { present: [true, true, true, false, false, false] }), 'ERR_SV_TOO_FEW_SHARDS'],
      ['target present', () => rs.reconstructSync(ok(), { present: [false, true, true, true, true, true], targets: [1] }), 'ERR_SV_BAD_TARGETS'],
      ['target twice', () => rs.reconstructSync(ok(), { present: [false, true, true, true, true, true], targets: [0, 0] }), 'ERR_SV_BAD_TARGETS'],
      ['target out of range', () => rs.reconstructSync(ok(), { present: [false, true, true, true, true, true], targets: [6] }), 'ERR_SV_OUT_OF_RANGE'],
      ['target fractional', () => rs.reconstructSync(ok(), { present: [false, true, true, true, true, true], targets: [0.5] }), 'ERR_SV_OUT_OF_RANGE'],
      ['unknown reconstruct option', () => rs.reconstructSync(ok(), { present: [true, true, true, true, true, true], target: [] } as never), 'ERR_SV_UNKNOWN_OPTION'],
    ];
    for (const [name, fn, code] of table) it(`${name} -> ${code}`, () => expect(codeOf(fn)).toBe(code));

    it('a detached buffer is refused, not read', () => {
      const s = ok();
      const buf = new ArrayBuffer(64);
      s[5] = new Uint8Array(buf);
      structuredClone(buf, { transfer: [buf] }); // detaches: the view now has length 0
      expect(['ERR_SV_OUT_OF_RANGE', 'ERR_SV_SHARD_SIZE_MISMATCH']).toContain(codeOf(() => rs.encodeSync(s)));
    });

    it('async paths reject with the same codes', async () => {
      await expect(rs.encode(ok().slice(0, 3))).rejects.toMatchObject({ code: 'ERR_SV_SHARD_COUNT' });
      await expect(rs.encodeBatch([ok(), randomShards(4, 2, 65)])).rejects.toMatchObject({ code: 'ERR_SV_SHARD_SIZE_MISMATCH' });
      await expect(rs.reconstruct(ok(), { present: [false, false, false, true, true, true] })).rejects.toMatchObject({
        code: 'ERR_SV_TOO_FEW_SHARDS',
      });
    });
  });
}

describe.skipIf(!hasNative)(`the binding re-checks what the edge checked${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  const addon = native()!;
  it('raw calls with bad arguments throw coded errors instead of crashing', () => {
    const h = addon.codecCreate(4, 2);
    const s = randomShards(4, 2, 16);
    const raw: Case[] = [
      ['handle not external', () => addon.codecEncodeSync({} as never, s), 'ERR_SV_INVALID_ARG_TYPE'],
      ['k = 0', () => addon.codecCreate(0, 1), 'ERR_SV_OUT_OF_RANGE'],
      ['k + m > 256', () => addon.codecCreate(200, 100), 'ERR_SV_OUT_OF_RANGE'],
      ['k Infinity', () => addon.codecCreate(Infinity, 1), 'ERR_SV_OUT_OF_RANGE'],
      ['kernel unknown', () => addon.codecCreate(4, 2, 'mmx'), 'ERR_SV_KERNEL_UNAVAILABLE'],
      ['shard count', () => addon.codecEncodeSync(h, s.slice(1)), 'ERR_SV_SHARD_COUNT'],
      ['length mismatch', () => addon.codecEncodeSync(h, [...s.slice(0, 5), new Uint8Array(17)]), 'ERR_SV_SHARD_SIZE_MISMATCH'],
      ['overlap', () => addon.codecEncodeSync(h, [...s.slice(0, 5), s[0]]), 'ERR_SV_SHARD_OVERLAP'],
      ['too few present', () => addon.codecReconstructSync(h, s, [true, false, false, false, true, false], [1]), 'ERR_SV_TOO_FEW_SHARDS'],
      ['target present', () => addon.codecReconstructSync(h, s, [true, true, true, true, true, false], [0]), 'ERR_SV_BAD_TARGETS'],
      ['present not array', () => addon.codecReconstructSync(h, s, 'x' as never, [0]), 'ERR_SV_INVALID_ARG_TYPE'],
      ['batch not array', () => addon.codecEncodeAsync(h, 5 as never), 'ERR_SV_INVALID_ARG_TYPE'],
    ];
    for (const [name, fn, code] of raw) expect(codeOf(fn), name).toBe(code);
  });
});
