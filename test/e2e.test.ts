import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { builtCli, finished, spawnCli as run } from "./built.js";
import { PLATFORMS } from "./helpers.js";

let cli: string;
beforeAll(() => {
  cli = builtCli();
});

/** A line-by-line JSON-RPC client over the child's stdio: every stdout line is kept, answers matched by id. */
function jsonRpc(child: ChildProcessWithoutNullStreams) {
  const lines: string[] = [];
  const messages: Record<string, unknown>[] = [];
  const waiters: {
    match: (message: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }[] = [];
  let buffer = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      try {
        const message = JSON.parse(line) as Record<string, unknown>;
        messages.push(message);
        for (const waiter of waiters.filter((w) => w.match(message))) waiter.resolve(message);
      } catch {
        // Checked by the tests: every line must parse.
      }
      newline = buffer.indexOf("\n");
    }
  });
  const waitFor = (match: (message: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const seen = messages.find(match);
      if (seen) resolve(seen);
      else waiters.push({ match, resolve });
    });
  let nextId = 1;
  const request = (method: string, params: unknown) => {
    const id = nextId++;
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    return waitFor((message) => message.id === id);
  };
  const initialize = async () => {
    await request("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "e2e", version: "1" },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  };
  return { lines, request, waitFor, initialize };
}

describe("the built binary over stdio", () => {
  it("writes nothing but JSON-RPC to stdout, through a whole session against the sandbox", async () => {
    const child = run(["--sandbox"], { INFRA_MCP_LOG_LEVEL: "debug" });
    const done = finished(child);
    const { lines, request } = jsonRpc(child);
    const init = await request("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "e2e", version: "1" },
    });
    expect(init.result).toMatchObject({ serverInfo: { name: "infra-mcp" } });
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    const list = (await request("tools/list", {})) as { result: { tools: { name: string }[] } };
    expect(list.result.tools.map((t) => t.name)).toContain("netprofiler_get_aws_status");
    const status = (await request("tools/call", { name: "infra_status", arguments: { check: true } })) as {
      result: { structuredContent: { services: { check: { ok: boolean } }[] } };
    };
    expect(status.result.structuredContent.services.every((s) => s.check.ok)).toBe(true);
    const failed = (await request("tools/call", {
      name: "infra_api_get",
      arguments: { service: "netprofiler", path: "/nope" },
    })) as { result: { isError: boolean } };
    expect(failed.result.isError).toBe(true);
    child.stdin.end();
    const { code, stderr } = await done;

    expect(code).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const message = JSON.parse(line) as { jsonrpc?: string };
      expect(message.jsonrpc).toBe("2.0");
    }
    // Debug logs went to stderr, and they are there.
    expect(stderr).toContain("DEBUG");
  });

  it("answers a message over the stdio limit with an error to its request, says why on stderr, and keeps serving", async () => {
    const child = run(["--sandbox"]);
    const done = finished(child);
    const rpc = jsonRpc(child);
    await rpc.initialize();
    const huge = "a".repeat(11 * 1024 * 1024);
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "infra_status", arguments: { huge } } })}\n`,
    );
    // Answered to the request that sent it, so the client's call ends with a reason instead of hanging.
    const refusal = (await rpc.waitFor((m) => m.id === 99)) as { error: { code: number; message: string } };
    expect(refusal.error.code).toBe(-32600);
    expect(refusal.error.message).toContain("larger than the 10485760 bytes this server reads");
    const status = (await rpc.request("tools/call", { name: "infra_status", arguments: {} })) as {
      result: { isError?: boolean };
    };
    expect(status.result.isError).toBeFalsy();
    child.stdin.end();
    const { code, stderr } = await done;
    expect(code).toBe(0);
    expect(stderr).toContain("larger than");
    for (const line of rpc.lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("prints --version on stdout and exits 0; the binary is executable", async () => {
    const { code, stdout, stderr } = await finished(run(["--version"]));
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(stderr).toBe("");
    expect(statSync(cli).mode & 0o111).not.toBe(0);
  });

  it("reads --dotenv (a name Node leaves alone) and says so itself when the file is missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "infra-mcp-"));
    writeFileSync(
      join(dir, "my.env"),
      "NETPROFILER_URL=https://np.example.com\nNETPROFILER_AUTH=sometimes\n",
    );
    const fromFile = await finished(run(["--dotenv", join(dir, "my.env")]));
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain('NETPROFILER_AUTH: "sometimes" is not one of');
    const missing = await finished(run(["--dotenv", join(dir, "absent.env")]));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`infra-mcp: --dotenv ${join(dir, "absent.env")}: no such file`);
  });

  it("exits 2 with one readable block on stderr for a bad configuration", async () => {
    const { code, stdout, stderr } = await finished(
      run([], { NETPROFILER_URL: "https://np.example.com", DCI_TOKEN: "x", INFRA_MCP_TIMEOUT_MS: "later" }),
    );
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("infra-mcp: the configuration has problems:");
    expect(stderr).toContain("NETPROFILER_USERNAME");
    expect(stderr).toContain("DCI_URL: missing, but DCI_TOKEN is set");
    expect(stderr).toContain("INFRA_MCP_TIMEOUT_MS");
    expect(stderr).toContain("example:");
  });

  it("reads --env-file and reports an unknown flag or toolset with status 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "infra-mcp-"));
    const envFile = join(dir, "custom.env");
    writeFileSync(envFile, "NETPROFILER_URL=https://np.example.com\nNETPROFILER_AUTH=sometimes\n");
    const fromFile = await finished(run(["--env-file", envFile]));
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain('NETPROFILER_AUTH: "sometimes" is not one of');

    // Without --env-file, .env in the working directory is read; the process environment wins over it.
    writeFileSync(join(dir, ".env"), "NETPROFILER_URL=https://np.example.com\nINFRA_MCP_LOG_LEVEL=chatty\n");
    const fromDefault = await finished(run([], { INFRA_MCP_LOG_LEVEL: "error" }, dir));
    expect(fromDefault.code).toBe(2);
    expect(fromDefault.stderr).toContain("NETPROFILER_USERNAME");
    expect(fromDefault.stderr).not.toContain("chatty");

    const unknownFlag = await finished(run(["--verbose"]));
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--verbose'");

    const unknownToolset = await finished(run(["--sandbox", "--toolsets", "storage"]));
    expect(unknownToolset.code).toBe(2);
    expect(unknownToolset.stderr).toContain('--toolsets: unknown toolset "storage"');
    expect(unknownToolset.stdout).toBe("");
  });

  it("serves Streamable HTTP with --http, and refuses to start without INFRA_MCP_HTTP_TOKEN", async () => {
    const refused = await finished(run(["--sandbox", "--http", "127.0.0.1:0"]));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("INFRA_MCP_HTTP_TOKEN: missing");

    const child = run(["--sandbox", "--http", "127.0.0.1:0"], {
      INFRA_MCP_HTTP_TOKEN: "e2e-token-0123456789",
    });
    const done = finished(child);
    const url = await new Promise<string>((resolve) => {
      let seen = "";
      child.stderr.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /at (http:\/\/\S+\/mcp)/.exec(seen);
        if (match) resolve(match[1] as string);
      });
    });
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StreamableHTTPClientTransport } = await import(
      "@modelcontextprotocol/sdk/client/streamableHttp.js"
    );
    const client = new Client({ name: "e2e-http", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: "Bearer e2e-token-0123456789" } },
      }),
    );
    const status = await client.callTool({ name: "infra_status", arguments: { check: true } });
    const services = (status.structuredContent as { services: { service: string; check: { ok: boolean } }[] })
      .services;
    // The sandbox enables every API of the registry, and each answers the live check.
    expect(services.map((s) => s.service)).toEqual(PLATFORMS.flatMap((p) => p.apiIds));
    for (const service of services) expect(service.check.ok, service.service).toBe(true);
    await client.close();
    child.kill("SIGTERM");
    const { code, stdout } = await done;
    expect(code).toBe(0);
    expect(stdout).toBe("");
  });

  it("--help lists every platform of the registry with its variables, on stdout", async () => {
    const { code, stdout, stderr } = await finished(run(["--help"]));
    expect(code).toBe(0);
    expect(stderr).toBe("");
    const text = stdout;
    for (const platform of PLATFORMS) {
      expect(text).toContain(`${platform.name}: ${platform.usage}`);
      expect(text).toContain(platform.title);
    }
  });
});
