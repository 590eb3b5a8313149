import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    // Dawn (npm `webgpu`) is a native addon: one process per test file, never worker threads.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
