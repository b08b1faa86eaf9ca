import type { ApiProfile, Operation, Outcome, RawResponse, UpstreamRequest } from "../../auth/types.js";
import { ToolInputError } from "../../errors.js";

/**
 * Reads an error body: the DM's and AS's `{error}` (`DmError`), or Keycloak's OAuth
 * `{error, error_description}`, where `error` is a code such as `invalid_grant`.
 */
export function parseSquonkError(body: unknown): { code?: string; message: string } | undefined {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  const { error, error_description: description } = body as { error?: unknown; error_description?: unknown };
  if (typeof error !== "string") return undefined;
  return typeof description === "string" ? { code: error, message: description } : { message: error };
}

function describeBody(body: unknown, status: number): string {
  if (body === undefined) return `empty answer with HTTP ${status}`;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.replace(/\s+/g, " ").trim().slice(0, 300) || `empty answer with HTTP ${status}`;
}

/** DM and AS answers: raw JSON on success, `{error}` otherwise; a 401 means the token was refused. */
function interpretSquonk({ status, body }: RawResponse): Outcome {
  if (status >= 200 && status < 300) return { ok: true, data: body ?? null };
  const error = parseSquonkError(body);
  const outcome: Outcome = {
    ok: false,
    authExpired: status === 401,
    message: error?.message ?? describeBody(body, status),
  };
  if (error?.code !== undefined) outcome.code = error.code;
  return outcome;
}

/** The tool that finds ids for a DM path, for a 404's next step. */
const FINDERS: readonly [prefix: string, tool: string][] = [
  ["/project", "squonk_list_projects"],
  ["/file", "squonk_list_project_files (list the parent path)"],
  ["/job", "squonk_list_jobs"],
  ["/instance", "squonk_list_instances"],
  ["/task", "squonk_list_tasks"],
];

/** The documented DM operations (upstreams.md section 3, from the public Python client). */
export const SQUONK_DM_OPERATIONS: readonly Operation[] = [
  { method: "GET", path: "/version", summary: "DM version (no token needed)" },
  { method: "GET", path: "/account-server/namespace", summary: "The AS namespace the DM uses (a ping)" },
  { method: "GET", path: "/project", summary: "Projects you can see: project_name -> {count, projects}" },
  { method: "POST", path: "/project", summary: "Create a project: form name, tier_product_id, private" },
  { method: "GET", path: "/project/{project_id}", summary: "One project" },
  { method: "DELETE", path: "/project/{project_id}", summary: "Delete a project" },
  { method: "PUT", path: "/project/{project_id}/editor/{user}", summary: "Add an editor" },
  { method: "PUT", path: "/project/{project_id}/observer/{user}", summary: "Add an observer" },
  { method: "GET", path: "/file", summary: "Files at a path: project_id, path (from /), include_hidden" },
  { method: "DELETE", path: "/file", summary: "Delete an unmanaged file: project_id, path, file" },
  { method: "GET", path: "/project/{project_id}/file", summary: "Download a file: path, file" },
  { method: "GET", path: "/job", summary: "Jobs: project_id -> {count, jobs}" },
  { method: "GET", path: "/job/{job_id}", summary: "One job with its variables" },
  { method: "GET", path: "/job/get-by-version", summary: "One job by collection, job and version" },
  {
    method: "POST",
    path: "/instance",
    summary:
      "Start a job: form application_id, as_name, project_id, specification (JSON string), debug, callback_url",
  },
  { method: "POST", path: "/instance/dry-run", summary: "Check a job launch without running it (same form)" },
  { method: "GET", path: "/instance", summary: "Instances: project_id -> {count, instances}" },
  { method: "GET", path: "/instance/{instance_id}", summary: "One instance: phase, started, stopped" },
  { method: "DELETE", path: "/instance/{instance_id}", summary: "Delete an instance (stops a running job)" },
  {
    method: "GET",
    path: "/task",
    summary: "Tasks: project_id, exclude_done, exclude_removal, exclude_purpose",
  },
  {
    method: "GET",
    path: "/task/{task_id}",
    summary: "One task: states and events (event_prior_ordinal, event_limit)",
  },
  { method: "GET", path: "/dataset", summary: "Datasets you can see" },
];

