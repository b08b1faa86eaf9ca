import { z } from "zod";
import type { ApiSession } from "../../auth/session.js";
import type { Config } from "../../config.js";
import { ToolInputError } from "../../errors.js";
import {
  DESTRUCTIVE,
  defineTool,
  MUTATING,
  type PlatformTool,
  READ_ONLY,
  upstreamField,
} from "../../tools/define.js";
import { pollUntil } from "../../tools/wait.js";
import { NETPROFILER_AWS_BASE } from "./profile.js";

const DONE = { ok: z.boolean(), summary: z.string() };

/** The paths the tools send to, which they also declare (the operator's policy matches them). */
const STATUS_PATH = `${NETPROFILER_AWS_BASE}/status`;
const ACCOUNTS_PATH = `${NETPROFILER_AWS_BASE}/auth_codes`;
const SYNC_PATH = `${NETPROFILER_AWS_BASE}/sync`;
const SYNC_STATUS_PATH = `${NETPROFILER_AWS_BASE}/sync/status`;

/**
 * `GET /status`: the seed's CloudStatus object, the fields it documents, each of which may be absent or
 * null. The page's types, except where its own example disagrees (`enabled` a string, then true) and where
 * the API's error ids are strings elsewhere.
 */
const STATUS_FIELDS = {
  enabled: upstreamField(z.union([z.boolean(), z.string()])),
  state: upstreamField(z.string()),
  last_sync_ts: upstreamField(z.number()),
  last_success_ts: upstreamField(z.number()),
  error_id: upstreamField(z.union([z.number(), z.string()])),
  error_text: upstreamField(z.string()),
};
const STATUS = z.looseObject(STATUS_FIELDS).describe("the status object");
type SyncStatus = z.output<typeof STATUS>;

/** `GET /status`, checked to be the documented object. */
function readStatus(session: ApiSession): Promise<SyncStatus> {
  return session.request({ method: "GET", path: STATUS_PATH }, STATUS);
}

const ACCOUNTS = z.array(z.unknown()).describe("a JSON array");

const statusTool = defineTool({
  name: "netprofiler_get_aws_status",
  title: "NetProfiler AWS sync status",
  description: "State of NetProfiler's AWS synchronisation: enabled, state, last sync and last success.",
  input: {},
  output: STATUS_FIELDS,
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: STATUS_PATH }],
  async handler(_args, { session }) {
    return readStatus(session);
  },
});

const listAccountsTool = defineTool({
  name: "netprofiler_list_aws_accounts",
  title: "List NetProfiler AWS accounts",
  description: "AWS accounts NetProfiler collects from: acc_id and access_key (secrets are never returned).",
  input: {},
  list: {},
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: ACCOUNTS_PATH }],
  async handler(_args, { session }) {
    const items = await session.request({ method: "GET", path: ACCOUNTS_PATH }, ACCOUNTS);
    return { items };
  },
});

// Checked with refine, not min()/regex(): the rules cost no bytes in tools/list and the messages say them.
const nonEmpty = (what: string) => z.string().refine((value) => value !== "", `${what} must not be empty`);

const account = z
  .object({
    acc_id: nonEmpty("acc_id").describe("Account name/ID"),
    access_key: nonEmpty("access_key").describe("AWS access key id"),
    secret_key: nonEmpty("secret_key").optional().describe("AWS secret key; prefer secret_key_ref"),
    secret_key_ref: z
      .string()
      .refine((name) => /^[A-Za-z0-9_]+$/.test(name), "letters, digits and _ only")
      .optional()
      .describe("NAME of the server's INFRA_MCP_SECRET_NAME holding the secret key"),
  })
  .strict()
  .refine(
    (value) => !(value.secret_key && value.secret_key_ref),
    "give secret_key or secret_key_ref, not both",
  );

/** The value of `INFRA_MCP_SECRET_<ref>`, the only variables a reference can name; refused when unset. */
function secretFor(ref: string, config: Config): string {
  const value = config.secrets.get(ref);
  if (value !== undefined) return value;
  const known = [...config.secrets.keys()];
  throw new ToolInputError(
    `secret_key_ref "${ref}": INFRA_MCP_SECRET_${ref} is not set in the server's environment. ` +
      (known.length > 0 ? `Known names: ${known.join(", ")}.` : "No INFRA_MCP_SECRET_* variables are set.") +
      " Nothing was sent.",
  );
}

