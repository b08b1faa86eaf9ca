import { z } from "zod";
import type { ApiSession } from "../../auth/session.js";
import { ToolInputError, UpstreamError } from "../../errors.js";
import {
  DESTRUCTIVE,
  defineTool,
  type ListPage,
  MUTATING,
  type PlannedRequest,
  type PlatformTool,
  READ_ONLY,
  type ToolContext,
} from "../../tools/define.js";
import { pollUntil } from "../../tools/wait.js";
import { ovcHint, ovcPath, ovcRequest, parseTaskFailure, TASK_GET } from "./profile.js";

const DEFAULT_LIMIT = 50;

/**
 * The actor methods the tools call. Each tool also declares the calls it will make (`invokes`), so that the
 * operator's policy can decide on them before anyone is asked to confirm.
 */
const LIST_LOCATIONS = "cloudapi/locations/list";
const GET_PORTAL_URL = "cloudapi/locations/getUrl";
const LIST_ACCOUNTS = "cloudapi/accounts/list";
const GET_ACCOUNT = "cloudapi/accounts/get";
const LIST_CLOUDSPACES = "cloudapi/cloudspaces/list";
const GET_CLOUDSPACE = "cloudapi/cloudspaces/get";
const CREATE_CLOUDSPACE = "cloudapi/cloudspaces/create";
const LIST_MACHINES = "cloudapi/machines/list";
const GET_MACHINE = "cloudapi/machines/get";
const CREATE_MACHINE = "cloudapi/machines/create";
const LIST_IMAGES = "cloudapi/images/list";
const LIST_SIZES = "cloudapi/sizes/list";

/** The requests a call of these methods sends: every one a POST to the method's path. */
function invokes(...methods: string[]): PlannedRequest[] {
  return methods.map((method) => ({ method: "POST", path: ovcPath(method) }));
}

/** A create's requests: its checks, the create, and, when it waits, the polls of its task. */
function creates(checks: string[], method: string, wait: boolean | undefined): PlannedRequest[] {
  return invokes(...checks, method, ...(wait === false ? [] : [TASK_GET]));
}

/**
 * Calls one actor method (`cloudapi/cloudspaces/list`) with its camelCase parameters; with a schema, its
 * answer is parsed (a surprise is the session's unexpected-answer error, naming the method).
 */
function callMethod(session: ApiSession, method: string, params?: Record<string, unknown>): Promise<unknown>;
function callMethod<Schema extends z.ZodType>(
  session: ApiSession,
  method: string,
  params: Record<string, unknown>,
  schema: Schema,
): Promise<z.output<Schema>>;
function callMethod(
  session: ApiSession,
  method: string,
  params: Record<string, unknown> = {},
  schema?: z.ZodType,
): Promise<unknown> {
  const request = ovcRequest(method, params);
  return schema === undefined ? session.request(request) : session.request(request, schema);
}

function where(method: string) {
  return { api: "ovc", method: "POST", path: ovcPath(method) };
}

const JSON_LIST = z.array(z.unknown()).describe("a JSON list");
const JSON_OBJECT = z.record(z.string(), z.unknown()).describe("a JSON object");

/** A method that answers a JSON list, as a page the wrapper shapes (the platform does not page). */
async function listMethod(
  session: ApiSession,
  method: string,
  params: Record<string, unknown> = {},
): Promise<ListPage> {
  return { items: await callMethod(session, method, params, JSON_LIST) };
}

/** A method that answers one JSON object. */
function getMethod(session: ApiSession, method: string, params: Record<string, unknown>) {
  return callMethod(session, method, params, JSON_OBJECT);
}

// ---------------------------------------------------------------- long operations (`_async` tasks)

/** What `system/task/get` says: still running, or ended with the method's result or failure. */
type TaskState<Result = unknown> =
  | { running: true }
  | { running: false; ok: true; result: Result }
  | { running: false; ok: false; result: unknown };

/**
 * `system/task/get`'s answer: 202 (or 204, as the spec's docstring has it) with an empty body while running,
 * `[true, result]` or `[false, error]` when done; `result` is what the method returns.
 */
function taskAnswer<Result extends z.ZodType>(result: Result, expected: string) {
  return z
    .union([z.null(), z.tuple([z.literal(true), result]), z.tuple([z.literal(false), z.unknown()])])
    .describe(expected);
}
const ANY_TASK = taskAnswer(z.unknown(), "[ok, result] or an empty 202");

async function readTask<Result>(
  session: ApiSession,
  guid: string,
  answer: z.ZodType<[true, Result] | [false, unknown] | null>,
): Promise<TaskState<Result>> {
  const body = await callMethod(session, TASK_GET, { taskguid: guid }, answer);
  if (body === null) return { running: true };
  return body[0]
    ? { running: false, ok: true, result: body[1] }
    : { running: false, ok: false, result: body[1] };
}

/** A failed task's stored exception as one line: `400 Bad Request: Location xyz does not exists`. */
function describeFailure(stored: unknown): string {
  const { status, reason, message } = parseTaskFailure(stored);
  return status === undefined ? message : `${status} ${reason}: ${message}`;
}

/**
 * A failed task, reported like the synchronous call would have been: its status, message and hint. Text
 * that is not the portal's `<code>: <reason> "<msg>"` came from an unhandled exception, which a synchronous
 * call would have answered with 500.
 */
