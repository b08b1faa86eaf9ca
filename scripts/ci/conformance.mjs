#!/usr/bin/env node
// npm run conformance: the official MCP conformance suite (@modelcontextprotocol/conformance, on Node 22
// from the npm package `node`) against the built server, `dist/cli.js --sandbox --http`, every server
// scenario (--suite all). The suite cannot send a bearer token, so it talks to a loopback fixture that adds
// it; the server still refuses a request without one (checked below). Scenarios the server is not meant
// to pass are listed, each with its reason, in conformance-expected-failures.yml; the suite fails the run
// on any other failure and on a listed scenario that starts to pass.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  check,
  finish,
  requireBuild,
  runOnNode22,
  startBearerFixture,
  startHttpServer,
  step,
  withoutNpmNotices,
} from "./harness.mjs";

requireBuild();

const SUITE = "@modelcontextprotocol/conformance@0.1.16";
const expectedFailures = fileURLToPath(new URL("conformance-expected-failures.yml", import.meta.url));

step(`${SUITE}, every server scenario, against dist/cli.js --sandbox --http (through the bearer fixture)`);
const server = await startHttpServer({}, ["--sandbox"]);
const fixture = await startBearerFixture(server.url, server.token);
const results = mkdtempSync(join(tmpdir(), "infra-mcp-conformance-"));
try {
  const refused = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  check(refused.status === 401, "the server itself still refuses a request without the bearer token (401)");

  const run = await runOnNode22([SUITE], "conformance", [
    "server",
    "--url",
    fixture.url,
    "--suite",
    "all",
    "--expected-failures",
    expectedFailures,
    "-o",
    results,
  ]);
  const output = withoutNpmNotices(`${run.stdout}\n${run.stderr}`);
  const summary = output.indexOf("=== SUMMARY");
  console.log(summary >= 0 ? output.slice(summary).trim() : output.trim());
  const scenarios = readdirSync(results).length;
  check(scenarios > 0, `the suite ran ${scenarios} scenarios`);
  check(
    run.code === 0,
    "every scenario passes but those listed in conformance-expected-failures.yml, and each listed one still fails",
    `the suite exited with ${run.code}; per-scenario checks are in ${results}`,
  );
  // The listed reasons must stay true: a listed scenario fails for the reason given, not for another.
  const unexpected = [];
  for (const directory of readdirSync(results)) {
    const checks = JSON.parse(readFileSync(join(results, directory, "checks.json"), "utf8"));
    for (const { status, errorMessage = "" } of checks) {
      if (status !== "FAILURE") continue;
      const known =
        /Unknown tool test_|Tool '\w+' not found|Method not found/.test(errorMessage) ||
        directory.startsWith("server-server-sse-");
      if (!known) unexpected.push(`${directory}: ${errorMessage}`);
    }
  }
  check(
    unexpected.length === 0,
    "each failure is a fixture tool (test_*) or a method the server does not offer",
    unexpected.join("\n"),
  );
  if (run.code === 0 && unexpected.length === 0) rmSync(results, { recursive: true, force: true });
} finally {
  await fixture.close();
  await server.stop();
}
finish("conformance");
