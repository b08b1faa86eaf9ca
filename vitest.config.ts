import { defineConfig } from "vitest/config";

/**
 * Files that start server processes (replicas, redis-server, nginx) run after the rest, in groups of their
 * own: beside them, the timing assertions of the in-process files would be starved of the two cores. The
 * bench and the replica test put load on those processes, so each of them runs alone.
 */
const PROCESSES = [
  "test/replica-settings.test.ts",
  "test/http-probes.test.ts",
  "test/redis-spent-tokens.test.ts",
];
const ALONE = ["test/bench.test.ts", "test/replicas.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: keep the workers few so timing-sensitive retries are not starved.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "in-process", include: ["test/**/*.test.ts"], exclude: [...PROCESSES, ...ALONE] },
      },
      { extends: true, test: { name: "processes", include: PROCESSES, sequence: { groupOrder: 1 } } },
      ...ALONE.map((file, i) => ({
        extends: true as const,
        test: {
          name: file.replace(/^test\/|\.test\.ts$/g, ""),
          include: [file],
          sequence: { groupOrder: i + 2 },
        },
      })),
    ],
  },
});
