/**
 * x-amz-content-sha256 with a hex digest: the body must hash to it. A pass-through Transform that fails in
 * _flush (before 'end') with XAmzContentSHA256Mismatch, so a put reading through it aborts and stores nothing.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { authErrors } from './errors.js';
import { constantTimeEqualHex } from './sigv4.js';

export function createPayloadHashCheck(expectedHex: string): Transform {
  if (typeof expectedHex !== 'string' || !/^[0-9a-f]{64}$/.test(expectedHex)) {
    throw new TypeError('createPayloadHashCheck needs a lower-case hex SHA-256');
  }
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const actual = hash.digest('hex');
      cb(constantTimeEqualHex(actual, expectedHex) ? null : authErrors.sha256Mismatch());
    },
  });
}
