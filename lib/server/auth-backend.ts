// PENDING lib/auth (the auth helper's SigV4Verifier/KeyStore/policies, not on main yet): until it lands every
// request but the health probes is refused with AccessDenied, which is the safe default (deny by default,
// authentication before routing). This file is replaced by the wiring of lib/auth when it lands.
import { S3Error } from './s3-error.js';
import type { AuthBackend } from './auth-gate.js';

export async function openAuth(_metaDir: string, _opts: { region: string; env: { accessKeyId?: string; secretAccessKey?: string } }): Promise<AuthBackend> {
  const refuse = (): never => {
    throw new S3Error('AccessDenied', 403, 'Access Denied: request authentication (SigV4) is not available in this build.', { reason: 'unavailable' });
  };
  return {
    authenticate: async () => refuse(),
    authorize: () => 'implicit-deny',
    listFilter: () => () => false,
    chunkedDecoder: () => refuse(),
    payloadHashCheck: () => refuse(),
    root: { accessKeyId: 'unavailable', created: false },
    close: async () => undefined,
  };
}
