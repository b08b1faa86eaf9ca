import type { Operation } from "../../auth/operations.js";
import type { Outcome, RawResponse, ServiceProfile, UpstreamRequest } from "../../auth/types.js";
import type { ConfigReader } from "../../config.js";
import { ToolInputError } from "../../errors.js";
import type { ApiPlan } from "../../platform.js";
import { definePlatform } from "../../platform.js";
import { createKeycloakAuth, parseSquonkError } from "./login.js";
import { squonkTools } from "./tools.js";

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

export const squonkDmProfile: ServiceProfile = {
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

export const squonkAsProfile: ServiceProfile = {
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

export interface SquonkSettings {
  dmUrl: string;
  /** The Account Server, when `SQUONK2_ASAPI_URL` is set (then with its own client id). */
  as?: { url: string; clientId: string };
  keycloakUrl: string;
  realm: string;
  dmClientId: string;
  clientSecret?: string;
  username: string;
  password: string;
}

// Aliases: names people carry over from the Python client's environments file (`keycloak-hostname`,
// `dm-hostname`, ...) or guess, so that a misspelt setting is named with the real one.
const VARIABLES = [
  {
    name: "SQUONK2_DMAPI_URL",
    example: "https://squonk.example.com/data-manager-api",
    aliases: ["SQUONK2_DM_URL", "SQUONK2_DM_HOSTNAME"],
    description: "Address of the Data Manager API (it ends in /data-manager-api).",
  },
  {
    name: "SQUONK2_ASAPI_URL",
    example: "https://squonk.example.com/account-server-api",
    aliases: ["SQUONK2_AS_URL", "SQUONK2_AS_HOSTNAME"],
    description:
      "Address of the Account Server API, for its tools (optional; with SQUONK2_KEYCLOAK_AS_CLIENT_ID).",
  },
  {
    name: "SQUONK2_KEYCLOAK_URL",
    example: "https://squonk.example.com/auth",
    aliases: ["SQUONK2_KEYCLOAK_HOSTNAME", "SQUONK2_KEYCLOAK_HOST"],
    description: "Address of Squonk2's Keycloak (it ends in /auth).",
  },
  { name: "SQUONK2_KEYCLOAK_REALM", example: "squonk", description: "Keycloak realm of Squonk2's users." },
  {
    name: "SQUONK2_KEYCLOAK_DM_CLIENT_ID",
    example: "data-manager-api",
    description: "Keycloak client of the Data Manager.",
  },
  {
    name: "SQUONK2_KEYCLOAK_AS_CLIENT_ID",
    example: "account-server-api",
    description: "Keycloak client of the Account Server (with SQUONK2_ASAPI_URL).",
  },
  {
    name: "SQUONK2_KEYCLOAK_CLIENT_SECRET",
    example: "<client secret>",
    secret: true,
    aliases: ["SQUONK2_CLIENT_SECRET"],
    description: "Secret of the Keycloak clients, when they are confidential (optional).",
  },
  {
    name: "SQUONK2_USERNAME",
    example: "jane",
    aliases: ["SQUONK2_USER", "SQUONK2_DMAPI_USERNAME"],
    description: "Squonk2 user to log in as.",
  },
  {
    name: "SQUONK2_PASSWORD",
    example: "<password>",
    secret: true,
    aliases: ["SQUONK2_DMAPI_PASSWORD"],
    description: "That user's password (who signs in through GitHub sets one on the realm's account page).",
  },
] as const;

type VariableName = (typeof VARIABLES)[number]["name"];
const EXAMPLES = Object.fromEntries(VARIABLES.map((v) => [v.name, v.example])) as Record<
  VariableName,
  string
>;

const AS_CLIENT_ID = "SQUONK2_KEYCLOAK_AS_CLIENT_ID";

function readSquonk(r: ConfigReader): SquonkSettings | undefined {
  const before = r.problems.length;
  const missing = (name: VariableName, why: string) =>
    r.problem(name, `missing: ${why}`, `${name}=${EXAMPLES[name]}`);
  const need = (name: VariableName, why: string): string => {
    const value = r.get(name);
    if (value === undefined) missing(name, why);
    return value ?? "";
  };
  // Its presence is checked by the core: it enables the platform.
  const dmUrl = r.url("SQUONK2_DMAPI_URL", EXAMPLES.SQUONK2_DMAPI_URL);
  need("SQUONK2_KEYCLOAK_URL", "Squonk2 logs in through its Keycloak");
  const keycloakUrl = r.url("SQUONK2_KEYCLOAK_URL", EXAMPLES.SQUONK2_KEYCLOAK_URL);
  const realm = need("SQUONK2_KEYCLOAK_REALM", "the Keycloak realm of Squonk2's users");
  const dmClientId = need("SQUONK2_KEYCLOAK_DM_CLIENT_ID", "the Data Manager's Keycloak client");
  const username = need("SQUONK2_USERNAME", "the Squonk2 (Keycloak) user to log in as");
  const password = need("SQUONK2_PASSWORD", "that user's Keycloak password");
  // The Account Server is optional, and comes with a Keycloak client of its own.
  const asUrl = r.url("SQUONK2_ASAPI_URL", EXAMPLES.SQUONK2_ASAPI_URL);
  const asClientId = r.get(AS_CLIENT_ID);
  const asWanted = r.get("SQUONK2_ASAPI_URL") !== undefined;
  if (asWanted && asClientId === undefined)
    missing(AS_CLIENT_ID, "the Account Server (SQUONK2_ASAPI_URL is set) has its own Keycloak client");
  if (!asWanted && asClientId !== undefined)
    missing("SQUONK2_ASAPI_URL", `${AS_CLIENT_ID} is set, but not the Account Server it is for`);
  if (r.problems.length > before || dmUrl === undefined || keycloakUrl === undefined) return undefined;

  const settings: SquonkSettings = { dmUrl, keycloakUrl, realm, dmClientId, username, password };
  if (asUrl !== undefined && asClientId !== undefined) settings.as = { url: asUrl, clientId: asClientId };
  const clientSecret = r.get("SQUONK2_KEYCLOAK_CLIENT_SECRET");
  if (clientSecret !== undefined) settings.clientSecret = clientSecret;
  return settings;
}

/** One session per API, each logging in with its own Keycloak client (tokens carry it in `azp`). */
function squonkApis(settings: SquonkSettings): ApiPlan[] {
  const { keycloakUrl: url, realm, clientSecret, username, password } = settings;
  const login = { url, realm, username, password, ...(clientSecret === undefined ? {} : { clientSecret }) };
  const plans: ApiPlan[] = [
    {
      url: settings.dmUrl,
      profile: squonkDmProfile,
      strategy: createKeycloakAuth({
        ...login,
        clientId: settings.dmClientId,
        clientIdVariable: "SQUONK2_KEYCLOAK_DM_CLIENT_ID",
      }),
    },
  ];
  if (settings.as !== undefined) {
    plans.push({
      url: settings.as.url,
      profile: squonkAsProfile,
      strategy: createKeycloakAuth({
        ...login,
        clientId: settings.as.clientId,
        clientIdVariable: AS_CLIENT_ID,
      }),
    });
  }
  return plans;
}

/** Squonk2: the Data Manager and, when configured, the Account Server. The registry entry. */
export const squonkPlatform = definePlatform({
  name: "squonk",
  title: "Squonk2 Data Manager and Account Server",
  product: "Squonk2",
  prefix: "SQUONK2",
  urlVariable: "SQUONK2_DMAPI_URL",
  variables: VARIABLES,
  usage:
    "SQUONK2_DMAPI_URL + SQUONK2_KEYCLOAK_URL/REALM/DM_CLIENT_ID + SQUONK2_USERNAME/PASSWORD [SQUONK2_KEYCLOAK_CLIENT_SECRET] [SQUONK2_ASAPI_URL + SQUONK2_KEYCLOAK_AS_CLIENT_ID]",
  apiIds: ["squonk_dm", "squonk_as"],
  read: readSquonk,
  apis: squonkApis,
  tools: squonkTools,
  emulator: async () => new (await import("./emulator/index.js")).SquonkEmulator(),
});
