import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One browser, one API and one database per file, on a 2-core machine: files run one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['./src/global-setup.ts'],
  },
});
