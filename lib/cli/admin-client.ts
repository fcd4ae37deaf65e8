/**
 * The CLI's side of the daemon's admin API (lib/server/admin.ts): `--endpoint URL` on `keys`, `status`,
 * `scrub`, `repair` and `audit`. Requests are JSON, signed with SigV4 by lib/auth's signRequest (the same
 * signature the daemon verifies for S3) with the admin key from SHARDVAULT_ROOT_ACCESS_KEY /
 * SHARDVAULT_ROOT_SECRET_KEY. The admin API's JSON errors become CliErrors with a stable code and a hint.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { signRequest } from '../auth/index.js';
import { ErrorCode, type ErrorCodeValue } from '../errors.js';
import { CliCode, CliError, EXIT_CODE_OF } from './errors.js';

export const ADMIN_PATH = '/_shardvault/admin/';
/** A response larger than this is refused (the biggest is `audit tail -n 1000` or a status of a big pool). */
const RESPONSE_BYTES_MAX = 64 << 20;
const TIMEOUT_MS_DEFAULT = 30_000;

export interface AdminEndpoint {
  url: URL;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** The endpoint of `--endpoint URL` with the root credentials from the environment, validated. */
export function adminEndpoint(endpoint: string, region: string, env: NodeJS.ProcessEnv = process.env): AdminEndpoint {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CliError(CliCode.USAGE, `--endpoint ${JSON.stringify(endpoint)} is not a URL`, 'give the daemon\'s address as printed by `shardvault serve`, e.g. --endpoint http://127.0.0.1:9000');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new CliError(CliCode.USAGE, `--endpoint ${JSON.stringify(endpoint)} must be http:// or https:// HOST[:PORT] (no credentials, query or fragment)`, 'e.g. --endpoint http://127.0.0.1:9000');
  }
  const accessKeyId = env.SHARDVAULT_ROOT_ACCESS_KEY;
  const secretAccessKey = env.SHARDVAULT_ROOT_SECRET_KEY;
  if (accessKeyId === undefined || accessKeyId === '' || secretAccessKey === undefined || secretAccessKey === '') {
    throw new CliError(
      CliCode.CREDENTIALS,
      'no admin credentials: SHARDVAULT_ROOT_ACCESS_KEY and SHARDVAULT_ROOT_SECRET_KEY must both be set to talk to the daemon',
      'export the root key pair `shardvault serve` printed at its first start (or another admin key from `shardvault keys create NAME --admin`)',
    );
  }
  return { url, accessKeyId, secretAccessKey, region };
}

/** The daemon's JSON error `{code, message, svCode?}` as the CLI reports it: the engine's own code when it sent one. */
function remoteError(status: number, code: string, message: string, ep: AdminEndpoint, svCode?: string): CliError {
  const m = `${ep.url.origin}: ${code}: ${message}`;
  if (svCode !== undefined && Object.hasOwn(EXIT_CODE_OF, svCode)) return new CliError(svCode as ErrorCodeValue, `${ep.url.origin}: ${message}`);
  switch (code) {
    case 'AccessDenied':
    case 'SignatureDoesNotMatch':
    case 'InvalidAccessKeyId':
    case 'RequestTimeTooSkewed':
    case 'AuthorizationHeaderMalformed':
      return new CliError(CliCode.ACCESS_DENIED, m, code === 'RequestTimeTooSkewed'
        ? 'this machine\'s clock and the daemon\'s differ by more than 15 minutes: fix the clock (NTP)'
        : 'use an admin key: SHARDVAULT_ROOT_ACCESS_KEY / SHARDVAULT_ROOT_SECRET_KEY as `shardvault serve` printed them, or a key made with `keys create NAME --admin`; check --region matches the daemon\'s');
    case 'NoSuchAccessKey':
      return new CliError(ErrorCode.NOT_FOUND, m, 'list the keys: `shardvault keys list --endpoint URL`');
    case 'JobRunning':
      return new CliError(ErrorCode.CONFLICT, m, 'wait for it to finish, or stop it with Ctrl-C in the command that started it');
    case 'NoSuchDisk':
      return new CliError(ErrorCode.NO_SUCH_DISK, m);
    case 'ReadOnly':
      return new CliError(ErrorCode.READ_ONLY, m);
    case 'InvalidRequest':
    case 'MalformedPolicy':
      return new CliError(CliCode.USAGE, m, code === 'MalformedPolicy' ? 'fix the policy file: the message names the field (see docs/auth.md for the policy language)' : undefined);
    default:
      return new CliError(CliCode.REMOTE, `${m} (HTTP ${status})`);
  }
}

export class AdminClient {
  constructor(readonly endpoint: AdminEndpoint, readonly timeoutMs = TIMEOUT_MS_DEFAULT) {}

  /** One admin request: `path` below the admin prefix (e.g. `keys`, `audit/tail?n=5`), `body` sent as JSON. */
  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; value: T }> {
    const { status, text } = await this.#send(method, `${ADMIN_PATH}${path}`, body);
    let value: unknown;
    try {
      value = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw this.#notJson(status, text);
    }
    if (status >= 400) {
      const e = (value ?? {}) as { code?: unknown; message?: unknown; svCode?: unknown };
      throw remoteError(status, typeof e.code === 'string' ? e.code : `HTTP${status}`, typeof e.message === 'string' ? e.message : text.slice(0, 300), this.endpoint, typeof e.svCode === 'string' ? e.svCode : undefined);
    }
    return { status, value: value as T };
  }

  /** A signed GET of a daemon path outside the admin API (`/metrics`): its text, or the S3 error it answered. */
  async text(path: string): Promise<string> {
    const { status, text } = await this.#send('GET', path);
    if (status >= 400) throw this.#notJson(status, text);
    return text;
  }

  /** An answer that is not the admin API's JSON: an S3 XML error (auth failures), a proxy's page. */
  #notJson(status: number, text: string): CliError {
    const xmlCode = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1];
    if (xmlCode !== undefined) return remoteError(status, xmlCode, /<Message>([^<]{0,300})<\/Message>/.exec(text)?.[1] ?? '', this.endpoint);
    return new CliError(CliCode.REMOTE, `${this.endpoint.url.origin}: HTTP ${status}, not a JSON answer: ${JSON.stringify(text.slice(0, 120))}`, 'is --endpoint a shardvault daemon?');
  }

  async #send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const ep = this.endpoint;
    const base = ep.url.pathname.replace(/\/+$/, '');
    const url = new URL(`${base}${path}`, ep.url.origin);
    const payload = body === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = { 'content-length': String(payload.length), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const signed = signRequest({ method, url, headers, body: payload, accessKeyId: ep.accessKeyId, secretAccessKey: ep.secretAccessKey, region: ep.region });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, { method, headers: signed, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > RESPONSE_BYTES_MAX) {
            req.destroy(new CliError(CliCode.REMOTE, `${ep.url.origin}: the admin response is larger than ${RESPONSE_BYTES_MAX} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new CliError(CliCode.UNREACHABLE, `${ep.url.origin}: no answer within ${this.timeoutMs / 1000} s`, 'check that the daemon is up (`curl URL/healthz`)')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof CliError) reject(err);
        else reject(new CliError(CliCode.UNREACHABLE, `cannot reach the daemon at ${ep.url.origin}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '), 'start it with `shardvault serve`, or check --endpoint (the address `shardvault serve` printed)'));
      });
      req.end(payload);
    });
    return { status, text };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).value;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.call<T>('POST', path, body)).value;
  }
}
