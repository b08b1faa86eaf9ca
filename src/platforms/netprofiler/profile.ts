import { z } from "zod";
import type { ApiProfile, Operation, Outcome, RawResponse } from "../../auth/types.js";
import { describeBody } from "../../errors.js";

/** Where the AWS Integration API lives (upstreams.md section 5). */
export const NETPROFILER_AWS_BASE = "/api/npm.aws_config/1.0";

/** Error ids after which steelscript clears its credentials, logs in again once and retries once. */
const AUTH_EXPIRED_IDS = new Set([
  "AUTH_REQUIRED",
  "AUTH_INVALID_SESSION",
  "AUTH_EXPIRED_TOKEN",
  "AUTH_INVALID_TOKEN",
  "AUTH_INVALID_CREDENTIALS",
]);

/** The error envelope: `error_id` is what tells it from an answer (any value, any type). */
const ERROR_ENVELOPE = z.looseObject({
  error_id: z.unknown().refine((id) => id !== undefined),
  error_text: z.unknown().optional(),
});

/**
 * Reads `{error_id, error_text, error_info?}` (JSON) or `<error error_id=".." error_text=".."/>` (XML);
 * anything else becomes the message as it is.
 */
export function parseNetprofilerError(body: unknown): { code?: string; message: string } {
  const envelope = ERROR_ENVELOPE.safeParse(body);
  if (envelope.success) {
    const { error_id, error_text } = envelope.data;
    return { code: String(error_id), message: String(error_text ?? "no error text") };
  }
  if (typeof body === "string") {
    const xml = /<error\b[^>]*error_id="([^"]*)"[^>]*error_text="([^"]*)"/.exec(body);
    if (xml) return { code: xml[1], message: xml[2] ?? "" };
    return { message: describeBody(body, "empty error body") };
  }
  return { message: describeBody(body, "empty error body") };
}

export const netprofilerProfile: ApiProfile = {
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
