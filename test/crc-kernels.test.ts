// The CRC family under every forced kernel the CPU has (SHARDVAULT_CRC_KERNEL, read once at addon load, so
// each runs in a child): the forced kernel is the one chosen and computes what the table kernel computes; an
// unknown or foreign name is an error naming the variable, the value and the choices, and every CRC call then
// throws instead of silently using another kernel. Then lib/checksum.ts with the addon mocked away: the
// pure-TS fallback gives the AWS SDK's published values (also through combineChecksums), and a forced kernel
// without the addon is refused.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

import { nativeInfo } from '../lib/native-info.js';
import { nativeAddonFile } from '../lib/native.js';

const info = nativeInfo();
const kernels = info.crc?.supported ?? [];

/** The addon file this process loaded (its own build, a prebuild, or SHARDVAULT_ADDON's, e.g. the sanitizer build). */
function addonFile(): string {
  const file = nativeAddonFile();
  if (file === null) throw new Error('the addon did not load');
  return file;
}

interface ChildOut {
  kernels: { chosen: string; best: string; error?: string };
  same?: boolean;
  cases?: number;
  thrown?: string;
}

/** In a child with `env`: the kernel report, and the default kernel vs explicit 'table' on many buffers. */
function child(env: Record<string, string>): ChildOut {
  const script = `
    const a = require(${JSON.stringify(addonFile())});
    const out = { kernels: a.crcKernels() };
    try {
      let x = 0x2545f491, same = true, cases = 0;
      const pool = Buffer.alloc(40000);
      for (let i = 0; i < pool.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; pool[i] = x & 255; }
      const lens = [];
      for (let n = 0; n <= 300; n++) lens.push(n);
      lens.push(511, 768, 1024, 4097, 12288, 12289, 39000);
      for (const n of lens) {
        const b = pool.subarray(n % 16, (n % 16) + n);
        cases++;
        same = same && a.crc32(b) === a.crc32(b, 0, 'table') && a.crc32c(b, 7) === a.crc32c(b, 7, 'table') &&
          a.crc64nvme(b, 9n) === a.crc64nvme(b, 9n, 'table');
      }
      out.same = same; out.cases = cases;
    } catch (e) { out.thrown = e.constructor.name + ' ' + e.code + ' ' + e.message; }
    process.stdout.write(JSON.stringify(out));`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

describe.skipIf(info.crc === null)(`forced CRC kernels${info.crc === null ? ` (skipped: ${info.reason})` : ''}`, () => {
  for (const k of kernels) {
    it(`SHARDVAULT_CRC_KERNEL=${k}: chosen, and equal to the table kernel`, () => {
      const out = child({ SHARDVAULT_CRC_KERNEL: k });
      expect(out.kernels.chosen).toBe(k);
      expect(out.kernels.error).toBeUndefined();
      expect(out.thrown).toBeUndefined();
      expect(out.cases).toBeGreaterThan(300);
      expect(out.same).toBe(true);
    });
  }

  it('unset or empty: the best kernel', () => {
    const out = child({ SHARDVAULT_CRC_KERNEL: '' });
    expect(out.kernels.chosen).toBe(info.crc!.best);
    expect(out.kernels.error).toBeUndefined();
    if (process.arch === 'x64') expect(['pclmul', 'sse42', 'vpclmul256', 'vpclmul512']).toContain(out.kernels.best);
  });

  it('an unknown name is reported with the variable, the value and the choices, and the CRCs throw', () => {
    const out = child({ SHARDVAULT_CRC_KERNEL: 'crc9' });
    expect(out.kernels.error).toBe('SHARDVAULT_CRC_KERNEL "crc9" is not a CRC kernel (table|pclmul|sse42|vpclmul256|vpclmul512|armcrc|pmull)');
    expect(out.thrown).toMatch(/^Error ERR_SV_KERNEL_UNAVAILABLE SHARDVAULT_CRC_KERNEL "crc9"/);
  });

  it('a kernel of another architecture is reported as missing here, not as unknown', () => {
    const other = process.arch === 'arm64' ? 'vpclmul512' : 'pmull';
    const out = child({ SHARDVAULT_CRC_KERNEL: other });
    expect(out.kernels.error).toBe(`SHARDVAULT_CRC_KERNEL "${other}": this CPU or build has no CRC kernel ${other}`);
    expect(out.thrown).toMatch(/ERR_SV_KERNEL_UNAVAILABLE/);
  });
});

describe('lib/checksum.ts without the addon (pure-TS fallback)', () => {
  it('gives the AWS SDK published values, warns once, and refuses a forced kernel', async () => {
    vi.resetModules();
    const warn = vi.fn();
    vi.doMock('../lib/native.js', () => ({ native: () => null, warnFallbackOnce: warn }));
    const cs = await import('../lib/checksum.js');
    const vectors = JSON.parse(readFileSync(join(__dirname, 'vectors', 'aws-checksums', 'aws-sdk-js-v3.json'), 'utf8')).cases as Array<{
      algorithm: 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256'; hex: string; base64: string;
    }>;
    for (const v of vectors) {
      const data = Buffer.from(v.hex, 'hex');
      expect(cs.checksumBase64(v.algorithm, data), `${v.algorithm} ${v.hex}`).toBe(v.base64);
      const h = cs.createChecksum(v.algorithm);
      for (let i = 0; i < data.length; i += 2) h.update(data.subarray(i, i + 2));
      expect(h.digest().toString('base64')).toBe(v.base64);
    }
    expect(cs.crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(cs.crc64nvme(Buffer.from('6789'), cs.crc64nvme(Buffer.from('12345')))).toBe(0xae8b14860a799888n);
    const [a, b] = [Buffer.from('Hello '), Buffer.from('world')];
    for (const alg of ['crc32', 'crc32c', 'crc64nvme'] as const) {
      const whole = cs.combineChecksums(alg, cs.createChecksum(alg).update(a).digest(), cs.createChecksum(alg).update(b).digest(), b.length);
      expect(whole.toString('base64'), alg).toBe(vectors.find((v) => v.algorithm === alg && v.hex === Buffer.from('Hello world').toString('hex'))!.base64);
    }
    expect(warn).toHaveBeenCalled();
    let code: string | undefined;
    try {
      cs.crc32(new Uint8Array(1), 0, { kernel: 'table' });
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    expect(code).toBe('ERR_SV_KERNEL_UNAVAILABLE');
    vi.doUnmock('../lib/native.js');
    vi.resetModules();
  });
});
