// aws-chunked decoder and payload hash check: round trips through our encoder with random chunkings and
// random delivery splits, every way a body can be cut or broken, and fast-check over arbitrary bytes (a
// stable AuthError code, never a crash, nothing buffered beyond one bounded line).
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  createBodyStage,
  createChunkedDecoder,
  createPayloadHashCheck,
  signChunkedUpload,
  SigV4Verifier,
  type Verified,
} from '../lib/auth/index.js';

const KEY = { accessKeyId: 'SVCHUNKTEST000000000', secretAccessKey: 'chunk-secret-0123456789abcdefghijklmnopq' };
const verifier = new SigV4Verifier({
  region: 'us-east-1',
  lookup: async (id) => (id === KEY.accessKeyId ? { secretAccessKey: KEY.secretAccessKey, principal: 'p', enabled: true } : undefined),
});

type Mode = 'signed' | 'signed-trailer' | 'unsigned-trailer';

/** Encode `data` cut at `cuts` with our signer, verify the headers, return the Verified and the wire body. */
async function makeUpload(data: Buffer, sizes: number[], mode: Mode, trailerValue = 'AAAAAA==', path = '/bucket/key') {
  const trailerNames = mode === 'signed' ? undefined : ['x-amz-checksum-crc32'];
  const { headers, encoder } = signChunkedUpload({
    method: 'PUT', url: new URL(`http://example.test${path}`), headers: {}, ...KEY, region: 'us-east-1',
    decodedContentLength: data.length, mode: mode === 'unsigned-trailer' ? 'unsigned-trailer' : 'signed', trailerNames,
  });
  const v = await verifier.verify({ method: 'PUT', target: path, rawHeaders: Object.entries(headers).flat() });
  const parts: Buffer[] = [];
  let off = 0;
  for (const s of sizes) {
    if (off >= data.length) break;
    const n = Math.min(s, data.length - off);
    parts.push(encoder.chunk(data.subarray(off, off + n)));
    off += n;
  }
  if (off < data.length) parts.push(encoder.chunk(data.subarray(off)));
  parts.push(encoder.finish(trailerNames ? { 'x-amz-checksum-crc32': trailerValue } : undefined));
  return { v, body: Buffer.concat(parts), parts };
}

async function decode(v: Verified, body: Buffer, split = body.length || 1, opts?: { maxChunkBytes?: number }) {
  const dec = createChunkedDecoder(v, opts);
  const out: Buffer[] = [];
  let ended = false;
  dec.on('end', () => { ended = true; });
  const sink = new Writable({ write(c: Buffer, _e, cb) { out.push(c); cb(); } });
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += split) pieces.push(body.subarray(i, i + split));
  try {
    await pipeline(Readable.from(pieces), dec, sink);
  } catch (e) {
    expect(ended, 'a failed decode must never end cleanly').toBe(false);
    throw e;
  }
  return { data: Buffer.concat(out), trailers: dec.trailers() };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (!(e instanceof AuthError)) throw e;
    return e.s3Code;
  }
}

describe('aws-chunked round trips', () => {
  for (const mode of ['signed', 'signed-trailer', 'unsigned-trailer'] as Mode[]) {
    it(`${mode}: random chunkings and random delivery splits decode to the original bytes`, async () => {
      await fc.assert(fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 5000 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 700 }),
        async (bytes, sizes, split) => {
          const data = Buffer.from(bytes);
          const { v, body } = await makeUpload(data, sizes, mode);
          const { data: got, trailers } = await decode(v, body, split);
          expect(got.equals(data)).toBe(true);
          expect(trailers).toEqual(mode === 'signed' ? {} : { 'x-amz-checksum-crc32': 'AAAAAA==' });
        }), { numRuns: 60 });
    });
  }

  it('every cut of the body before its last two bytes fails, never a clean end', async () => {
    for (const mode of ['signed', 'signed-trailer', 'unsigned-trailer'] as Mode[]) {
      const data = Buffer.from('0123456789abcdefghij');
      const { v, body } = await makeUpload(data, [7, 7], mode);
      for (let len = 0; len < body.length - 2; len++) {
        const code = await codeOf(decode(v, body.subarray(0, len)));
        expect(code, `${mode} cut at ${len}/${body.length}`).not.toBe('OK');
      }
      expect(await codeOf(decode(v, body))).toBe('OK');
    }
  });

  it('a body without its final zero-length chunk is IncompleteBody, even with all the data', async () => {
    const data = Buffer.alloc(1000, 1);
    const { v, parts } = await makeUpload(data, [1000], 'signed');
    expect(await codeOf(decode(v, Buffer.concat(parts.slice(0, -1))))).toBe('IncompleteBody');
  });
});

