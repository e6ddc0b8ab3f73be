import { defineConfig } from 'vitest/config';

// SGR_TEST_JSON (set by .ci/run) adds a JSON report so CI can print its `N passed, N failed` line.
const jsonReport = process.env['SGR_TEST_JSON'];
// Test files mostly wait on subprocesses (the CLI, moto_server, a daemon): vitest's default of one
// worker per core minus one is a single worker on a 2-core CI machine; two overlap those waits
// without starving the spawned processes of CPU (three timed out on a loaded machine). SGR_TEST_WORKERS overrides.
const workers = Number(process.env['SGR_TEST_WORKERS'] ?? 2);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: workers,
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
