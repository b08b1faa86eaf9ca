import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtCli, root } from "./built.js";
import { requireReplicaServers } from "./replica-servers.js";

// The bench measures the built server.
beforeAll(() => {
  builtCli();
});
const dir = mkdtempSync(join(tmpdir(), "infra-mcp-bench-test-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every figure `npm run bench` reports; each must be a number (no timing is asserted). */
const FIGURES = [
  "perCallToolP50Ms",
  "perCallToolP90Ms",
  "perCallToolP99Ms",
  "perCallFetchP50Ms",
  "perCallFetchP90Ms",
  "perCallFetchP99Ms",
  "perCallHttpP50Ms",
  "perCallHttpP90Ms",
  "perCallHttpP99Ms",
  "perCallFloorP50Ms",
  "perCallToolP50Ratio",
  "serverCpuRatio",
  "kyOwnCpuUs",
  "floodPeakRssRatio",
  "perCallHttpP50Ratio",
  "throughputToolPerS",
  "throughputFetchPerS",
  "throughputHttpPerS",
  "throughputFloorPerS",
  "throughputToolRatio",
  "throughputHttpRatio",
  "serverCpuUsPerCall",
  "coldInitializeMs",
  "coldToolsListMs",
  "minimalInitializeMs",
  "minimalToolsListMs",
  "coldToolsListRatio",
  "tools",
  "toolsListBytes",
  "bytesPerTool",
  "largestToolBytes",
  "rssAfterStartMB",
  "peakRssMB",
  "concurrentCalls",
  "loginsAfterExpiry",
  "failedCallsAfterExpiry",
  "listItems",
  "resultTextBytes",
  "upstreamBodyBytes",
  "resultTextRatio",
  // Beside the baseline build (here the same build: the figures must exist, whatever they are).
  "baselinePerCallP50Ms",
  "perCallP50VsBaseline",
  "throughputVsBaseline",
  "serverCpuVsBaseline",
  "coldToolsListVsBaseline",
  "floodPeakRssVsBaseline",
];

const TARGETS = [
  "perCallP50",
  "throughput",
  "serverCpu",
  "coldStart",
  "peakRss",
  "bytesPerTool",
  "logins",
  "resultBytes",
];

describe("npm run bench", () => {
  it("produces every figure with tiny counts, beside a baseline build, into the file given by --out", async () => {
    const out = join(dir, "latest.json");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      // Enough throughput calls that the minimal server's CPU, read from /proc in 10 ms ticks, is never 0
      // ticks (64 calls of ~40 us made serverCpuRatio infinite in most runs).
      [
        join(root, "scripts/bench.mjs"),
        "--quick",
        "--spawns",
        "1",
        "--throughput-calls",
        "1000",
        "--out",
        out,
        "--baseline",
        builtCli(),
      ],
      { cwd: root, timeout: 45_000, env: { PATH: process.env.PATH ?? "" } },
    );
    expect(stdout).toContain("| figure");
    expect(stdout).toContain("now / baseline");
    const report = JSON.parse(readFileSync(out, "utf8"));
    expect(report.mode).toBe("quick");
    for (const key of ["date", "node", "platform", "nproc", "cpu"]) expect(report.machine[key]).toBeDefined();
    for (const [key, value] of Object.entries(report.figures)) expect(Number.isFinite(value), key).toBe(true);
    for (const key of FIGURES) {
      expect(typeof report.figures[key], key).toBe("number");
      expect(Number.isFinite(report.figures[key]), key).toBe(true);
    }
    expect(report.targets.map((target: { id: string }) => target.id)).toEqual(TARGETS);
    for (const target of report.targets) {
      expect(typeof target.value, target.id).toBe("number");
      expect(typeof target.pass, target.id).toBe("boolean");
      expect(typeof target.target, target.id).toBe("string");
    }
    // The list really had the asked-for size, and every concurrent call came back.
    expect(report.figures.listItems).toBe(200);
    expect(report.figures.concurrentCalls).toBe(100);
    expect(report.figures.failedCallsAfterExpiry).toBe(0);
    // Replicas behind nginx (its own section): calls/s to 1 and 3 replicas, none failed; or why not.
    const { replicas } = report;
    if (requireReplicaServers(["nginx"]).length > 0) {
      expect(replicas.skipped).toContain("nginx is not installed");
    } else {
      for (const key of [
        "directPerS",
        "nginx1PerS",
        "nginx3PerS",
        "nginx1VsDirect",
        "nginx3VsNginx1",
        "direct2026PerS",
        "baselinePerS",
        "directVsBaseline",
      ]) {
        expect(Number.isFinite(replicas[key]), key).toBe(true);
      }
      expect(replicas.failedCalls).toBe(0);
      expect(stdout).toContain("calls/s at 16 in flight: direct to 1 replica / nginx to 1 / nginx to 3");
    }
    // Policy and audit (its own section): each figure for each of the four servers, and the trails held.
    const { oversight } = report;
    for (const key of ["readP50Ms", "readCpuUsPerCall", "writeP50Ms", "readP50VsPlain", "writeP50VsPlain"]) {
      for (const server of ["plain", "policy", "audit", "both"]) {
        expect(Number.isFinite(oversight[key][server]), `${key}.${server}`).toBe(true);
      }
    }
    expect(oversight.auditRecords.audit).toBeGreaterThan(0);
    expect(stdout).toContain("read p50 (ms): neither / policy / audit / both");
  }, 55_000);
});
