// The daemon's config file end to end (in-process): the pool it creates follows `pool` (disks, labels, k/m,
// failure domain), limits and region apply, the effective config's hash is audited, and a later start whose
// config contradicts the pool's layout is refused naming what differs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { startServer } from '../lib/server/index.js';
import { logSink } from './support/s3-helpers.js';

const ready = native() !== null;
const work = mkdtempSync(join(tmpdir(), 'sv-s3cfg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!ready)('serve --config', () => {
  it('creates the configured pool, applies limits and region, and refuses a contradicting config later', async () => {
    const disks = [0, 1, 2].map((i) => ({ path: join(work, `disk${i}`), labels: { host: `h${i}` } }));
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify({ region: 'eu-test-1', logLevel: 'warn', pool: { k: 2, m: 1, failureDomain: 'host', disks }, limits: { urlBytesMax: 512 } }));
    const s = await startServer({ dataDir: join(work, 'data'), address: '127.0.0.1:0', configFile: file, logDestination: logSink().stream });
    try {
      const st = await s.vault.status();
      expect([st.pool.k, st.pool.m, st.pool.failureDomain]).toEqual([2, 1, 'host']);
      expect(st.disks.map((d) => d.labels.host).sort()).toEqual(['h0', 'h1', 'h2']);
      expect(s.config.region).toBe('eu-test-1');
      const long = await fetch(`${s.url}/${'x'.repeat(600)}`);
      expect(long.status).toBe(414);
      expect(await long.text()).toContain('<Code>InvalidURI</Code>');
      const audit = (await s.vault.auditLog()) as Array<{ action: string; detail?: string }>;
      expect(audit.filter((r) => r.action === 'server.start').map((r) => r.detail)).toEqual([`config sha256=${s.configSha256} (pool created)`]);
    } finally {
      await s.close();
    }
    writeFileSync(file, JSON.stringify({ pool: { k: 3, m: 1, disks } }));
    await expect(startServer({ dataDir: join(work, 'data'), address: '127.0.0.1:0', configFile: file, logDestination: logSink().stream })).rejects.toThrow(/k is 2, the config says 3/);
    // The refused start left the pool closed: a matching config opens it.
    writeFileSync(file, JSON.stringify({ pool: { k: 2, m: 1 } }));
    const again = await startServer({ dataDir: join(work, 'data'), address: '127.0.0.1:0', configFile: file, logDestination: logSink().stream });
    await again.close();
  });
});