describe('aws-chunked memory', () => {
  it('32 MiB through the decoder into a sink: buffers stay at one input piece, whatever the chunk size', async () => {
    const size = 32 << 20;
    const { v, parts } = await makeUpload(Buffer.alloc(size, 3), Array(8).fill(4 << 20), 'signed');
    const wire = Buffer.concat(parts);
    const dec = createChunkedDecoder(v);
    let maxBuffered = 0;
    let total = 0;
    const piece = 1 << 20;
    const src = Readable.from((function* () {
      for (let i = 0; i < wire.length; i += piece) yield wire.subarray(i, i + piece);
    })());
    const sink = new Writable({
      highWaterMark: 64 << 10,
      write(c: Buffer, _e, cb) {
        total += c.length;
        maxBuffered = Math.max(maxBuffered, dec.readableLength + dec.writableLength);
        setImmediate(cb);
      },
    });
    await pipeline(src, dec, sink);
    expect(total).toBe(size);
    // A 4 MiB chunk is never held whole: at most about one 1 MiB input piece is buffered.
    expect(maxBuffered).toBeLessThanOrEqual(2 * piece + 64 * 1024);
  });

  it('the signing key is not enumerable on Verified (it stays out of JSON and log lines)', async () => {
    const { v } = await makeUpload(Buffer.from('x'), [1], 'signed');
    expect(v.chain?.signingKey.length).toBe(32);
    const text = JSON.stringify(v);
    expect(text).not.toContain('chain');
    expect(text).not.toContain(v.chain!.signingKey.toString('hex'));
    expect(Object.keys(v)).not.toContain('chain');
  });
});

