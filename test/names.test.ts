// lib/engine/names.ts: the one validation of names at the engine's edge, in UTF-8 bytes with the manifest's
// limits (issue 11).
import { describe, expect, it } from 'vitest';

import { MANIFEST_LIMITS } from '../lib/format/manifest.js';
import { NAME_LIMITS, checkBucket, checkKey, checkName, checkPrincipal, isWellFormed, listString } from '../lib/engine/names.js';

const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('names', () => {
  it('uses the manifest limits, counted in UTF-8 bytes', () => {
    expect(NAME_LIMITS).toMatchObject({ bucketBytesMax: MANIFEST_LIMITS.bucketBytesMax, keyBytesMax: MANIFEST_LIMITS.keyBytesMax, principalBytesMax: MANIFEST_LIMITS.principalBytesMax });
    expect(code(() => checkKey('é'.repeat(512)))).toBe('ok'); // 1024 bytes, 512 characters
    expect(code(() => checkKey('é'.repeat(512) + 'x'))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkKey('\u{1F600}'.repeat(256)))).toBe('ok'); // 4 bytes each, 2 UTF-16 units
    expect(code(() => checkKey('\u{1F600}'.repeat(256) + 'x'))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkPrincipal('p'.repeat(128)))).toBe('ok');
    expect(code(() => checkPrincipal('p'.repeat(129)))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkName('x', 'ü'.repeat(32), 63))).toBe('ERR_SV_OUT_OF_RANGE'); // 64 bytes
  });

  it('refuses empty names, NUL, lone surrogates and non-strings with codes', () => {
    expect(code(() => checkKey(''))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkKey('a\0b'))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkKey('a\uD800b'))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkKey('\uDC00'))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => checkKey(5))).toBe('ERR_SV_INVALID_ARG_TYPE');
    expect(isWellFormed('\uD83D\uDE00')).toBe(true);
    expect(isWellFormed('\uDE00\uD83D')).toBe(false);
    expect(code(() => listString('prefix', '', 0))).toBe('ok');
    expect(code(() => listString('delimiter', '', 1))).toBe('ERR_SV_OUT_OF_RANGE');
    expect(code(() => listString('prefix', 'x'.repeat(1025), 0))).toBe('ERR_SV_OUT_OF_RANGE');
  });

  it('applies the S3 bucket rule, except to buckets that already exist under an older name', async () => {
    const codeOf = (p: Promise<void>) => p.then(() => 'ok', (err: { code?: string }) => err.code);
    expect(await codeOf(checkBucket('my-bucket', async () => false))).toBe('ok');
    expect(await codeOf(checkBucket('B', async () => false))).toBe('ERR_SV_INVALID_BUCKET_NAME');
    expect(await codeOf(checkBucket('B', async (b) => b === 'B'))).toBe('ok');
    expect(await codeOf(checkBucket('x'.repeat(64), async () => true))).toBe('ERR_SV_OUT_OF_RANGE');
  });
});