const putAccountsTool = defineTool({
  name: "netprofiler_put_aws_accounts",
  title: "Create or update NetProfiler AWS accounts",
  description:
    "Creates or updates AWS accounts in NetProfiler. Pass secrets by secret_key_ref so they stay out of the chat.",
  input: { accounts: z.array(account).min(1).describe("Accounts to create or update") },
  output: { ...DONE, acc_ids: z.array(z.string()) },
  annotations: { ...MUTATING, idempotent: true },
  requests: () => [{ method: "PUT", path: ACCOUNTS_PATH }],
  preview: ({ accounts }) =>
    `PUT ${ACCOUNTS_PATH}: create or update AWS account(s) ${accounts.map((a) => a.acc_id).join(", ")}`,
  // An unknown reference is refused before anyone is asked to confirm the call.
  async precheck({ accounts }, { config }) {
    for (const { secret_key_ref } of accounts)
      if (secret_key_ref !== undefined) secretFor(secret_key_ref, config);
  },
  async handler({ accounts }, { session, config }) {
    const body = accounts.map(({ acc_id, access_key, secret_key, secret_key_ref }) => {
      const entry: Record<string, string> = { acc_id, access_key };
      if (secret_key_ref !== undefined) {
        entry.secret_key = secretFor(secret_key_ref, config);
      } else if (secret_key !== undefined) {
        entry.secret_key = secret_key;
      }
      return entry;
    });
    await session.request({ method: "PUT", path: ACCOUNTS_PATH, json: body });
    const ids = accounts.map((a) => a.acc_id);
    return {
      ok: true,
      acc_ids: ids,
      summary: `Stored ${ids.length} AWS account(s). Run netprofiler_sync_aws_accounts to collect from them now.`,
    };
  },
});

const deleteAccountsTool = defineTool({
  name: "netprofiler_delete_aws_accounts",
  title: "Delete NetProfiler AWS accounts",
  description: "Removes AWS accounts from NetProfiler; it stops collecting from them.",
  input: { acc_ids: z.array(nonEmpty("acc_id")).min(1).describe("acc_id values to delete") },
  output: { ...DONE, acc_ids: z.array(z.string()) },
  annotations: DESTRUCTIVE,
  requests: () => [{ method: "DELETE", path: ACCOUNTS_PATH }],
  preview: ({ acc_ids }, { session }) =>
    `DELETE ${session.baseUrl}${ACCOUNTS_PATH}: delete AWS account(s) ${acc_ids.join(", ")}`,
  async handler({ acc_ids }, { session }) {
    const json = acc_ids.map((acc_id) => ({ acc_id }));
    await session.request({ method: "DELETE", path: ACCOUNTS_PATH, json });
    return { ok: true, acc_ids, summary: `Deleted ${acc_ids.length} AWS account(s).` };
  },
});

const syncTool = defineTool({
  name: "netprofiler_sync_aws_accounts",
  title: "Sync NetProfiler AWS accounts",
  description:
    "Syncs all AWS accounts; by default waits for the sync to finish and returns the final status.",
  input: { wait: z.boolean().optional().describe("Wait for the sync to finish (default true)") },
  output: { ...DONE, finished: z.boolean().optional(), status: z.record(z.string(), z.unknown()).optional() },
  annotations: MUTATING,
  // With wait, the status is read until the sync has begun or ended.
  requests: ({ wait = true }) => [
    { method: "POST", path: SYNC_PATH },
    ...(wait ? [{ method: "GET" as const, path: STATUS_PATH }] : []),
  ],
  preview: () => `POST ${SYNC_PATH}: sync all AWS accounts`,
  async handler({ wait = true }, { session, signal, progress, deadline }) {
    await session.request({ method: "POST", path: SYNC_PATH });
    if (!wait)
      return { ok: true, summary: "Sync requested. Check progress with netprofiler_get_aws_status." };
    const { value, finished } = await pollUntil({
      read: () => readStatus(session),
      done: (status) => status.state !== "SYNC_INITIALIZING",
      // The sync was requested: it is initializing, as far as anyone can say.
      unread: { state: "SYNC_INITIALIZING" },
      describe: (status) => `AWS sync: ${status.state ?? "unknown state"}`,
      deadline,
      signal,
      progress,
    });
    return {
      ok: value.state !== "SYNC_FAILED",
      finished,
      status: value,
      summary: finished
        ? `Sync ended in state ${value.state}.`
        : "Sync still running; check again with netprofiler_get_aws_status.",
    };
  },
});

const setSyncTool = defineTool({
  name: "netprofiler_set_aws_sync",
  title: "Enable or disable NetProfiler AWS sync",
  description: "Enables or disables synchronisation of all AWS accounts.",
  input: { status: z.enum(["ENABLED", "DISABLED"]).describe("New sync status") },
  output: DONE,
  annotations: { ...MUTATING, idempotent: true },
  requests: () => [{ method: "PUT", path: SYNC_STATUS_PATH }],
  preview: ({ status }) => `PUT ${SYNC_STATUS_PATH}: set AWS sync to ${status}`,
  async handler({ status }, { session }) {
    await session.request({ method: "PUT", path: SYNC_STATUS_PATH, json: { status } });
    return { ok: true, summary: `AWS sync is now ${status}.` };
  },
});

export const netprofilerTools: PlatformTool[] = [
  statusTool,
  listAccountsTool,
  putAccountsTool,
  deleteAccountsTool,
  syncTool,
  setSyncTool,
];
