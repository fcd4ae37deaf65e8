/**
 * Decoder for `Content-Encoding: aws-chunked` bodies (S3 "Transferring Payload in Multiple Chunks" and
 * "Signature calculations for trailing headers").
 *
 *   signed:    <hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
 *              [trailers: name:value\r\n ... x-amz-trailer-signature:<sig>\r\n] \r\n
 *   unsigned:  <hex-size>\r\n<data>\r\n ... 0\r\n [name:value\r\n ...] \r\n
 *
 * Data is passed downstream as it arrives (memory stays bounded by the stream's high-water mark, not by the
 * chunk size), and each chunk's signature is checked when the chunk ends. So a consumer may have seen the
 * bytes of a chunk whose signature then fails: the failure is always raised as a stream error BEFORE 'end',
 * and a put that commits only on a clean end stores nothing. Without the final zero-length chunk the stream
 * errors with IncompleteBody and never ends cleanly.
 *
 * Every line is bounded (chunk header 256 bytes, trailer line 1 KiB) before it is buffered; chunk sizes are
 * bounded by `maxChunkBytes`; the decoded total must equal x-amz-decoded-content-length.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EMPTY_SHA256, chunkStringToSign, hmac, trailerStringToSign } from './canonical.js';
import { authErrors } from './errors.js';
import { constantTimeEqualHex, type Verified } from './sigv4.js';

export const CHUNKED_LIMITS = {
  chunkHeaderLineMax: 256,
  trailerLineMax: 1024,
  trailerCountMax: 8,
  /** Default largest chunk accepted (SDKs send 8 KiB to 1 MiB; the bound keeps sizes sane, nothing is buffered). */
  chunkBytesMaxDefault: 16 * 1024 * 1024,
} as const;

type State = 'header' | 'data' | 'data-cr' | 'data-lf' | 'final-crlf' | 'trailer' | 'done';

const SIGNED_HEADER = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/;
const UNSIGNED_HEADER = /^([0-9a-fA-F]{1,16})$/;

export type ChunkedDecoder = Transform & { trailers(): Record<string, string> };

class AwsChunkedDecoder extends Transform {
  private state: State = 'header';
  private readonly signed: boolean;
  private readonly expectTrailer: boolean;
  private readonly trailerNames: string[];
  private readonly maxChunkBytes: number;
  private readonly decodedLength: number;
  private readonly chain?: Verified['chain'];
  private previousSignature: string;
  private line: Buffer;
  private lineLength = 0;
  private remaining = 0;
  private chunkSignature = '';
  private chunkHash: Hash | undefined;
  private decodedTotal = 0;
  private readonly trailerValues = new Map<string, string>();
  private trailerSignature: string | undefined;
  private trailerLines = 0;
  private leadingBlankSkipped = false;
  private failed = false;

  constructor(v: Verified, opts: { maxChunkBytes?: number }) {
    super();
    const kind = v.payload.kind;
    if (kind !== 'streaming-signed' && kind !== 'streaming-unsigned-trailer') {
      throw new TypeError(`createChunkedDecoder needs an aws-chunked payload mode, not ${kind}`);
    }
    if (v.decodedContentLength === undefined) throw new TypeError('createChunkedDecoder needs decodedContentLength');
    this.signed = kind === 'streaming-signed';
    this.expectTrailer = kind === 'streaming-unsigned-trailer' || (v.payload.kind === 'streaming-signed' && v.payload.trailer);
    this.trailerNames = v.trailerNames ?? [];
    if (this.signed) {
      if (v.chain === undefined) throw new TypeError('createChunkedDecoder needs the signature chain of a signed stream');
      this.chain = v.chain;
    }
    this.previousSignature = v.chain?.seedSignature ?? '';
    this.decodedLength = v.decodedContentLength;
    this.maxChunkBytes = opts.maxChunkBytes ?? CHUNKED_LIMITS.chunkBytesMaxDefault;
    // +2: room for the CR and one byte over the bound, so an overlong line is detected, never truncated.
    this.line = Buffer.allocUnsafe(CHUNKED_LIMITS.trailerLineMax + 2);
  }

