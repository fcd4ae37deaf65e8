// The CRC kernels under AddressSanitizer + UBSan (test/native/crc-sanitize.sh): every kernel this CPU has
// against the table kernel, each input ending exactly at the end of its heap block, so an over-read by a
// vector load or a tail is an error here even though JS Buffers (pooled, padded) would hide it. Skips, saying
// why, without g++ or its libasan, except under SHARDVAULT_CI_REQUIRE_ALL=1 (a tier: test/support/tier.ts).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { have, tier } from './support/tier.js';

const gxx = have('g++');
const asan =
  gxx &&
  spawnSync('sh', ['-c', 'echo "int main(){return 0;}" | g++ -fsanitize=address,undefined -x c++ - -o /dev/null'], { encoding: 'utf8' })
    .status === 0;
const lacking = !gxx ? 'g++' : !asan ? 'a g++ that links -fsanitize=address,undefined (libasan, libubsan)' : null;

describe('CRC kernels under AddressSanitizer and UBSan', () => {
  const t = tier('the CRC sanitizer tier', [lacking]);
  it.skipIf(!t.ready)(
    `every kernel equals the table kernel with no out-of-bounds read${t.why}`,
    () => {
      const res = spawnSync('bash', [join(__dirname, 'native', 'crc-sanitize.sh')], { encoding: 'utf8', timeout: 170_000 });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^crc sanitize kernels=[1-9]\d* cases=\d+ mismatches=0$/m);
    },
    180_000,
  );
});
