// The real parts of a replicated deployment, for the replica test and the bench: redis-server, nginx and
// `infra-mcp --http` replicas, each on a free loopback port with its files in a directory the caller owns,
// each stopped by whoever started it. Loopback only; nothing here downloads anything.
import { spawn } from "node:child_process";
import { accessSync, chmodSync, constants, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";

/** The path of an executable on PATH or in the sbin directories Debian installs servers to, if any. */
export function findExecutable(name) {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What the replica test and bench need that this machine lacks, e.g. ["nginx"]. */
export function missingServers() {
  return ["nginx", "redis-server"].filter((name) => findExecutable(name) === undefined);
}

/** A port nothing listens on now (the kernel's pick; a tiny race with other processes is accepted). */
export function freePort(host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the last 64 KB a child wrote (stdout and stderr), to assert on and to show when it fails. */
function capture(child) {
  const output = { text: "" };
  const keep = (chunk) => {
    output.text = (output.text + chunk.toString("utf8")).slice(-65_536);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return output;
}

/** Resolves with {code, signal} once the child has exited. */
function exitOf(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
    } else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/** Waits until host:port accepts a connection; fails if the child exits first or time runs out. */
async function accepting(host, port, child, output, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited before listening on ${host}:${port}:\n${output.text}`);
    }
    const open = await new Promise((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(25);
  }
  child.kill("SIGKILL");
  throw new Error(`${what} did not listen on ${host}:${port} within ${timeoutMs} ms:\n${output.text}`);
}

/** Stops a child: `signal`, then SIGKILL if it is still there after `graceMs`. */
async function stopChild(child, signal = "SIGTERM", graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return exitOf(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const exit = await exitOf(child);
  clearTimeout(timer);
  return exit;
}

/**
 * A redis-server on 127.0.0.1 with no persistence, its config in `dir`. With `password` it requires one,
 * and `url` carries it, as an operator's INFRA_MCP_REDIS_URL would. `port` lets a restart reuse the
 * address replicas already know.
 */
export async function startRedis({ dir, password, port }) {
  const path = findExecutable("redis-server");
  if (path === undefined) throw new Error("redis-server is not installed (apt-get install redis-server)");
  const host = "127.0.0.1";
  const chosen = port ?? (await freePort(host));
  const config = join(dir, `redis-${chosen}.conf`);
  writeFileSync(
    config,
    [
      `port ${chosen}`,
      `bind ${host}`,
      `dir ${dir}`,
      'save ""',
      "appendonly no",
      "daemonize no",
      'logfile ""',
      ...(password !== undefined ? [`requirepass ${password}`] : []),
    ].join("\n"),
  );
  const child = spawn(path, [config], { stdio: ["ignore", "pipe", "pipe"] });
  const output = capture(child);
  await accepting(host, chosen, child, output, "redis-server");
  const auth = password !== undefined ? `:${encodeURIComponent(password)}@` : "";
  return {
    url: `redis://${auth}${host}:${chosen}`,
    port: chosen,
    pid: child.pid,
    output: () => output.text,
    /** Freezes it (SIGSTOP): it keeps its connections and answers nothing, as a hung server does. */
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    /** Kills it: a crash, as replicas would see one (no persistence: every spent token is gone). */
    stop: () => stopChild(child, "SIGKILL"),
  };
}

/**
 * `node <cli> --http <host>:<port>` with exactly `env` (plus PATH), from `cwd` (a directory with no
 * .env). Resolves once it says where it serves. `logs()` is everything it wrote to stderr.
 */
export async function startReplica({ cli, env, host = "127.0.0.1", port, cwd }) {
  const chosen = port ?? (await freePort(host));
  const child = spawn(process.execPath, [cli, "--http", `${host}:${chosen}`], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = capture(child);
  const deadline = Date.now() + 15_000;
  while (!/serving \d+ tools at /.test(output.text)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`replica on ${host}:${chosen} did not start:\n${output.text}`);
    }
    await sleep(20);
  }
  return {
    address: `${host}:${chosen}`,
    url: `http://${host}:${chosen}/mcp`,
    pid: child.pid,
    logs: () => output.text,
    exited: exitOf(child),
    signal: (name) => child.kill(name),
    stop: () => stopChild(child, "SIGKILL"),
  };
}

/**
 * The `location` block of the README's deployment section, as the test and the bench run it: answers
 * streamed as they come (progress notifications arrive as server-sent events) and a read timeout longer
 * than any call. No kept-alive upstream connections: nginx never sends a POST again once written, and a
 * kept-alive connection that a draining replica closes just as nginx reuses it would turn a call into a
 * 502; on a fresh connection, a draining replica refuses it and nginx passes the call to the next one.
 */
export const NGINX_LOCATION = [
  "location /mcp {",
  "    proxy_pass http://infra_mcp;",
  "    proxy_http_version 1.1;",
  "    proxy_buffering off;",
  "    proxy_read_timeout 600s;",
  "}",
];

/**
 * nginx.conf for one server per site: `listen 127.0.0.1:<port>`, round-robin over `upstreams`
 * (host:port). Every response names the replica that answered (X-Upstream-Addr) and the access log
 * records it, so tests can tell where each call landed. One worker, so the round-robin is one sequence.
 */
export function nginxConfig({ dir, sites }) {
  const upstreams = sites.map(
    (site, i) =>
      `  upstream infra_mcp_${i} {\n${site.upstreams.map((u) => `    server ${u};`).join("\n")}\n  }`,
  );
  const servers = sites.map((site, i) =>
    [
      "  server {",
      `    listen 127.0.0.1:${site.port};`,
      '    add_header X-Upstream-Addr "$upstream_addr" always;',
      ...NGINX_LOCATION.map((line) => `    ${line.replace("http://infra_mcp;", `http://infra_mcp_${i};`)}`),
      "  }",
    ].join("\n"),
  );
  return [
    "worker_processes 1;",
    `pid ${join(dir, "nginx.pid")};`,
    "error_log stderr warn;",
    "events { worker_connections 1024; }",
    "http {",
    "  log_format upstream '$request_method $uri $status upstream=$upstream_addr upstream_status=$upstream_status';",
    `  access_log ${join(dir, "access.log")} upstream;`,
    // Debian's build puts these under /var/lib/nginx; this instance keeps its own.
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
      (kind) => `  ${kind}_temp_path ${join(dir, `${kind}_temp`)};`,
    ),
    ...upstreams,
    ...servers,
    "}",
    "",
  ].join("\n");
}

/** nginx with the config above, in the foreground; `ports[i]` is where site i listens. */
export async function startNginx({ dir, sites }) {
  const path = findExecutable("nginx");
  if (path === undefined) throw new Error("nginx is not installed (apt-get install nginx)");
  // Run as root, the master hands work to an unprivileged worker, which must reach the temp paths.
  chmodSync(dir, 0o755);
  const config = join(dir, "nginx.conf");
  writeFileSync(config, nginxConfig({ dir, sites }));
  const child = spawn(path, ["-p", dir, "-c", config, "-e", "stderr", "-g", "daemon off;"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = capture(child);
  for (const site of sites) await accepting("127.0.0.1", site.port, child, output, "nginx");
  return {
    urls: sites.map((site) => `http://127.0.0.1:${site.port}/mcp`),
    pid: child.pid,
    output: () => output.text,
    accessLog: () => {
      try {
        return readFileSync(join(dir, "access.log"), "utf8");
      } catch {
        return "";
      }
    },
    stop: () => stopChild(child, "SIGTERM"),
  };
}
