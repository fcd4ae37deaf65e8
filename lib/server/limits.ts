/**
 * What the daemon accepts from outside, all bounded before memory is allocated or work is scheduled (I7).
 * Every value can be set in the config file (`limits`) or through startServer({ limits }).
 */
export interface Limits {
  /** Request line + headers (http.createServer maxHeaderSize). S3 allows 8 KiB of headers; SDKs stay far below. */
  headerBytesMax: number;
  /** The request target (path + query), in bytes. */
  urlBytesMax: number;
  /** Query parameters per request. */
  queryParamsMax: number;
  /** XML request bodies (CreateBucketConfiguration, DeleteObjects, CompleteMultipartUpload). */
  xmlBodyBytesMax: number;
  /** Nesting depth of an XML request body. */
  xmlDepthMax: number;
  /** Keys per DeleteObjects (S3: 1000). */
  deleteKeysMax: number;
  /** x-amz-meta-* names plus values, in bytes (S3: 2 KiB). */
  metadataBytesMax: number;
  /** One PutObject / UploadPart body (S3: 5 GiB). */
  objectBytesMax: number;
  /** Requests being served at once; beyond: 503 SlowDown. */
  concurrentRequestsMax: number;
  /** Fraction of concurrentRequestsMax one principal may hold (fair share); beyond: 503 SlowDown. */
  principalShare: number;
  /** Body bytes admitted at once, each request charged min(its declared length, bodyChargeBytesMax); beyond: 503 SlowDown. */
  bytesInFlightMax: number;
  /** What one streaming body is charged against bytesInFlightMax: a put holds at most about this much memory
   *  (the engine's batch of stripes plus a socket buffer), however large the object. */
  bodyChargeBytesMax: number;
  /** Headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** Whole request, headers and body; 0 = none (large uploads are policed by the idle and rate checks below). */
  requestTimeoutMs: number;
  /** A body that sends nothing for this long is cut off (400 RequestTimeout). */
  bodyIdleTimeoutMs: number;
  /** After bodyRateGraceMs, a body slower than this on average over the last window is cut off. */
  bodyBytesPerSecMin: number;
  bodyRateGraceMs: number;
  /** Keep-alive connections idle longer than this are closed. */
  keepAliveTimeoutMs: number;
  /** Seconds a client is told to wait after 503 SlowDown. */
  retryAfterSeconds: number;
  /** Graceful shutdown: in-flight requests get this long, then they are aborted. */
  shutdownDeadlineMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  headerBytesMax: 16 * 1024,
  urlBytesMax: 8 * 1024,
  queryParamsMax: 64,
  xmlBodyBytesMax: 1024 * 1024,
  xmlDepthMax: 8,
  deleteKeysMax: 1000,
  metadataBytesMax: 2048,
  objectBytesMax: 5 * 1024 ** 3,
  concurrentRequestsMax: 256,
  principalShare: 0.75,
  bytesInFlightMax: 2 * 1024 ** 3,
  bodyChargeBytesMax: 32 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 0,
  bodyIdleTimeoutMs: 30_000,
  bodyBytesPerSecMin: 4096,
  bodyRateGraceMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  retryAfterSeconds: 1,
  shutdownDeadlineMs: 10_000,
});
