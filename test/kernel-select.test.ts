// The codec and BLAKE3 dispatchers share one kernel-selection rule (native/common/kernel_select.cc): a forced
// kernel that is unknown or missing on this CPU is an error naming the variable or option, the value and the
// choices, never a silent fallback. Run in a child so the environment variables are read at addon load.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { nativeInfo } from '../lib/native-info.js';
import { packageRoot } from '../lib/native.js';

const info = nativeInfo();

/** The addon file this checkout loads: its own build, else the prebuild for this platform. */
function addonFile(): string {
  const built = join(packageRoot, 'build', 'Release', 'shardvault.node');
  if (existsSync(built)) return built;
  const dir = join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.node')) : undefined;
  if (file === undefined) throw new Error(`no addon in ${built} or ${dir}`);
  return join(dir, file);
}

function kernelsWith(env: Record<string, string>): { codec: { error?: string; chosen: string }; blake3: { error?: string; chosen: string } } {
  const script = `const a = require(${JSON.stringify(addonFile())});
    process.stdout.write(JSON.stringify({ codec: a.codecKernels(), blake3: a.blake3Kernels() }));`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

describe.skipIf(!info.loaded)(`kernel selection${info.loaded ? '' : ` (skipped: ${info.reason})`}`, () => {
  it('an unknown forced name is reported with the variable, the value and the choices, by both families', () => {
    const out = kernelsWith({ SHARDVAULT_KERNEL: 'sse9', SHARDVAULT_BLAKE3_KERNEL: 'avx9' });
    expect(out.codec.error).toBe('SHARDVAULT_KERNEL "sse9" is not a codec kernel (scalar|avx2|avx512|gfni256|gfni512|neon)');
    expect(out.blake3.error).toBe('SHARDVAULT_BLAKE3_KERNEL "avx9" is not a BLAKE3 kernel (portable|sse41|avx2|avx512|neon)');
  });

  it('a kernel of another architecture is reported as missing here, not as unknown', () => {
    const other = process.arch === 'arm64' ? 'avx2' : 'neon';
    const out = kernelsWith({ SHARDVAULT_KERNEL: other, SHARDVAULT_BLAKE3_KERNEL: other });
    expect(out.codec.error).toBe(`SHARDVAULT_KERNEL "${other}": this CPU or build has no codec kernel ${other}`);
    expect(out.blake3.error).toBe(`SHARDVAULT_BLAKE3_KERNEL "${other}": this CPU or build has no BLAKE3 kernel ${other}`);
  });

  it('a forced supported kernel is chosen; unset or empty means the best one', () => {
    expect(kernelsWith({ SHARDVAULT_KERNEL: 'scalar', SHARDVAULT_BLAKE3_KERNEL: 'portable' })).toMatchObject({
      codec: { chosen: 'scalar' }, blake3: { chosen: 'portable' },
    });
    const best = kernelsWith({ SHARDVAULT_KERNEL: '', SHARDVAULT_BLAKE3_KERNEL: '' });
    expect(best.codec.error).toBeUndefined();
    expect(best.codec.chosen).toBe(info.codec?.best);
    expect(best.blake3.error).toBeUndefined();
  });
});
