#!/usr/bin/env node
// `npm run bench`: measures the built server as users run it (a separate `node dist/cli.js` process over
// stdio, driven by the SDK Client) side by side with its limits, in one run:
//   1. per-call latency of netprofiler_get_aws_status vs the same upstream request made directly with
//      fetch and with node:http (same emulator, path and headers), interleaved in rounds;
//   2. throughput with 16 calls in flight, the same ways, with CPU time per call of each process;
//   3. cold start (spawn -> initialize, spawn -> tools/list answer) vs a minimal SDK server with one tool;
//   4. footprint: tools/list bytes, RSS of the server process (after start, peak);
//   5. login economy: logins reaching the upstream for 100 concurrent calls after the tokens expired;
//   6. result economy: result text bytes vs upstream body bytes for a 200-item list;
//   7. the CPU of one upstream request, layer by layer (node:http, Request/Response, ky, the session);
//   8. --http replicas behind nginx: calls/s to one and to three, beside straight to one (own section);
//   9. what the operator's policy and the audit trail cost per call: four servers (neither, a policy, an
//      audit trail of every call, both) side by side, reads and writes, p50 and server CPU (own section).
// With --baseline FILE (another build) or --baseline-rev REV (a commit, built here into a temporary
// directory), that build runs beside the measured one in 1, 2, 3 and the flood's RSS, as a fifth way: the
// figures of a change, before and after, from one run on one machine.
// In 1 and 2 a fourth way, "floor", calls the minimal server's echo tool: what any MCP tool call over stdio
// costs before the tool does anything. It explains the figures; no target uses it.
// The emulators run in this process (not via --sandbox); their env is handed to the spawned servers, whose
// working directory is an empty temporary one (no stray .env). Every process started here is stopped at the
// end, on failure, on SIGINT/SIGTERM and at a deadline. Loopback only.
// Prints a table and the JSON report, and writes the JSON (default bench/results/latest.json).
// `--quick` (or BENCH_QUICK=1) uses tiny counts; `--help` lists the flags.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ListToolsResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { freePort, missingServers, startNginx, startReplica } from "./cluster.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(root, "dist/cli.js");
const MINIMAL = join(root, "bench/minimal-server.mjs");
const DEFAULT_OUT = join(root, "bench/results/latest.json");

const STATUS_TOOL = "netprofiler_get_aws_status";
const LIST_TOOL = "netprofiler_list_aws_accounts";
const STATUS_PATH = "/api/npm.aws_config/1.0/status";
const LIST_PATH = "/api/npm.aws_config/1.0/auth_codes";
const TOKEN_PATH = "/api/common/1.0/oauth/token";

/** Counts per mode; every one can be overridden by a flag of the same name. */
const PRESETS = {
  full: {
    // Enough calls that V8 has compiled the hot path before anything is measured.
    warmup: 3000,
    rounds: 20,
    "per-round": 100,
    "throughput-rounds": 6,
    "throughput-calls": 1000,
    "in-flight": 16,
    spawns: 10,
    concurrent: 100,
    "list-items": 200,
    "oversight-write-rounds": 6,
    "oversight-write-calls": 30,
    "deadline-s": 240,
  },
  quick: {
    warmup: 5,
    rounds: 2,
    "per-round": 10,
    "throughput-rounds": 1,
    "throughput-calls": 64,
    "in-flight": 16,
    spawns: 2,
    concurrent: 100,
    "list-items": 200,
    "oversight-write-rounds": 1,
    "oversight-write-calls": 5,
    "deadline-s": 50,
  },
};

const TARGETS = {
  perCallP50: { label: "p50 per call vs direct fetch", limit: 1.5, better: "lower", unit: "x" },
  throughput: { label: "calls/s at 16 in flight vs direct fetch", limit: 0.8, better: "higher", unit: "x" },
  serverCpu: { label: "server CPU per call vs the minimal SDK server", limit: 3, better: "lower", unit: "x" },
  coldStart: {
    label: "cold start to tools/list vs minimal SDK server",
    limit: 1.2,
    better: "lower",
    unit: "x",
  },
  peakRss: {
    label: "peak RSS under the flood vs the minimal SDK server under the same flood",
    limit: 1.25,
    better: "lower",
    unit: "x",
  },
  bytesPerTool: { label: "tools/list bytes per tool (average)", limit: 350, better: "lower", unit: "B" },
  logins: { label: "logins for the concurrent calls after expiry", limit: 1, better: "equal", unit: "" },
  resultBytes: { label: "result text vs upstream body (list)", limit: 1.0, better: "lower", unit: "x" },
};

// ---------------------------------------------------------------------------------------------- options

function options() {
  const numeric = Object.keys(PRESETS.full);
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      out: { type: "string" },
      cli: { type: "string" },
      baseline: { type: "string" },
      "baseline-rev": { type: "string" },
      "node-arg": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries(numeric.map((name) => [name, { type: "string" }])),
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(
      `usage: node scripts/bench.mjs [--quick] [--out FILE] [--cli FILE] [--baseline FILE | --baseline-rev REV] [--node-arg ARG]... [${numeric.map((n) => `--${n} N`).join("] [")}]\n` +
        "  --node-arg passes ARG to node for the measured server process (e.g. --cpu-prof).\n" +
        "  --cli FILE measures another build of the server (default dist/cli.js), e.g. to compare a change.\n" +
        "  --baseline FILE runs another build beside it in the same run (latency, CPU, cold start, flood RSS);\n" +
        "  --baseline-rev REV builds commit REV of this repository into a temporary directory for that.\n" +
        "  BENCH_QUICK=1 is the same as --quick; BENCH_OUT=FILE the same as --out FILE.",
    );
    process.exit(0);
  }
  const quick = values.quick === true || process.env.BENCH_QUICK === "1";
  const counts = { ...(quick ? PRESETS.quick : PRESETS.full) };
  for (const name of numeric) {
    if (values[name] === undefined) continue;
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    counts[name] = n;
  }
  if (values.baseline && values["baseline-rev"])
    throw new Error("give --baseline or --baseline-rev, not both");
  // A fifth way in the sequential and concurrent phases, and more starts: more time.
  if (values.baseline || values["baseline-rev"]) counts["deadline-s"] += quick ? 40 : 90;
  return {
    mode: quick ? "quick" : "full",
    counts,
    out: values.out ?? process.env.BENCH_OUT ?? DEFAULT_OUT,
    nodeArgs: values["node-arg"] ?? [],
    cli: values.cli ? resolve(values.cli) : CLI,
    baseline: values.baseline ? { cli: resolve(values.baseline) } : undefined,
    baselineRev: values["baseline-rev"],
  };
}

/**
 * Builds commit `rev` of this repository into a temporary directory (its tracked files, this checkout's
 * node_modules linked in) and returns its dist/cli.js. Nothing is fetched: a commit whose dependencies
 * this checkout does not have installed fails to build, saying so.
 */
