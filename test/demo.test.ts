// The README's main job: a pool of six directory disks created on first start, reopened after, and a
// put/get round trip through the Vault with a receipt.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { runDemo } from '../lib/demo.js';
import { native } from '../lib/native.js';

const root = mkdtempSync(join(tmpdir(), 'sv-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(native() === null)('demo main job', () => {
  it('creates the pool on first start, reopens it after, and round-trips with a receipt', async () => {
    const lines: string[] = [];
    const opts = { dataDir: join(root, 'data'), objectBytes: 3_000_001, log: (l: string) => lines.push(l) };
    await runDemo(opts);
    await runDemo(opts);
    expect(readdirSync(opts.dataDir).sort()).toEqual(['disk-0', 'disk-1', 'disk-2', 'disk-3', 'disk-4', 'disk-5', 'meta']);
    expect(lines.filter((l) => l.startsWith('pool: created'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('receipt: '))).toHaveLength(2);
    expect(lines.filter((l) => l.endsWith('matches'))).toHaveLength(2);
  });
});
