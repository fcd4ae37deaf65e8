// The aarch64 CRC kernels (armcrc: the ARMv8 CRC extension; pmull: PMULL folding) cannot run on x86-64:
// cross-compile them with the table oracle and the dispatcher, run them under qemu-aarch64
// (test/native/crc-armv8.sh). A tier (test/support/tier.ts): skips, saying why, when the toolchain is
// missing, except under SHARDVAULT_CI_REQUIRE_ALL=1, where a missing tier is a failure.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { have, tier } from './support/tier.js';


describe('aarch64 CRC kernels under qemu-aarch64', () => {
  const t = tier('the aarch64 CRC tier', ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((c) => !have(c)));
  it.skipIf(!t.ready)(
    `armcrc and pmull equal the table kernel; pmull is chosen as best${t.why}`,
    () => {
      const res = spawnSync('bash', [join(__dirname, 'native', 'crc-armv8.sh')], { encoding: 'utf8', timeout: 120_000 });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^crc armcrc mismatches=0 cases=\d+ best=pmull$/m);
      expect(res.stdout).toMatch(/^crc pmull mismatches=0 cases=\d+ best=pmull$/m);
    },
    120_000,
  );
});
