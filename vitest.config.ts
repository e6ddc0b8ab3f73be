import { defineConfig } from 'vitest/config';

// SGR_TEST_JSON (set by .ci/run) adds a JSON report so CI can print its `N passed, N failed` line.
const jsonReport = process.env['SGR_TEST_JSON'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
