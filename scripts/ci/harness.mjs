// What the CI checks share: the built server started as users start it, a loopback fixture for clients
// that cannot send our bearer token, third-party tools run from the npm registry on Node 22, and plain
// step reporting. Nothing here is part of the server.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** The checks run the server as built: say so plainly rather than fail on a missing file later. */
export function requireBuild() {
  if (!existsSync(cli)) {
    console.error("dist/cli.js is missing: run npm run build (or npm test) first.");
    process.exit(2);
  }
}

/**
 * The Node the official MCP tools need (they require 22; the project runs on 20): the npm package `node`
 * ships the binary, so `npx -p node@<this>` puts it first on PATH for the tool with nothing installed by
 * hand. Pinned, like the tools, so a CI run today and next month runs the same thing.
 */
export const NODE_22 = "node@22.23.3";

let failures = 0;

/** Prints what a step checks; its result follows as `ok` or `FAIL` lines. */
export function step(title) {
  console.log(`\n== ${title}`);
}

export function check(condition, what, detail = "") {
  if (condition) {
    console.log(`  ok   ${what}`);
  } else {
    failures += 1;
    console.log(`  FAIL ${what}${detail ? `\n       ${detail.replace(/\n/g, "\n       ")}` : ""}`);
  }
  return condition;
}

/** Ends the script: status 1 when any check failed. */
export function finish(name) {
  console.log(failures === 0 ? `\n${name}: every check passed` : `\n${name}: ${failures} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

/** Runs a command to completion, capturing its output; never throws on a non-zero status. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? root, env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a tool from npm packages on Node 22: `npx -y -p node@22 -p <packages> -- <command> <args>`. */
export function runOnNode22(packages, command, args, options = {}) {
  const npxArgs = ["-y", "-p", NODE_22, ...packages.flatMap((p) => ["-p", p]), "--", command, ...args];
  return run("npx", npxArgs, options);
}

/** npm's install chatter about engines (the tools' own dependencies), which is not the tool's output. */
export function withoutNpmNotices(text) {
  return text
    .split("\n")
    .filter((line) => !/^npm (warn|notice)/.test(line))
    .join("\n");
}

/**
 * Starts `dist/cli.js [args] --http 127.0.0.1:0` with the given environment and a fresh bearer token, and
 * waits for the address it prints. Only PATH and the given variables reach it.
 */
export async function startHttpServer(env, args = []) {
  const token = randomBytes(24).toString("hex");
  const child = spawn(process.execPath, [cli, ...args, "--http", "127.0.0.1:0"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", INFRA_MCP_LOG_LEVEL: "error", ...env, INFRA_MCP_HTTP_TOKEN: token },
  });
  let stderr = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${stderr}`)), 20_000);
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const match = /serving \d+ tools at (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${stderr}`)));
  });
  return {
    url,
    token,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * A loopback-only test fixture for clients that cannot send a bearer token (the conformance suite): it
 * forwards every request to the server with `Authorization: Bearer <token>` added. Nothing else changes:
 * a Host or Origin that names the fixture's own address is sent naming the server's instead, as if the
 * client had called the server directly; any other Host or Origin reaches the server as it came, so its
 * DNS-rebinding checks are what the client meets. The server itself still requires the token.
 */
export async function startBearerFixture(target, token) {
  const upstream = new URL(target);
  let own = "";
  const server = createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    if (req.headers.host === own) headers.host = upstream.host;
    if (req.headers.origin === `http://${own}`) headers.origin = `http://${upstream.host}`;
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`fixture: ${error.message}`);
    });
    req.pipe(forward);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  own = `127.0.0.1:${server.address().port}`;
  return {
    url: `http://${own}${upstream.pathname}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
