// The CRC benchmark must not rot: run bench/crc.mjs --smoke and check it reports its machine header (CPU
// model and flags), both buffer sizes, every native kernel, the peers it compares with, and (x86-64 with g++)
// the C++ kernels-alone table.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { nativeInfo } from '../lib/native-info.js';

const root = join(__dirname, '..');
const built = existsSync(join(root, 'dist', 'lib', 'checksum.js'));

describe('benchmark smoke (CRC)', () => {
  it.skipIf(!built)(`bench/crc.mjs --smoke${built ? '' : ' (skipped: dist/ not built)'}`, () => {
    const res = spawnSync(process.execPath, [join(root, 'bench', 'crc.mjs'), '--smoke'], { encoding: 'utf8', timeout: 120_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^cpu: /m);
    expect(res.stdout).toMatch(/^cpu flags: /m);
    expect(res.stdout).toMatch(/^node: v\d+/m);
    expect(res.stdout).toMatch(/^native: /m);
    expect(res.stdout).toMatch(/GB\/s, single thread, 4 KiB buffers/);
    expect(res.stdout).toMatch(/GB\/s, single thread, 1 MiB buffers/);
    for (const k of nativeInfo().crc?.supported ?? []) expect(res.stdout).toMatch(new RegExp(`^native ${k} `, 'm'));
    expect(res.stdout).toMatch(/^@aws-crypto\/crc32c /m);
    expect(res.stdout).toMatch(/^pure TS fallback /m);
    if (process.arch === 'x64' && spawnSync('sh', ['-c', 'command -v g++']).status === 0) {
      expect(res.stdout).toMatch(/1 MiB buffers, kernels alone \(C\+\+ loop, no N-API\)\nkernel +crc32 +crc32c +crc64nvme\ntable /);
    }
    expect(res.stdout).toMatch(/bench\/crc\.mjs: ok/);
  });
});