  trailers(): Record<string, string> {
    return Object.fromEntries(this.trailerValues);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.failed) return cb();
    try {
      this.consume(chunk);
      cb();
    } catch (e) {
      this.failed = true;
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.failed) return cb();
    try {
      if (this.state === 'trailer' && this.lineLength === 0 && this.trailerLinesComplete()) this.finishTrailers();
      if (this.state !== 'done') {
        throw authErrors.incompleteBody(this.state === 'trailer' || this.state === 'final-crlf'
          ? 'The aws-chunked body ended before its trailing headers were complete'
          : 'The aws-chunked body ended before its final zero-length chunk');
      }
      cb();
    } catch (e) {
      this.failed = true;
      cb(e as Error);
    }
  }

  /** Trailers may end at EOF without the closing blank line once everything required was received. */
  private trailerLinesComplete(): boolean {
    if (this.signed) return this.trailerSignature !== undefined;
    return this.trailerLines > 0;
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'header':
        case 'trailer':
        case 'final-crlf': {
          const max = this.state === 'header' ? CHUNKED_LIMITS.chunkHeaderLineMax : CHUNKED_LIMITS.trailerLineMax;
          const nl = buf.indexOf(0x0a, i);
          const end = nl < 0 ? buf.length : nl;
          const take = end - i;
          if (this.lineLength + take > max + 1) {
            throw this.state === 'header'
              ? authErrors.chunkSize('An aws-chunked chunk header is too long')
              : authErrors.invalidRequest('trailer', 'An aws-chunked trailing header line is too long');
          }
          buf.copy(this.line, this.lineLength, i, end);
          this.lineLength += take;
          i = end;
          if (nl < 0) break;
          i = nl + 1;
          // A line must end in CRLF.
          if (this.lineLength === 0 || this.line[this.lineLength - 1] !== 0x0d) {
            throw authErrors.chunkSize('aws-chunked lines must end with CRLF');
          }
          const text = this.line.toString('latin1', 0, this.lineLength - 1);
          this.lineLength = 0;
          this.onLine(text);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          const piece = buf.subarray(i, i + n);
          this.chunkHash?.update(piece);
          this.remaining -= n;
          i += n;
          this.push(piece);
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (buf[i] !== 0x0d) throw authErrors.chunkSize('An aws-chunked chunk is longer than its declared size');
          i++;
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (buf[i] !== 0x0a) throw authErrors.chunkSize('An aws-chunked chunk is longer than its declared size');
          i++;
          this.endDataChunk();
          this.state = 'header';
          break;
        case 'done':
          throw authErrors.chunkSize('Unexpected data after the end of the aws-chunked body');
      }
    }
  }

  private onLine(text: string): void {
    if (this.state === 'header') return this.onChunkHeader(text);
    if (this.state === 'final-crlf') {
      if (text !== '') throw authErrors.chunkSize('Unexpected data after the final aws-chunked chunk');
      this.state = 'done';
      return;
    }
    this.onTrailerLine(text);
  }

  private onChunkHeader(text: string): void {
    const m = (this.signed ? SIGNED_HEADER : UNSIGNED_HEADER).exec(text);
    if (m === null) {
      throw authErrors.chunkSize(this.signed
        ? 'An aws-chunked chunk header must be <hex size>;chunk-signature=<64 hex digits>'
        : 'An aws-chunked chunk header must be a hex size');
    }
    const size = parseInt(m[1], 16);
    if (!Number.isSafeInteger(size) || size > this.maxChunkBytes) {
      throw authErrors.chunkSize(`An aws-chunked chunk is larger than ${this.maxChunkBytes} bytes`);
    }
    if (this.decodedTotal + size > this.decodedLength) {
      throw authErrors.chunkSize('The aws-chunked body is longer than x-amz-decoded-content-length');
    }
    this.decodedTotal += size;
    if (this.signed) this.chunkSignature = m[2];
    if (size > 0) {
      this.remaining = size;
      if (this.signed) this.chunkHash = createHash('sha256');
      this.state = 'data';
      return;
    }
    // The final zero-length chunk.
    if (this.decodedTotal !== this.decodedLength) {
      throw authErrors.incompleteBody('The aws-chunked body is shorter than x-amz-decoded-content-length');
    }
    if (this.signed) this.checkChunkSignature(EMPTY_SHA256);
    this.state = this.expectTrailer ? 'trailer' : 'final-crlf';
  }

  private endDataChunk(): void {
    if (this.signed) {
      const digest = this.chunkHash!.digest('hex');
      this.chunkHash = undefined;
      this.checkChunkSignature(digest);
    }
  }

  private checkChunkSignature(chunkSha256Hex: string): void {
    const c = this.chain!;
    const expected = hmac(c.signingKey, chunkStringToSign(c.amzDate, c.scope, this.previousSignature, chunkSha256Hex)).toString('hex');
    if (!constantTimeEqualHex(expected, this.chunkSignature)) {
      throw authErrors.signatureMismatch('The chunk signature does not match: the aws-chunked signature chain is broken');
    }
    this.previousSignature = this.chunkSignature;
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      if (this.trailerLines === 0 && this.trailerSignature === undefined && !this.leadingBlankSkipped) {
        // Some signers put a blank line between the zero chunk and the trailers; one is tolerated, and if the
        // body ends right here _flush reports the missing trailers.
        this.leadingBlankSkipped = true;
        return;
      }
      this.finishTrailers();
      return;
    }
    const colon = text.indexOf(':');
    if (colon <= 0) throw authErrors.invalidRequest('trailer', 'An aws-chunked trailing header must be name:value');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (this.trailerSignature !== undefined) {
      throw authErrors.invalidRequest('trailer', 'x-amz-trailer-signature must be the last trailing header');
    }
    if (name === 'x-amz-trailer-signature') {
      if (!this.signed) throw authErrors.invalidRequest('trailer', 'x-amz-trailer-signature in an unsigned aws-chunked body');
      if (!/^[0-9a-f]{64}$/.test(value)) throw authErrors.invalidRequest('trailer', 'x-amz-trailer-signature must be 64 lower-case hex digits');
      this.trailerSignature = value;
      return;
    }
    if (!this.trailerNames.includes(name)) {
      throw authErrors.invalidRequest('trailer', `The trailing header ${name.slice(0, 64)} was not declared in x-amz-trailer`);
    }
    if (this.trailerValues.has(name)) throw authErrors.invalidRequest('trailer', `The trailing header ${name} appears twice`);
    if (++this.trailerLines > CHUNKED_LIMITS.trailerCountMax) throw authErrors.limit('The number of trailing headers');
    this.trailerValues.set(name, value);
  }

  private finishTrailers(): void {
    for (const name of this.trailerNames) {
      if (!this.trailerValues.has(name)) throw authErrors.incompleteBody(`The declared trailing header ${name} is missing`);
    }
    if (this.signed) {
      if (this.trailerSignature === undefined) throw authErrors.incompleteBody('The aws-chunked body has no x-amz-trailer-signature');
      const canonical = [...this.trailerValues.keys()].sort().map((n) => `${n}:${this.trailerValues.get(n)}\n`).join('');
      const c = this.chain!;
      const expected = hmac(c.signingKey, trailerStringToSign(c.amzDate, c.scope, this.previousSignature, canonical)).toString('hex');
      if (!constantTimeEqualHex(expected, this.trailerSignature)) {
        throw authErrors.signatureMismatch('The trailer signature does not match');
      }
    }
    this.state = 'done';
  }
}

/**
 * A Transform decoding an aws-chunked body for a verified request whose payload mode is streaming-signed or
 * streaming-unsigned-trailer. Errors are AuthError (IncompleteBody, InvalidChunkSizeError,
 * SignatureDoesNotMatch, InvalidRequest for trailers). `trailers()` holds the trailing headers once the
 * stream has ended.
 */
export function createChunkedDecoder(v: Verified, opts: { maxChunkBytes?: number } = {}): ChunkedDecoder {
  return new AwsChunkedDecoder(v, opts);
}

