import type { Operation } from "../../auth/operations.js";
import type { Outcome, RawResponse, ServiceProfile } from "../../auth/types.js";
import type { ConfigReader } from "../../config.js";
import { describeBody } from "../../errors.js";
import { definePlatform } from "../../platform.js";
import { createNetprofilerAuth, NETPROFILER_AWS_BASE, type NetprofilerAuth } from "./login.js";
import { netprofilerTools } from "./tools.js";

/** Error ids after which steelscript clears its credentials, logs in again once and retries once. */
const AUTH_EXPIRED_IDS = new Set([
  "AUTH_REQUIRED",
  "AUTH_INVALID_SESSION",
  "AUTH_EXPIRED_TOKEN",
  "AUTH_INVALID_TOKEN",
  "AUTH_INVALID_CREDENTIALS",
]);

/**
 * Reads `{error_id, error_text, error_info?}` (JSON) or `<error error_id=".." error_text=".."/>` (XML);
 * anything else becomes the message as it is.
 */
export function parseNetprofilerError(body: unknown): { code?: string; message: string } {
  if (body !== null && typeof body === "object" && "error_id" in body) {
    const envelope = body as { error_id: unknown; error_text?: unknown };
    return { code: String(envelope.error_id), message: String(envelope.error_text ?? "no error text") };
  }
  if (typeof body === "string") {
    const xml = /<error\b[^>]*error_id="([^"]*)"[^>]*error_text="([^"]*)"/.exec(body);
    if (xml) return { code: xml[1], message: xml[2] ?? "" };
    return { message: describeBody(body, "empty error body") };
  }
  return { message: describeBody(body, "empty error body") };
}

export const netprofilerProfile: ServiceProfile = {
  api: "netprofiler",
  probe: { method: "GET", path: `${NETPROFILER_AWS_BASE}/status` },
  get operations() {
    return NETPROFILER_OPERATIONS;
  },
  interpret({ status, body }: RawResponse): Outcome {
    if (status >= 200 && status < 300) return { ok: true, data: body ?? null };
    const { code, message } = parseNetprofilerError(body);
    // A 401 without a recognisable envelope is AUTH_REQUIRED in steelscript's reading.
    const effective = code ?? (status === 401 ? "AUTH_REQUIRED" : undefined);
    return {
      ok: false,
      authExpired: status === 401 && effective !== undefined && AUTH_EXPIRED_IDS.has(effective),
      code: effective,
      message,
    };
  },
  hint(status, code) {
    if (status === 404)
      return "Check the path: the AWS integration resources are listed by infra_list_operations.";
    if (status === 401) return "Check the NETPROFILER_* credentials.";
    if (status === 403) return "The NetProfiler account lacks the permission for this; ask an administrator.";
    if (status === 400 || code === "REQUEST_INVALID_INPUT")
      return "Fix the request as the message says and retry.";
    return undefined;
  },
};

/** The documented operations (the seed's AWS Integration API page, plus the Common API it relies on). */
export const NETPROFILER_OPERATIONS: readonly Operation[] = [
  { method: "GET", path: `${NETPROFILER_AWS_BASE}/status`, summary: "AWS synchronisation status" },
  {
    method: "GET",
    path: `${NETPROFILER_AWS_BASE}/auth_codes`,
    summary: "AWS accounts and access keys (no secrets)",
  },
  { method: "PUT", path: `${NETPROFILER_AWS_BASE}/auth_codes`, summary: "Create or update AWS accounts" },
  { method: "DELETE", path: `${NETPROFILER_AWS_BASE}/auth_codes`, summary: "Delete AWS accounts" },
  { method: "POST", path: `${NETPROFILER_AWS_BASE}/sync`, summary: "Sync all AWS accounts" },
  {
    method: "PUT",
    path: `${NETPROFILER_AWS_BASE}/sync/status`,
    summary: "Enable or disable all AWS accounts",
  },
  { method: "GET", path: "/api/common/1.0/info", summary: "Appliance version, serial, model" },
  { method: "GET", path: "/api/common/1.0/services", summary: "REST services and their versions" },
  { method: "GET", path: "/api/common/1.0/auth_info", summary: "Supported authentication methods" },
  { method: "GET", path: "/api/common/1.0/ping", summary: "Liveness check (204)" },
];

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
