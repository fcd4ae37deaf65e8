// The NEON codec kernel cannot run on this x86-64 machine: cross-compile it and run it under qemu-aarch64
// against the scalar oracle (test/native/neon.sh). A tier (test/support/tier.ts): skips, saying why, when the
// toolchain is missing, except under SHARDVAULT_CI_REQUIRE_ALL=1, where it fails.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { have, tier } from './support/tier.js';


describe('NEON codec and BLAKE3 kernels under qemu-aarch64', () => {
  const t = tier('the NEON tier', ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((c) => !have(c)));
  it.skipIf(!t.ready)(
    `matches the scalar reference${t.why}`,
    () => {
      const res = spawnSync('bash', [join(__dirname, 'native', 'neon.sh')], { encoding: 'utf8' });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^neon mismatches=0 cases=\d+/m);
      expect(res.stdout).toMatch(/^blake3 neon mismatches=0 cases=\d+/m);
    },
  );
});
