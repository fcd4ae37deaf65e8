/** What every operation handler gets: the request, who sent it, the vault, the limits; and how to answer. */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Vault } from '../vault.js';
import type { Ticket } from './admission.js';
import type { BucketTimes } from './bucket-times.js';
import type { AuthBackend, Identity } from './auth-gate.js';
import type { Limits } from './limits.js';
import type { Observer } from './observe.js';
import type { Target } from './request.js';
import { S3Error } from './s3-error.js';
import { xmlDocument, type XmlNode } from './xml.js';

export interface ServerState {
  vault: Vault;
  auth: AuthBackend;
  limits: Limits;
  region: string;
  domain?: string;
  observer: Observer;
  /** ListBuckets' CreationDate. */
  bucketTimes: BucketTimes;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly state: ServerState;
  readonly target: Target;
  readonly op: string;
  readonly who: Identity;
  readonly ticket: Ticket;
  /** Aborted when the client goes away or the shutdown deadline passes: handed to vault.put / vault.get. */
  readonly signal: AbortSignal;
  readonly stats: { bytesIn: number; bytesOut: number };
}

export function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The bucket of a bucket or object operation (the router guarantees it is there). */
export function bucketOf(ctx: RequestContext): string {
  const b = ctx.target.bucket;
  if (b === undefined) throw new S3Error('InvalidRequest', 400, 'This operation needs a bucket.');
  return b;
}

export function keyOf(ctx: RequestContext): string {
  const k = ctx.target.key;
  if (k === undefined) throw new S3Error('InvalidRequest', 400, 'This operation needs an object key.');
  if (Buffer.byteLength(k) > 1024) throw new S3Error('KeyTooLongError', 400, 'Your key is too long (at most 1024 bytes of UTF-8).');
  return k;
}

export function sendXml(ctx: RequestContext, status: number, root: string, children: ReadonlyArray<XmlNode | undefined>, headers: Record<string, string> = {}): void {
  const body = Buffer.from(xmlDocument(root, children));
  ctx.res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  ctx.stats.bytesOut += body.length;
}

export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { ...headers, 'Content-Length': '0' });
  ctx.res.end();
}

/** S3's timestamp forms. */
export const isoDate = (d: Date | number): string => new Date(d).toISOString().replace(/\.\d{3}Z$/, '.000Z');
export const httpDate = (d: Date | number): string => new Date(d).toUTCString();

export const OWNER = { id: 'shardvault', displayName: 'shardvault' };
