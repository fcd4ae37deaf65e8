/**
 * lib/auth wired for the daemon: the key store in `<meta>/auth/` (root key ensured at start), the SigV4
 * verifier looking secrets up in it (a disabled or deleted key fails on the very next request), the
 * principal's admin flag and policy for authorize(), and the body decoders for the payload modes.
 */
import { createChunkedDecoder, createPayloadHashCheck, KeyStore, SigV4Verifier, authorize, listPrefixFilter,
  listCommonPrefixFilter, type Verified } from '../auth/index.js';
import type { AuthBackend, Identity } from './auth-gate.js';

interface FullIdentity extends Identity { verified: Verified }

export async function openAuth(metaDir: string, opts: { region: string; env: { accessKeyId?: string; secretAccessKey?: string } }): Promise<AuthBackend & { keys: KeyStore }> {
  const keys = await KeyStore.open(metaDir);
  const root = await keys.ensureRoot(opts.env);
  const verifier = new SigV4Verifier({ region: opts.region, lookup: keys.lookup });
  const subject = (who: Identity) => keys.principal(who.principal) ?? { admin: false };
  return {
    keys,
    async authenticate(req) {
      const verified = await verifier.verify(req);
      const p = keys.principal(verified.principal);
      const who: FullIdentity = { accessKeyId: verified.accessKeyId, principal: verified.principal, admin: p?.admin === true, verified };
      return who;
    },
    authorize: (who, action, resource) => authorize(subject(who), action, resource),
    listFilter: (who, bucket) => listPrefixFilter(subject(who), bucket),
    listPrefixFilter: (who, bucket) => listCommonPrefixFilter(subject(who), bucket),
    chunkedDecoder: (who) => createChunkedDecoder((who as FullIdentity).verified),
    payloadHashCheck: (hex) => createPayloadHashCheck(hex),
    root: { accessKeyId: root.accessKeyId, created: root.created, ...(root.secretAccessKey !== undefined ? { secretAccessKey: root.secretAccessKey } : {}) },
    close: async () => undefined,
  };
}
