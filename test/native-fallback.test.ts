// Without the addon the package still works on the pure-TS codec and says why, once. Runs the compiled
// package (dist/, built by `npm install`) in a child process with SHARDVAULT_NO_NATIVE=1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const entry = join(__dirname, '..', 'dist', 'lib', 'index.js');

describe('pure-TS fallback when the addon is unavailable', () => {
  it.skipIf(!existsSync(entry))(
    `encodes byte-identically, reports the reason and warns exactly once${existsSync(entry) ? '' : ' (skipped: dist/ not built; run npx tsc -p .)'}`,
    () => {
      const script = `
        import { ReedSolomon, nativeInfo } from ${JSON.stringify(entry)};
        const info = nativeInfo();
        const a = new ReedSolomon(4, 2); const b = new ReedSolomon(10, 4);
        const shards = Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 33 }, (_, j) => (i < 4 ? i * 7 + j : 0)));
        a.encodeSync(shards);
        let code; try { new ReedSolomon(4, 2, { backend: 'native' }); } catch (e) { code = e.code; }
        console.log(JSON.stringify({ loaded: info.loaded, reason: info.reason, backends: a.backend + ',' + b.backend, parity: Buffer.from(shards[5]).toString('hex'), code }));
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
      // Same parity as the native path would write (ISA-L compatible): compare with an in-process JS codec.
      const shards = Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 33 }, (_, j) => (i < 4 ? i * 7 + j : 0)));
      return import('../lib/codec.js').then(({ ReedSolomon }) => {
        new ReedSolomon(4, 2, { backend: 'js' }).encodeSync(shards);
        expect(out.parity).toBe(Buffer.from(shards[5]).toString('hex'));
        const warnings = res.stderr.split('\n').filter((l) => l.includes('SHARDVAULT_NATIVE_FALLBACK'));
        expect(warnings.length, res.stderr).toBe(1);
      });
    },
  );
});
