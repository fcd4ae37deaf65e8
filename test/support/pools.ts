// Fresh pools of directory disks for engine tests: one temporary root per test file (removed after its tests),
// one pool directory per call, host labels h0..hN-1 and failure domain `host`, bucket `bkt` made.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

import { Vault, type VaultDiskSpec } from '../../lib/vault.js';

export interface TestPoolOptions {
  disks?: number;
  k?: number;
  m?: number;
  writeQuorum?: number;
  /** Buckets to create (default ['bkt']). */
  buckets?: string[];
  /** Multipart options of the Vault (VaultInitOptions). */
  uploadTtlMs?: number;
  minPartBytes?: number;
}

export function testPools(prefix: string): { root: string; make: (o?: TestPoolOptions) => Promise<{ vault: Vault; disks: VaultDiskSpec[]; base: string }> } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return {
    root,
    async make({ disks: count = 3, k = 2, m = 1, writeQuorum, buckets = ['bkt'], uploadTtlMs, minPartBytes } = {}) {
      const base = join(root, `p${n++}`);
      const disks = Array.from({ length: count }, (_, i) => {
        mkdirSync(join(base, `d${i}`), { recursive: true });
        return { path: join(base, `d${i}`), labels: { host: `h${i}` } };
      });
      const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k, m, blockBytes: 4096, failureDomain: 'host', ...(writeQuorum !== undefined ? { writeQuorum } : {}),
        ...(uploadTtlMs !== undefined ? { uploadTtlMs } : {}), ...(minPartBytes !== undefined ? { minPartBytes } : {}) });
      for (const b of buckets) await vault.createBucket(b);
      return { vault, disks, base };
    },
  };
}
