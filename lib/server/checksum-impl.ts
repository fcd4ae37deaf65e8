// LOCAL STAND-IN until lib/checksum.ts (the crc helper's native CRC32/CRC32C/CRC64NVME) is on main: then this
// file is deleted and checksums.ts imports '../checksum.js' (same createChecksum interface). Until then
// crc32 comes from zlib.crc32, sha1/sha256 from node:crypto; crc32c and crc64nvme answer NotImplemented.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

import { S3Error } from './s3-error.js';

export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';
export interface Checksum { update(data: Uint8Array): this; digest(): Buffer }

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    const h = createHash(algorithm);
    const c: Checksum = { update(d) { h.update(d); return c; }, digest: () => h.digest() };
    return c;
  }
  if (algorithm === 'crc32') {
    let state = 0;
    const c: Checksum = {
      update(d) { state = crc32(d, state); return c; },
      digest() { const b = Buffer.alloc(4); b.writeUInt32BE(state >>> 0); return b; },
    };
    return c;
  }
  throw new S3Error('NotImplemented', 501, `The ${algorithm} checksum is not available in this build yet.`);
}
