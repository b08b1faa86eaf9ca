import type { ConfigReader } from "../../config.js";
import { definePlatform } from "../../platform.js";
import { createNetprofilerAuth, type NetprofilerAuth } from "./login.js";
import { netprofilerProfile } from "./profile.js";
import { netprofilerTools } from "./tools.js";

export interface NetprofilerSettings {
  url: string;
  auth: NetprofilerAuth;
}

function readNetprofiler(r: ConfigReader): NetprofilerSettings | undefined {
  const url = r.url("NETPROFILER_URL", "https://netprofiler.example.com");
  const accessCode = r.get("NETPROFILER_ACCESS_CODE");
  const username = r.get("NETPROFILER_USERNAME");
  const password = r.get("NETPROFILER_PASSWORD");
  const mode = r.oneOf("NETPROFILER_AUTH", ["cookie", "basic", "oauth"] as const, "cookie");
  if (accessCode !== undefined && (username !== undefined || password !== undefined)) {
    r.problem(
      "NETPROFILER_ACCESS_CODE",
      "set together with NETPROFILER_USERNAME/PASSWORD; choose one way to log in",
      "NETPROFILER_ACCESS_CODE=<code from the OAuth Access page> (and no username/password)",
    );
    return undefined;
  }
  if (accessCode !== undefined) {
    const declared = r.get("NETPROFILER_AUTH")?.toLowerCase();
    if (declared !== undefined && declared !== "oauth") {
      r.problem(
        "NETPROFILER_AUTH",
        `${declared} contradicts NETPROFILER_ACCESS_CODE, which logs in with OAuth; drop one of them`,
        "NETPROFILER_ACCESS_CODE=<code> alone, or NETPROFILER_AUTH=basic with NETPROFILER_USERNAME/PASSWORD",
      );
      return undefined;
    }
    return url === undefined ? undefined : { url, auth: { kind: "oauth", accessCode } };
  }
  if (username === undefined || password === undefined) {
    r.problem(
      username === undefined ? "NETPROFILER_USERNAME" : "NETPROFILER_PASSWORD",
      "missing: NetProfiler needs NETPROFILER_ACCESS_CODE, or NETPROFILER_USERNAME with NETPROFILER_PASSWORD",
      username === undefined ? "NETPROFILER_USERNAME=admin" : "NETPROFILER_PASSWORD=<password>",
    );
    return undefined;
  }
  if (mode === "oauth") {
    r.problem("NETPROFILER_AUTH", "oauth needs NETPROFILER_ACCESS_CODE", "NETPROFILER_AUTH=basic");
    return undefined;
  }
  return url === undefined ? undefined : { url, auth: { kind: mode, username, password } };
}

/** Riverbed NetProfiler's AWS Integration API: the registry entry. */
export const netprofilerPlatform = definePlatform({
  name: "netprofiler",
  title: "Riverbed NetProfiler AWS integration",
  product: "Riverbed NetProfiler",
  prefix: "NETPROFILER",
  urlVariable: "NETPROFILER_URL",
  variables: [
    {
      name: "NETPROFILER_URL",
      example: "https://netprofiler.example.com",
      description: "Address of the NetProfiler appliance.",
    },
    {
      name: "NETPROFILER_ACCESS_CODE",
      example: "<code from the OAuth Access page>",
      secret: true,
      description: "An OAuth access code, from NetProfiler's OAuth Access page.",
      aliases: [
        "NETPROFILER_TOKEN",
        "NETPROFILER_OAUTH_TOKEN",
        "NETPROFILER_CODE",
        "NETPROFILER_ACCESS_TOKEN",
      ],
    },
    {
      name: "NETPROFILER_USERNAME",
      example: "admin",
      aliases: ["NETPROFILER_USER", "NETPROFILER_LOGIN"],
      description: "User to log in as, with NETPROFILER_PASSWORD, instead of an access code.",
    },
    {
      name: "NETPROFILER_PASSWORD",
      example: "<password>",
      secret: true,
      description: "That user's password.",
    },
    {
      name: "NETPROFILER_AUTH",
      example: "basic",
      description:
        "basic to send the user and password with every request instead of a session cookie (optional).",
    },
  ],
  usage:
    "NETPROFILER_URL + NETPROFILER_ACCESS_CODE or NETPROFILER_USERNAME/PASSWORD [NETPROFILER_AUTH=basic]",
  apiIds: ["netprofiler"],
  read: readNetprofiler,
  apis: ({ url, auth }) => [{ url, profile: netprofilerProfile, strategy: createNetprofilerAuth(auth) }],
  tools: netprofilerTools,
  emulator: async () => new (await import("./emulator.js")).NetprofilerEmulator(),
});
