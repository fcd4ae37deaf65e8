/**
 * lib/auth: who is asking and what they may do, for the S3 daemon (issue 12, DESIGN.md §7).
 * SigV4 verification (header and presigned), aws-chunked decoding, payload hash checks, the client signer,
 * the key store and IAM-style policies. The engine never sees any of this: it takes a verified principal.
 */
export { AuthError, authErrors, isAuthError, type AuthReason } from './errors.js';
export {
  SigV4Verifier,
  SIGV4_LIMITS,
  parseSigV4,
  type ChunkChain,
  type PayloadMode,
  type RequestParts,
  type SecretLookup,
  type SigV4ClaimUntrusted,
  type SigV4VerifierOptions,
  type Verified,
} from './sigv4.js';
export { createChunkedDecoder, CHUNKED_LIMITS, type ChunkedDecoder } from './chunked.js';
export { createPayloadHashCheck } from './payload.js';
export { createBodyStage, type BodyStage } from './body.js';
export { presignUrl, signChunkedUpload, signRequest, type ChunkedBodyEncoder, type SignOptions } from './sign.js';
export { KeyStore, ROOT_PRINCIPAL, generateAccessKeyId, generateSecretAccessKey, type AccessKeyInfo } from './keys.js';
export {
  ADMIN_ACTION,
  POLICY_LIMITS,
  S3_ACTIONS,
  authorize,
  listCommonPrefixFilter,
  listPrefixFilter,
  parsePolicy,
  type Decision,
  type Policy,
  type ResourceRef,
  type Statement,
  type Subject,
} from './policy.js';
