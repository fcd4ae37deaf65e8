/**
 * Authentication before routing, authorization per operation. The shapes below are lib/auth's interface
 * (docs: /work/briefs/auth.md, docs/auth.md once it lands); the daemon only sees them through AuthBackend so
 * the request pipeline does not care how keys are stored.
 */
import type { Transform } from 'node:stream';

export type PayloadMode =
  | { kind: 'signed'; sha256Hex: string }
  | { kind: 'unsigned' }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

export interface RequestParts { method: string; target: string; rawHeaders: string[] }

export interface VerifiedRequest {
  accessKeyId: string;
  principal: string;
  presigned: boolean;
  region: string;
  payload: PayloadMode;
  decodedContentLength?: number;
  signedHeaders: string[];
}

/** Who is asking, after the signature verified. */
export interface Identity {
  accessKeyId: string;
  principal: string;
  admin: boolean;
  verified: VerifiedRequest;
}

export type Decision = 'allow' | 'deny' | 'implicit-deny';

export interface AuthBackend {
  /** Verifies the signature (never reads the body); throws an error with s3Code/status/reason. */
  authenticate(req: RequestParts): Promise<Identity>;
  authorize(who: Identity, action: string, resource: { bucket?: string; key?: string }): Decision;
  /** List results are filtered to what `who` may list/read in `bucket`. */
  listFilter(who: Identity, bucket: string): (key: string) => boolean;
  /** The common prefixes of a delimiter listing: shown when some key under the prefix may be listed. */
  listPrefixFilter(who: Identity, bucket: string): (prefix: string) => boolean;
  /** Body decoders for the payload modes. */
  chunkedDecoder(who: Identity): Transform & { trailers(): Record<string, string> };
  payloadHashCheck(sha256Hex: string): Transform;
  /** The root (admin) key: created on first start, taken from the environment when given. */
  root: { accessKeyId: string; secretAccessKey?: string; created: boolean };
  close(): Promise<void>;
}
