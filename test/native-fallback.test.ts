// Without the addon the package still works on the pure-TS codec and @noble/hashes, says why, once, and
// writes the same bytes. Runs the compiled package (dist/, built by `npm install`) in a child process with
// SHARDVAULT_NO_NATIVE=1 and compares with this process (native when it loaded).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ReedSolomon } from '../lib/codec.js';
import { blake3Sync, createBlake3 } from '../lib/hash.js';

const entry = join(__dirname, '..', 'dist', 'lib', 'index.js');
const shardsFor = () => Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 33 }, (_, j) => (i < 4 ? i * 7 + j : 0)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('fallback when the addon is unavailable', () => {
  it.skipIf(!existsSync(entry))(
    `pure-TS codec and noble BLAKE3: same bytes, reason reported, one warning${existsSync(entry) ? '' : ' (skipped: dist/ not built)'}`,
    () => {
      const script = `
        import { ReedSolomon, nativeInfo, blake3Sync, createBlake3 } from ${JSON.stringify(entry)};
        const info = nativeInfo();
        const a = new ReedSolomon(4, 2); const b = new ReedSolomon(10, 4);
        const shards = Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 33 }, (_, j) => (i < 4 ? i * 7 + j : 0)));
        a.encodeSync(shards);
        let code; try { new ReedSolomon(4, 2, { backend: 'native' }); } catch (e) { code = e.code; }
        const b3 = Buffer.from(blake3Sync(new TextEncoder().encode('abc'))).toString('hex');
        const b3ctx = Buffer.from(createBlake3({ context: 'ctx' }).update(new Uint8Array(3)).digest()).toString('hex');
        console.log(JSON.stringify({ loaded: info.loaded, reason: info.reason, backends: a.backend + ',' + b.backend,
          parity: Buffer.from(shards[5]).toString('hex'), code, b3, b3ctx }));
      `;
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, SHARDVAULT_NO_NATIVE: '1' },
        encoding: 'utf8',
      });
      expect(res.status, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout.trim());
      expect(out.loaded).toBe(false);
      expect(out.reason).toMatch(/SHARDVAULT_NO_NATIVE/);
      expect(out.backends).toBe('js,js');
      expect(out.code).toBe('ERR_SV_NATIVE_UNAVAILABLE');
      const shards = shardsFor();
      new ReedSolomon(4, 2).encodeSync(shards);
      expect(out.parity).toBe(hex(shards[5]));
      expect(out.b3).toBe(hex(blake3Sync(new TextEncoder().encode('abc'))));
      expect(out.b3ctx).toBe(hex(createBlake3({ context: 'ctx' }).update(new Uint8Array(3)).digest()));
      const warnings = res.stderr.split('\n').filter((l) => l.includes('SHARDVAULT_NATIVE_FALLBACK'));
      expect(warnings.length, res.stderr).toBe(1);
    },
  );
});