function taskError(method: string, params: Record<string, unknown>, stored: unknown): UpstreamError {
  const { status = 500, message } = parseTaskFailure(stored);
  return new UpstreamError({
    ...where(method),
    status,
    message: `the task failed: ${message}`,
    hint: ovcHint(status, ovcRequest(method, params)),
  });
}

const WAIT = z.boolean().optional().describe("Wait for the task to end (default true)");

const STILL_RUNNING =
  "Still running; check it with ovc_get_task (results are kept 10 minutes after it ends).";

/**
 * How long after its guid came back a task may still be unknown to `system/task/get`: before 2.5.6 a fresh
 * task is not registered at once. The official Go client (gig-tech/ovc-sdk-go) polls first after 2 s and
 * forgives one 404 with 2 s more, so it bears a task unknown for about 4 s; this is that, with room for a
 * slow portal. A 404 later means the task is gone (its result expired, or it never existed): the wait ends.
 */
const FRESH_TASK_GRACE_MS = 5_000;

/** A create method run as a long operation. */
interface Creation {
  method: string;
  params: Record<string, unknown>;
  wait: boolean | undefined;
  /** Shown with each progress notification, e.g. `Creating cloudspace "web"`. */
  label: string;
  /** The key of the new id in the result, e.g. `cloudspace_id`. */
  idKey: string;
  /** The summary once the id is known. */
  summary: (id: number) => string;
  /**
   * How to see, by name, whether the object came to exist, for a task that never says (some versions never
   * finish a task the platform refused): `ovc_list_cloudspaces lists a cloudspace "web" in account 1`.
   */
  lookup: string;
  /** For a method that may answer `true` (accepted, no id): the summary then. Absent: an id is expected. */
  accepted?: string;
}

/**
 * Runs a create method as an `_async` task: the call answers a task guid at once; with `wait` (the
 * default), the task is polled (a progress notification per read) until it ends, the call's time budget
 * runs out or the client cancels. A failed task throws; one still running comes back as
 * `{task_guid, status: "running"}` for ovc_get_task; one that succeeded gives the new id.
 */
async function runCreate(ctx: ToolContext, creation: Creation): Promise<Record<string, unknown>> {
  // `_async` with any value makes the portal run the call as a task (upstreams.md, "Async tasks").
  const params = { ...creation.params, _async: true };
  return settle(
    ctx,
    creation,
    await callMethod(ctx.session, creation.method, params, createAnswer(creation)),
  );
}

/** What a create's value is: the new id, or, where the method may answer so, `true` (accepted, no id). */
function createdValue(creation: Creation) {
  return creation.accepted === undefined ? z.number() : z.union([z.number(), z.literal(true)]);
}

/**
 * What a create call answers: a task guid to follow, or the outcome itself (run at once: an id, or `true`).
 * An answer that is none of these is the session's unexpected-answer error.
 */
function createAnswer(creation: Creation) {
  const expected =
    creation.accepted === undefined ? "a task guid or the new id" : "a task guid, the new id or true";
  return z.union([z.string().min(1), createdValue(creation)]).describe(expected);
}

/** Follows a create call's task guid, or reports the outcome it answered at once. */
async function settle(
  ctx: ToolContext,
  creation: Creation,
  answer: string | number | true,
): Promise<Record<string, unknown>> {
  if (typeof answer === "string") return followTask(ctx, creation, answer);
  return outcome(creation, answer, {});
}

/** The result for a create's value. */
function outcome(
  creation: Creation,
  value: number | true,
  task: { task_guid?: string },
): Record<string, unknown> {
  if (value === true) return { ...task, status: "accepted", summary: creation.accepted };
  return { ...task, status: "succeeded", [creation.idKey]: value, summary: creation.summary(value) };
}

async function followTask(
  ctx: ToolContext,
  creation: Creation,
  guid: string,
): Promise<Record<string, unknown>> {
  const startedAt = Date.now();
  if (creation.wait === false) return { task_guid: guid, status: "running", summary: STILL_RUNNING };
  const answer = taskAnswer(
    createdValue(creation),
    `${creation.accepted === undefined ? "[true, the new id]" : "[true, the new id or true]"}, [false, an error] or an empty 202`,
  );
  const { value } = await pollUntil<TaskState<number | true>>({
    read: () => readFreshTask(ctx.session, guid, startedAt, answer),
    done: (task) => !task.running,
    // The task was accepted: it runs, as far as anyone can say.
    unread: { running: true },
    describe: (task) => `${creation.label}: ${task.running ? "running" : task.ok ? "succeeded" : "failed"}`,
    deadline: ctx.deadline,
    signal: ctx.signal,
    progress: ctx.progress,
  });
  if (value.running) {
    const seconds = Math.round((Date.now() - startedAt) / 1000);
    return {
      task_guid: guid,
      status: "running",
      running_for_seconds: seconds,
      summary:
        `Still running after ${seconds} s, when the call's time budget (INFRA_MCP_TIMEOUT_MS) ended the wait; ` +
        "ovc_get_task follows it. Some OpenvCloud versions never finish a task the platform refused (a name " +
        `taken, no access, a bad location): if it stays running, see whether ${creation.lookup}.`,
    };
  }
  if (!value.ok) throw taskError(creation.method, creation.params, value.result);
  return outcome(creation, value.result, { task_guid: guid });
}

