import { defineConfig } from 'vitest/config';

// Shared by every project: each runs `vitest run --config <root>/vitest.config.ts` from its own
// folder, so the root is that project. Integration tests talk to real NATS and PostgreSQL, hence
// the generous timeouts and one fork per file.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
