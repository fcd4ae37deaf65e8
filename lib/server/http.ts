/**
 * The request pipeline (DESIGN §7): limits (before any allocation) -> request id -> health probes ->
 * admission (a slot, else 503 SlowDown) -> SigV4 (before routing; anonymous is AccessDenied) -> the
 * principal's fair share -> route to an S3 operation -> policy (deny by default; refusals audited) -> one
 * handler -> S3 XML error on failure; one log line and the metrics per request. A handler that throws, a
 * client that resets, a disk that fails: one error response (or a cut connection once the body has
 * started), never a crash.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { Admission, type Ticket } from './admission.js';
import { FailureAudit } from './audit.js';
import type { Identity } from './auth-gate.js';
import type { RequestContext, ServerState } from './context.js';
import * as bucketOps from './ops-bucket.js';
import * as objectOps from './ops-object.js';
import { multipartHandlers } from './ops-multipart.js';
import { ACTION_OF, operationOf, parseTarget, type Target } from './request.js';
import { S3Error, toS3Error } from './s3-error.js';
import { xmlDocument } from './xml.js';

type Handler = (ctx: RequestContext) => Promise<void>;

const HANDLERS: Record<string, Handler> = {
  ListBuckets: bucketOps.listBuckets,
  CreateBucket: bucketOps.createBucket,
  HeadBucket: bucketOps.headBucket,
  DeleteBucket: bucketOps.deleteBucket,
  GetBucketLocation: bucketOps.getBucketLocation,
  ListObjectsV2: bucketOps.listObjectsV2,
  ListObjects: bucketOps.listObjectsV1,
  DeleteObjects: bucketOps.deleteObjects,
  PutObject: objectOps.putObject,
  GetObject: objectOps.getObject,
  HeadObject: objectOps.headObject,
  DeleteObject: objectOps.deleteObject,
  CopyObject: objectOps.copyObject,
  ...multipartHandlers,
};

export interface InFlight {
  abort: AbortController;
  done: Promise<void>;
}

export interface Pipeline {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly inFlight: Set<InFlight>;
  readonly admission: Admission;
  /** Refuse new requests (503) from now on: shutdown started. */
  closing: boolean;
  readonly failures: FailureAudit;
}

function errorBody(err: S3Error, resource: string, requestId: string): Buffer {
  return Buffer.from(xmlDocument('Error', [
    ['Code', err.s3Code],
    ['Message', err.message.length > 0 ? err.message : err.s3Code],
    ...Object.entries(err.extra).map(([k, v]) => [k, v] as [string, string]),
    ['Resource', resource],
    ['RequestId', requestId],
  ], null));
}