/** The task's state; a 404 while it is fresh reads as running (see FRESH_TASK_GRACE_MS). */
async function readFreshTask<Result>(
  session: ApiSession,
  guid: string,
  startedAt: number,
  answer: z.ZodType<[true, Result] | [false, unknown] | null>,
): Promise<TaskState<Result>> {
  try {
    return await readTask(session, guid, answer);
  } catch (error) {
    const unknown = error instanceof UpstreamError && error.status === 404;
    if (unknown && Date.now() - startedAt < FRESH_TASK_GRACE_MS) return { running: true };
    throw error;
  }
}

// ---------------------------------------------------------------- checks before a create

/**
 * A pre-check's read, parsed. Its refusal of the call's own ids (400, or 404 "Could not find 999 of type
 * cloudspace") is the call's answer: the create would be refused for the same reason, on some versions
 * inside a task that never says so. Any other failure (no right to read, the portal failing, an answer of
 * another shape) skips the check, logged: the platform, not a pre-check, has the last word.
 */
async function checkRead<T>(
  ctx: ToolContext,
  method: string,
  params: Record<string, unknown>,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  let body: unknown;
  try {
    body = await callMethod(ctx.session, method, params);
  } catch (error) {
    const refusal = error instanceof UpstreamError && (error.status === 400 || error.status === 404);
    if (!(error instanceof UpstreamError) || refusal || error.details.outOfTime) throw error;
    ctx.log.warn(`ovc: ${method} failed, so its check before the create was skipped: ${error.message}`);
    return undefined;
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  ctx.log.warn(`ovc: ${method} answered in another shape, so its check before the create was skipped`);
  return undefined;
}

/** A create refused by a pre-check: what is wrong, which tool shows it, and that nothing was sent. */
function refuse(tool: string, reason: string): ToolInputError {
  return new ToolInputError(`${tool}: ${reason}. Nothing was sent.`);
}

const LOCATIONS = z.array(z.looseObject({ gid: z.number(), locationCode: z.string() }));
const NAMED = z.array(z.looseObject({ id: z.number(), name: z.string() }));
const CLOUDSPACES = z.array(
  z.looseObject({ id: z.number(), name: z.string(), accountId: z.number(), status: z.string() }),
);
const CLOUDSPACE = z.looseObject({ accountId: z.number(), status: z.string() });
const IMAGES = z.array(z.looseObject({ id: z.number(), name: z.string(), size: z.number() }));
const SIZES = z.array(z.looseObject({ id: z.number() }));

/** The locations, for checking a code or a grid id; undefined when they could not be read. */
function readLocations(ctx: ToolContext) {
  return checkRead(ctx, LIST_LOCATIONS, {}, LOCATIONS);
}

// ---------------------------------------------------------------- parameters

const accountId = z.number().int().describe("Account id (from ovc_list_accounts)");
const cloudspaceId = z.number().int().describe("Cloudspace id (from ovc_list_cloudspaces)");
const machineId = z.number().int().describe("Machine id (from ovc_list_machines)");
const permanently = z.boolean().optional().describe("Destroy now, skipping the recycle bin (no restore)");
const location = z.string().describe("Location code, e.g. be-gen-1 (from ovc_list_locations)");

// ---------------------------------------------------------------- locations, accounts

const listLocationsTool = defineTool({
  name: "ovc_list_locations",
  title: "List OpenvCloud locations",
  description: "Locations: id, gid, name, locationCode (for ovc_create_cloudspace, ovc_list_sizes).",
  input: {},
  list: {},
  annotations: READ_ONLY,
  requests: () => invokes(LIST_LOCATIONS),
  handler: (_args, { session }) => listMethod(session, LIST_LOCATIONS),
});

const PORTAL_URL = z.string().describe("a URL");

const getPortalUrlTool = defineTool({
  name: "ovc_get_portal_url",
  title: "Get the OpenvCloud portal URL",
  description: "The address of the OpenvCloud end-user portal, for a person to open.",
  input: {},
  output: { url: z.string() },
  annotations: READ_ONLY,
  requests: () => invokes(GET_PORTAL_URL),
  async handler(_args, { session }) {
    return { url: await callMethod(session, GET_PORTAL_URL, {}, PORTAL_URL) };
  },
});

const listAccountsTool = defineTool({
  name: "ovc_list_accounts",
  title: "List OpenvCloud accounts",
  description: "Accounts the user can see: id, name, acl. Details: ovc_get_account.",
  input: {},
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => invokes(LIST_ACCOUNTS),
  handler: (_args, { session }) => listMethod(session, LIST_ACCOUNTS),
});

const getAccountTool = defineTool({
  name: "ovc_get_account",
  title: "Get an OpenvCloud account",
  description: "One account in full: status, acl with rights, resourceLimits, company.",
  input: { account_id: accountId },
  annotations: READ_ONLY,
  requests: () => invokes(GET_ACCOUNT),
  handler: ({ account_id }, { session }) => getMethod(session, GET_ACCOUNT, { accountId: account_id }),
});

// ---------------------------------------------------------------- cloudspaces

const listCloudspacesTool = defineTool({
  name: "ovc_list_cloudspaces",
  title: "List OpenvCloud cloudspaces",
  description:
    "Cloudspaces (private networks with a router): id, name, status, accountId, public IP, location.",
  input: { include_deleted: z.boolean().optional().describe("Also list deleted ones (in the recycle bin)") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => invokes(LIST_CLOUDSPACES),
  handler: ({ include_deleted }, { session }) =>
    listMethod(session, LIST_CLOUDSPACES, { includedeleted: include_deleted }),
});

const getCloudspaceTool = defineTool({
  name: "ovc_get_cloudspace",
  title: "Get an OpenvCloud cloudspace",
  description: "One cloudspace in full: status (VIRTUAL, DEPLOYING, DEPLOYED...), acl, resourceLimits.",
  input: { cloudspace_id: cloudspaceId },
  annotations: READ_ONLY,
  requests: () => invokes(GET_CLOUDSPACE),
  handler: ({ cloudspace_id }, { session }) =>
    getMethod(session, GET_CLOUDSPACE, { cloudspaceId: cloudspace_id }),
});

/** A resource limit of the cloudspace; the platform's default -1 means unlimited. */
const cap = (what: string, unit = z.number().int()) => unit.optional().describe(`Max ${what}`);

const createCloudspaceTool = defineTool({
  name: "ovc_create_cloudspace",
  title: "Create an OpenvCloud cloudspace",
  description:
    "Creates a cloudspace (limits default to unlimited) and waits for the task; it then deploys until ovc_get_cloudspace shows DEPLOYED.",
  input: {
    account_id: accountId,
    location,
    name: z.string().describe("Name, unique in the account"),
    access: z.string().describe("Username granted full access, e.g. the caller's own"),
    max_memory_gb: cap("memory in GB", z.number()),
    max_vdisk_gb: cap("disk in GB"),
    max_cpus: cap("vCPUs"),
    max_network_transfer_gb: cap("external transfer in GB"),
    max_public_ips: cap("public IPs"),
    private_network: z.string().optional().describe("Private CIDR (default 192.168.103.0/24)"),
    type: z.enum(["routeros", "vgw"]).optional().describe("Router type (default routeros)"),
    wait: WAIT,
  },
  annotations: MUTATING,
  requests: ({ wait }) => creates([LIST_LOCATIONS, LIST_CLOUDSPACES], CREATE_CLOUDSPACE, wait),
  // The platform's own rules (cloudapi_cloudspaces.create): the location code must exist, and the name must
  // be free among the account's cloudspaces that are not destroyed, those in the recycle bin included.
  async precheck({ account_id, location, name }, ctx) {
    const locationsRead = readLocations(ctx);
    const cloudspacesRead = checkRead(ctx, LIST_CLOUDSPACES, { includedeleted: true }, CLOUDSPACES);
    // Side by side; a refusal is reported in this order, whichever comes back first.
    await Promise.allSettled([locationsRead, cloudspacesRead]);
    const locations = await locationsRead;
    const cloudspaces = await cloudspacesRead;
    if (locations !== undefined && !locations.some((known) => known.locationCode === location)) {
      const codes = locations.map((known) => known.locationCode).join(", ");
      throw refuse(
        "ovc_create_cloudspace",
        `no location has the code ${JSON.stringify(location)}; ovc_list_locations lists them (${codes})`,
      );
    }
    const taken = cloudspaces?.find(
      (cloudspace) => cloudspace.accountId === account_id && cloudspace.name === name,
    );
    if (taken !== undefined) {
      const state =
        taken.status === "DELETED" ? "in the recycle bin, which still holds its name" : taken.status;
      throw refuse(
        "ovc_create_cloudspace",
        `account ${account_id} already has a cloudspace named ${JSON.stringify(name)} (id ${taken.id}, ${state}); ` +
          "names are unique in an account: choose another (ovc_list_cloudspaces lists them)",
      );
    }
  },
  preview: ({ name, account_id, location, type, private_network }, { session }) =>
    `POST ${session.baseUrl}${ovcPath(CREATE_CLOUDSPACE)}: create cloudspace "${name}" in account ${account_id} at ${location}` +
    ` (${type ?? "routeros"}, ${private_network ?? "192.168.103.0/24"})`,
  handler: (args, ctx) =>
    runCreate(ctx, {
      method: CREATE_CLOUDSPACE,
      params: {
        accountId: args.account_id,
        location: args.location,
        name: args.name,
        access: args.access,
        maxMemoryCapacity: args.max_memory_gb,
        maxVDiskCapacity: args.max_vdisk_gb,
        maxCPUCapacity: args.max_cpus,
        maxNetworkPeerTransfer: args.max_network_transfer_gb,
        maxNumPublicIP: args.max_public_ips,
        privatenetwork: args.private_network,
        type: args.type,
      },
      wait: args.wait,
      label: `Creating cloudspace "${args.name}"`,
      idKey: "cloudspace_id",
      summary: (id) =>
        `Cloudspace ${id} created; it deploys in the background (VIRTUAL, DEPLOYING, DEPLOYED): check with ovc_get_cloudspace.`,
      lookup: `ovc_list_cloudspaces lists a cloudspace "${args.name}" in account ${args.account_id}`,
    }),
});

/** What the two delete tools delete: the same call with another id, to the recycle bin unless permanently. */
const DELETIONS = {
  cloudspace: { method: "cloudapi/cloudspaces/delete", idParam: "cloudspaceId", noun: "Cloudspace" },
  machine: { method: "cloudapi/machines/delete", idParam: "machineId", noun: "Machine" },
} as const;

function deletionPreview(baseUrl: string, kind: keyof typeof DELETIONS, id: number, permanently?: boolean) {
  return (
    `POST ${baseUrl}${ovcPath(DELETIONS[kind].method)}: delete ${kind} ${id}` +
    (permanently ? " permanently (no restore)" : " to the recycle bin")
  );
}

async function deleteResource(
  session: ApiSession,
  kind: keyof typeof DELETIONS,
  id: number,
  permanently?: boolean,
) {
  const { method, idParam, noun } = DELETIONS[kind];
  await callMethod(session, method, { [idParam]: id, permanently });
  return {
    ok: true,
    summary: `${noun} ${id} ${permanently ? "destroyed" : "deleted (restorable from the recycle bin)"}.`,
  };
}

const deleteCloudspaceTool = defineTool({
  name: "ovc_delete_cloudspace",
  title: "Delete an OpenvCloud cloudspace",
  description: "Deletes an empty cloudspace (delete its machines first); restorable unless permanently.",
  input: { cloudspace_id: cloudspaceId, permanently },
  annotations: DESTRUCTIVE,
  requests: () => invokes(DELETIONS.cloudspace.method),
  preview: ({ cloudspace_id, permanently }, { session }) =>
    deletionPreview(session.baseUrl, "cloudspace", cloudspace_id, permanently),
  handler: ({ cloudspace_id, permanently }, { session }) =>
    deleteResource(session, "cloudspace", cloudspace_id, permanently),
});

// ---------------------------------------------------------------- machines

const listMachinesTool = defineTool({
  name: "ovc_list_machines",
  title: "List OpenvCloud machines",
  description:
    "Machines of a cloudspace: id, name, status, sizeId, vcpus, memory, disks. Details: ovc_get_machine.",
  input: { cloudspace_id: cloudspaceId },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => invokes(LIST_MACHINES),
  handler: ({ cloudspace_id }, { session }) =>
    listMethod(session, LIST_MACHINES, { cloudspaceId: cloudspace_id }),
});

const getMachineTool = defineTool({
  name: "ovc_get_machine",
  title: "Get an OpenvCloud machine",
  description: "One machine in full: status, disks, interfaces with IPs, image, size, locked.",
  input: { machine_id: machineId },
  annotations: READ_ONLY,
  requests: () => invokes(GET_MACHINE),
  handler: ({ machine_id }, { session }) => getMethod(session, GET_MACHINE, { machineId: machine_id }),
});

/** What ovc_create_machine's pre-check reads its arguments for. */
interface MachineRequest {
  cloudspace_id: number;
  name: string;
  image_id: number;
  disk_size_gb: number;
  size_id?: number | undefined;
  vcpus?: number | undefined;
  memory_mb?: number | undefined;
}

/**
 * The platform's first rule for a new machine (cloudbrokerlib `Machine.validateCreate`), between its
 * arguments: a size, or vcpus and memory.
 */
function machineSizeRule({
  size_id,
  vcpus,
  memory_mb,
}: Omit<MachineRequest, "cloudspace_id" | "name" | "image_id" | "disk_size_gb">): string | undefined {
  const sized = size_id !== undefined;
  const custom = vcpus !== undefined || memory_mb !== undefined;
  if (sized === custom || (custom && (vcpus === undefined || memory_mb === undefined)))
    return "ovc_create_machine needs size_id (see ovc_list_sizes), or vcpus and memory_mb, not both. Nothing was sent.";
  return undefined;
}

/**
 * The platform's other rules for a new machine (cloudbrokerlib `Machine.validateCreate`), read upstream: a
 * cloudspace that is not in the recycle bin; a name no other machine of the cloudspace has; a size the
 * cloudspace allows; an image of its account (or public), CREATED, that fits the boot disk.
 */
async function checkMachine(args: MachineRequest, ctx: ToolContext): Promise<void> {
  const tool = "ovc_create_machine";
  const sized = args.size_id !== undefined;
  const cloudspaceId = args.cloudspace_id;
  const cloudspaceRead = checkRead(ctx, GET_CLOUDSPACE, { cloudspaceId }, CLOUDSPACE);
  const machinesRead = checkRead(ctx, LIST_MACHINES, { cloudspaceId }, NAMED);
  const sizesRead = sized ? checkRead(ctx, LIST_SIZES, { cloudspaceId }, SIZES) : undefined;
  // Side by side; a refusal is reported in this order (an unknown cloudspace by cloudspaces/get, which
  // machines/list refuses too), whichever comes back first.
  await Promise.allSettled([cloudspaceRead, machinesRead, sizesRead]);
  const cloudspace = await cloudspaceRead;
  const machines = await machinesRead;
  const sizes = await sizesRead;
  if (cloudspace?.status === "DELETED")
    throw refuse(tool, `cloudspace ${cloudspaceId} is in the recycle bin (DELETED): restore it first`);
  const taken = machines?.find((machine) => machine.name === args.name);
  if (taken !== undefined) {
    throw refuse(
      tool,
      `cloudspace ${cloudspaceId} already has a machine named ${JSON.stringify(args.name)} (id ${taken.id}); ` +
        `choose another name (ovc_list_machines with cloudspace_id ${cloudspaceId} lists them)`,
    );
  }
  if (sizes !== undefined && !sizes.some((size) => size.id === args.size_id)) {
    throw refuse(
      tool,
      `cloudspace ${cloudspaceId} does not allow size ${args.size_id}; ovc_list_sizes with cloudspace_id ` +
        `${cloudspaceId} lists the sizes it allows (${sizes.map((size) => size.id).join(", ")})`,
    );
  }
  if (cloudspace === undefined) return;
  // With both ids the portal lists the account's images and the public ones, of the cloudspace's location.
  const accountId = cloudspace.accountId;
  const images = await checkRead(ctx, LIST_IMAGES, { accountId, cloudspaceId }, IMAGES);
  const image = images?.find((candidate) => candidate.id === args.image_id);
  if (images !== undefined && image === undefined) {
    throw refuse(
      tool,
      `image ${args.image_id} cannot be used in cloudspace ${cloudspaceId}: it is not among the ready images of ` +
        `account ${accountId} there; ovc_list_images with account_id ${accountId} and cloudspace_id ` +
        `${cloudspaceId} lists them`,
    );
  }
  if (image !== undefined && args.disk_size_gb < image.size) {
    throw refuse(
      tool,
      `image ${image.id} (${image.name}) needs a boot disk of at least ${image.size} GB, not ${args.disk_size_gb}`,
    );
  }
}

const createMachineTool = defineTool({
  name: "ovc_create_machine",
  title: "Create an OpenvCloud machine",
  description:
    "Creates a machine from an image (ovc_list_images) with size_id (ovc_list_sizes) or vcpus + memory_mb; waits for the task.",
  input: {
    cloudspace_id: cloudspaceId,
    name: z.string().describe("Name, unique in the cloudspace"),
    description: z.string().optional().describe("Description"),
    image_id: z.number().int().describe("Image id"),
    disk_size_gb: z.number().int().describe("Boot disk size in GB"),
    size_id: z.number().int().optional().describe("Size id; or give vcpus and memory_mb"),
    vcpus: z.number().int().optional().describe("vCPUs, without size_id"),
    memory_mb: z.number().int().optional().describe("Memory in MB, without size_id"),
    data_disks_gb: z.array(z.number().int()).optional().describe("Sizes of extra data disks in GB"),
    wait: WAIT,
  },
  annotations: MUTATING,
  rules: machineSizeRule,
  // The checks read the cloudspace, its machines and images, and its sizes when a size is named.
  requests: ({ size_id, wait }) =>
    creates(
      [GET_CLOUDSPACE, LIST_MACHINES, ...(size_id === undefined ? [] : [LIST_SIZES]), LIST_IMAGES],
      CREATE_MACHINE,
      wait,
    ),
  precheck: (args, ctx) => checkMachine(args, ctx),
  preview: ({ name, cloudspace_id, image_id, size_id, vcpus, memory_mb, disk_size_gb }, { session }) =>
    `POST ${session.baseUrl}${ovcPath(CREATE_MACHINE)}: create machine "${name}" in cloudspace ${cloudspace_id} from image ${image_id}, ` +
    `${size_id === undefined ? `${vcpus ?? "?"} vCPU / ${memory_mb ?? "?"} MB` : `size ${size_id}`}, ${disk_size_gb} GB boot disk`,
  handler: (args, ctx) =>
    runCreate(ctx, {
      method: CREATE_MACHINE,
      params: {
        cloudspaceId: args.cloudspace_id,
        name: args.name,
        // Optional upstream (`@tags: optional` in the spec), and the portal reads "" as absent: sending it
        // when none is given is harmless, and is what TOOLS.md promises.
        description: args.description ?? "",
        imageId: args.image_id,
        disksize: args.disk_size_gb,
        sizeId: args.size_id,
        vcpus: args.vcpus,
        memory: args.memory_mb,
        datadisks: args.data_disks_gb,
      },
      wait: args.wait,
      label: `Creating machine "${args.name}"`,
      idKey: "machine_id",
      summary: (id) => `Machine ${id} created. ovc_get_machine shows its status and IP address.`,
      lookup: `ovc_list_machines with cloudspace_id ${args.cloudspace_id} lists a machine "${args.name}"`,
    }),
});

/** Each action as the confirmation preview and the result put it. */
const ACTIONS = {
  start: ["start", "started"],
  stop: ["stop", "stopped"],
  reboot: ["reboot (soft)", "rebooted"],
  reset: ["reset (hard reboot)", "reset"],
  pause: ["pause", "paused"],
  resume: ["resume", "resumed"],
} as const;

const machineActionTool = defineTool({
  name: "ovc_machine_action",
  title: "Start, stop or reboot an OpenvCloud machine",
  description:
    "Starts, stops, reboots, resets (hard), pauses or resumes a machine. Check with ovc_get_machine.",
  input: {
    machine_id: machineId,
    action: z.enum(["start", "stop", "reboot", "reset", "pause", "resume"]).describe("What to do"),
    force: z.boolean().optional().describe("With stop: power off without a clean shutdown"),
  },
  // A reboot or reset is not idempotent: each one interrupts the machine again.
  annotations: { ...DESTRUCTIVE, idempotent: false },
  rules: ({ action, force }) =>
    force !== undefined && action !== "stop"
      ? "force applies to action stop only. Nothing was sent."
      : undefined,
  requests: ({ action }) => invokes(`cloudapi/machines/${action}`),
  preview: ({ machine_id, action, force }, { session }) =>
    `POST ${session.baseUrl}${ovcPath(`cloudapi/machines/${action}`)}: ${ACTIONS[action][0]} machine ${machine_id}` +
    (force ? " (forced)" : ""),
  async handler({ machine_id, action, force }, { session }) {
    await callMethod(session, `cloudapi/machines/${action}`, { machineId: machine_id, force });
    return {
      ok: true,
      summary: `Machine ${machine_id} ${ACTIONS[action][1]}. ovc_get_machine shows its status.`,
    };
  },
});

const deleteMachineTool = defineTool({
  name: "ovc_delete_machine",
  title: "Delete an OpenvCloud machine",
  description: "Deletes a machine and its disks; restorable from the recycle bin unless permanently.",
  input: { machine_id: machineId, permanently },
  annotations: DESTRUCTIVE,
  requests: () => invokes(DELETIONS.machine.method),
  preview: ({ machine_id, permanently }, { session }) =>
    deletionPreview(session.baseUrl, "machine", machine_id, permanently),
  handler: ({ machine_id, permanently }, { session }) =>
    deleteResource(session, "machine", machine_id, permanently),
});

// ---------------------------------------------------------------- images, sizes, tasks

const listImagesTool = defineTool({
  name: "ovc_list_images",
  title: "List OpenvCloud images",
  description: "Usable images (public ones plus an account's own): id, name, type, size in GB, username.",
  input: {
    account_id: accountId.optional().describe("Also the images of this account"),
    cloudspace_id: cloudspaceId.optional().describe("Only the images at this cloudspace's location"),
  },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => invokes(LIST_IMAGES),
  handler: ({ account_id, cloudspace_id }, { session }) =>
    listMethod(session, LIST_IMAGES, { accountId: account_id, cloudspaceId: cloudspace_id }),
});

/** The session fact naming the import call this portal has (older ones lack `cloudapi/images/create`). */
const IMPORT_FACT = "ovc image import";
const IMAGES_CREATE = "cloudapi/images/create";
const BROKER_IMPORT = "cloudbroker/image/createImage";

/** The portal's answer to a method it does not have: 404 "Could not find method, path was ...". */
function isMissingMethod(error: unknown): boolean {
  return (
    error instanceof UpstreamError &&
    error.status === 404 &&
    error.details.message.startsWith("Could not find method")
  );
}

/** A 403 from the broker import, with what it means there: the user is not an administrator. */
function brokerRefusal(error: unknown): unknown {
  if (!(error instanceof UpstreamError) || error.status !== 403) return error;
  return new UpstreamError({
    ...error.details,
    hint:
      `This portal has no ${IMAGES_CREATE}; its import, ${BROKER_IMPORT}, is for OpenvCloud administrators, and ` +
      "the configured user is not one. Ask an administrator to import the image, or configure an administrator's OVC_* credentials.",
  });
}

interface ImageRequest {
  name: string;
  url: string;
  gid: number;
  image_type: "Linux" | "Windows" | "Other";
  boot_type: "bios" | "uefi";
  username?: string | undefined;
  password?: string | undefined;
  account_id?: number | undefined;
  hot_resize?: boolean | undefined;
  wait?: boolean | undefined;
}

/** The import as a long operation, through one of the two calls (they take the same parameters). */
function imageCreation(args: ImageRequest, method: string): Creation {
  const listed = `ovc_list_images${args.account_id === undefined ? "" : ` with account_id ${args.account_id}`}`;
  const through =
    method === BROKER_IMPORT ? ` (through ${BROKER_IMPORT}: this portal has no ${IMAGES_CREATE})` : "";
  return {
    method,
    params: {
      name: args.name,
      url: args.url,
      gid: args.gid,
      imagetype: args.image_type,
      boottype: args.boot_type,
      username: args.username,
      password: args.password,
      accountId: args.account_id,
      hotresize: args.hot_resize,
    },
    wait: args.wait,
    label: `Importing image "${args.name}"`,
    idKey: "image_id",
    summary: (id) => `Image ${id} is being imported${through}; ${listed} lists it once it is ready.`,
    lookup: `${listed} lists an image "${args.name}" once its import is done`,
    accepted:
      `The import of "${args.name}" was accepted${through} and runs on in the background; the platform gives ` +
      `no id for it: ${listed} lists it once it is ready.`,
  };
}

/**
 * Imports with `cloudapi/images/create` as a task, or on a portal without it (its 404 "Could not find
 * method", and only that 404: not one about an account or a location) with `cloudbroker/image/createImage`.
 * Which one the portal has is remembered for the session, so finding out costs one 404, once.
 */
async function importImage(args: ImageRequest, ctx: ToolContext): Promise<Record<string, unknown>> {
  const { facts } = ctx.session;
  if (facts.get(IMPORT_FACT) !== BROKER_IMPORT) {
    const creation = imageCreation(args, IMAGES_CREATE);
    let answer: string | number | true;
    try {
      const params = { ...creation.params, _async: true };
      answer = await callMethod(ctx.session, IMAGES_CREATE, params, createAnswer(creation));
    } catch (error) {
      if (!isMissingMethod(error)) throw error;
      facts.set(IMPORT_FACT, BROKER_IMPORT);
      ctx.log.info(`ovc: this portal has no ${IMAGES_CREATE}; images are imported with ${BROKER_IMPORT}`);
      return importWithBroker(args, ctx);
    }
    facts.set(IMPORT_FACT, IMAGES_CREATE);
    return settle(ctx, creation, answer);
  }
  return importWithBroker(args, ctx);
}

/**
 * The admin import, sent without `_async`: it answers `true` at once and imports in the background, and a
 * refusal (not an administrator, an unknown account) comes back now rather than inside a task that some
 * versions never finish. Whatever it answers (`true`, an id, a task guid) is settled like any create's.
 */
async function importWithBroker(args: ImageRequest, ctx: ToolContext): Promise<Record<string, unknown>> {
  const creation = imageCreation(args, BROKER_IMPORT);
  const answer = await callMethod(ctx.session, BROKER_IMPORT, creation.params, createAnswer(creation)).catch(
    (error: unknown) => {
      throw brokerRefusal(error);
    },
  );
  return settle(ctx, creation, answer);
}

const createImageTool = defineTool({
  name: "ovc_create_image",
  title: "Import an OpenvCloud image",
  description:
    "Imports a disk image from a URL into a location (gid from ovc_list_locations); waits for the task.",
  input: {
    name: z.string().describe("Image name"),
    url: z.string().describe("http(s) URL of the image file"),
    gid: z.number().int().describe("Grid id of the location"),
    image_type: z.enum(["Linux", "Windows", "Other"]).describe("Operating system family"),
    boot_type: z.enum(["bios", "uefi"]).describe("Firmware"),
    username: z.string().optional().describe("Login of the image's account"),
    password: z.string().optional().describe("Password of the image's account"),
    account_id: accountId.optional().describe("Owning account (public image when absent: admins only)"),
    hot_resize: z.boolean().optional().describe("Whether the image supports hot resizing"),
    wait: WAIT,
  },
  annotations: MUTATING,
  // Which import the portal has is known once one was tried: until then, either may be sent. The broker's
  // answers at once (no task to poll).
  requests: ({ wait }, { own }) => {
    const known = own?.facts.get(IMPORT_FACT);
    if (known === BROKER_IMPORT) return invokes(LIST_LOCATIONS, BROKER_IMPORT);
    const imports = creates([LIST_LOCATIONS], IMAGES_CREATE, wait);
    return known === IMAGES_CREATE ? imports : [...imports, ...invokes(BROKER_IMPORT)];
  },
  // The broker import looks the location up only in the background, where an unknown one fails unseen.
  async precheck({ gid }, ctx) {
    const locations = await readLocations(ctx);
    if (locations === undefined || locations.some((known) => known.gid === gid)) return;
    const grids = locations.map((known) => `${known.gid} (${known.locationCode})`).join(", ");
    throw refuse(
      "ovc_create_image",
      `no location has the grid id ${gid}; ovc_list_locations lists them: ${grids}`,
    );
  },
  // Names the call that will be made: once the portal is known to lack images/create, only the broker's.
  preview: ({ name, url, image_type, boot_type, account_id }, { session }) => {
    const known = session.facts.get(IMPORT_FACT);
    const call =
      known === BROKER_IMPORT
        ? ovcPath(BROKER_IMPORT)
        : `${ovcPath(IMAGES_CREATE)}${known === undefined ? ` (on a portal without it, ${ovcPath(BROKER_IMPORT)})` : ""}`;
    return (
      `POST ${session.baseUrl}${call}: import image "${name}" (${image_type}, ${boot_type}) from ${url}` +
      (account_id === undefined ? " as a public image" : ` into account ${account_id}`)
    );
  },
  handler: (args, ctx) => importImage(args, ctx),
});

const listSizesTool = defineTool({
  name: "ovc_list_sizes",
  title: "List OpenvCloud machine sizes",
  description: "Sizes allowed in a cloudspace or at a location: id, vcpus, memory (MB), disks (GB).",
  input: {
    cloudspace_id: cloudspaceId.optional().describe("Sizes allowed in this cloudspace"),
    location: location.optional().describe("Or: sizes offered at this location code"),
  },
  list: {},
  annotations: READ_ONLY,
  rules: ({ cloudspace_id, location }) =>
    (cloudspace_id === undefined) === (location === undefined)
      ? "ovc_list_sizes needs cloudspace_id or location (one of them). Nothing was sent."
      : undefined,
  requests: () => invokes(LIST_SIZES),
  handler({ cloudspace_id, location }, { session }) {
    return listMethod(session, LIST_SIZES, { cloudspaceId: cloudspace_id, location });
  },
});

const getTaskTool = defineTool({
  name: "ovc_get_task",
  title: "Get an OpenvCloud task",
  description: "A create call's task: running, succeeded (with result) or failed (with error).",
  input: { task_guid: z.string().describe("task_guid from a create call") },
  // `result` is whatever the method returned (an id, an object, true): it is left out of the schema, which
  // cannot say "any value" portably (`{}` is what the Inspector's --strict check flags); extra keys stay
  // allowed, and the description names it.
  output: {
    task_guid: z.string(),
    status: z.enum(["running", "succeeded", "failed"]),
    error: z.string().optional(),
  },
  annotations: READ_ONLY,
  requests: () => invokes(TASK_GET),
  async handler({ task_guid }, { session }) {
    const task = await readTask(session, task_guid, ANY_TASK);
    if (task.running) return { task_guid, status: "running" as const };
    return task.ok
      ? { task_guid, status: "succeeded" as const, result: task.result }
      : { task_guid, status: "failed" as const, error: describeFailure(task.result) };
  },
});

export const ovcTools: PlatformTool[] = [
  listLocationsTool,
  getPortalUrlTool,
  listAccountsTool,
  getAccountTool,
  listCloudspacesTool,
  getCloudspaceTool,
  createCloudspaceTool,
  deleteCloudspaceTool,
  listMachinesTool,
  getMachineTool,
  createMachineTool,
  machineActionTool,
  deleteMachineTool,
  listImagesTool,
  createImageTool,
  listSizesTool,
  getTaskTool,
];
