import { z } from "zod";
import { ovcHint, ovcPath, ovcRequest, parseTaskFailure, TASK_GET } from "../auth/ovc.js";
import type { ApiSession } from "../auth/session.js";
import { ToolInputError, UpstreamError, unexpectedAnswer } from "../errors.js";
import {
  type AnyTool,
  DESTRUCTIVE,
  defineTool,
  type ListPage,
  MUTATING,
  READ_ONLY,
  type ToolContext,
} from "./define.js";
import { pollUntil } from "./wait.js";

const DEFAULT_LIMIT = 50;

/** Calls one actor method (`cloudapi/cloudspaces/list`) with its camelCase parameters. */
function callMethod(session: ApiSession, method: string, params: Record<string, unknown> = {}) {
  return session.request(ovcRequest(method, params));
}

function where(method: string) {
  return { service: "ovc", method: "POST", path: ovcPath(method) };
}

/** A method that answers a JSON list, as a page the wrapper shapes (the platform does not page). */
async function listMethod(
  session: ApiSession,
  method: string,
  params: Record<string, unknown> = {},
): Promise<ListPage> {
  const body = await callMethod(session, method, params);
  if (!Array.isArray(body)) throw unexpectedAnswer(where(method), "a JSON list", body);
  return { items: body };
}

/** A method that answers one JSON object. */
async function getMethod(session: ApiSession, method: string, params: Record<string, unknown>) {
  const body = await callMethod(session, method, params);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw unexpectedAnswer(where(method), "a JSON object", body);
  return body;
}

// ---------------------------------------------------------------- long operations (`_async` tasks)

/** What `system/task/get` says: still running, or ended with the method's result or failure. */
type TaskState = { running: true } | { running: false; ok: boolean; result: unknown };

/** 202 (or 204, as the spec's docstring has it) with an empty body while running; `[ok, result]` when done. */
async function readTask(session: ApiSession, guid: string): Promise<TaskState> {
  const body = await callMethod(session, TASK_GET, { taskguid: guid });
  if (body === null) return { running: true };
  if (Array.isArray(body) && body.length === 2 && typeof body[0] === "boolean")
    return { running: false, ok: body[0], result: body[1] };
  throw unexpectedAnswer(where(TASK_GET), "[ok, result] or an empty 202", body);
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
}

/**
 * Runs a create method as an `_async` task: the call answers a task guid at once; with `wait` (the
 * default), the task is polled (a progress notification per read) until it ends, the call's time budget
 * runs out or the client cancels. A failed task throws; one still running comes back as
 * `{task_guid, status: "running"}` for ovc_get_task; one that succeeded gives the new id.
 */
async function runCreate(ctx: ToolContext, creation: Creation): Promise<Record<string, unknown>> {
  const { method, params, label } = creation;
  // `_async` with any value makes the portal run the call as a task (upstreams.md, "Async tasks").
  const guid = await callMethod(ctx.session, method, { ...params, _async: true });
  if (typeof guid !== "string" || guid === "") throw unexpectedAnswer(where(method), "a task guid", guid);
  const running = { task_guid: guid, status: "running", summary: STILL_RUNNING };
  if (creation.wait === false) return running;
  const { value } = await pollUntil<TaskState>({
    read: () => readTask(ctx.session, guid),
    done: (task) => !task.running,
    // The task was accepted: it runs, as far as anyone can say.
    unread: { running: true },
    describe: (task) => `${label}: ${task.running ? "running" : task.ok ? "succeeded" : "failed"}`,
    deadline: ctx.scope.deadline,
    signal: ctx.signal,
    progress: ctx.progress,
  });
  if (value.running) return running;
  if (!value.ok) throw taskError(method, params, value.result);
  const id = value.result;
  if (typeof id !== "number") throw unexpectedAnswer(where(TASK_GET), "the new id as the task's result", id);
  return { task_guid: guid, status: "succeeded", [creation.idKey]: id, summary: creation.summary(id) };
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
  service: "ovc",
  title: "List OpenvCloud locations",
  description: "Locations: id, gid, name, locationCode (for ovc_create_cloudspace, ovc_list_sizes).",
  input: {},
  list: {},
  annotations: READ_ONLY,
  handler: (_args, { session }) => listMethod(session, "cloudapi/locations/list"),
});

const getPortalUrlTool = defineTool({
  name: "ovc_get_portal_url",
  service: "ovc",
  title: "Get the OpenvCloud portal URL",
  description: "The address of the OpenvCloud end-user portal, for a person to open.",
  input: {},
  output: { url: z.string() },
  annotations: READ_ONLY,
  async handler(_args, { session }) {
    const url = await callMethod(session, "cloudapi/locations/getUrl");
    if (typeof url !== "string") throw unexpectedAnswer(where("cloudapi/locations/getUrl"), "a URL", url);
    return { url };
  },
});

