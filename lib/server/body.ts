/**
 * Request bodies: small XML bodies read whole (bounded), and upload bodies streamed into the vault through
 * a chain of verifying Transforms:
 *
 *   socket -> SlowBodyGuard (length, idle and minimum-rate checks) -> aws-chunked decoder (chunk signatures,
 *   trailers) | sha256 check (x-amz-content-sha256 hex) -> flexible checksum (x-amz-checksum-*) -> vault.put
 *
 * Each check fails BEFORE its stream ends (in _transform or _flush), so vault.put, which reads through the
 * chain, sees an error instead of an end: it rejects and removes what it wrote (docs/library-edge.md), and
 * nothing becomes visible. The first error of the chain is the one reported.
 */
import { Readable, Transform, type TransformCallback, pipeline } from 'node:stream';

import { ChecksumVerifier, declaredChecksum, type ChecksumAlgorithm, type Declared } from './checksums.js';
import { header, type RequestContext } from './context.js';
import { S3Error } from './s3-error.js';

/**
 * Counts bytes against the declared length and cuts off a body that stalls (nothing for bodyIdleTimeoutMs)
 * or crawls (after bodyRateGraceMs, fewer than bodyBytesPerSecMin on average since the last check): a client
 * sending a byte a second cannot hold a slot and its memory for hours.
 */
export class SlowBodyGuard extends Transform {
  #bytes = 0;
  #lastChunkMs = Date.now();
  #windowStartMs = Date.now();
  #windowBytes = 0;
  readonly #startedMs = Date.now();
  readonly #timer: NodeJS.Timeout;
  readonly #expected: number;
  readonly #onBytes: (n: number) => void;

