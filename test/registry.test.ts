import { readFileSync } from "node:fs";
import { createServer as createTlsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { root, typescriptFiles } from "./built.js";
import { allTools, type Harness, PLATFORMS, startHarness, textOf } from "./helpers.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Every variable of every platform, set to "" so that the harness removes it. */
function noPlatforms(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const platform of PLATFORMS) for (const variable of platform.variables) env[variable.name] = "";
  return env;
}

/** The environment that leaves only one platform enabled (its emulator's sandbox variables). */
function onlyPlatform(h: { [name: string]: unknown }, name: string): Record<string, string> {
  const emulator = h[name] as { sandboxEnv(): Record<string, string> };
  return { ...noPlatforms(), ...emulator.sandboxEnv() };
}

describe("the platform registry", () => {
  it("gives every platform a unique name, prefix and API ids, and every tool a registered toolset", () => {
    const names = PLATFORMS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(PLATFORMS.map((p) => p.prefix)).size).toBe(names.length);
    const apis = PLATFORMS.flatMap((p) => p.apiIds);
    expect(new Set(apis).size).toBe(apis.length);
    for (const platform of PLATFORMS) {
      expect(platform.variables.map((v) => v.name)).toContain(platform.urlVariable);
      for (const variable of platform.variables)
        expect(variable.name.startsWith(`${platform.prefix}_`)).toBe(true);
      for (const tool of platform.tools) {
        expect(tool.toolset).toBe(platform.name);
        expect(tool.name.startsWith(`${platform.name}_`)).toBe(true);
      }
    }
    expect(allTools.filter((t) => t.toolset !== "infra")).toHaveLength(
      PLATFORMS.flatMap((p) => p.tools).length,
    );
  });

  it("offers as the generic tools' service exactly the enabled APIs", async () => {
    const probe = await startHarness();
    const only = onlyPlatform(probe as never, "ssmcm");
    await probe.close();
    harness = await startHarness({ env: only });
    const { tools } = await harness.client.listTools();
    expect(tools.filter((t) => !t.name.startsWith("infra_")).map((t) => t.name)).toEqual([
      "ssmcm_list_s3_buckets",
    ]);
    for (const name of ["infra_list_operations", "infra_api_get", "infra_api_call"]) {
      const service = tools.find((t) => t.name === name)?.inputSchema.properties?.service as {
        enum?: string[];
      };
      expect(service.enum, name).toEqual(["ssmcm"]);
    }
    const refused = await harness.call("infra_api_get", { service: "dci", path: "/api/dci/v3/server" });
    expect(refused.isError).toBe(true);
    expect(harness.dci.requests).toHaveLength(0);
  });

  it("keeps the infra tools with no platform enabled, and says which variables enable one", async () => {
    harness = await startHarness({ env: noPlatforms() });
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      "infra_status",
      "infra_list_operations",
      "infra_api_get",
      "infra_api_call",
    ]);
    const result = await harness.call("infra_api_get", { service: "ssmcm", path: "/api/v1.0/aws/s3" });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toContain("No service is configured");
    for (const platform of PLATFORMS) expect(text).toContain(platform.urlVariable);
    const status = await harness.call("infra_status");
    expect(status.structuredContent).toMatchObject({ services: [] });
  });
});

describe("the CA-file hint", () => {
  let tlsServer: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (tlsServer ? tlsServer.close(() => resolve()) : resolve()));
    tlsServer = undefined;
  });

  it("names each platform's own TLS variables when its certificate is not trusted", async () => {
    const fixtures = join(root, "test/fixtures/tls");
    tlsServer = createTlsServer(
      { key: readFileSync(join(fixtures, "key.pem")), cert: readFileSync(join(fixtures, "cert.pem")) },
      (_req, res) => res.end("{}"),
    );
    await new Promise<void>((resolve) => tlsServer?.listen(0, "127.0.0.1", resolve));
    const untrusted = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
    // Every URL of every platform points at a server whose certificate no CA vouches for.
    const probe = await startHarness();
    const env: Record<string, string> = {};
    for (const platform of PLATFORMS) {
      const emulator = (
        probe as unknown as Record<string, { sandboxEnv(): Record<string, string>; url: string }>
      )[platform.name]!;
      for (const [name, value] of Object.entries(emulator.sandboxEnv())) {
        env[name] = value.startsWith(emulator.url) ? value.replace(emulator.url, untrusted) : value;
      }
    }
    await probe.close();
    harness = await startHarness({ env });
    const status = await harness.call("infra_status", { check: true });
    const services = (
      status.structuredContent as { services: { service: string; check: { error: string } }[] }
    ).services;
    expect(services.map((s) => s.service)).toEqual(PLATFORMS.flatMap((p) => p.apiIds));
    for (const platform of PLATFORMS) {
      for (const api of platform.apiIds) {
        const error = services.find((s) => s.service === api)?.check.error;
        expect(error, api).toContain(`set ${platform.prefix}_CA_FILE`);
        expect(error, api).toContain(`${platform.prefix}_TLS_INSECURE=true`);
      }
    }
  });
});

describe("shared code", () => {
  it("names no platform: a platform's facts live in its own files and its registry line", () => {
    const names = PLATFORMS.map((p) => p.name);
    const words = new Set<string>();
    for (const platform of PLATFORMS) {
      words.add(platform.name);
      words.add(platform.prefix);
      words.add(platform.title.split(" ")[0]!);
    }
    const pattern = new RegExp(`\\b(${[...words].join("|")})\\b`, "i");
    const ownFile = new RegExp(`^src/platforms/(${names.join("|")})/`);
    const offenders: string[] = [];
    for (const file of typescriptFiles("src")) {
      // The registry is the one place that lists the platforms.
      if (ownFile.test(file) || file === "src/platforms/index.ts") continue;
      readFileSync(join(root, file), "utf8")
        .split("\n")
        .forEach((line, index) => {
          if (pattern.test(line)) offenders.push(`${file}:${index + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