const listAccountsTool = defineTool({
  name: "ovc_list_accounts",
  service: "ovc",
  title: "List OpenvCloud accounts",
  description: "Accounts the user can see: id, name, acl. Details: ovc_get_account.",
  input: {},
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  handler: (_args, { session }) => listMethod(session, "cloudapi/accounts/list"),
});

const getAccountTool = defineTool({
  name: "ovc_get_account",
  service: "ovc",
  title: "Get an OpenvCloud account",
  description: "One account in full: status, acl with rights, resourceLimits, company.",
  input: { account_id: accountId },
  annotations: READ_ONLY,
  handler: ({ account_id }, { session }) =>
    getMethod(session, "cloudapi/accounts/get", { accountId: account_id }),
});

// ---------------------------------------------------------------- cloudspaces

const listCloudspacesTool = defineTool({
  name: "ovc_list_cloudspaces",
  service: "ovc",
  title: "List OpenvCloud cloudspaces",
  description:
    "Cloudspaces (private networks with a router): id, name, status, accountId, public IP, location.",
  input: { include_deleted: z.boolean().optional().describe("Also list deleted ones (in the recycle bin)") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  handler: ({ include_deleted }, { session }) =>
    listMethod(session, "cloudapi/cloudspaces/list", { includedeleted: include_deleted }),
});

const getCloudspaceTool = defineTool({
  name: "ovc_get_cloudspace",
  service: "ovc",
  title: "Get an OpenvCloud cloudspace",
  description: "One cloudspace in full: status (VIRTUAL, DEPLOYING, DEPLOYED...), acl, resourceLimits.",
  input: { cloudspace_id: cloudspaceId },
  annotations: READ_ONLY,
  handler: ({ cloudspace_id }, { session }) =>
    getMethod(session, "cloudapi/cloudspaces/get", { cloudspaceId: cloudspace_id }),
});

/** A resource limit of the cloudspace; the platform's default -1 means unlimited. */
const cap = (what: string, unit = z.number().int()) => unit.optional().describe(`Max ${what}`);

const createCloudspaceTool = defineTool({
  name: "ovc_create_cloudspace",
  service: "ovc",
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
  preview: ({ name, account_id, location, type, private_network }, { session }) =>
    `POST ${session.baseUrl}${ovcPath("cloudapi/cloudspaces/create")}: create cloudspace "${name}" in account ${account_id} at ${location}` +
    ` (${type ?? "routeros"}, ${private_network ?? "192.168.103.0/24"})`,
  handler: (args, ctx) =>
    runCreate(ctx, {
      method: "cloudapi/cloudspaces/create",
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
  service: "ovc",
  title: "Delete an OpenvCloud cloudspace",
  description: "Deletes an empty cloudspace (delete its machines first); restorable unless permanently.",
  input: { cloudspace_id: cloudspaceId, permanently },
  annotations: DESTRUCTIVE,
  preview: ({ cloudspace_id, permanently }, { session }) =>
    deletionPreview(session.baseUrl, "cloudspace", cloudspace_id, permanently),
  handler: ({ cloudspace_id, permanently }, { session }) =>
    deleteResource(session, "cloudspace", cloudspace_id, permanently),
});

// ---------------------------------------------------------------- machines

const listMachinesTool = defineTool({
  name: "ovc_list_machines",
  service: "ovc",
  title: "List OpenvCloud machines",
  description:
    "Machines of a cloudspace: id, name, status, sizeId, vcpus, memory, disks. Details: ovc_get_machine.",
  input: { cloudspace_id: cloudspaceId },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  handler: ({ cloudspace_id }, { session }) =>
    listMethod(session, "cloudapi/machines/list", { cloudspaceId: cloudspace_id }),
});

const getMachineTool = defineTool({
  name: "ovc_get_machine",
  service: "ovc",
  title: "Get an OpenvCloud machine",
  description: "One machine in full: status, disks, interfaces with IPs, image, size, locked.",
  input: { machine_id: machineId },
  annotations: READ_ONLY,
  handler: ({ machine_id }, { session }) =>
    getMethod(session, "cloudapi/machines/get", { machineId: machine_id }),
});

const createMachineTool = defineTool({
  name: "ovc_create_machine",
  service: "ovc",
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
  preview: ({ name, cloudspace_id, image_id, size_id, vcpus, memory_mb, disk_size_gb }, { session }) =>
    `POST ${session.baseUrl}${ovcPath("cloudapi/machines/create")}: create machine "${name}" in cloudspace ${cloudspace_id} from image ${image_id}, ` +
    `${size_id === undefined ? `${vcpus ?? "?"} vCPU / ${memory_mb ?? "?"} MB` : `size ${size_id}`}, ${disk_size_gb} GB boot disk`,
  async handler(args, ctx) {
    const sized = args.size_id !== undefined;
    const custom = args.vcpus !== undefined || args.memory_mb !== undefined;
    if (sized === custom || (custom && (args.vcpus === undefined || args.memory_mb === undefined))) {
      throw new ToolInputError(
        "ovc_create_machine needs size_id (see ovc_list_sizes), or vcpus and memory_mb, not both. Nothing was sent.",
      );
    }
    return runCreate(ctx, {
      method: "cloudapi/machines/create",
      params: {
        cloudspaceId: args.cloudspace_id,
        name: args.name,
        // Required by the platform even when empty.
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
    });
  },
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
  service: "ovc",
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
  preview: ({ machine_id, action, force }, { session }) =>
    `POST ${session.baseUrl}${ovcPath(`cloudapi/machines/${action}`)}: ${ACTIONS[action][0]} machine ${machine_id}` +
    (force ? " (forced)" : ""),
  async handler({ machine_id, action, force }, { session }) {
    if (force !== undefined && action !== "stop")
      throw new ToolInputError("force applies to action stop only. Nothing was sent.");
    await callMethod(session, `cloudapi/machines/${action}`, { machineId: machine_id, force });
    return {
      ok: true,
      summary: `Machine ${machine_id} ${ACTIONS[action][1]}. ovc_get_machine shows its status.`,
    };
  },
});

const deleteMachineTool = defineTool({
  name: "ovc_delete_machine",
  service: "ovc",
  title: "Delete an OpenvCloud machine",
  description: "Deletes a machine and its disks; restorable from the recycle bin unless permanently.",
  input: { machine_id: machineId, permanently },
  annotations: DESTRUCTIVE,
  preview: ({ machine_id, permanently }, { session }) =>
    deletionPreview(session.baseUrl, "machine", machine_id, permanently),
  handler: ({ machine_id, permanently }, { session }) =>
    deleteResource(session, "machine", machine_id, permanently),
});

// ---------------------------------------------------------------- images, sizes, tasks

const listImagesTool = defineTool({
  name: "ovc_list_images",
  service: "ovc",
  title: "List OpenvCloud images",
  description: "Usable images (public ones plus an account's own): id, name, type, size in GB, username.",
  input: {
    account_id: accountId.optional().describe("Also the images of this account"),
    cloudspace_id: cloudspaceId.optional().describe("Also the images of this cloudspace's account"),
  },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  handler: ({ account_id, cloudspace_id }, { session }) =>
    listMethod(session, "cloudapi/images/list", { accountId: account_id, cloudspaceId: cloudspace_id }),
});

const createImageTool = defineTool({
  name: "ovc_create_image",
  service: "ovc",
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
  preview: ({ name, url, image_type, boot_type, account_id }, { session }) =>
    `POST ${session.baseUrl}${ovcPath("cloudapi/images/create")}: import image "${name}" (${image_type}, ${boot_type}) from ${url}` +
    (account_id === undefined ? " as a public image" : ` into account ${account_id}`),
  handler: (args, ctx) =>
    runCreate(ctx, {
      method: "cloudapi/images/create",
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
      summary: (id) => `Image ${id} is being imported; ovc_list_images lists it once it is ready.`,
    }),
});

const listSizesTool = defineTool({
  name: "ovc_list_sizes",
  service: "ovc",
  title: "List OpenvCloud machine sizes",
  description: "Sizes allowed in a cloudspace or at a location: id, vcpus, memory (MB), disks (GB).",
  input: {
    cloudspace_id: cloudspaceId.optional().describe("Sizes allowed in this cloudspace"),
    location: location.optional().describe("Or: sizes offered at this location code"),
  },
  list: {},
  annotations: READ_ONLY,
  handler({ cloudspace_id, location }, { session }) {
    if ((cloudspace_id === undefined) === (location === undefined))
      throw new ToolInputError(
        "ovc_list_sizes needs cloudspace_id or location (one of them). Nothing was sent.",
      );
    return listMethod(session, "cloudapi/sizes/list", { cloudspaceId: cloudspace_id, location });
  },
});

const getTaskTool = defineTool({
  name: "ovc_get_task",
  service: "ovc",
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
  async handler({ task_guid }, { session }) {
    const task = await readTask(session, task_guid);
    if (task.running) return { task_guid, status: "running" };
    return task.ok
      ? { task_guid, status: "succeeded", result: task.result }
      : { task_guid, status: "failed", error: describeFailure(task.result) };
  },
});

export const ovcTools: AnyTool[] = [
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
