// The NEON codec kernel cannot run on this x86-64 machine: cross-compile it and run it under qemu-aarch64
// against the scalar oracle (test/native/neon.sh). Skips, saying why, when the toolchain is missing.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((c) => !have(c));

describe('NEON codec and BLAKE3 kernels under qemu-aarch64', () => {
  it.skipIf(missing.length > 0)(
    `matches the scalar reference${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : ''}`,
    () => {
      const res = spawnSync('bash', [join(__dirname, 'native', 'neon.sh')], { encoding: 'utf8' });
      expect(res.status, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^neon mismatches=0 cases=\d+/m);
      expect(res.stdout).toMatch(/^blake3 neon mismatches=0 cases=\d+/m);
    },
  );
});
