/**
 * Authentication and authorization failures, carrying the S3 error code and HTTP status the daemon answers
 * with, and a short `reason` used as a metric label (auth failures by reason, issue 12 "Observability").
 *
 * `code` is the stable ShardVault-style code (`ERR_SV_AUTH`) so generic error handling can tell an auth
 * failure from an engine error; `s3Code` is what goes into the S3 XML `<Code>`.
 */

/** Reasons are a closed set so the metric's label cardinality stays bounded. */
export type AuthReason =
  | 'missing' // anonymous request
  | 'malformed' // Authorization header / query parameters do not parse
  | 'skew' // x-amz-date too far from the server clock
  | 'expired' // presigned URL past its expiry
  | 'future' // presigned URL dated in the future beyond the allowed skew
  | 'unknown-key'
  | 'disabled-key'
  | 'signature' // signature (request, chunk or trailer) does not match
  | 'v2' // Signature Version 2 (refused)
  | 'unsupported' // another algorithm (SigV4a, session tokens, ...)
  | 'double-auth' // two mechanisms in one request
  | 'unsigned-header' // a header that must be signed was not
  | 'scope' // credential scope: date, region, service or terminator wrong
  | 'limit' // a size bound was exceeded
  | 'payload' // body does not match x-amz-content-sha256
  | 'chunk' // aws-chunked framing broken
  | 'incomplete' // body ended early (missing final chunk, short decoded length)
  | 'trailer' // trailing headers malformed or undeclared
  | 'policy' // policy document malformed
  | 'denied'; // authorization said no

export class AuthError extends Error {
  readonly code = 'ERR_SV_AUTH' as const;
  /** S3 error code for the XML body: AccessDenied, SignatureDoesNotMatch, ... */
  readonly s3Code: string;
  /** HTTP status the daemon answers with. */
  readonly status: number;
  /** Metric label, see AuthReason. */
  readonly reason: AuthReason;
  /** For MalformedPolicy: the JSON path of the bad field ("Statement[0].Action"). */
  readonly path?: string;

  constructor(s3Code: string, status: number, reason: AuthReason, message: string, opts: { path?: string } = {}) {
    super(message);
    this.name = 'AuthError';
    this.s3Code = s3Code;
    this.status = status;
    this.reason = reason;
    if (opts.path !== undefined) this.path = opts.path;
  }
}

// Constructors for the codes used, so status codes stay consistent (S3 "Error responses" list).
export const authErrors = {
  accessDenied: (reason: AuthReason, message = 'Access Denied') => new AuthError('AccessDenied', 403, reason, message),
  signatureMismatch: (message = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.') =>
    new AuthError('SignatureDoesNotMatch', 403, 'signature', message),
  invalidAccessKeyId: (reason: 'unknown-key' | 'disabled-key') =>
    new AuthError('InvalidAccessKeyId', 403, reason, 'The AWS Access Key Id you provided does not exist in our records.'),
  skewed: () => new AuthError('RequestTimeTooSkewed', 403, 'skew', 'The difference between the request time and the current time is too large.'),
  headerMalformed: (message: string, reason: AuthReason = 'malformed') => new AuthError('AuthorizationHeaderMalformed', 400, reason, message),
  queryMalformed: (message: string, reason: AuthReason = 'malformed') => new AuthError('AuthorizationQueryParametersError', 400, reason, message),
  invalidRequest: (reason: AuthReason, message: string) => new AuthError('InvalidRequest', 400, reason, message),
  invalidArgument: (reason: AuthReason, message: string) => new AuthError('InvalidArgument', 400, reason, message),
  missingSecurityHeader: (message: string) => new AuthError('MissingSecurityHeader', 400, 'malformed', message),
  sha256Mismatch: () => new AuthError('XAmzContentSHA256Mismatch', 400, 'payload', 'The provided \'x-amz-content-sha256\' header does not match what was computed.'),
  incompleteBody: (message = 'The request body terminated unexpectedly') => new AuthError('IncompleteBody', 400, 'incomplete', message),
  chunkSize: (message: string) => new AuthError('InvalidChunkSizeError', 400, 'chunk', message),
  malformedPolicy: (path: string, message: string) => new AuthError('MalformedPolicy', 400, 'policy', `${path}: ${message}`, { path }),
  limit: (what: string) => new AuthError('InvalidRequest', 400, 'limit', `${what} exceeds the allowed size`),
};

export function isAuthError(e: unknown): e is AuthError {
  return e instanceof AuthError;
}