describe('aws-chunked refusals', () => {
  const data = Buffer.from('a'.repeat(300));
  it('a changed data byte breaks that chunk\'s signature', async () => {
    const { v, body } = await makeUpload(data, [100, 100, 100], 'signed');
    const bad = Buffer.from(body);
    bad[body.indexOf('\r\n') + 2 + 50] ^= 1;
    expect(await codeOf(decode(v, bad))).toBe('SignatureDoesNotMatch');
  });
  it('reordered chunks break the chain', async () => {
    const { v, parts } = await makeUpload(Buffer.from('x'.repeat(100) + 'y'.repeat(100)), [100, 100], 'signed');
    expect(await codeOf(decode(v, Buffer.concat([parts[1], parts[0], parts[2]])))).toBe('SignatureDoesNotMatch');
  });
  it('a dropped middle chunk breaks the chain', async () => {
    const { v, parts } = await makeUpload(data, [100, 100, 100], 'signed');
    expect(await codeOf(decode(v, Buffer.concat([parts[0], parts[2], parts[3]])))).not.toBe('OK');
  });
  it('a stream signed for another request (other seed) fails on its first chunk', async () => {
    const a = await makeUpload(data, [300], 'signed');
    // Same bytes, same second, another object: only the seed differs.
    const b = await makeUpload(data, [300], 'signed', undefined, '/bucket/other');
    expect(await codeOf(decode(a.v, b.body))).toBe('SignatureDoesNotMatch');
  });
  it('x-amz-decoded-content-length larger than the body: IncompleteBody; smaller: InvalidChunkSizeError', async () => {
    const { v, body } = await makeUpload(data, [300], 'unsigned-trailer');
    expect(await codeOf(decode({ ...v, decodedContentLength: 301 }, body))).toBe('IncompleteBody');
    expect(await codeOf(decode({ ...v, decodedContentLength: 299 }, body))).toBe('InvalidChunkSizeError');
  });
  it('a chunk over maxChunkBytes is refused before its data is read', async () => {
    const { v, body } = await makeUpload(Buffer.alloc(5000), [5000], 'signed');
    expect(await codeOf(decode(v, body, undefined, { maxChunkBytes: 4096 }))).toBe('InvalidChunkSizeError');
  });
  it('a chunk header line without an end is cut off at 256 bytes (1 MiB of hex digits)', async () => {
    const { v } = await makeUpload(data, [300], 'signed');
    expect(await codeOf(decode(v, Buffer.alloc(1 << 20, 'f'), 4096))).toBe('InvalidChunkSizeError');
  });
  it('data longer than its chunk size, bare LF, junk after the end', async () => {
    const { v, body } = await makeUpload(Buffer.from('hello'), [5], 'unsigned-trailer');
    const text = body.toString('latin1');
    expect(await codeOf(decode(v, Buffer.from(text.replace('hello\r\n', 'helloX\r\n'), 'latin1')))).toBe('InvalidChunkSizeError');
    expect(await codeOf(decode(v, Buffer.from(text.replace('5\r\n', '5\n'), 'latin1')))).toBe('InvalidChunkSizeError');
    expect(await codeOf(decode(v, Buffer.concat([body, Buffer.from('junk')])))).toBe('InvalidChunkSizeError');
  });
  it('trailers: undeclared, duplicated, missing, unsigned signature, changed value', async () => {
    const { v, body } = await makeUpload(data, [300], 'unsigned-trailer');
    const text = body.toString('latin1');
    const code = (s: string) => codeOf(decode(v, Buffer.from(s, 'latin1')));
    expect(await code(text.replace('x-amz-checksum-crc32:', 'x-amz-checksum-sha1:'))).toBe('InvalidRequest');
    expect(await code(text.replace('AAAAAA==\r\n', 'AAAAAA==\r\nx-amz-checksum-crc32:BBBBBB==\r\n'))).toBe('InvalidRequest');
    expect(await code(text.replace('x-amz-checksum-crc32:AAAAAA==\r\n', ''))).toBe('IncompleteBody');
    expect(await code(text.replace('AAAAAA==\r\n', `AAAAAA==\r\nx-amz-trailer-signature:${'0'.repeat(64)}\r\n`))).toBe('InvalidRequest');
    const signed = await makeUpload(data, [300], 'signed-trailer');
    const stext = signed.body.toString('latin1');
    expect(await codeOf(decode(signed.v, Buffer.from(stext.replace('AAAAAA==', 'AAAAAB=='), 'latin1')))).toBe('SignatureDoesNotMatch');
    expect(await codeOf(decode(signed.v, Buffer.from(stext.replace(/x-amz-trailer-signature:[0-9a-f]{64}\r\n/, ''), 'latin1')))).toBe('IncompleteBody');
  });
  it('the decoder refuses non-chunked payload modes (programming error)', () => {
    expect(() => createChunkedDecoder({ payload: { kind: 'unsigned' } } as Verified)).toThrow(TypeError);
  });
});

