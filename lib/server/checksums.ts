/**
 * S3's flexible checksums on the wire: which one a request declares (an `x-amz-checksum-<alg>` header, or a
 * trailer named by `x-amz-trailer`), a Transform that computes it over the decoded body and fails BEFORE the
 * body ends when it does not match (so vault.put, which reads through it, rejects and stores nothing), and the
 * header to return with `x-amz-checksum-mode: ENABLED`.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { CHECKSUM_ALGORITHMS, CHECKSUM_DIGEST_BYTES, createChecksum, type ChecksumAlgorithm } from '../checksum.js';
import { S3Error } from './s3-error.js';

export type { ChecksumAlgorithm };
export const ALGORITHMS = CHECKSUM_ALGORITHMS;
const DIGEST_BYTES = CHECKSUM_DIGEST_BYTES;

export function headerOf(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm}`;
}

function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const a = name.toLowerCase().replace(/^x-amz-checksum-/, '');
  return (ALGORITHMS as readonly string[]).includes(a) && name.toLowerCase().startsWith('x-amz-checksum-') ? (a as ChecksumAlgorithm) : undefined;
}

/** Checks a base64 digest value has the algorithm's length; S3 answers InvalidRequest otherwise. */
export function checkValue(algorithm: ChecksumAlgorithm, value: string, where: string): string {
  const ok = /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0 && Buffer.from(value, 'base64').length === DIGEST_BYTES[algorithm];
  if (!ok) throw new S3Error('InvalidRequest', 400, `Value for ${headerOf(algorithm)} ${where} is invalid.`);
  return value;
}

export interface Declared {
  algorithm: ChecksumAlgorithm;
  /** From the header; absent when it comes as a trailer. */
  value?: string;
  trailer: boolean;
}

/** What the request declares, or undefined. Refuses two checksums, an unknown algorithm, a malformed value. */
export function declaredChecksum(headers: Record<string, string | string[] | undefined>): Declared | undefined {
  const found: Declared[] = [];
  for (const [name, v] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-checksum-') || name === 'x-amz-checksum-mode' || name === 'x-amz-checksum-type' || name === 'x-amz-checksum-algorithm') continue;
    const algorithm = algorithmOfHeader(name);
    if (algorithm === undefined) throw new S3Error('InvalidRequest', 400, `The checksum header ${name} names an algorithm ShardVault does not support.`);
    if (typeof v !== 'string') throw new S3Error('InvalidRequest', 400, `Expecting a single ${name} header.`);
    found.push({ algorithm, value: checkValue(algorithm, v, 'header'), trailer: false });
  }
  const trailer = headers['x-amz-trailer'];
  if (typeof trailer === 'string' && trailer.length > 0) {
    const names = trailer.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
    for (const n of names) {
      const algorithm = algorithmOfHeader(n);
      if (algorithm === undefined) throw new S3Error('InvalidRequest', 400, `The trailer ${n} is not a checksum ShardVault supports.`);
      found.push({ algorithm, trailer: true });
    }
  }
  const sdkAlg = headers['x-amz-sdk-checksum-algorithm'];
  if (found.length > 1) throw new S3Error('InvalidRequest', 400, 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  if (found.length === 1 && typeof sdkAlg === 'string' && sdkAlg.toLowerCase() !== found[0]!.algorithm) {
    throw new S3Error('InvalidRequest', 400, 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
  }
  return found[0];
}

/**
 * Passes the bytes through, computing `algorithm`; in _flush compares with the expected value (the header's,
 * or the trailer's, read only then: the chunked decoder upstream has parsed its trailers once it has ended).
 * A mismatch errors the stream before it ends: BadDigest. `digest()` is the computed value after the end.
 */
export class ChecksumVerifier extends Transform {
  readonly algorithm: ChecksumAlgorithm;
  readonly #expected: () => string | undefined;
  readonly #sum;
  #value: string | undefined;

  constructor(algorithm: ChecksumAlgorithm, expected: () => string | undefined) {
    super();
    this.algorithm = algorithm;
    this.#expected = expected;
    this.#sum = createChecksum(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#sum.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const got = this.#sum.digest().toString('base64');
    let want: string | undefined;
    try {
      want = this.#expected();
      if (want === undefined) throw new S3Error('InvalidRequest', 400, `The trailer ${headerOf(this.algorithm)} was declared in x-amz-trailer but not sent.`);
      checkValue(this.algorithm, want, 'trailer');
    } catch (err) {
      cb(err as Error);
      return;
    }
    if (got !== want) {
      cb(new S3Error('BadDigest', 400, `The ${this.algorithm.toUpperCase()} you specified did not match the calculated checksum.`));
      return;
    }
    this.#value = got;
    cb();
  }

  /** The verified base64 value, once the stream has ended. */
  get value(): string | undefined {
    return this.#value;
  }
}