  constructor(expected: number, limits: { bodyIdleTimeoutMs: number; bodyBytesPerSecMin: number; bodyRateGraceMs: number }, onBytes: (n: number) => void) {
    super();
    this.#expected = expected;
    const periodMs = Math.max(50, Math.min(1000, Math.floor(limits.bodyIdleTimeoutMs / 4), Math.floor(limits.bodyRateGraceMs / 4) || 1000));
    this.#timer = setInterval(() => {
      const now = Date.now();
      if (now - this.#lastChunkMs > limits.bodyIdleTimeoutMs) {
        this.destroy(new S3Error('RequestTimeout', 400, 'Your socket connection to the server was not read from or written to within the timeout period.'));
        return;
      }
      if (now - this.#startedMs >= limits.bodyRateGraceMs && now - this.#windowStartMs >= limits.bodyRateGraceMs) {
        const rate = (this.#windowBytes * 1000) / (now - this.#windowStartMs);
        if (rate < limits.bodyBytesPerSecMin) {
          this.destroy(new S3Error('RequestTimeout', 400, `Your upload is too slow (${rate.toFixed(0)} bytes/s; at least ${limits.bodyBytesPerSecMin} are required).`));
          return;
        }
        this.#windowStartMs = now;
        this.#windowBytes = 0;
      }
    }, periodMs);
    this.#timer.unref();
    this.#onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#bytes += chunk.length;
    this.#windowBytes += chunk.length;
    this.#lastChunkMs = Date.now();
    this.#onBytes(chunk.length);
    if (this.#bytes > this.#expected) {
      cb(new S3Error('IncompleteBody', 400, 'The request body is longer than its Content-Length.'));
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    clearInterval(this.#timer);
    if (this.#bytes !== this.#expected) {
      cb(new S3Error('IncompleteBody', 400, `You did not provide the number of bytes specified by the Content-Length HTTP header (${this.#bytes} of ${this.#expected}).`));
      return;
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    clearInterval(this.#timer);
    cb(err);
  }
}

function contentLength(ctx: RequestContext): number {
  const cl = header(ctx, 'content-length');
  if (cl === undefined) {
    if (header(ctx, 'transfer-encoding') !== undefined) throw new S3Error('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.');
    return 0;
  }
  if (!/^\d{1,16}$/.test(cl)) throw new S3Error('InvalidArgument', 400, 'Content-Length is not a number.');
  return Number(cl);
}

/** Reads a small body whole (XML), refusing more than `max` bytes before reading them. Verifies the payload
 *  hash / chunk signatures the same way an upload does. */
export async function readSmallBody(ctx: RequestContext, max: number): Promise<Buffer> {
  const { stream, size } = uploadStream(ctx, { sizeMax: max, checksums: true });
  if (size > max) throw new S3Error('MalformedXML', 400, `The request body is larger than ${max} bytes.`);
  const chunks: Buffer[] = [];
  for await (const c of stream.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface UploadStream {
  /** The decoded, verified body (its end means every check passed). */
  stream: Readable;
  /** The first error of the chain (the one to report), once one happened. */
  failure: () => unknown;
  /** Tears the chain down when its consumer stopped early (a refused put): timers stop, nothing throws. */
  dispose: () => void;
  /** The flexible checksum, verified, once the stream ended. */
  checksum: () => { algorithm: ChecksumAlgorithm; value: string } | undefined;
  /** The checksum the request declares (value present when it came as a header). */
  declared?: Declared;
}

/** The decoded body of a PutObject / UploadPart / small XML request, and its declared (decoded) size. */
export function uploadStream(ctx: RequestContext, opts: { sizeMax: number; checksums: boolean }): { stream: UploadStream; size: number } {
  const wire = contentLength(ctx);
  const payload = ctx.who.verified.payload;
  const chunked = payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer';
  let size = wire;
  if (chunked) {
    const decoded = ctx.who.verified.decodedContentLength ?? (header(ctx, 'x-amz-decoded-content-length') !== undefined ? Number(header(ctx, 'x-amz-decoded-content-length')) : undefined);
    if (decoded === undefined || !Number.isSafeInteger(decoded) || decoded < 0) throw new S3Error('MissingContentLength', 411, 'You must provide the x-amz-decoded-content-length header with an aws-chunked body.');
    size = decoded;
  }
  if (size > opts.sizeMax) throw new S3Error('EntityTooLarge', 400, `Your proposed upload exceeds the maximum allowed size (${opts.sizeMax} bytes).`);
  ctx.ticket.chargeBody(size);
  const declared = opts.checksums ? declaredChecksum(ctx.req.headers) : undefined;
  const limits = ctx.state.limits;
  // `Expect: 100-continue` (the AWS CLI sends it with uploads): the client waits for this before sending the
  // body, so a request refused by authentication, policy or admission never sends it at all.
  if (header(ctx, 'expect')?.toLowerCase() === '100-continue' && !ctx.res.headersSent) ctx.res.writeContinue();
  // Everything that can refuse the request is checked before the first stage exists: the guard's idle timer,
  // once started, must end in a pipeline with error listeners (an orphaned guard's timeout error was an
  // unhandled 'error' event that ended the process).
  if (declared?.trailer === true && !chunked) throw new S3Error('InvalidRequest', 400, 'x-amz-trailer needs an aws-chunked body (x-amz-content-sha256: STREAMING-...-TRAILER).');
  let decoder: (Transform & { trailers(): Record<string, string> }) | undefined;
  const stages: Transform[] = [];
  if (chunked) {
    decoder = ctx.state.auth.chunkedDecoder(ctx.who);
    stages.push(decoder);
  } else if (payload.kind === 'signed') {
    stages.push(ctx.state.auth.payloadHashCheck(payload.sha256Hex));
  }
  const chain: Array<NodeJS.ReadableStream | NodeJS.WritableStream> = [ctx.req, new SlowBodyGuard(wire, limits, (n) => (ctx.stats.bytesIn += n)), ...stages];
  let verifier: ChecksumVerifier | undefined;
  if (declared !== undefined) {
    const fromTrailer = (): string | undefined => decoder?.trailers()[`x-amz-checksum-${declared.algorithm}`];
    verifier = new ChecksumVerifier(declared.algorithm, declared.trailer ? fromTrailer : () => declared.value);
    chain.push(verifier);
  }
  let first: unknown;
  const last = (pipeline as unknown as (...s: unknown[]) => Readable)(...chain, (err: unknown) => {
    if (err !== undefined && err !== null && first === undefined) first = err;
  });
  // Every stage records its own error first (pipeline reports only one, and a destroyed downstream stage
  // would otherwise mask the upstream cause, e.g. BadDigest showing as 'premature close').
  for (const s of chain.slice(1)) (s as Transform).on('error', (err) => (first ??= err));
  ctx.req.on('error', (err) => (first ??= new S3Error('IncompleteBody', 400, `The connection closed before the body was complete (${err.message}).`)));
  return {
    stream: {
      stream: last,
      failure: () => first,
      dispose: () => {
        // The consumer gave up (the put was refused before or while reading): stop the timers, let go of the
        // request. Every stage has an error listener, so destroying them cannot throw.
        for (const s of chain.slice(1)) (s as Transform).destroy();
      },
      checksum: () => (verifier?.value !== undefined ? { algorithm: verifier.algorithm, value: verifier.value } : undefined),
      ...(declared !== undefined ? { declared } : {}),
    },
    size,
  };
}