function buildRevision(rev) {
  const dir = mkdtempSync(join(tmpdir(), "infra-mcp-bench-baseline-"));
  temporary.add(dir);
  const archive = execFileSync("git", ["-C", root, "archive", "--format=tar", rev], { maxBuffer: 1 << 28 });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  try {
    execFileSync(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: dir,
        stdio: "pipe",
      },
    );
    execFileSync(process.execPath, ["scripts/postbuild.mjs"], { cwd: dir, stdio: "pipe" });
  } catch (error) {
    throw new Error(
      `cannot build ${rev} for the baseline: ${error.stdout ?? ""}${error.stderr ?? error.message}`,
    );
  }
  return join(dir, "dist/cli.js");
}

// ---------------------------------------------------------------------------------------------- helpers

const now = () => performance.now();

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean,
  };
}

const median = (values) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const round = (value, digits = 3) => Number(value.toFixed(digits));

/** Every process this bench starts, so that each is stopped on success, failure or interruption. */
const live = new Set();

function track(transport) {
  live.add(transport);
  return transport;
}

async function closeQuietly(client, transport) {
  try {
    await client.close();
  } catch {
    // already gone
  }
  live.delete(transport);
}

function killAll() {
  for (const transport of live) {
    const pid = transport.pid;
    if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited already
      }
    }
  }
  live.clear();
}

/** Temporary directories to remove however the run ends. */
const temporary = new Set();

process.on("exit", () => {
  killAll();
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Keeps the last few KB a server wrote to stderr, shown if something fails. */
function captureStderr(transport) {
  const tail = { text: "" };
  transport.stderr?.on("data", (chunk) => {
    tail.text = (tail.text + chunk.toString("utf8")).slice(-4000);
  });
  return tail;
}

/** Peak resident set size of a process in MB (Linux: VmHWM), or NaN where /proc is not available. */
function peakRssMB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size now, in MB (Linux: VmRSS), or NaN. */
function rssMB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, at USER_HZ = 100), or NaN. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function spawnClient(command, args, env, cwd) {
  const transport = track(
    new StdioClientTransport({
      command: process.execPath,
      args: [...command, ...args],
      env,
      cwd,
      stderr: "pipe",
    }),
  );
  const stderr = captureStderr(transport);
  const client = new Client({ name: "infra-mcp-bench", version: "1.0.0" });
  return { client, transport, stderr };
}

// ------------------------------------------------------------------------------------ the direct clients

/** A bearer token from the emulator's OAuth endpoint, obtained the way the server's strategy does. */
async function obtainToken(baseUrl, accessCode) {
  const header = Buffer.from('{"alg":"none"}').toString("base64url");
  const response = await fetch(`${baseUrl}${TOKEN_PATH}`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "access_code", assertion: `${header}.${accessCode}.` }),
  });
  const body = await response.json();
  if (response.status !== 200 || typeof body.access_token !== "string") {
    throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

function directClients(baseUrl, headers) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const statusUrl = `${baseUrl}${STATUS_PATH}`;
  return {
    agent,
    /** GET with global fetch (Node's undici, keep-alive); reads and parses the JSON body as a client must. */
    async fetch(path = STATUS_PATH) {
      const response = await fetch(path === STATUS_PATH ? statusUrl : `${baseUrl}${path}`, { headers });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`direct fetch: ${response.status} ${text}`);
      return { text, body: JSON.parse(text) };
    },
    /** The same GET with node:http and a keep-alive agent. */
    http(path = STATUS_PATH) {
      return new Promise((resolve, reject) => {
        const request = http.request(`${baseUrl}${path}`, { agent, headers }, (response) => {
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (response.statusCode !== 200) reject(new Error(`direct http: ${response.statusCode} ${text}`));
            else resolve({ text, body: JSON.parse(text) });
          });
        });
        request.on("error", reject);
        request.end();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------- phases

async function callTool(client, name, args = {}) {
  const params = { name, arguments: args };
  // The v2 client takes the options second; the 1.x client takes a result schema there.
  const result =
    client instanceof ModernClient
      ? await client.callTool(params, { timeout: 15_000 })
      : await client.callTool(params, undefined, { timeout: 15_000 });
  if (result.isError) throw new Error(`${name} failed: ${result.content?.[0]?.text}`);
  return result;
}

/** 1. Sequential latency: warm-up, then rounds in which each way runs a block; the order rotates. */
async function perCall(ways, counts) {
  for (const way of Object.values(ways)) for (let i = 0; i < counts.warmup; i++) await way();
  const names = Object.keys(ways);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < counts.rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const way = ways[name];
      const into = samples[name];
      for (let i = 0; i < counts["per-round"]; i++) {
        const started = now();
        await way();
        into.push(now() - started);
      }
    }
  }
  return Object.fromEntries(names.map((name) => [name, summary(samples[name])]));
}

/**
 * 2. Throughput: `in-flight` workers share a fixed number of calls; rounds rotate the order as above. Also
 * CPU time per call: of this process (client, emulator and direct clients) and of the server process.
 */
async function throughput(ways, counts, serverCpuMs) {
  const names = Object.keys(ways);
  const totals = Object.fromEntries(
    names.map((name) => [name, { calls: 0, ms: 0, benchUs: 0, serverMs: 0 }]),
  );
  const inFlight = counts["in-flight"];
  const calls = counts["throughput-calls"];
  // A short unmeasured burst per way, so connection pools are filled to the same width.
  for (const way of Object.values(ways)) await Promise.all(Array.from({ length: inFlight }, () => way()));
  for (let r = 0; r < counts["throughput-rounds"]; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const way = ways[name];
      let next = 0;
      const worker = async () => {
        while (next < calls) {
          next += 1;
          await way();
        }
      };
      const cpu = process.cpuUsage();
      const server = serverCpuMs[name]?.() ?? 0;
      const started = now();
      await Promise.all(Array.from({ length: inFlight }, worker));
      const total = totals[name];
      total.ms += now() - started;
      const used = process.cpuUsage(cpu);
      total.benchUs += used.user + used.system;
      total.serverMs += (serverCpuMs[name]?.() ?? 0) - server;
      total.calls += calls;
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const total = totals[name];
      return [
        name,
        {
          perS: (total.calls * 1000) / total.ms,
          benchCpuUsPerCall: total.benchUs / total.calls,
          serverCpuUsPerCall: (total.serverMs * 1000) / total.calls,
        },
      ];
    }),
  );
}

/**
 * 3. Cold start of one process: spawn -> initialize done -> tools/list answered (the answer, parsed by the
 * SDK's schema); then, for information, the SDK's listTools() too, which also compiles a validator per
 * output schema on the client. The process is stopped afterwards; its peak RSS is read first.
 */
async function coldStart(command, env, cwd) {
  const { client, transport, stderr } = spawnClient(command, [], env, cwd);
  try {
    const started = now();
    await client.connect(transport, { timeout: 15_000 });
    const initialized = now();
    const { tools } = await client.request({ method: "tools/list" }, ListToolsResultSchema, {
      timeout: 15_000,
    });
    const answered = now();
    await client.listTools(undefined, { timeout: 15_000 });
    const listed = now();
    if (tools.length === 0) throw new Error("tools/list was empty");
    return {
      initializeMs: initialized - started,
      toolsListMs: answered - started,
      listToolsMs: listed - answered,
      peakRssMB: peakRssMB(transport.pid),
    };
  } catch (error) {
    throw new Error(`${command.join(" ")}: ${error.message}\n${stderr.text}`);
  } finally {
    await closeQuietly(client, transport);
  }
}

