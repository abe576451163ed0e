import { defineConfig } from 'vitest/config';

// CI asks for a JSON report too (LETTA_STREAM_TEST_JSON=path) to print its own summary line.
const json = process.env.LETTA_STREAM_TEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The resource test measures retained memory after a forced GC.
    execArgv: ['--expose-gc'],
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
