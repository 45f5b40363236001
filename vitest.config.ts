import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (`*.test.ts`); end-to-end tests live in e2e/.
export default defineConfig({
  test: {
    include: ['main/**/*.test.ts', 'renderer/**/*.test.ts', 'e2e/**/*.test.ts', 'bench/**/*.test.ts'],
    // Separate processes: the Dawn GPU device and native addons are safest outside shared worker threads.
    pool: 'forks',
    reporters: ['default', './e2e/summary-reporter.ts'],
    globalSetup: ['./e2e/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
