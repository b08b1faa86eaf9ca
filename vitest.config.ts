import { defineConfig } from "vitest/config";

/**
 * Tests that run real server processes under load (nginx in front of three replicas) go last and alone:
 * beside them, the timing assertions of other files would be starved of the two cores.
 */
const ALONE = ["test/replicas.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: keep the workers few so timing-sensitive retries are not starved.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "suite", include: ["test/**/*.test.ts"], exclude: ALONE } },
      { extends: true, test: { name: "alone", include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