describe('property: any byte string gives a stable AuthError code, never a crash', () => {
  const codes = new Set(['IncompleteBody', 'InvalidChunkSizeError', 'SignatureDoesNotMatch', 'InvalidRequest']);
  for (const mode of ['signed', 'signed-trailer', 'unsigned-trailer'] as Mode[]) {
    it(`${mode}: arbitrary bytes and mutated valid bodies`, async () => {
      const base = await makeUpload(Buffer.from('The quick brown fox jumps over the lazy dog'), [10, 20], mode);
      const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
        .map(([edits, cut]) => {
          const b = Buffer.from(base.body);
          for (const [pos, val] of edits) b[pos % b.length] = val;
          return cut % 3 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
        });
      const arbitrary = fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u));
      const texty = fc.array(fc.constantFrom('0', '1', 'a', 'f', ';', 'chunk-signature=', '\r', '\n', '\r\n', 'x-amz-checksum-crc32:', 'x-amz-trailer-signature:', ':', 'AAAAAA=='), { maxLength: 60 })
        .map((a) => Buffer.from(a.join(''), 'latin1'));
      await fc.assert(fc.asyncProperty(fc.oneof(mutated, arbitrary, texty), fc.integer({ min: 1, max: 64 }), async (body, split) => {
        const code = await codeOf(decode(base.v, body, split));
        if (code !== 'OK') expect(codes.has(code), code).toBe(true);
      }), { numRuns: 1500 });
    });
  }
});

describe('payload hash check', () => {
  const hex = (s: string) => require('node:crypto').createHash('sha256').update(s).digest('hex') as string;
  const run = async (expected: string, pieces: string[]) => {
    const out: Buffer[] = [];
    const t = createPayloadHashCheck(expected);
    t.on('data', (d: Buffer) => out.push(d));
    await pipeline(Readable.from(pieces.map((p) => Buffer.from(p))), t);
    return Buffer.concat(out).toString();
  };
  it('passes the bytes through when they hash to the declared digest', async () => {
    expect(await run(hex('hello world'), ['hello', ' ', 'world'])).toBe('hello world');
    expect(await run(hex(''), [])).toBe('');
  });
  it('fails before end with XAmzContentSHA256Mismatch otherwise', async () => {
    await expect(run(hex('hello world'), ['hello', ' ', 'World'])).rejects.toMatchObject({ s3Code: 'XAmzContentSHA256Mismatch', status: 400 });
  });
  it('refuses a malformed expected digest', () => {
    expect(() => createPayloadHashCheck('ABC')).toThrow(TypeError);
  });
});

describe('createBodyStage picks the stage from the payload mode', () => {
  it('signed -> hash check, unsigned -> none, aws-chunked -> decoder with the decoded length', async () => {
    const base = { accessKeyId: 'a', principal: 'p', presigned: false, region: 'us-east-1', signedHeaders: [], requestTimeMs: 0 };
    const digest = require('node:crypto').createHash('sha256').update('abc').digest('hex') as string;
    const signed = createBodyStage({ ...base, payload: { kind: 'signed', sha256Hex: digest } });
    await pipeline(Readable.from([Buffer.from('abc')]), signed.stage!, new Writable({ write(_c, _e, cb) { cb(); } }));
    const wrong = createBodyStage({ ...base, payload: { kind: 'signed', sha256Hex: digest } });
    await expect(pipeline(Readable.from([Buffer.from('abd')]), wrong.stage!, new Writable({ write(_c, _e, cb) { cb(); } })))
      .rejects.toMatchObject({ s3Code: 'XAmzContentSHA256Mismatch' });
    expect(createBodyStage({ ...base, payload: { kind: 'unsigned' } }).stage).toBeUndefined();
    const { v, body } = await makeUpload(Buffer.from('hello'), [2], 'unsigned-trailer');
    const chunked = createBodyStage(v);
    expect(chunked.decodedLength).toBe(5);
    const out: Buffer[] = [];
    await pipeline(Readable.from([body]), chunked.stage!, new Writable({ write(c, _e, cb) { out.push(c); cb(); } }));
    expect(Buffer.concat(out).toString()).toBe('hello');
    expect(chunked.trailers()).toEqual({ 'x-amz-checksum-crc32': 'AAAAAA==' });
  });
});
