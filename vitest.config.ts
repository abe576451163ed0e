import { defineConfig } from 'vitest/config';

// CI asks for a JSON report too (LETTA_STREAM_TEST_JSON=path) to print its own summary line.
const json = process.env.LETTA_STREAM_TEST_JSON;

/** The end-to-end suites that also run against two instances on PostgreSQL + Redis behind a round-robin balancer. */
const CLUSTER_SUITES = ['test/letta-client.test.ts', 'test/letta-client-lists.test.ts', 'test/letta-client-conversations.test.ts', 'test/runs.e2e.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The resource test measures retained memory after a forced GC.
    execArgv: ['--expose-gc'],
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'one instance', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'two instances', include: CLUSTER_SUITES, env: { LETTA_STREAM_TEST_CLUSTER: '1' } } },
    ],
  },
});
