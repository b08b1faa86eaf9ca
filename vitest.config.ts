import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: keep the workers few so timing-sensitive retries are not starved.
    maxWorkers: 2,
  },
});