async function coldStarts(cli, env, cwd, counts, baselineCli) {
  const servers = { server: [cli], minimal: [MINIMAL], ...(baselineCli ? { baseline: [baselineCli] } : {}) };
  const names = Object.keys(servers);
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  // One unmeasured start each, so all find the files in the page cache.
  for (const command of Object.values(servers)) await coldStart(command, env, cwd);
  for (let i = 0; i < counts.spawns; i++) {
    // The order rotates, so that no server always starts right after another.
    const order = names.map((_, k) => names[(i + k) % names.length]);
    for (const name of order) runs[name].push(await coldStart(servers[name], env, cwd));
  }
  const digest = (list) => ({
    initializeMs: median(list.map((run) => run.initializeMs)),
    toolsListMs: median(list.map((run) => run.toolsListMs)),
    listToolsMs: median(list.map((run) => run.listToolsMs)),
    peakRssMB: median(list.map((run) => run.peakRssMB)),
  });
  return Object.fromEntries(names.map((name) => [name, digest(runs[name])]));
}

/**
 * 7. Where an upstream request's CPU goes, layer by layer, in this process (no pipe, no MCP): node:http
 * alone; the fetch ky uses, given the Request ky builds; ky over that fetch; the Session (ky plus the
 * rules every platform shares: credentials, retry rule, base path, deadline, interpretation). The
 * differences say what each layer costs per request. The emulator's side is in every figure alike.
 */
async function layers(np, counts) {
  const [{ default: ky }, httpModule, sessionModule, netprofiler, services, safety, logging] =
    await Promise.all([
      import("ky"),
      import("../dist/auth/transport.js"),
      import("../dist/auth/session.js"),
      import("../dist/platforms/netprofiler/login.js"),
      import("../dist/platforms/netprofiler/profile.js"),
      import("../dist/safety/redact.js"),
      import("../dist/log.js"),
    ]);
  const { username, password } = (await import("../dist/platforms/netprofiler/emulator.js"))
    .NETPROFILER_SANDBOX;
  const url = `${np.url}${STATUS_PATH}`;
  const headers = {
    accept: "application/json",
    authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
  };
  const agent = new http.Agent({ keepAlive: true });
  const nodeHttp = () =>
    new Promise((resolve, reject) => {
      const request = http.request(url, { agent, headers }, (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
      });
      request.on("error", reject);
      request.end();
    });
  const fetcher = httpModule.createHttpFetch({ insecure: false }, 4 * 1024 * 1024);
  const signal = new AbortController().signal;
  const viaFetch = async () => httpModule.readBody(await fetcher(new Request(url, { headers, signal })));
  const client = ky.create({ fetch: fetcher, timeout: false, throwHttpErrors: true, headers });
  const viaKy = async () => httpModule.readBody(await client(url, { signal, retry: { limit: 2 } }));
  const redactor = new safety.Redactor();
  const session = new sessionModule.Session({
    baseUrl: np.url,
    profile: services.netprofilerProfile,
    strategy: netprofiler.createBasicAuth(username, password),
    tls: { insecure: false },
    timeoutMs: 30_000,
    maxResponseBytes: 4 * 1024 * 1024,
    readOnly: false,
    redactor,
    logger: logging.createLogger("warn", redactor, [], () => undefined),
    settingsPrefix: "NETPROFILER",
  });
  const viaSession = () =>
    session.request({ method: "GET", path: STATUS_PATH }, { signal, deadline: Date.now() + 30_000 });
  const ways = { http: nodeHttp, fetch: viaFetch, ky: viaKy, session: viaSession };
  const cpu = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  for (const way of Object.values(ways)) for (let i = 0; i < counts.warmup; i++) await way();
  for (let r = 0; r < counts.rounds; r++) {
    for (const [name, way] of Object.entries(ways)) {
      const before = process.cpuUsage();
      for (let i = 0; i < counts["per-round"]; i++) await way();
      const used = process.cpuUsage(before);
      cpu[name].push((used.user + used.system) / counts["per-round"]);
    }
    np.requests.length = 0;
  }
  agent.destroy();
  return Object.fromEntries(Object.entries(cpu).map(([name, samples]) => [name, median(samples)]));
}

// ------------------------------------------------------------------------- policy and audit, per call

/**
 * A policy as an operator might write one: TOOLS.md's example and a few more, none of which matches the
 * measured calls, so that every rule is tried on each (the dearest case short of a match).
 */
const BENCH_POLICY = {
  rules: [
    { id: "no-ovc-deletes", effect: "deny", tools: ["ovc_delete_*"], reason: "change control" },
    {
      id: "protect-core-servers",
      effect: "deny",
      services: ["dci"],
      methods: ["POST"],
      paths: ["/api/dci/v3/server/1/*", "/api/dci/v3/server/2/*"],
    },
    { id: "syncs-are-routine", effect: "allow", tools: ["netprofiler_sync_aws_accounts"] },
    { id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] },
    { id: "no-squonk-deletes-remote", effect: "deny", principals: ["http"], methods: ["DELETE"] },
    {
      id: "keep-accounts",
      effect: "deny",
      paths: ["/api/npm.aws_config/1.0/auth_codes"],
      methods: ["DELETE"],
    },
    { id: "images-confirm", effect: "confirm", tools: ["ovc_create_image"] },
    { id: "no-remote-keys", effect: "deny", tools: ["dci_create_login_key"], principals: ["http"] },
  ],
};

/**
 * 9. What the operator's policy and the audit trail cost per call: four servers of the same build, with
 * neither, with a policy of eight rules none of which matches, with an audit trail of every call
 * (INFRA_MCP_AUDIT=all: one record per read, two per change, each flushed with fdatasync), and with both.
 * Reads (netprofiler_get_aws_status): p50 sequentially and server CPU per call at 16 in flight. Writes
 * (netprofiler_set_aws_sync, which needs no confirmation): p50 sequentially. Every trail must verify after.
 */
