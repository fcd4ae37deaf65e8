// Fuzz tier (issue 14), the native binding's argument checks: every exported function of the addon is called
// with arguments drawn from the shapes that break C++ length arithmetic — odd and zero lengths, views at random
// offsets into one backing store (so shards overlap), SharedArrayBuffer-backed views, detached buffers, huge or
// fractional or negative numbers for k/m/offsets/lengths, wrong types, missing and extra arguments. Each call
// must return, or throw/reject an Error whose code is one of our stable codes: never crash the process. The
// sanitizer tier (scripts/sanitize.mjs) runs this file against the ASan/UBSan build, where an out-of-bounds
// read or write that happens to "work" in the normal build aborts the process instead.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCode } from '../lib/errors.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { FUZZ_RUNS, FUZZ_SEED } from './support/fuzz.js';

const addon = native();
const knownCodes = new Set<string>(Object.values(ErrorCode));
const runs = Math.max(200, Math.round(FUZZ_RUNS / 3));
const dir = mkdtempSync(join(tmpdir(), 'sv-argfuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A view of some kind: plain, at an offset into a shared backing store, SAB-backed, or detached. */
const backing = new Uint8Array(1 << 16).map((_, i) => i * 7);
const view = fc.oneof(
  fc.integer({ min: 0, max: 4096 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
  fc.tuple(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 4096 })).map(([off, n]) => backing.subarray(off, off + n)),
  fc.integer({ min: 0, max: 1024 }).map((n) => new Uint8Array(new SharedArrayBuffer(n))),
  fc.integer({ min: 1, max: 256 }).map((n) => { const b = new Uint8Array(n); structuredClone(b.buffer, { transfer: [b.buffer] }); return b; }),
  fc.integer({ min: 0, max: 64 }).map((n) => Buffer.alloc(n, 1)),
  fc.integer({ min: 0, max: 64 }).map((n) => new Uint16Array(n)),
  fc.constant(new DataView(new ArrayBuffer(8))),
);
const number = fc.oneof(
  fc.integer({ min: -2, max: 300 }), fc.constantFrom(0, 1, 255, 256, 257, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31), NaN, Infinity, -Infinity, 0.5, -0),
  fc.double(),
);
const scalar = fc.oneof(number, fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(undefined), fc.constant(null), fc.constant({}), fc.bigInt());
const value = fc.oneof(
  { arbitrary: view, weight: 4 }, { arbitrary: fc.array(view, { maxLength: 12 }), weight: 4 },
  { arbitrary: fc.array(fc.array(view, { maxLength: 8 }), { maxLength: 4 }), weight: 2 },
  { arbitrary: fc.array(fc.oneof(fc.boolean(), number), { maxLength: 12 }), weight: 2 },
  { arbitrary: scalar, weight: 3 },
);

function checkThrown(fn: string, err: unknown): void {
  if (!(err instanceof Error)) throw new Error(`${fn} threw a non-Error: ${String(err)}`);
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !knownCodes.has(code)) throw new Error(`${fn} threw without a stable code: ${err.name}: ${err.message}`);
}

async function call(fn: string, f: (...a: unknown[]) => unknown, args: unknown[]): Promise<void> {
  let out: unknown;
  try {
    out = f(...args);
  } catch (err) {
    checkThrown(fn, err);
    return;
  }
  if (out instanceof Promise) await out.then(() => undefined, (err) => checkThrown(fn, err));
}

