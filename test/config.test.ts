import { describe, expect, it } from "vitest";
import { ConfigError, configSecrets } from "../src/config.js";
import { loadConfig } from "./helpers.js";

const NP = { NETPROFILER_URL: "https://np.example.com", NETPROFILER_ACCESS_CODE: "code-123456" };

function problems(env: Record<string, string>, flags = {}): string[] {
  try {
    loadConfig(env, flags, { readFile: () => "PEM" });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.problem}`);
  }
  return [];
}

describe("configuration", () => {
  it("has sensible defaults and enables only configured services", () => {
    const config = loadConfig(NP);
    expect(config).toMatchObject({
      readOnly: false,
      confirm: "destructive",
      timeoutMs: 30_000,
      maxOutputChars: 20_000,
      logLevel: "warn",
    });
    expect([...config.toolsets]).toEqual(["netprofiler"]);
    expect(config.platforms.get("netprofiler")).toEqual({
      settings: { url: "https://np.example.com", auth: { kind: "oauth", accessCode: "code-123456" } },
      tls: { insecure: false },
    });
    expect(config.platforms.has("dci")).toBe(false);
  });

  it("reads the cookie and basic modes, TLS options and secrets", () => {
    const config = loadConfig(
      {
        NETPROFILER_URL: "https://np.example.com/",
        NETPROFILER_USERNAME: "admin",
        NETPROFILER_PASSWORD: "pw-123456",
        NETPROFILER_AUTH: "basic",
        NETPROFILER_TLS_INSECURE: "true",
        NETPROFILER_CA_FILE: "/ca.pem",
        INFRA_MCP_SECRET_AWS_PROD: "s3cr3t-value",
      },
      {},
      { readFile: (path) => `PEM from ${path}` },
    );
    expect(config.platforms.get("netprofiler")).toEqual({
      settings: {
        url: "https://np.example.com",
        auth: { kind: "basic", username: "admin", password: "pw-123456" },
      },
      tls: { insecure: true, ca: "PEM from /ca.pem", caFile: "/ca.pem" },
    });
    expect(config.secrets.get("AWS_PROD")).toBe("s3cr3t-value");
    expect(configSecrets(config)).toEqual(expect.arrayContaining(["s3cr3t-value", "pw-123456"]));
  });

  it("treats a field an MCP bundle host left as its user_config placeholder as unset", () => {
    // Claude Desktop passes an optional setting the user left empty as the placeholder text itself.
    const blank = (name: string) => `\${user_config.${name.toLowerCase()}}`;
    const config = loadConfig({
      ...NP,
      NETPROFILER_USERNAME: blank("NETPROFILER_USERNAME"),
      NETPROFILER_PASSWORD: blank("NETPROFILER_PASSWORD"),
      NETPROFILER_TLS_INSECURE: blank("NETPROFILER_TLS_INSECURE"),
      DCI_URL: blank("DCI_URL"),
      DCI_EMAIL: blank("DCI_EMAIL"),
      INFRA_MCP_READ_ONLY: blank("INFRA_MCP_READ_ONLY"),
      INFRA_MCP_SECRET_AWS: blank("INFRA_MCP_SECRET_AWS"),
    });
    expect([...config.toolsets]).toEqual(["netprofiler"]);
    expect(config.platforms.get("netprofiler")?.tls).toEqual({ insecure: false });
    expect(config.readOnly).toBe(false);
    expect(config.secrets.size).toBe(0);
    expect(config.warnings).toEqual([]);
  });

  it("collects every problem, naming the variable, with an example", () => {
    try {
      loadConfig({
        NETPROFILER_USERNAME: "admin",
        DCI_URL: "not a url",
        DCI_TOKEN: "t",
        INFRA_MCP_TIMEOUT_MS: "soon",
        INFRA_MCP_CONFIRM: "always",
        INFRA_MCP_TOOLSETS: "dci,storage",
      });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("NETPROFILER_URL: missing, but NETPROFILER_USERNAME is set");
      expect(message).toContain('DCI_URL: "not a url" is not an http(s) URL');
      expect(message).toContain('INFRA_MCP_TIMEOUT_MS: "soon" is not a whole number');
      expect(message).toContain('INFRA_MCP_CONFIRM: "always" is not one of destructive, mutating, off');
      expect(message).toContain('INFRA_MCP_TOOLSETS: unknown toolset "storage"');
      expect(message.match(/example: /g)?.length).toBe((error as ConfigError).problems.length);
    }
  });

  it("treats partial NetProfiler credentials as errors", () => {
    expect(problems({ NETPROFILER_URL: "https://np", NETPROFILER_USERNAME: "admin" })).toEqual([
      "NETPROFILER_PASSWORD: missing: NetProfiler needs NETPROFILER_ACCESS_CODE, or NETPROFILER_USERNAME with NETPROFILER_PASSWORD",
    ]);
    expect(problems({ ...NP, NETPROFILER_USERNAME: "admin", NETPROFILER_PASSWORD: "x" })[0]).toContain(
      "choose one way to log in",
    );
    expect(problems({ NETPROFILER_URL: "https://np" })[0]).toContain("NETPROFILER_USERNAME");
  });

  it("requires exactly one way to log in to DCImanager", () => {
    expect(problems({ DCI_URL: "https://dci" })[0]).toContain("no credentials");
    expect(problems({ DCI_URL: "https://dci", DCI_TOKEN: "a", DCI_LOGIN_KEY: "b" })[0]).toContain(
      "more than one",
    );
    expect(problems({ DCI_URL: "https://dci", DCI_EMAIL: "a@b.c" })[0]).toContain("DCI_PASSWORD");
    expect(
      loadConfig({ DCI_URL: "https://dci", DCI_LOGIN_KEY: "4-abc" }).platforms.get("dci")?.settings,
    ).toEqual({
      url: "https://dci",
      auth: { kind: "key", key: "4-abc" },
    });
  });

  it("narrows toolsets by flag or variable, and rejects a requested but unconfigured one", () => {
    const both = { ...NP, DCI_URL: "https://dci", DCI_TOKEN: "tok-123456" };
    expect([...loadConfig(both, { toolsets: "dci" }).toolsets]).toEqual(["dci"]);
    expect(loadConfig(both, { toolsets: "dci" }).platforms.has("netprofiler")).toBe(false);
    expect([...loadConfig({ ...both, INFRA_MCP_TOOLSETS: "all" }).toolsets].sort()).toEqual([
      "dci",
      "netprofiler",
    ]);
    expect(problems(NP, { toolsets: "dci" })[0]).toContain(
      '--toolsets: toolset "dci" is requested but DCI_URL is not set',
    );
  });

  it("reads read-only from the flag or the variable, and rejects a non-boolean", () => {
    expect(loadConfig(NP, { readOnly: true }).readOnly).toBe(true);
    expect(loadConfig({ ...NP, INFRA_MCP_READ_ONLY: "TRUE" }).readOnly).toBe(true);
    expect(problems({ ...NP, INFRA_MCP_READ_ONLY: "maybe" })[0]).toContain('"maybe" is not a boolean');
  });

  it("reports an unreadable CA file", () => {
    const result = (() => {
      try {
        loadConfig({ ...NP, NETPROFILER_CA_FILE: "/nonexistent/ca.pem" });
        return "loaded";
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(result).toContain('NETPROFILER_CA_FILE: cannot read "/nonexistent/ca.pem" (ENOENT)');
  });

  it("refuses contradictory NetProfiler settings: NETPROFILER_AUTH beside an access code", () => {
    expect(problems({ ...NP, NETPROFILER_AUTH: "basic" })).toEqual([
      "NETPROFILER_AUTH: basic contradicts NETPROFILER_ACCESS_CODE, which logs in with OAuth; drop one of them",
    ]);
  });

  it("warns about variables with a platform's prefix that it does not read, naming the closest real one", () => {
    const config = loadConfig(
      {
        ...NP,
        NETPROFILER_TOKEN: "x",
        NETPROFILER_PASWORD: "y",
        NETPROFILER_CA_FILE: "/ca.pem",
      },
      {},
      { readFile: () => "PEM" },
    );
    expect(config.warnings).toEqual([
      "NETPROFILER_PASWORD is not a variable infra-mcp reads; did you mean NETPROFILER_PASSWORD?",
      "NETPROFILER_TOKEN is not a variable infra-mcp reads; did you mean NETPROFILER_ACCESS_CODE?",
    ]);
  });

  it("names a misspelt variable beside the problem it causes", () => {
    try {
      loadConfig({ DCI_URL: "https://dci", DCI_USER: "ops@example.com", DCI_PASSWORD: "pw-123456" });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("DCI_EMAIL: missing");
      expect(message).toContain("DCI_USER is not a variable infra-mcp reads; did you mean DCI_EMAIL?");
    }
  });
});
