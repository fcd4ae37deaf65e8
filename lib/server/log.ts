/**
 * The daemon's structured JSON logs (issue 12, Observability), through pino: one line per request (request
 * id, principal, operation, status, bytes, duration, source address, error code) plus lifecycle lines.
 *
 * Secrets never reach the output (DESIGN.md §7): every object logged is scrubbed before pino serialises it,
 * and so is every string argument (the message too):
 *  - a field whose name says it holds a credential (authorization, secret..., signature, credential,
 *    password, token, x-amz-security-token, cookie) is replaced by `[Redacted]`, at any depth;
 *  - in strings, SigV4 and SigV2 query and header values (`X-Amz-Signature=`, `X-Amz-Credential=`,
 *    `X-Amz-Security-Token=`, `Signature=`, `AWSAccessKeyId=`, `Credential=` inside an Authorization value)
 *    keep their name and lose their value, so a logged URL still says which form was used.
 * The scrub is bounded (depth, keys, string length) so a hostile value cannot make logging expensive.
 * test/s3-metrics-log.test.ts greps the output for the secrets it logged on purpose.
 *
 * The default destination is stdout through an asynchronous sonic-boom writer (a slow log pipe must not
 * stall the event loop); call `log.flush()` before exit.
 */
import pino from 'pino';

export type Logger = import('pino').Logger;

export const REDACTED = '[Redacted]';

/** Field names whose values are credentials (compared lowercased, `-` and `_` removed). */
const SECRET_FIELD = /^(authorization|proxyauthorization|cookie|setcookie|password|passwd|secret|secretkey|secretaccesskey|sessiontoken|securitytoken|xamzsecuritytoken|token|signature|xamzsignature|credential|xamzcredential|signingkey|masterkey|privatekey)$/;

/** `name=value` pairs in URLs, query strings and Authorization values whose value is a credential. */
const SECRET_PAIR = /((?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId|Credential)=)([^&\s,;"']*)/gi;
/** A SigV2 header `AWS AKID:signature`: the signature part. */
const V2_HEADER = /\b(AWS [A-Za-z0-9+/=_-]{1,128}:)([A-Za-z0-9+/=]{8,})/g;

const DEPTH_MAX = 8;
const KEYS_MAX = 200;
const STRING_CHARS_MAX = 8192;

function scrubString(s: string): string {
  const t = s.length > STRING_CHARS_MAX ? `${s.slice(0, STRING_CHARS_MAX)}...[${s.length - STRING_CHARS_MAX} more chars]` : s;
  return t.replace(SECRET_PAIR, (_m, name: string) => `${name}${REDACTED}`).replace(V2_HEADER, (_m, who: string) => `${who}${REDACTED}`);
}

const isSecretField = (name: string) => SECRET_FIELD.test(name.toLowerCase().replace(/[-_]/g, ''));

/** A copy of `v` safe to log (see the header). Errors become { type, message, code, stack }. */
export function scrub(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrubString(v);
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? v.toString() : v;
  if (depth >= DEPTH_MAX) return '[Too deep]';
  if (v instanceof Error) {
    const e = v as Error & { code?: unknown; s3Code?: unknown; status?: unknown; reason?: unknown };
    return {
      type: e.name,
      message: scrubString(e.message),
      ...(e.code !== undefined ? { code: scrub(e.code, depth + 1) } : {}),
      ...(e.s3Code !== undefined ? { s3Code: scrub(e.s3Code, depth + 1) } : {}),
      ...(e.reason !== undefined ? { reason: scrub(e.reason, depth + 1) } : {}),
      ...(e.stack !== undefined ? { stack: scrubString(e.stack) } : {}),
    };
  }
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return `[${(v as ArrayBufferView).byteLength} bytes]`;
  if (Array.isArray(v)) {
    const out = v.slice(0, KEYS_MAX).map((x) => scrub(x, depth + 1));
    if (v.length > KEYS_MAX) out.push(`[${v.length - KEYS_MAX} more]`);
    return out;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (n++ >= KEYS_MAX) {
      out['[truncated]'] = true;
      break;
    }
    out[k] = isSecretField(k) ? REDACTED : scrub(x, depth + 1);
  }
  return out;
}

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = opts.level ?? 'info';
  if (!Object.hasOwn(pino.levels.values, level) && level !== 'silent') {
    throw new RangeError(`log level must be one of ${[...Object.keys(pino.levels.values), 'silent'].join(', ')} (got ${JSON.stringify(level)})`);
  }
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level,
      base: { service: 'shardvault', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => scrub(obj) as Record<string, unknown>,
      },
      // scrub() already turned errors into plain objects (scrubbed); pino's err serializer would re-type them.
      serializers: { err: (e: unknown) => e },
      // The message and its format arguments.
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? scrubString(a) : a)) as Parameters<typeof method>);
        },
      },
      // Defence in depth for the usual places, whatever a caller passes (fast-redact, on the serialised form).
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'headers.cookie', 'headers["x-amz-security-token"]', 'secretAccessKey', '*.secretAccessKey'],
        censor: REDACTED,
      },
    },
    destination,
  );
  // Child bindings (`log.child({...})`): pino drops formatters.bindings for children, so the scrub goes in
  // front of child() itself; children inherit this property (pino makes them with Object.create(parent)).
  const protoChild = Object.getPrototypeOf(logger).child as Logger['child'];
  logger.child = function child(this: Logger, bindings, options) {
    return protoChild.call(this, scrub(bindings) as typeof bindings, options);
  } as Logger['child'];
  return logger;
}

/** The one line per request (level error for 5xx, info otherwise). */
export function logRequest(log: Logger, f: { requestId: string; principal?: string; operation: string; status: number; bytesIn: number; bytesOut: number; durationMs: number; source?: string; errorCode?: string }): void {
  const line = {
    requestId: f.requestId,
    ...(f.principal !== undefined ? { principal: f.principal } : {}),
    operation: f.operation,
    status: f.status,
    bytesIn: f.bytesIn,
    bytesOut: f.bytesOut,
    durationMs: Math.round(f.durationMs * 1000) / 1000,
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.errorCode !== undefined ? { errorCode: f.errorCode } : {}),
  };
  if (f.status >= 500) log.error(line, 'request');
  else log.info(line, 'request');
}