async function oversightSection({ cli, nodeArgs, env, cwd, counts, log }) {
  const { verifyTrail } = await import("../dist/safety/audit.js");
  const dir = mkdtempSync(join(tmpdir(), "infra-mcp-bench-oversight-"));
  temporary.add(dir);
  const policyPath = join(dir, "policy.json");
  writeFileSync(policyPath, JSON.stringify(BENCH_POLICY));
  const trails = { audit: join(dir, "audit.jsonl"), both: join(dir, "both.jsonl") };
  const variants = {
    plain: {},
    policy: { INFRA_MCP_POLICY: policyPath },
    audit: { INFRA_MCP_AUDIT_FILE: trails.audit, INFRA_MCP_AUDIT: "all" },
    both: { INFRA_MCP_POLICY: policyPath, INFRA_MCP_AUDIT_FILE: trails.both, INFRA_MCP_AUDIT: "all" },
  };
  const servers = {};
  try {
    for (const [name, extra] of Object.entries(variants)) {
      const server = spawnClient([...nodeArgs, cli], [], { ...env, ...extra }, cwd);
      servers[name] = server;
      await server.client.connect(server.transport, { timeout: 15_000 });
    }
    const names = Object.keys(servers);
    const reads = Object.fromEntries(
      names.map((name) => [name, () => callTool(servers[name].client, STATUS_TOOL)]),
    );
    log(
      `policy and audit: reads (${counts.rounds} rounds x ${counts["per-round"]} calls per server, then ${counts["throughput-rounds"]} x ${counts["throughput-calls"]} at ${counts["in-flight"]} in flight)`,
    );
    const readLatency = await perCall(reads, counts);
    const readRate = await throughput(
      reads,
      counts,
      Object.fromEntries(names.map((name) => [name, () => cpuMs(servers[name].transport.pid)])),
    );
    const writes = Object.fromEntries(
      names.map((name) => {
        let enabled = false;
        return [
          name,
          () => {
            enabled = !enabled;
            return callTool(servers[name].client, "netprofiler_set_aws_sync", {
              status: enabled ? "ENABLED" : "DISABLED",
            });
          },
        ];
      }),
    );
    log(
      `policy and audit: writes (${counts["oversight-write-rounds"]} rounds x ${counts["oversight-write-calls"]} calls per server)`,
    );
    const writeLatency = await perCall(writes, {
      warmup: Math.min(20, counts.warmup),
      rounds: counts["oversight-write-rounds"],
      "per-round": counts["oversight-write-calls"],
    });
    for (const server of Object.values(servers)) await closeQuietly(server.client, server.transport);
    // The trails must hold: every line parses, the chain is whole, one record per read and two per write.
    const records = {};
    for (const [name, path] of Object.entries(trails)) {
      const report = verifyTrail(readFileSync(path, "utf8"));
      if (report.problems.length > 0)
        throw new Error(`the ${name} trail does not verify: ${JSON.stringify(report.problems[0])}`);
      records[name] = report.records;
    }
    const figure = (of, key) => Object.fromEntries(names.map((name) => [name, of[name][key]]));
    const readP50 = figure(readLatency, "p50");
    const readCpu = figure(readRate, "serverCpuUsPerCall");
    const writeP50 = figure(writeLatency, "p50");
    const vsPlain = (values) => Object.fromEntries(names.map((name) => [name, values[name] / values.plain]));
    return {
      rules: BENCH_POLICY.rules.length,
      readP50Ms: readP50,
      readP50VsPlain: vsPlain(readP50),
      readCpuUsPerCall: readCpu,
      readCpuVsPlain: vsPlain(readCpu),
      readPerS: figure(readRate, "perS"),
      writeP50Ms: writeP50,
      writeP50VsPlain: vsPlain(writeP50),
      auditRecords: records,
    };
  } catch (error) {
    for (const server of Object.values(servers))
      if (server.stderr.text) error.message += `\n${server.stderr.text}`;
    throw error;
  } finally {
    for (const server of Object.values(servers)) await closeQuietly(server.client, server.transport);
  }
}

function oversightRows(o) {
  const four = (values, unit = "") =>
    ["plain", "policy", "audit", "both"].map((name) => fmt(values[name], unit)).join(" / ");
  return [
    ["read p50 (ms): neither / policy / audit / both", four(o.readP50Ms), "", ""],
    ["  vs neither", four(o.readP50VsPlain, "x"), "", ""],
    ["read server CPU per call at 16 in flight (us)", four(o.readCpuUsPerCall), "", ""],
    ["  vs neither", four(o.readCpuVsPlain, "x"), "", ""],
    ["write p50 (ms): neither / policy / audit / both", four(o.writeP50Ms), "", ""],
    ["  vs neither", four(o.writeP50VsPlain, "x"), "", ""],
    [
      "records written (audit / both), every trail verified",
      `${o.auditRecords.audit} / ${o.auditRecords.both}`,
      "",
      "",
    ],
  ];
}

// ------------------------------------------------------------------------------- replicas behind nginx

/**
 * 8. `--http` replicas behind nginx (issue 12): calls/s with `in-flight` calls through nginx to one
 * replica and to three, beside the same calls straight to one replica, and how many failed. On two cores
 * three replicas cannot be faster than one (the cores are shared by the replicas, nginx and this
 * process); the figure shows that nothing breaks and what the balancer costs. Serving CPU per call is
 * the replicas' (and nginx's worker's, through nginx). Skipped, with a note, where nginx is missing.
 */
