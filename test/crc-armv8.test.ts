// The aarch64 CRC kernels (armcrc: the ARMv8 CRC extension; pmull: PMULL folding) cannot run on x86-64:
// cross-compile them with the table oracle and the dispatcher, run them under qemu-aarch64
// (test/native/crc-armv8.sh). Skips, saying why, when the
// toolchain is missing, except under SHARDVAULT_CI_REQUIRE_ALL=1, where a missing tier is a failure.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((c) => !have(c));
const requireAll = process.env.SHARDVAULT_CI_REQUIRE_ALL === '1';

describe('aarch64 CRC kernels under qemu-aarch64', () => {
  if (missing.length > 0 && requireAll) {
    it(`SHARDVAULT_CI_REQUIRE_ALL=1: ${missing.join(', ')} missing`, () => {
      expect.fail(`the aarch64 CRC tier cannot run: ${missing.join(', ')} missing`);
    });
  }

  it.skipIf(missing.length > 0)(
    `armcrc and pmull equal the table kernel; pmull is chosen as best${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : ''}`,
    () => {
      const res = spawnSync('bash', [join(__dirname, 'native', 'crc-armv8.sh')], { encoding: 'utf8', timeout: 120_000 });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^crc armcrc mismatches=0 cases=\d+ best=pmull$/m);
      expect(res.stdout).toMatch(/^crc pmull mismatches=0 cases=\d+ best=pmull$/m);
    },
    120_000,
  );
});
