// The README's main job: a pool of directory disks created on first start and an erasure-coded round trip
// that survives m lost disks.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { runDemo } from '../lib/demo.js';

const root = mkdtempSync(join(tmpdir(), 'sv-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('demo main job', () => {
  it('creates the pool on first start, reuses it after, and reads back through lost disks', async () => {
    const lines: string[] = [];
    const opts = { dataDir: join(root, 'data'), objectBytes: 300_001, k: 4, m: 2, blockBytes: 65536, log: (l: string) => lines.push(l) };
    await runDemo(opts);
    await runDemo(opts);
    expect(readdirSync(opts.dataDir).sort()).toEqual(['disk-0', 'disk-1', 'disk-2', 'disk-3', 'disk-4', 'disk-5']);
    expect(readdirSync(join(opts.dataDir, 'disk-3', 'shards')).filter((f) => f.endsWith('.shard'))).toHaveLength(2);
    expect(lines.filter((l) => l.includes('matches'))).toHaveLength(2);
  });
});