/** The documented AS operations (upstreams.md section 3; AS bodies are JSON). */
export const SQUONK_AS_OPERATIONS: readonly Operation[] = [
  { method: "GET", path: "/version", summary: "AS version (no token needed)" },
  { method: "GET", path: "/product", summary: "Products you can see" },
  { method: "GET", path: "/product/{product_id}", summary: "One product" },
  { method: "DELETE", path: "/product/{product_id}", summary: "Delete a product" },
  {
    method: "GET",
    path: "/product/{product_id}/charges",
    summary: "A product's charges: from, until (dates)",
  },
  { method: "GET", path: "/product/unit/{unit_id}", summary: "A unit's products" },
  {
    method: "POST",
    path: "/product/unit/{unit_id}",
    summary: "Create a product in a unit {type, name, flavour?, allowance?, limit?}",
  },
  { method: "GET", path: "/product/organisation/{org_id}", summary: "An organisation's products" },
  { method: "GET", path: "/unit", summary: "Units you can see" },
  { method: "GET", path: "/unit/{unit_id}", summary: "One unit" },
  { method: "GET", path: "/organisation", summary: "Organisations" },
  { method: "POST", path: "/organisation", summary: "Create an organisation {name, owner}" },
  { method: "GET", path: "/organisation/{org_id}/unit", summary: "An organisation's units" },
  { method: "POST", path: "/organisation/{org_id}/unit", summary: "Create a unit {name, billing_day}" },
  { method: "GET", path: "/asset", summary: "Assets: one of product_id, unit_id, org_id, user_id" },
  { method: "GET", path: "/merchant", summary: "Merchants (the DMs registered with the AS)" },
];

function commonHint(status: number | undefined, clientIdVariable: string): string | undefined {
  if (status === 401)
    return `Squonk refused a fresh token too: check that ${clientIdVariable} names this API's own Keycloak client.`;
  if (status === 403)
    return "Your Squonk user lacks the right for this (e.g. only a project's editors run jobs).";
  if (status === 400) return "Fix the request as the message says and retry.";
  return undefined;
}

export const squonkDmProfile: ApiProfile = {
  api: "squonk_dm",
  // The Python client's ping: cheap, and it needs a token.
  probe: { method: "GET", path: "/account-server/namespace" },
  operations: SQUONK_DM_OPERATIONS,
  interpret: interpretSquonk,
  // A dry run checks a launch and creates nothing (TOOLS.md section 4).
  isReadOnlyPost: (path) => path === "/instance/dry-run",
  hint(status, _code, request: UpstreamRequest) {
    if (status === 404 && request.method === "POST")
      return "Check project_id with squonk_list_projects, and the job with squonk_list_jobs.";
    if (status === 404) {
      const finder = FINDERS.find(([prefix]) => request.path.startsWith(prefix))?.[1];
      return finder === undefined
        ? "Check the path: infra_list_operations lists the DM's operations; SQUONK2_DMAPI_URL ends in /data-manager-api."
        : `Check the id with ${finder}.`;
    }
    if (status === 415) return "The DM takes form fields, not JSON: give body as an object of fields.";
    return commonHint(status, "SQUONK2_KEYCLOAK_DM_CLIENT_ID");
  },
  // The DM rejects JSON bodies: a generic call's body goes as form fields, objects as JSON strings (the
  // way the DM takes `specification`).
  encodeBody(body) {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new ToolInputError(
        'The Squonk DM takes form fields: give body as an object such as {"name": "..."}; nothing was sent.',
      );
    }
    const form: Record<string, string> = {};
    for (const [key, value] of Object.entries(body)) {
      if (value === undefined || value === null) continue;
      form[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    return { form };
  },
};

export const squonkAsProfile: ApiProfile = {
  api: "squonk_as",
  probe: { method: "GET", path: "/unit" },
  operations: SQUONK_AS_OPERATIONS,
  interpret: interpretSquonk,
  hint(status) {
    if (status === 404)
      return "Check the id with squonk_list_products or squonk_list_units; infra_list_operations lists the AS's paths.";
    return commonHint(status, "SQUONK2_KEYCLOAK_AS_CLIENT_ID");
  },
};
