// Shared by the test/s3-*.test.ts files: a real daemon (startServer) over a temporary pool, an
// @aws-sdk/client-s3 client for it, and raw signed HTTP requests (lib/auth's signer) for what the SDK
// will not send (corrupted bodies, disconnects, slow clients, exact headers).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { S3Client } from '@aws-sdk/client-s3';

import { signRequest } from '../../lib/auth/index.js';
import { startServer, type RunningServer, type StartServerOptions } from '../../lib/server/index.js';

export interface Harness {
  server: RunningServer;
  client: S3Client;
  dir: string;
  creds: { accessKeyId: string; secretAccessKey: string };
  clientFor(creds: { accessKeyId: string; secretAccessKey: string }): S3Client;
  close(): Promise<void>;
}

export const ROOT = { accessKeyId: 'SVTESTROOTKEY0000001', secretAccessKey: 'test-root-secret-0123456789abcdefghijklmn' };

/** A sink for the daemon's logs (kept, so a test can grep them). */
export function logSink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write(c, _e, cb) { chunks.push(Buffer.from(c)); cb(); } }), text: () => Buffer.concat(chunks).toString('utf8') };
}

export async function harness(opts: Partial<StartServerOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sv-s3-'));
  process.env.SHARDVAULT_ROOT_ACCESS_KEY = ROOT.accessKeyId;
  process.env.SHARDVAULT_ROOT_SECRET_KEY = ROOT.secretAccessKey;
  const server = await startServer({ dataDir: join(dir, 'data'), address: '127.0.0.1:0', logLevel: 'warn', logDestination: logSink().stream, ...opts });
  const clients: S3Client[] = [];
  const clientFor = (creds: { accessKeyId: string; secretAccessKey: string }) => {
    const c = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  return {
    server,
    client: clientFor(ROOT),
    dir,
    creds: ROOT,
    clientFor,
    async close() {
      for (const c of clients) c.destroy();
      await server.close(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse { status: number; headers: IncomingHttpHeaders; body: string }

/** A request signed by lib/auth's signer (header form). `body` is hashed unless `payloadHash` is given. */
export function signedHeaders(server: RunningServer, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array | 'UNSIGNED-PAYLOAD', creds = ROOT): Record<string, string> {
  return signRequest({ method, url: new URL(path, server.url), headers, ...(body !== undefined ? { body } : {}), accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, region: 'us-east-1' });
}

export function raw(server: RunningServer, method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: server.address.host, port: server.address.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Error code of an SDK failure (its `name`), or 'ok'. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { Code?: string; name: string }).Code ?? (err as Error).name;
  }
}

export async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1;
  }
}