describe.skipIf(!addon)(`native binding argument fuzz${addon ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  const a = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
  const handle = (k: number, m: number) => a.codecCreate(k, m);

  // Handles of every kind, passed where any handle is expected: the binding checks each handle's type tag (a
  // hasher passed as a codec handle crashed the process before handles were tagged).
  const foreign = () => [a.codecCreate(2, 1), a.blake3HasherCreate(), { fake: true }];
  it('a handle of one kind is refused where another kind is expected, with a coded TypeError', async () => {
    const { dev } = a.ioStat(dir) as { dev: number };
    const writer = await (a.ioWriterOpen(dir, 'tagged', dev) as Promise<unknown>);
    const [codec, hasher] = foreign();
    const cases: Array<[string, unknown[]]> = [
      ['codecInfo', [hasher]], ['codecInfo', [writer]], ['codecEncodeSync', [hasher, []]], ['codecEncodeAsync', [writer, []]],
      ['stripeEncodeHash', [hasher, []]], ['blake3HasherDigest', [codec]], ['blake3HasherUpdate', [writer, new Uint8Array(1)]],
      ['ioWriterState', [codec]], ['ioWriterAppend', [hasher, new Uint8Array(1)]], ['ioWriterSeal', [codec, false]],
    ];
    for (const [fn, args] of cases) {
      let code: unknown;
      try { await a[fn](...args); } catch (err) { code = (err as { code?: unknown }).code; }
      expect(code, fn).toBe('ERR_SV_INVALID_ARG_TYPE');
    }
    await a.ioWriterAbort(writer);
  });

  const codecFns = ['codecEncodeSync', 'codecEncodeAsync', 'codecReconstructSync', 'codecReconstructAsync', 'stripeEncodeHash', 'codecInfo'];
  it(`codec functions: ${runs} random argument lists each, on real handles of random k+m`, async () => {
    const handles = [handle(1, 0), handle(4, 2), handle(10, 4), handle(3, 1)];
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...codecFns), fc.oneof(fc.constantFrom(...handles, ...foreign()), scalar), fc.array(value, { maxLength: 4 }),
      async (fn, h, rest) => { await call(fn, a[fn], [h, ...rest]); },
    ), { seed: FUZZ_SEED, numRuns: runs * codecFns.length });
  }, 600_000);

  it(`codecCreate: ${runs} random k, m, kernel`, () => {
    fc.assert(fc.property(number, number, fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('avx2', 'gfni512', 'scalar', 'ssse3')), { nil: undefined }), (k, m, kernel) => {
      try { a.codecCreate(k, m, kernel); } catch (err) { checkThrown('codecCreate', err); }
    }), { seed: FUZZ_SEED, numRuns: runs });
  });

  const hashFns = ['blake3Sync', 'blake3Async', 'blake3BatchSync', 'blake3BatchAsync', 'blake3HasherCreate'];
  it(`blake3 functions: ${runs} random argument lists each (data, key, context, kernel)`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...hashFns), fc.array(value, { maxLength: 5 }), async (fn, args) => { await call(fn, a[fn], args); }),
      { seed: FUZZ_SEED, numRuns: runs * hashFns.length });
  }, 600_000);

  it(`blake3 hasher handles: ${runs} random updates and digests, on real and fake handles`, async () => {
    const real = a.blake3HasherCreate();
    await fc.assert(fc.asyncProperty(fc.constantFrom('blake3HasherUpdate', 'blake3HasherUpdateAsync', 'blake3HasherDigest'), fc.oneof(fc.constant(real), fc.constantFrom(...foreign()), scalar, view), fc.array(value, { maxLength: 2 }),
      async (fn, h, rest) => { await call(fn, a[fn], [h, ...rest]); }), { seed: FUZZ_SEED, numRuns: runs * 3 });
  }, 600_000);

  it(`ioReadRange: ${runs} random offsets, lengths, block sizes and expected hashes on a real file`, async () => {
    const file = join(dir, 'shard');
    writeFileSync(file, backing.subarray(0, 20_000));
    await fc.assert(fc.asyncProperty(number, number, number, fc.option(value, { nil: undefined }), async (off, len, block, expected) => {
      await call('ioReadRange', a.ioReadRange, [file, off, len, block, expected]);
    }), { seed: FUZZ_SEED, numRuns: runs });
  }, 600_000);

  it(`shard writer: ${runs} random appends, pwrites, seals and aborts on real and fake handles`, async () => {
    const { dev } = a.ioStat(dir) as { dev: number };
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('ioWriterAppend', 'ioWriterPwrite', 'ioWriterSeal', 'ioWriterAbort', 'ioWriterState'), fc.array(value, { maxLength: 3 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
      async (ops) => {
        const h = await (a.ioWriterOpen(dir, `w${n++}`, dev) as Promise<unknown>);
        for (const [fn, args, fake] of ops) await call(fn, a[fn], [fake ? {} : h, ...args]);
        await call('ioWriterAbort', a.ioWriterAbort, [h]);
      }), { seed: FUZZ_SEED, numRuns: Math.max(50, Math.round(runs / 4)) });
  }, 600_000);

  it.runIf(process.env.SHARDVAULT_SANITIZED === '1')('under the sanitizer tier, the sanitized build is the one loaded and ASan is in the process', async () => {
    const { nativeAddonFile } = await import('../lib/native.js');
    expect(nativeAddonFile()).toBe(process.env.SHARDVAULT_ADDON);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync('/proc/self/maps', 'utf8')).toMatch(/libasan\.so/);
  });

  it('the check is real: an uncoded error is caught', () => {
    expect(() => checkThrown('x', new RangeError('offset'))).toThrow(/without a stable code/);
  });
});