async function replicasSection({ cli, env, cwd, counts, log, baselineCli }) {
  const missing = missingServers().filter((name) => name === "nginx");
  if (missing.length > 0) {
    const note = "skipped: nginx is not installed (apt-get install nginx)";
    log(`replicas behind nginx: ${note}`);
    return { skipped: note };
  }
  log(
    `replicas behind nginx (${counts["in-flight"]} in flight, ${counts["throughput-rounds"]} rounds x ${counts["throughput-calls"]} calls per way)`,
  );
  const token = "bench-http-token-0123456789abcdef";
  const replicaEnv = {
    ...env,
    INFRA_MCP_HTTP_TOKEN: token,
    INFRA_MCP_CONFIRM_KEY: "bench-confirm-key-0123456789abcdef-0123",
  };
  const stops = [];
  const clients = [];
  try {
    // Each replica on its own loopback address, as on its own host (a loopback name would check Host).
    const replicas = [];
    for (const n of [2, 3, 4]) {
      const replica = await startReplica({ cli, env: replicaEnv, host: `127.0.0.${n}`, cwd });
      track({ pid: replica.pid, close: () => replica.stop() });
      stops.push(() => replica.stop());
      replicas.push(replica);
    }
    const nginx = await startNginx({
      dir: cwd,
      sites: [
        { port: await freePort(), upstreams: [replicas[0].address] },
        { port: await freePort(), upstreams: replicas.map((r) => r.address) },
      ],
    });
    track({ pid: nginx.pid, close: () => nginx.stop() });
    stops.push(() => nginx.stop());
    // The baseline build as one more replica, called directly: the same calls, the previous server.
    const before = baselineCli
      ? await startReplica({ cli: baselineCli, env: replicaEnv, host: "127.0.0.5", cwd })
      : undefined;
    if (before) {
      track({ pid: before.pid, close: () => before.stop() });
      stops.push(() => before.stop());
    }

    const connect = async (url) => {
      const client = new Client({ name: "infra-mcp-bench", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(client);
      return client;
    };
    // The same replica for a 2026-07-28 client: the SDK's v2 client, pinned to that revision.
    const connectModern = async (url) => {
      const client = new ModernClient(
        { name: "infra-mcp-bench", version: "1.0.0" },
        { versionNegotiation: { mode: { pin: "2026-07-28" } } },
      );
      await client.connect(
        new ModernHttpTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(client);
      return client;
    };
    const targets = {
      direct: [replicas[0].url, connect],
      direct2026: [replicas[0].url, connectModern],
      nginx1: [nginx.urls[0], connect],
      nginx3: [nginx.urls[1], connect],
      ...(before ? { baseline: [before.url, connect] } : {}),
    };
    const failed = Object.fromEntries(Object.keys(targets).map((name) => [name, 0]));
    const ways = {};
    for (const [name, [url, open]] of Object.entries(targets)) {
      const client = await open(url);
      ways[name] = () =>
        callTool(client, STATUS_TOOL).catch(() => {
          failed[name] += 1;
        });
    }
    const worker = nginxWorkerPid(nginx.pid);
    const replicaCpu = (list) => () => list.reduce((sum, r) => sum + cpuMs(r.pid), 0);
    const withNginx = (list) => () => replicaCpu(list)() + cpuMs(worker);
    const rate = await throughput(ways, counts, {
      direct: replicaCpu([replicas[0]]),
      direct2026: replicaCpu([replicas[0]]),
      nginx1: withNginx([replicas[0]]),
      nginx3: withNginx(replicas),
      ...(before ? { baseline: replicaCpu([before]) } : {}),
    });
    const calls = counts["throughput-rounds"] * counts["throughput-calls"] + counts["in-flight"];
    return {
      inFlight: counts["in-flight"],
      callsPerWay: calls,
      directPerS: round(rate.direct.perS),
      nginx1PerS: round(rate.nginx1.perS),
      nginx3PerS: round(rate.nginx3.perS),
      nginx1VsDirect: round(rate.nginx1.perS / rate.direct.perS),
      nginx3VsNginx1: round(rate.nginx3.perS / rate.nginx1.perS),
      direct2026PerS: round(rate.direct2026.perS),
      direct2026VsDirect: round(rate.direct2026.perS / rate.direct.perS),
      ...(before
        ? {
            baselinePerS: round(rate.baseline.perS),
            directVsBaseline: round(rate.direct.perS / rate.baseline.perS),
          }
        : {}),
      servingCpuUsPerCall: Object.fromEntries(
        Object.keys(targets).map((name) => [name, round(rate[name].serverCpuUsPerCall)]),
      ),
      failedCalls: Object.values(failed).reduce((sum, n) => sum + n, 0),
      failedByWay: failed,
    };
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const stop of stops.reverse()) await stop();
  }
}

/** The pid of nginx's (single) worker, the process that proxies; NaN where /proc does not say. */
function nginxWorkerPid(masterPid) {
  try {
    const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, "utf8").trim();
    return Number(children.split(/\s+/)[0]);
  } catch {
    return Number.NaN;
  }
}

function replicasRows(figures) {
  if (figures.skipped) return [["replicas behind nginx", figures.skipped, "", ""]];
  const cpu = figures.servingCpuUsPerCall;
  return [
    [
      `calls/s at ${figures.inFlight} in flight: direct to 1 replica / nginx to 1 / nginx to 3`,
      `${fmt(figures.directPerS)} / ${fmt(figures.nginx1PerS)} / ${fmt(figures.nginx3PerS)}`,
      "",
      "",
    ],
    [
      "  nginx to 1 vs direct; nginx to 3 vs nginx to 1",
      `${fmt(figures.nginx1VsDirect, "x")}; ${fmt(figures.nginx3VsNginx1, "x")}`,
      "",
      "",
    ],
    [
      "  serving CPU per call (us): direct / nginx to 1 / nginx to 3",
      `${fmt(cpu.direct)} / ${fmt(cpu.nginx1)} / ${fmt(cpu.nginx3)}`,
      "",
      "",
    ],
    [
      "direct to 1 replica, a 2026-07-28 client: calls/s (vs 2025-era); CPU per call (us)",
      `${fmt(figures.direct2026PerS)} (${fmt(figures.direct2026VsDirect, "x")}); ${fmt(cpu.direct2026)}`,
      "",
      "",
    ],
    ...(figures.baselinePerS === undefined
      ? []
      : [
          [
            "direct to 1 replica, now / baseline: calls/s; CPU per call (us)",
            `${fmt(figures.directPerS)} / ${fmt(figures.baselinePerS)} (${fmt(figures.directVsBaseline, "x")}); ${fmt(cpu.direct)} / ${fmt(cpu.baseline)}`,
            "",
            "",
          ],
        ]),
    [
      `failed calls (of ${figures.callsPerWay} per way)`,
      String(figures.failedCalls),
      "== 0",
      figures.failedCalls === 0 ? "pass" : "MISS",
    ],
  ];
}

// ---------------------------------------------------------------------------------------------- report

/** The baseline build beside the measured one: its figures, and the measured one's as ratios of them. */
function baselineFigures(latency, rate, cold, floodPeakMB, baselineFloodPeakMB) {
  return {
    baselinePerCallP50Ms: latency.baseline.p50,
    baselinePerCallP90Ms: latency.baseline.p90,
    perCallP50VsBaseline: latency.tool.p50 / latency.baseline.p50,
    baselineThroughputPerS: rate.baseline.perS,
    throughputVsBaseline: rate.tool.perS / rate.baseline.perS,
    baselineServerCpuUsPerCall: rate.baseline.serverCpuUsPerCall,
    serverCpuVsBaseline: rate.tool.serverCpuUsPerCall / rate.baseline.serverCpuUsPerCall,
    baselineColdToolsListMs: cold.baseline.toolsListMs,
    coldToolsListVsBaseline: cold.server.toolsListMs / cold.baseline.toolsListMs,
    baselineFloodPeakRssMB: baselineFloodPeakMB,
    floodPeakRssVsBaseline: floodPeakMB / baselineFloodPeakMB,
  };
}

function baselineRows(f, name) {
  const rows = [
    ["per call p50 (ms)", f.perCallToolP50Ms, f.baselinePerCallP50Ms, f.perCallP50VsBaseline],
    ["calls/s at 16 in flight", f.throughputToolPerS, f.baselineThroughputPerS, f.throughputVsBaseline],
    ["server CPU per call (us)", f.serverCpuUsPerCall, f.baselineServerCpuUsPerCall, f.serverCpuVsBaseline],
    [
      "cold start to tools/list answer (ms)",
      f.coldToolsListMs,
      f.baselineColdToolsListMs,
      f.coldToolsListVsBaseline,
    ],
    ["peak RSS under the flood (MB)", f.floodPeakRssMB, f.baselineFloodPeakRssMB, f.floodPeakRssVsBaseline],
  ];
  return [
    [`now / baseline (${name}), same run`, "", "", ""],
    ...rows.map(([label, now, then, ratio]) => [
      `  ${label}`,
      `${fmt(now)} / ${fmt(then)} (${fmt(ratio, "x")})`,
      "",
      "",
    ]),
  ];
}

function verdict(target, value) {
  if (!Number.isFinite(value)) return false;
  if (target.better === "lower") return value <= target.limit;
  if (target.better === "higher") return value >= target.limit;
  return value === target.limit;
}

function targetText(target) {
  const op = target.better === "lower" ? "<=" : target.better === "higher" ? ">=" : "==";
  const limit = target.unit === "x" ? target.limit.toFixed(1) : String(target.limit);
  const unit = target.unit === "x" ? "x" : target.unit ? ` ${target.unit}` : "";
  return `${op} ${limit}${unit}`;
}

function fmt(value, unit = "") {
  if (!Number.isFinite(value)) return String(value);
  const text =
    Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
  return `${text}${unit === "x" ? "x" : unit ? ` ${unit}` : ""}`;
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => `| ${row.map((cell, c) => String(cell).padEnd(widths[c])).join(" | ")} |`;
  return [
    line(rows[0]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

// ------------------------------------------------------------------------------------------------ main

async function main() {
  const { mode, counts, out, nodeArgs, cli, baselineRev, baseline: givenBaseline } = options();
  let baseline = givenBaseline;
  const began = now();
  const deadline = setTimeout(() => {
    console.error(`bench: over the ${counts["deadline-s"]} s deadline; stopping every process it started.`);
    killAll();
    process.exit(1);
  }, counts["deadline-s"] * 1000);
  deadline.unref();

  let startSandbox;
  let PLATFORMS;
  try {
    ({ startSandbox } = await import("../dist/sandbox/index.js"));
    ({ PLATFORMS } = await import("../dist/platforms/index.js"));
  } catch (error) {
    throw new Error(`dist/ is missing or stale (${error.message}); run \`npm run build\` first.`);
  }

  const cwd = mkdtempSync(join(tmpdir(), "infra-mcp-bench-")); // no stray .env can reach the servers
  temporary.add(cwd);
  const sandbox = await startSandbox(PLATFORMS);
  const np = sandbox.emulators.get("netprofiler");
  const env = { ...sandbox.env, INFRA_MCP_LOG_LEVEL: "warn" };
  const log = (message) => console.error(`bench: ${message}`);
  const started = [];
  try {
    // --- the measured server: one long-lived process, as a client keeps it; and the minimal server, whose
    // echo tool is the floor: what any MCP tool call over stdio costs before the tool does anything.
    const main = spawnClient([...nodeArgs, cli], [], env, cwd);
    started.push(main);
    await main.client.connect(main.transport, { timeout: 15_000 });
    const floor = spawnClient([MINIMAL], [], env, cwd);
    started.push(floor);
    await floor.client.connect(floor.transport, { timeout: 15_000 });
    const pid = main.transport.pid;
    // Raw bytes on the server's stdout, to weigh the tools/list answer as it crosses the pipe.
    let wire = 0;
    main.transport._process?.stdout?.on("data", (chunk) => {
      wire += chunk.length;
    });
    const wireBefore = wire;
    const { tools } = await main.client.listTools(undefined, { timeout: 15_000 });
    const toolsListWireBytes = wire - wireBefore;
    await floor.client.listTools(undefined, { timeout: 15_000 });
    const rssAfterStartMB = rssMB(pid);
    // The baseline build, when one is given: a long-lived process too, measured the same way.
    if (baselineRev) {
      log(`building ${baselineRev} for the baseline`);
      baseline = { cli: buildRevision(baselineRev), rev: baselineRev };
    }
    const baselineServer = baseline ? spawnClient([baseline.cli], [], env, cwd) : undefined;
    if (baselineServer) {
      started.push(baselineServer);
      await baselineServer.client.connect(baselineServer.transport, { timeout: 15_000 });
      await baselineServer.client.listTools(undefined, { timeout: 15_000 });
    }

    const token = await obtainToken(np.url, np.accessCode);
    // The headers the server's session sends (ky: accept; the OAuth strategy: authorization).
    const headers = { accept: "application/json", authorization: `Bearer ${token}` };
    const direct = directClients(np.url, headers);
    const ways = {
      tool: () => callTool(main.client, STATUS_TOOL),
      fetch: () => direct.fetch(),
      http: () => direct.http(),
      floor: () => callTool(floor.client, "echo", { text: "x" }),
      ...(baselineServer ? { baseline: () => callTool(baselineServer.client, STATUS_TOOL) } : {}),
    };
    // Sanity: the tool and the direct request read the same thing.
    const viaTool = (await ways.tool()).structuredContent;
    const viaFetch = (await ways.fetch()).body;
    if (JSON.stringify(Object.keys(viaTool).sort()) !== JSON.stringify(Object.keys(viaFetch).sort())) {
      throw new Error(`the tool and the direct request disagree: ${JSON.stringify({ viaTool, viaFetch })}`);
    }

    log(
      `per-call latency (${counts.rounds} rounds x ${counts["per-round"]} calls per way, after ${counts.warmup} warm-up calls)`,
    );
    const latency = await perCall(ways, counts);
    const hwmAfterSequentialMB = peakRssMB(pid);
    np.requests.length = 0; // the emulator's request log: bounded memory in long runs
    log(
      `throughput (${counts["in-flight"]} in flight, ${counts["throughput-rounds"]} rounds x ${counts["throughput-calls"]} calls per way)`,
    );
    const rate = await throughput(ways, counts, {
      tool: () => cpuMs(pid),
      floor: () => cpuMs(floor.transport.pid),
      ...(baselineServer ? { baseline: () => cpuMs(baselineServer.transport.pid) } : {}),
    });
    np.requests.length = 0;
    // Both processes have now run the same phases (warm-up, sequential, flood): their peaks compare.
    const floodPeakMB = peakRssMB(pid);
    const floorFloodPeakMB = peakRssMB(floor.transport.pid);
    const baselineFloodPeakMB = baselineServer ? peakRssMB(baselineServer.transport.pid) : undefined;
    await closeQuietly(floor.client, floor.transport);
    if (baselineServer) await closeQuietly(baselineServer.client, baselineServer.transport);

    // --- 6. result economy: a list of exactly `list-items` accounts, through the tool and directly.
    const missing = counts["list-items"] - np.accountIds().length;
    np.seedAccounts(
      Array.from({ length: Math.max(0, missing) }, (_, i) => ({
        acc_id: `bench-${String(i).padStart(4, "0")}`,
        access_key: `AKIABENCH${String(i).padStart(11, "0")}`,
        secret_key: `bench-secret-${i}`,
      })),
    );
    const upstream = await direct.fetch(LIST_PATH);
    const listResult = await callTool(main.client, LIST_TOOL);
    const resultText = listResult.content.map((part) => part.text ?? "").join("");
    const results = {
      items: Array.isArray(upstream.body) ? upstream.body.length : Number.NaN,
      resultItems: listResult.structuredContent?.items?.length ?? Number.NaN,
      resultTextBytes: Buffer.byteLength(resultText),
      upstreamBodyBytes: Buffer.byteLength(upstream.text),
      resultMessageBytes: Buffer.byteLength(JSON.stringify(listResult)),
    };
    direct.agent.destroy();

    // --- 5. login economy: every token expires, then `concurrent` calls at once.
    log(`login economy (${counts.concurrent} concurrent calls right after the tokens expired)`);
    np.expireCredentials();
    const loginsBefore = np.logins;
    const settled = await Promise.allSettled(
      Array.from({ length: counts.concurrent }, () => callTool(main.client, STATUS_TOOL)),
    );
    const logins = {
      concurrent: counts.concurrent,
      logins: np.logins - loginsBefore,
      failedCalls: settled.filter((s) => s.status === "rejected").length,
    };

    // --- 4. footprint of the measured server, after everything above.
    const perTool = tools
      .map((tool) => ({ name: tool.name, bytes: Buffer.byteLength(JSON.stringify(tool)) }))
      .sort((a, b) => b.bytes - a.bytes);
    const toolsListBytes = Buffer.byteLength(JSON.stringify({ tools }));
    const footprint = {
      tools: tools.length,
      toolsListBytes,
      toolsListWireBytes,
      bytesPerTool: toolsListBytes / tools.length,
      largest: perTool.slice(0, 3),
      rssAfterStartMB,
      hwmAfterSequentialMB,
      peakRssMB: peakRssMB(pid),
      floodPeakMB,
      floorFloodPeakMB,
    };
    await closeQuietly(main.client, main.transport);

    // --- 7. the layers of one upstream request, in this process.
    log("cost per upstream request by layer (in this process)");
    const layer = await layers(np, counts);

    // --- 3. cold start, with every implemented service configured.
    log(`cold start (${counts.spawns} spawns each, alternating, after one unmeasured start each)`);
    const cold = await coldStarts(cli, env, cwd, counts, baseline?.cli);

    // --- 8. replicas behind nginx: a section of its own, reported apart from the figures above.
    const replicas = await replicasSection({ cli, env, cwd, counts, log, baselineCli: baseline?.cli });

    // --- 9. the operator's policy and the audit trail: a section of its own.
    const oversight = await oversightSection({ cli, nodeArgs, env, cwd, counts, log });

    const figures = {
      perCallToolP50Ms: latency.tool.p50,
      perCallToolP90Ms: latency.tool.p90,
      perCallToolP99Ms: latency.tool.p99,
      perCallFetchP50Ms: latency.fetch.p50,
      perCallFetchP90Ms: latency.fetch.p90,
      perCallFetchP99Ms: latency.fetch.p99,
      perCallHttpP50Ms: latency.http.p50,
      perCallHttpP90Ms: latency.http.p90,
      perCallHttpP99Ms: latency.http.p99,
      perCallFloorP50Ms: latency.floor.p50,
      perCallFloorP90Ms: latency.floor.p90,
      perCallFloorP99Ms: latency.floor.p99,
      perCallToolP50Ratio: latency.tool.p50 / latency.fetch.p50,
      perCallToolP90Ratio: latency.tool.p90 / latency.fetch.p90,
      perCallToolP99Ratio: latency.tool.p99 / latency.fetch.p99,
      perCallHttpP50Ratio: latency.http.p50 / latency.fetch.p50,
      perCallFloorP50Ratio: latency.floor.p50 / latency.fetch.p50,
      throughputToolPerS: rate.tool.perS,
      throughputFetchPerS: rate.fetch.perS,
      throughputHttpPerS: rate.http.perS,
      throughputFloorPerS: rate.floor.perS,
      throughputToolRatio: rate.tool.perS / rate.fetch.perS,
      throughputHttpRatio: rate.http.perS / rate.fetch.perS,
      throughputFloorRatio: rate.floor.perS / rate.fetch.perS,
      serverCpuUsPerCall: rate.tool.serverCpuUsPerCall,
      floorServerCpuUsPerCall: rate.floor.serverCpuUsPerCall,
      serverCpuRatio: rate.tool.serverCpuUsPerCall / rate.floor.serverCpuUsPerCall,
      benchCpuUsPerToolCall: rate.tool.benchCpuUsPerCall,
      benchCpuUsPerFetchCall: rate.fetch.benchCpuUsPerCall,
      benchCpuUsPerHttpCall: rate.http.benchCpuUsPerCall,
      coldInitializeMs: cold.server.initializeMs,
      coldToolsListMs: cold.server.toolsListMs,
      coldListToolsClientMs: cold.server.listToolsMs,
      minimalInitializeMs: cold.minimal.initializeMs,
      minimalToolsListMs: cold.minimal.toolsListMs,
      minimalListToolsClientMs: cold.minimal.listToolsMs,
      coldInitializeRatio: cold.server.initializeMs / cold.minimal.initializeMs,
      coldToolsListRatio: cold.server.toolsListMs / cold.minimal.toolsListMs,
      tools: footprint.tools,
      toolsListBytes: footprint.toolsListBytes,
      toolsListWireBytes: footprint.toolsListWireBytes,
      bytesPerTool: footprint.bytesPerTool,
      largestToolBytes: footprint.largest[0]?.bytes ?? Number.NaN,
      rssAfterStartMB: footprint.rssAfterStartMB,
      peakRssAfterSequentialMB: footprint.hwmAfterSequentialMB,
      peakRssMB: footprint.peakRssMB,
      floodPeakRssMB: footprint.floodPeakMB,
      floorFloodPeakRssMB: footprint.floorFloodPeakMB,
      floodPeakRssRatio: footprint.floodPeakMB / footprint.floorFloodPeakMB,
      coldPeakRssMB: cold.server.peakRssMB,
      minimalPeakRssMB: cold.minimal.peakRssMB,
      concurrentCalls: logins.concurrent,
      loginsAfterExpiry: logins.logins,
      failedCallsAfterExpiry: logins.failedCalls,
      listItems: results.items,
      resultTextBytes: results.resultTextBytes,
      upstreamBodyBytes: results.upstreamBodyBytes,
      resultTextRatio: results.resultTextBytes / results.upstreamBodyBytes,
      resultMessageBytes: results.resultMessageBytes,
      layerHttpCpuUs: layer.http,
      layerFetchCpuUs: layer.fetch,
      layerKyCpuUs: layer.ky,
      layerSessionCpuUs: layer.session,
      kyOwnCpuUs: layer.ky - layer.fetch,
      requestObjectsCpuUs: layer.fetch - layer.http,
      sessionRulesCpuUs: layer.session - layer.ky,
      ...(baselineServer
        ? baselineFigures(latency, rate, cold, footprint.floodPeakMB, baselineFloodPeakMB)
        : {}),
    };
    const targetValues = {
      perCallP50: figures.perCallToolP50Ratio,
      throughput: figures.throughputToolRatio,
      serverCpu: figures.serverCpuRatio,
      coldStart: figures.coldToolsListRatio,
      peakRss: figures.floodPeakRssRatio,
      bytesPerTool: figures.bytesPerTool,
      logins: figures.loginsAfterExpiry,
      resultBytes: figures.resultTextRatio,
    };
    const checks = Object.entries(targetValues).map(([id, value]) => {
      const target = TARGETS[id];
      return {
        id,
        label: target.label,
        value: round(value),
        target: targetText(target),
        pass: verdict(target, value),
      };
    });
    const pass = Object.fromEntries(checks.map((check) => [check.id, check.pass ? "pass" : "MISS"]));

    const machine = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      nproc: cpus().length,
      cpu: cpus()[0]?.model ?? "unknown",
    };
    const report = {
      mode,
      machine,
      server: cli === CLI ? "dist/cli.js" : cli,
      ...(baseline ? { baseline: baseline.rev ?? baseline.cli } : {}),
      counts,
      durationS: round((now() - began) / 1000, 1),
      figures: Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, round(v)])),
      targets: checks,
      detail: { latency, throughput: rate, coldStart: cold, footprint, logins, results },
      replicas,
      oversight,
    };

    const trio = (a, b, c, d) => [a, b, c, d].map((v) => fmt(v)).join(" / ");
    const f = figures;
    const rows = [
      ["figure", "measured", "target", "result"],
      [
        "per call p50 (ms): tool / fetch / http / floor",
        trio(f.perCallToolP50Ms, f.perCallFetchP50Ms, f.perCallHttpP50Ms, f.perCallFloorP50Ms),
        "",
        "",
      ],
      [
        "per call p90 (ms): tool / fetch / http / floor",
        trio(f.perCallToolP90Ms, f.perCallFetchP90Ms, f.perCallHttpP90Ms, f.perCallFloorP90Ms),
        "",
        "",
      ],
      [
        "per call p99 (ms): tool / fetch / http / floor",
        trio(f.perCallToolP99Ms, f.perCallFetchP99Ms, f.perCallHttpP99Ms, f.perCallFloorP99Ms),
        "",
        "",
      ],
      [
        "per call p50, tool vs direct fetch",
        fmt(f.perCallToolP50Ratio, "x"),
        targetText(TARGETS.perCallP50),
        pass.perCallP50,
      ],
      [
        "  (p90 / p99 tool vs fetch)",
        `${fmt(f.perCallToolP90Ratio, "x")} / ${fmt(f.perCallToolP99Ratio, "x")}`,
        "",
        "",
      ],
      [
        "  (p50 http vs fetch; floor vs fetch)",
        `${fmt(f.perCallHttpP50Ratio, "x")}; ${fmt(f.perCallFloorP50Ratio, "x")}`,
        "",
        "",
      ],
      [
        `calls/s at ${counts["in-flight"]} in flight: tool / fetch / http / floor`,
        trio(f.throughputToolPerS, f.throughputFetchPerS, f.throughputHttpPerS, f.throughputFloorPerS),
        "",
        "",
      ],
      [
        "throughput, tool vs direct fetch",
        fmt(f.throughputToolRatio, "x"),
        targetText(TARGETS.throughput),
        pass.throughput,
      ],
      [
        "  (http vs fetch; floor vs fetch)",
        `${fmt(f.throughputHttpRatio, "x")}; ${fmt(f.throughputFloorRatio, "x")}`,
        "",
        "",
      ],
      [
        "  CPU per call (us): server / floor server",
        `${fmt(f.serverCpuUsPerCall)} / ${fmt(f.floorServerCpuUsPerCall)}`,
        "",
        "",
      ],
      [
        "server CPU per call vs the minimal SDK server",
        fmt(f.serverCpuRatio, "x"),
        targetText(TARGETS.serverCpu),
        pass.serverCpu,
      ],
      [
        "  CPU per call in the bench process (us): tool / fetch / http",
        `${fmt(f.benchCpuUsPerToolCall)} / ${fmt(f.benchCpuUsPerFetchCall)} / ${fmt(f.benchCpuUsPerHttpCall)}`,
        "",
        "",
      ],
      [
        "cold start to initialize (ms): server / minimal",
        `${fmt(f.coldInitializeMs)} / ${fmt(f.minimalInitializeMs)} (${fmt(f.coldInitializeRatio, "x")})`,
        "",
        "",
      ],
      [
        "cold start to tools/list answer (ms): server / minimal",
        `${fmt(f.coldToolsListMs)} / ${fmt(f.minimalToolsListMs)}`,
        "",
        "",
      ],
      [
        "cold start to tools/list, server vs minimal",
        fmt(f.coldToolsListRatio, "x"),
        targetText(TARGETS.coldStart),
        pass.coldStart,
      ],
      [
        "  (client's listTools() after the answer, ms: server / minimal)",
        `${fmt(f.coldListToolsClientMs)} / ${fmt(f.minimalListToolsClientMs)}`,
        "",
        "",
      ],
      [
        "peak RSS after the flood (VmHWM): server / minimal SDK server",
        `${fmt(f.floodPeakRssMB, "MB")} / ${fmt(f.floorFloodPeakRssMB, "MB")}`,
        "",
        "",
      ],
      [
        "peak RSS under the flood, server vs minimal SDK server",
        fmt(f.floodPeakRssRatio, "x"),
        targetText(TARGETS.peakRss),
        pass.peakRss,
      ],
      ["  (peak RSS of the server after all phases)", fmt(f.peakRssMB, "MB"), "", ""],
      [
        "  (RSS after start; peak after sequential calls)",
        `${fmt(f.rssAfterStartMB, "MB")}; ${fmt(f.peakRssAfterSequentialMB, "MB")}`,
        "",
        "",
      ],
      [
        "  (peak RSS at cold start: server / minimal)",
        `${fmt(f.coldPeakRssMB, "MB")} / ${fmt(f.minimalPeakRssMB, "MB")}`,
        "",
        "",
      ],
      [
        `tools/list: ${f.tools} tools, bytes (on the wire)`,
        `${f.toolsListBytes} (${f.toolsListWireBytes})`,
        "",
        "",
      ],
      [
        "tools/list bytes per tool (average)",
        fmt(f.bytesPerTool, "B"),
        targetText(TARGETS.bytesPerTool),
        pass.bytesPerTool,
      ],
      ...footprint.largest.map((tool) => [`  largest: ${tool.name}`, `${tool.bytes} B`, "", ""]),
      [
        `logins for ${f.concurrentCalls} concurrent calls after expiry`,
        `${f.loginsAfterExpiry} (${f.failedCallsAfterExpiry} calls failed)`,
        targetText(TARGETS.logins),
        pass.logins,
      ],
      [
        `list of ${f.listItems}: result text / upstream body (bytes)`,
        `${f.resultTextBytes} / ${f.upstreamBodyBytes}`,
        "",
        "",
      ],
      [
        "result text vs upstream body",
        `${f.resultTextRatio.toFixed(3)}x (${f.resultTextBytes - f.upstreamBodyBytes >= 0 ? "+" : ""}${f.resultTextBytes - f.upstreamBodyBytes} B)`,
        targetText(TARGETS.resultBytes),
        pass.resultBytes,
      ],
      ["  (whole result message: text + structuredContent)", `${f.resultMessageBytes} B`, "", ""],
      ...(baselineServer ? baselineRows(f, baseline.rev ?? baseline.cli) : []),
      [
        "CPU per upstream request (us): node:http / + Request/Response / + ky / + session",
        `${fmt(f.layerHttpCpuUs)} / ${fmt(f.layerFetchCpuUs)} / ${fmt(f.layerKyCpuUs)} / ${fmt(f.layerSessionCpuUs)}`,
        "",
        "",
      ],
      [
        "  so each layer costs (us): Request/Response / ky itself / the session's rules",
        `${fmt(f.requestObjectsCpuUs)} / ${fmt(f.kyOwnCpuUs)} / ${fmt(f.sessionRulesCpuUs)}`,
        "",
        "",
      ],
    ];

    console.log(
      `\ninfra-mcp bench (${mode}): ${machine.date}, node ${machine.node}, ${machine.platform}, ${machine.nproc} CPUs (${machine.cpu}), ${report.durationS} s\n`,
    );
    console.log(table(rows));
    console.log(
      `\n${table([["replicas (--http)", "measured", "target", "result"], ...replicasRows(replicas)])}`,
    );
    console.log(
      `\n${table([[`policy (${oversight.rules} rules) and audit trail`, "measured", "", ""], ...oversightRows(oversight)])}`,
    );
    console.log(`\n${JSON.stringify(report)}`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${out}`);
  } catch (error) {
    for (const { stderr } of started) if (stderr.text) error.message += `\nserver stderr:\n${stderr.text}`;
    throw error;
  } finally {
    for (const { client, transport } of started) await closeQuietly(client, transport);
    for (const transport of [...live]) await transport.close().catch(() => undefined);
    killAll();
    await sandbox.stop();
    rmSync(cwd, { recursive: true, force: true });
    clearTimeout(deadline);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench failed: ${error?.stack ?? error}`);
    killAll();
    process.exit(1);
  },
);