export function createPipeline(state: ServerState, extra: { admin?: (ctx: RequestContext) => Promise<boolean>; metrics?: (ctx: RequestContext) => Promise<boolean> } = {}): Pipeline {
  const { observer } = state;
  const admission = new Admission(() => state.limits, (reason) => observer.admissionRejected(reason));
  const failures = new FailureAudit(state.vault, { onError: (err) => observer.warn('audit append failed', { err: String(err) }) });
  const inFlight = new Set<InFlight>();
  // vault.status() walks the catalog's heads: probes share one call in flight and its answer for 2 s, so a
  // probe storm costs at most one status() per 2 s.
  let readyCache: { atMs: number; ready: boolean } | undefined;
  let readyInFlight: Promise<boolean> | undefined;

  function ready(): Promise<boolean> {
    const now = Date.now();
    if (readyCache !== undefined && now - readyCache.atMs < 2000) return Promise.resolve(readyCache.ready);
    readyInFlight ??= (async () => {
      let ok = false;
      try {
        const s = await state.vault.status();
        const usable = s.disks.filter((d) => d.condition === 'online' || d.condition === 'draining').length;
        ok = s.catalog.ok && usable >= s.pool.k;
      } catch {
        ok = false;
      }
      readyCache = { atMs: Date.now(), ready: ok };
      readyInFlight = undefined;
      return ok;
    })();
    return readyInFlight;
  }

  function probe(res: ServerResponse, status: number, text: string, requestId: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(text.length), 'Cache-Control': 'no-store', 'x-amz-request-id': requestId });
    res.end(text);
  }

  async function run(req: IncomingMessage, res: ServerResponse, requestId: string, abort: AbortController): Promise<void> {
    const started = performance.now();
    const stats = { bytesIn: 0, bytesOut: 0 };
    let op = 'Unknown';
    let who: Identity | undefined;
    let ticket: Ticket | undefined;
    let target: Target | undefined;
    let errorCode: string | undefined;
    let status = 0;
    const source = req.socket.remoteAddress;
    observer.requestStarted();
    try {
      const url = req.url ?? '/';
      const limits = state.limits;
      if (Buffer.byteLength(url) > limits.urlBytesMax) throw new S3Error('InvalidURI', 414, `The request URI is longer than ${limits.urlBytesMax} bytes.`);
      const path = url.split('?', 1)[0];
      if ((path === '/healthz' || path === '/readyz') && (req.method === 'GET' || req.method === 'HEAD')) {
        op = path === '/healthz' ? 'Health' : 'Ready';
        if (path === '/healthz') probe(res, 200, 'ok\n', requestId);
        else if (!pipeline.closing && (await ready())) probe(res, 200, 'ready\n', requestId);
        else probe(res, 503, 'not ready\n', requestId);
        status = res.statusCode;
        return;
      }
      if (pipeline.closing) throw new S3Error('ServiceUnavailable', 503, 'The server is shutting down.', { headers: { 'Retry-After': String(limits.retryAfterSeconds), Connection: 'close' } });
      ticket = admission.enter();
      target = parseTarget(url, req.headers.host, { ...(state.domain !== undefined ? { domain: state.domain } : {}), queryParamsMax: limits.queryParamsMax });
      // Authentication before routing: the claim is untrusted until the signature verified.
      try {
        who = await state.auth.authenticate({ method: req.method ?? 'GET', target: url, rawHeaders: req.rawHeaders });
      } catch (err) {
        const e = toS3Error(err);
        observer.authFailure(e.reason ?? e.s3Code);
        failures.record({ principal: '-', action: 'auth', target: target.bucket === undefined ? '/' : target.key === undefined ? target.bucket : `${target.bucket}/${target.key}`, result: `${e.s3Code}${e.reason !== undefined ? `:${e.reason}` : ''}`, requestId, ...(source !== undefined ? { source } : {}) });
        throw e;
      }
      ticket.forPrincipal(who.principal);
      const ctx: RequestContext = { req, res, requestId, state, target, op, who, ticket, signal: abort.signal, stats };
      if (extra.admin !== undefined && (await extra.admin(ctx))) {
        op = 'Admin';
        status = res.statusCode;
        return;
      }
      if (extra.metrics !== undefined && (await extra.metrics(ctx))) {
        op = 'Metrics';
        status = res.statusCode;
        return;
      }
      op = operationOf(req.method ?? 'GET', target, req.headers['x-amz-copy-source'] !== undefined);
      (ctx as { op: string }).op = op;
      const handler = HANDLERS[op];
      if (handler === undefined) throw new S3Error('NotImplemented', 501, `${op} is not implemented by ShardVault.`);
      // Per-key operations inside DeleteObjects and the copy source are authorized by their handlers.
      const action = ACTION_OF[op]!;
      const resource = op === 'ListBuckets' ? {} : op === 'DeleteObjects' || target.key === undefined ? { bucket: target.bucket! } : { bucket: target.bucket!, key: target.key };
      if (op !== 'DeleteObjects' && state.auth.authorize(who, action, resource) !== 'allow') {
        failures.record({ principal: who.principal, action, target: resource.bucket === undefined ? '/' : resource.key === undefined ? resource.bucket : `${resource.bucket}/${resource.key}`, result: 'AccessDenied', requestId, ...(source !== undefined ? { source } : {}) });
        throw new S3Error('AccessDenied', 403, 'Access Denied', { reason: 'policy' });
      }
      await handler(ctx);
      status = res.statusCode;
    } catch (err) {
      const e = toS3Error(err);
      errorCode = e.s3Code;
      status = e.status;
      if (e.status >= 500 && e.s3Code !== 'SlowDown' && e.s3Code !== 'ServiceUnavailable' && e.s3Code !== 'NotImplemented') {
        observer.error('request failed', { requestId, operation: op, err: String((err as Error)?.stack ?? err) });
      }
      sendError(req, res, e, target?.rawPath ?? (req.url ?? '/').split('?', 1)[0]!, requestId, err);
    } finally {
      ticket?.release();
      const seconds = (performance.now() - started) / 1000;
      observer.requestDone({ operation: op, status, bytesIn: stats.bytesIn, bytesOut: stats.bytesOut, seconds });
      observer.logRequest({ requestId, ...(who !== undefined ? { principal: who.principal } : {}), operation: op, status, bytesIn: stats.bytesIn, bytesOut: stats.bytesOut, durationMs: seconds * 1000, ...(source !== undefined ? { source } : {}), ...(errorCode !== undefined ? { errorCode } : {}) });
    }
  }

  function sendError(req: IncomingMessage, res: ServerResponse, e: S3Error, resource: string, requestId: string, cause: unknown): void {
    if (res.headersSent || (cause as { afterHeaders?: boolean })?.afterHeaders === true) {
      // The body already started: only cutting the connection tells the client it is short.
      res.destroy();
      return;
    }
    // The response's own socket: Node detaches req.socket (null) once the request stream was destroyed (a body
    // stage failed mid-body) while the connection can still carry the answer. No socket at all: cut it.
    const socket = res.socket;
    if (res.destroyed || socket === null || socket.destroyed) {
      res.destroy();
      return;
    }
    const body = req.method === 'HEAD' ? Buffer.alloc(0) : errorBody(e, resource, requestId);
    const headers: Record<string, string> = { ...e.headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) };
    // A body we did not read: close rather than read (maybe gigabytes) to keep the connection.
    if (!req.complete) headers.Connection = 'close';
    res.writeHead(e.status, headers);
    res.end(body);
    if (!req.complete) res.once('finish', () => socket.destroySoon());
  }

  const pipeline: Pipeline = {
    inFlight,
    admission,
    closing: false,
    failures,
    handle(req, res) {
      const requestId = randomBytes(8).toString('hex').toUpperCase();
      res.setHeader('x-amz-request-id', requestId);
      res.setHeader('x-amz-id-2', requestId);
      res.setHeader('Server', 'ShardVault');
      const abort = new AbortController();
      // The client went away before we answered: abort its put/get (an aborted put leaves nothing visible).
      res.once('close', () => {
        if (!res.writableFinished) abort.abort(new S3Error('RequestTimeout', 400, 'The client closed the connection.'));
      });
      req.once('aborted', () => abort.abort(new S3Error('IncompleteBody', 400, 'The client closed the connection before the body was complete.')));
      const entry: InFlight = { abort, done: Promise.resolve() };
      entry.done = run(req, res, requestId, abort)
        .catch((err) => {
          observer.error('request pipeline failed', { requestId, err: String((err as Error)?.stack ?? err) });
          if (!res.headersSent) res.destroy();
        })
        .finally(() => inFlight.delete(entry));
      inFlight.add(entry);
    },
  };
  return pipeline;
}
