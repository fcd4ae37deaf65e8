import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native fault tests fork children and mount loop devices; keep files in separate processes.
    pool: 'forks',
  },
});
