/**
 * The stream stage a verified request's body must pass through, chosen from its payload mode, so the server
 * has one call instead of a switch: hex digest -> createPayloadHashCheck; aws-chunked -> createChunkedDecoder
 * (the decoded bytes, x-amz-decoded-content-length of them); UNSIGNED-PAYLOAD -> none (undefined).
 */
import type { Transform } from 'node:stream';
import { createChunkedDecoder, type ChunkedDecoder } from './chunked.js';
import { createPayloadHashCheck } from './payload.js';
import type { Verified } from './sigv4.js';

export interface BodyStage {
  /** Pipe the raw request body through this; undefined when the payload is unsigned (read it as is). */
  stage: Transform | undefined;
  /** The object's length when the encoding tells it (aws-chunked: x-amz-decoded-content-length). */
  decodedLength?: number;
  /** Trailing headers (x-amz-checksum-*), complete once the stage has ended; {} for other modes. */
  trailers(): Record<string, string>;
}

export function createBodyStage(v: Verified, opts: { maxChunkBytes?: number } = {}): BodyStage {
  switch (v.payload.kind) {
    case 'signed':
      return { stage: createPayloadHashCheck(v.payload.sha256Hex), trailers: () => ({}) };
    case 'unsigned':
      return { stage: undefined, trailers: () => ({}) };
    case 'streaming-signed':
    case 'streaming-unsigned-trailer': {
      const dec: ChunkedDecoder = createChunkedDecoder(v, opts);
      return { stage: dec, decodedLength: v.decodedContentLength, trailers: () => dec.trailers() };
    }
  }
}
