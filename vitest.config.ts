import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native fault tests fork children and mount loop devices; keep files in separate processes.
    pool: 'forks',
    // Every pool a test opens writes its freshness witness under $XDG_STATE_HOME (lib/security/witness.ts):
    // there, under the temporary directory, rather than in the home directory of whoever runs the suite.
    env: { XDG_STATE_HOME: process.env.XDG_STATE_HOME ?? join(tmpdir(), 'shardvault-test-state') },
  },
});
