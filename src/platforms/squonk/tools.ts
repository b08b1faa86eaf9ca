import { z } from "zod";
import type { ApiSession } from "../../auth/session.js";
import { describeError, PolicyDeniedError } from "../../errors.js";
import {
  DESTRUCTIVE,
  defineTool,
  type ListPage,
  listAnswer,
  MUTATING,
  type PlatformTool,
  READ_ONLY,
} from "../../tools/define.js";
import { pollUntil } from "../../tools/wait.js";

/** The `application_id` of every DM job instance (upstreams.md section 3, `start_job_instance`). */
const SQUONK_JOB_APPLICATION_ID = "datamanagerjobs.squonk.it";

/** The two APIs' session ids; the DM is the toolset's main one. */
const DM = "squonk_dm";
const AS = "squonk_as";
const DEFAULT_LIMIT = 50;
const DEFAULT_WAIT_SECONDS = 300;
const DEFAULT_EVENT_LIMIT = 50;

/** The paths the tools send to, which they also declare (the operator's policy matches them). */
const PROJECTS = "/project";
const FILES_PATH = "/file";
const JOBS = "/job";
const JOB_BY_VERSION = "/job/get-by-version";
const INSTANCES = "/instance";
const DRY_RUN = "/instance/dry-run";
const TASKS = "/task";
const instancePath = (instance_id: string) => `${INSTANCES}/${instance_id}`;

// Ids are `<kind>-<uuid>` (upstreams.md section 3). Checked with refine, not regex(): no bytes in tools/list,
// and an id that is not one never becomes a path segment.
function id(kind: "project" | "instance" | "task", finder: string) {
  const pattern = new RegExp(`^${kind}-[0-9A-Za-z][0-9A-Za-z-]*$`);
  return z
    .string()
    .refine((value) => pattern.test(value), `a ${kind} id such as ${kind}-0a6e2b54-…; ${finder} lists them`)
    .describe(`The ${kind} id (${kind}-…)`);
}
const projectId = id("project", "squonk_list_projects");
const instanceId = id("instance", "squonk_list_instances");
const taskId = id("task", "squonk_list_tasks");
const filled = (what: string) =>
  z.string().refine((value) => value.trim() !== "", `${what} must not be empty`);

/** A DM list's answer, `{count, <key>: [...]}`, as its items. */
function dmListAnswer<Key extends string>(key: Key) {
  return z
    .looseObject({ [key]: z.array(z.unknown()) })
    .transform((body) => body[key] ?? [])
    .describe(`{count, ${key}}`);
}
const DM_LISTS = {
  projects: dmListAnswer("projects"),
  jobs: dmListAnswer("jobs"),
  instances: dmListAnswer("instances"),
  tasks: dmListAnswer("tasks"),
};

/** A DM list. The DM does not page, so the wrapper pages here. */
async function dmList(
  session: ApiSession,
  path: string,
  key: keyof typeof DM_LISTS,
  query: Record<string, string | boolean | undefined> = {},
): Promise<ListPage> {
  return { items: await session.request({ method: "GET", path, query }, DM_LISTS[key]) };
}

/** An AS list: the array may come bare or wrapped under any key (TOOLS.md section 5). */
const AS_LIST = listAnswer("a list");

function asList(session: ApiSession, path: string): Promise<ListPage> {
  return session.request({ method: "GET", path }, AS_LIST);
}

const listProjectsTool = defineTool({
  name: "squonk_list_projects",
  api: DM,
  title: "List Squonk2 projects",
  description: "Data Manager projects you can see: project_id, name, size. Files: squonk_list_project_files.",
  input: { project_name: z.string().optional().describe("Exact project name to find") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: PROJECTS }],
  handler: ({ project_name }, { session }) =>
    dmList(session, PROJECTS, "projects", { project_name: project_name || undefined }),
});

const getProjectTool = defineTool({
  name: "squonk_get_project",
  api: DM,
  title: "Get a Squonk2 project",
  description: "One project: name, administrators, editors, observers, private, size, product.",
  input: { project_id: projectId },
  annotations: READ_ONLY,
  requests: ({ project_id }) => [{ method: "GET", path: `${PROJECTS}/${project_id}` }],
  handler: ({ project_id }, { session }) =>
    session.request({ method: "GET", path: `${PROJECTS}/${project_id}` }),
});

const FILES = z
  .looseObject({ files: z.array(z.unknown()), path: z.unknown().optional(), paths: z.unknown().optional() })
  .describe("{count, files, paths}");

const listFilesTool = defineTool({
  name: "squonk_list_project_files",
  api: DM,
  title: "List files in a Squonk2 project",
  description:
    "Files at one path of a project (file_name, size, modified); paths lists its sub-directories, to pass as path (e.g. /data).",
  input: {
    project_id: projectId,
    path: z
      .string()
      .refine((path) => path.startsWith("/") && !path.split("/").includes(".."), "starts with /, without ..")
      .optional()
      .describe("Directory, default /"),
  },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: FILES_PATH }],
  async handler({ project_id, path = "/" }, { session }) {
    const body = await session.request(
      { method: "GET", path: FILES_PATH, query: { project_id, path } },
      FILES,
    );
    return { items: body.files, extra: { path: body.path ?? path, paths: body.paths ?? [] } };
  },
});

const listJobsTool = defineTool({
  name: "squonk_list_jobs",
  api: DM,
  title: "List Squonk2 jobs",
  description: "Jobs you can run: id, collection, job, version, name. Variables: squonk_get_job.",
  input: { project_id: projectId.optional().describe("Only jobs usable in this project") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: JOBS }],
  handler: ({ project_id }, { session }) => dmList(session, JOBS, "jobs", { project_id }),
});

const getJobTool = defineTool({
  name: "squonk_get_job",
  api: DM,
  title: "Get a Squonk2 job",
  description:
    "One job and its variables, by job_id or by collection + job + version. Run: squonk_start_job_instance.",
  input: {
    job_id: z.number().int().min(1).optional().describe("Job id (from squonk_list_jobs)"),
    collection: filled("collection").optional().describe("Job collection, e.g. im-test"),
    job: filled("job").optional().describe("Job name, e.g. nop"),
    version: filled("version").optional().describe("Job version, e.g. 1.0.0"),
  },
  annotations: READ_ONLY,
  rules({ job_id, collection, job, version }) {
    const given = Object.entries({ collection, job, version })
      .filter(([, value]) => value !== undefined)
      .map(([key]) => key);
    if (job_id !== undefined && given.length > 0)
      return `squonk_get_job takes job_id or collection + job + version, not both (got job_id and ${given.join(", ")}); nothing was sent.`;
    if (job_id !== undefined) return undefined;
    if (given.length === 0)
      return "squonk_get_job needs job_id, or collection + job + version (squonk_list_jobs lists them); nothing was sent.";
    const missing = ["collection", "job", "version"].filter((key) => !given.includes(key));
    if (missing.length > 0)
      return `squonk_get_job needs collection, job and version together: ${missing.join(" and ")} missing; nothing was sent.`;
    return undefined;
  },
  requests: ({ job_id }) => [
    { method: "GET", path: job_id === undefined ? JOB_BY_VERSION : `${JOBS}/${job_id}` },
  ],
  async handler({ job_id, collection, job, version }, { session }) {
    if (job_id !== undefined) return session.request({ method: "GET", path: `${JOBS}/${job_id}` });
    // The input's rule: without job_id, all three are given.
    return session.request({
      method: "GET",
      path: JOB_BY_VERSION,
      query: { collection, job, version },
    });
  },
});

/** What starting a job takes; a dry run takes the same. */
const launchInput = {
  project_id: projectId,
  name: filled("name").describe("Name for the instance"),
  collection: filled("collection").describe("Job collection, e.g. im-test"),
  job: filled("job").describe("Job name, e.g. nop"),
  version: filled("version").describe("Job version, e.g. 1.0.0"),
  variables: z
    .record(z.string(), z.unknown(), { error: 'must be an object of variable values, e.g. {"count": 10}' })
    .optional()
    .describe("Job variables by name (see squonk_get_job)"),
  debug: z.boolean().optional().describe("Keep the instance's container after it ends"),
  callback_url: z.string().optional().describe("URL the DM notifies as the instance progresses"),
};
type LaunchArgs = z.infer<z.ZodObject<typeof launchInput>>;

/**
 * The DM's launch form (upstreams.md section 3): form-encoded, never JSON, with the specification as a JSON
 * string inside it.
 */
function launchForm({
  project_id,
  name,
  collection,
  job,
  version,
  variables,
  debug,
  callback_url,
}: LaunchArgs) {
  const specification: Record<string, unknown> = { collection, job, version };
  if (variables !== undefined) specification.variables = variables;
  const form: Record<string, string> = {
    application_id: SQUONK_JOB_APPLICATION_ID,
    as_name: name,
    project_id,
    specification: JSON.stringify(specification),
  };
  if (debug) form.debug = "true";
  if (callback_url) form.callback_url = callback_url;
  return form;
}

const jobKey = ({ collection, job, version }: LaunchArgs) => `${collection}/${job} ${version}`;

const LAUNCHED = z
  .looseObject({ instance_id: z.string(), task_id: z.string() })
  .describe("{instance_id, task_id}");

const startTool = defineTool({
  name: "squonk_start_job_instance",
  api: DM,
  title: "Start a Squonk2 job",
  description: "Runs a job in a project; returns instance_id and task_id. Then: squonk_wait_for_instance.",
  input: launchInput,
  output: { instance_id: z.string(), task_id: z.string() },
  annotations: MUTATING,
  requests: () => [{ method: "POST", path: INSTANCES }],
  preview: (args) => `POST ${INSTANCES}: run ${jobKey(args)} as "${args.name}" in project ${args.project_id}`,
  async handler(args, { session }) {
    const body = await session.request({ method: "POST", path: INSTANCES, form: launchForm(args) }, LAUNCHED);
    return {
      instance_id: body.instance_id,
      task_id: body.task_id,
      summary: `Started ${jobKey(args)} as "${args.name}". Wait for it with squonk_wait_for_instance.`,
    };
  },
});

const dryRunTool = defineTool({
  name: "squonk_dry_run_job_instance",
  api: DM,
  title: "Dry-run a Squonk2 job",
  description: "Checks a job launch without running it; returns the command it would run.",
  input: launchInput,
  annotations: READ_ONLY,
  requests: () => [{ method: "POST", path: DRY_RUN }],
  async handler(args, { session }) {
    const body = await session.request({ method: "POST", path: DRY_RUN, form: launchForm(args) });
    const answer = body !== null && typeof body === "object" ? body : {};
    return {
      ...answer,
      summary: `The DM accepts ${jobKey(args)} with these variables. Start it with squonk_start_job_instance.`,
    };
  },
});

const listInstancesTool = defineTool({
  name: "squonk_list_instances",
  api: DM,
  title: "List Squonk2 instances",
  description: "Job instances (runs): id, name, phase, job, launched, stopped. Details: squonk_get_instance.",
  input: { project_id: projectId.optional().describe("Only this project's instances") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: INSTANCES }],
  handler: ({ project_id }, { session }) => dmList(session, INSTANCES, "instances", { project_id }),
});

/** `InstanceGetResponse` (upstreams.md section 3), the fields the tools read; the rest passes through. */
const INSTANCE_FIELDS = {
  name: z.string().optional(),
  phase: z.string().optional(),
  stopped: z.string().optional(),
  run_time: z.string().optional(),
  error_message: z.string().optional(),
  job_collection: z.string().optional(),
  job_job: z.string().optional(),
  job_version: z.string().optional(),
  tasks: z.array(z.looseObject({ id: z.string().optional(), purpose: z.string().optional() })).optional(),
};
const INSTANCE = z.looseObject(INSTANCE_FIELDS).describe("an instance");
type Instance = z.output<typeof INSTANCE>;

function readInstance(session: ApiSession, instance_id: string): Promise<Instance> {
  return session.request({ method: "GET", path: instancePath(instance_id) }, INSTANCE);
}

const getInstanceTool = defineTool({
  name: "squonk_get_instance",
  api: DM,
  title: "Get a Squonk2 instance",
  description:
    "One job instance: phase (PENDING, RUNNING, COMPLETED, FAILED...), started, stopped, error_message, tasks.",
  input: { instance_id: instanceId },
  annotations: READ_ONLY,
  requests: ({ instance_id }) => [{ method: "GET", path: instancePath(instance_id) }],
  handler: ({ instance_id }, { session }) => readInstance(session, instance_id),
});

/** Finished once `stopped` is set and the phase is no longer RUNNING (the Python client's job_chain.py). */
const hasStopped = (instance: Instance) => instance.stopped !== undefined && instance.phase !== "RUNNING";

const waitTool = defineTool({
  name: "squonk_wait_for_instance",
  api: DM,
  title: "Wait for a Squonk2 instance",
  description:
    "Waits until a job instance has stopped, sending progress; returns it, or its current state when timeout_seconds runs out.",
  input: {
    instance_id: instanceId,
    timeout_seconds: z.number().int().min(1).max(3600).optional().describe("Longest wait (default 300)"),
  },
  output: { finished: z.boolean(), succeeded: z.boolean().optional(), summary: z.string() },
  annotations: READ_ONLY,
  budgetMs: ({ timeout_seconds = DEFAULT_WAIT_SECONDS }) => timeout_seconds * 1000,
  requests: ({ instance_id }) => [{ method: "GET", path: instancePath(instance_id) }],
  async handler(
    { instance_id, timeout_seconds = DEFAULT_WAIT_SECONDS },
    { session, deadline, signal, progress },
  ) {
    const { value: instance, finished } = await pollUntil({
      read: () => readInstance(session, instance_id),
      done: hasStopped,
      describe: (i) =>
        `${i.name ?? instance_id}: ${i.phase ?? "unknown phase"} (run time ${i.run_time ?? "0"})`,
      deadline,
      signal,
      progress,
    });
    const { phase } = instance;
    const name = `"${instance.name ?? instance_id}"`;
    if (!finished)
      return {
        finished,
        phase,
        summary: `${name} is still ${phase} after ${timeout_seconds} s; call squonk_wait_for_instance again to keep waiting.`,
        instance,
      };
    const succeeded = phase === "COMPLETED";
    const task = instance.tasks?.find((t) => t.purpose === "CREATE")?.id;
    return {
      finished,
      succeeded,
      phase,
      summary: succeeded
        ? `${name} completed in ${instance.run_time}. Its outputs are in the project: squonk_list_project_files.`
        : `${name} ended ${phase}${instance.error_message ? `: ${instance.error_message}` : ""}.` +
          (task ? ` Its log: squonk_get_task with task_id ${task}.` : ""),
      instance,
    };
  },
});

/** What a deletion preview names: the instance's id, name and job (fields that do not change as it runs). */
function describeInstance(instance_id: string, instance: Instance): string {
  const job = [instance.job_collection, instance.job_job, instance.job_version].filter(Boolean).join(" ");
  return `${instance_id} ("${instance.name ?? "unnamed"}"${job ? `, ${job}` : ""})`;
}

/**
 * The DM names the deletion's task; an empty answer says nothing more than that it was done, and a task id
 * that is not a string is left out rather than refusing a deletion that happened.
 */
const DELETED = z.looseObject({ task_id: z.unknown().optional() }).nullable().describe("{task_id}");

const deleteInstanceTool = defineTool({
  name: "squonk_delete_instance",
  api: DM,
  title: "Delete a Squonk2 instance",
  description: "Deletes one job instance; a job still running is stopped. Returns the deletion's task_id.",
  input: { instance_id: instanceId },
  output: { ok: z.boolean(), task_id: z.string().optional() },
  annotations: DESTRUCTIVE,
  // The preview's read comes first, when confirmation is asked.
  requests: ({ instance_id }) => [
    { method: "GET", path: instancePath(instance_id) },
    { method: "DELETE", path: instancePath(instance_id) },
  ],
  // Read first, so that the user confirms a named run and an unknown id fails before anyone is asked.
  preview: async ({ instance_id }, { session }) =>
    `DELETE ${instancePath(instance_id)}: delete instance ${describeInstance(instance_id, await readInstance(session, instance_id))}; a running job is stopped`,
  async handler({ instance_id }, { session }) {
    const body = await session.request({ method: "DELETE", path: instancePath(instance_id) }, DELETED);
    return {
      ok: true,
      instance_id,
      ...(typeof body?.task_id === "string" ? { task_id: body.task_id } : {}),
      summary: `Deleted instance ${instance_id}.`,
    };
  },
});

/** `InstanceSummary`: an instance as the list shows it. */
const INSTANCE_SUMMARY = z.looseObject({ ...INSTANCE_FIELDS, id: z.string() });
type InstanceSummary = z.output<typeof INSTANCE_SUMMARY>;

/** The project's instances that have an id (the only ones a deletion can name). */
async function projectInstances(session: ApiSession, project_id: string): Promise<InstanceSummary[]> {
  const { items } = await dmList(session, INSTANCES, "instances", { project_id });
  return items.flatMap((item) => {
    const parsed = INSTANCE_SUMMARY.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

/**
 * The instances a bulk deletion's preview showed the user, by the call's arguments (invoke hands the
 * preview and the handler the same object): the handler deletes exactly these, not whatever a project
 * holds by the time the user has answered.
 */
const shownForDeletion = new WeakMap<object, InstanceSummary[]>();

const deleteProjectInstancesTool = defineTool({
  name: "squonk_delete_project_instances",
  api: DM,
  title: "Delete all of a project's Squonk2 instances",
  description:
    "Deletes every job instance of a project, stopping running ones; one outcome per instance, continuing past failures.",
  input: { project_id: projectId },
  output: { deleted: z.number(), failed: z.number(), outcomes: z.array(z.record(z.string(), z.unknown())) },
  annotations: DESTRUCTIVE,
  // Which instances it deletes is known only from the list: the session decides each deletion as it goes.
  requests: () => [
    { method: "GET", path: INSTANCES },
    { method: "DELETE", path: undefined },
  ],
  async preview(args, { session }) {
    const instances = await projectInstances(session, args.project_id);
    shownForDeletion.set(args, instances);
    if (instances.length === 0) return `project ${args.project_id} has no instances: nothing to delete`;
    const named = instances.map((instance) => describeInstance(instance.id, instance)).join(", ");
    return `DELETE ${INSTANCES}/{id} for the ${instances.length} instance(s) of project ${args.project_id}: ${named}; running jobs are stopped`;
  },
  async handler(args, { session, deadline, signal, redactor }) {
    const instances = shownForDeletion.get(args) ?? (await projectInstances(session, args.project_id));
    const outcomes: Record<string, unknown>[] = [];
    for (const instance of instances) {
      const outcome: Record<string, unknown> = { instance_id: instance.id, name: instance.name };
      if (signal.aborted || Date.now() >= deadline) {
        outcomes.push({
          ...outcome,
          ok: false,
          error: "not attempted: the call was cancelled or ran out of time",
        });
        continue;
      }
      try {
        await session.request({ method: "DELETE", path: instancePath(encodeURIComponent(instance.id)) });
        outcomes.push({ ...outcome, ok: true });
      } catch (error) {
        // One instance's refusal (another owner's, already gone, the operator's policy) does not stop the others.
        const failure = {
          ...outcome,
          ok: false,
          error: describeError(error, (text) => redactor.scrub(text)),
        };
        outcomes.push(error instanceof PolicyDeniedError ? { ...failure, denied_by: error.rule } : failure);
      }
    }
    const deleted = outcomes.filter((outcome) => outcome.ok).length;
    const failed = outcomes.length - deleted;
    return {
      project_id: args.project_id,
      deleted,
      failed,
      outcomes,
      summary:
        instances.length === 0
          ? `Project ${args.project_id} had no instances.`
          : `Deleted ${deleted} of ${instances.length} instance(s)${failed > 0 ? `; ${failed} failed, see outcomes` : ""}.`,
    };
  },
});

/** `TaskGetResponse`, the fields the tool reads; the states and events pass through. */
const TASK = z
  .looseObject({
    done: z.unknown().optional(),
    events: z.array(z.looseObject({ ordinal: z.unknown().optional() })).optional(),
  })
  .describe("a task");

const getTaskTool = defineTool({
  name: "squonk_get_task",
  api: DM,
  title: "Get a Squonk2 task",
  description:
    "One task: done, exit_code, states, and a page of its events (the job's log), oldest first, with how to get the next.",
  input: {
    task_id: taskId,
    event_limit: z
      .number()
      .int()
      .min(1)
      .max(500)
      .optional()
      .describe(`Events per page (default ${DEFAULT_EVENT_LIMIT})`),
    event_prior_ordinal: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Only events after this ordinal (next_event_prior_ordinal)"),
  },
  annotations: READ_ONLY,
  requests: ({ task_id }) => [{ method: "GET", path: `${TASKS}/${task_id}` }],
  async handler({ task_id, event_limit = DEFAULT_EVENT_LIMIT, event_prior_ordinal = 0 }, { session }) {
    const task = await session.request(
      { method: "GET", path: `${TASKS}/${task_id}`, query: { event_limit, event_prior_ordinal } },
      TASK,
    );
    const events = task.events ?? [];
    const last = events.at(-1)?.ordinal;
    const after = typeof last === "number" ? last : event_prior_ordinal;
    // A full page may have more behind it; a short one is all there is, for now if the task still runs.
    if (events.length >= event_limit)
      return {
        next_event_prior_ordinal: after,
        events_note: `More events may follow: call again with event_prior_ordinal=${after}.`,
        ...task,
      };
    if (task.done !== true)
      return {
        next_event_prior_ordinal: after,
        events_note: `The task is still running: later events come with event_prior_ordinal=${after}.`,
        ...task,
      };
    return task;
  },
});

const listTasksTool = defineTool({
  name: "squonk_list_tasks",
  api: DM,
  title: "List Squonk2 tasks",
  description:
    "Tasks (launches, deletions): id, purpose, purpose_id, done, exit_code. Events: squonk_get_task.",
  input: {
    project_id: projectId.optional().describe("Only this project's tasks"),
    exclude_done: z.boolean().optional().describe("Leave out finished tasks"),
  },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: TASKS }],
  handler: ({ project_id, exclude_done }, { session }) =>
    dmList(session, TASKS, "tasks", { project_id, exclude_done }),
});

const listProductsTool = defineTool({
  name: "squonk_list_products",
  api: AS,
  title: "List Squonk2 products",
  description: "Account Server products (project tiers, storage): product_id, name, type, unit, coins.",
  input: {},
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: "/product" }],
  handler: (_args, { session }) => asList(session, "/product"),
});

const listUnitsTool = defineTool({
  name: "squonk_list_units",
  api: AS,
  title: "List Squonk2 units",
  description: "Account Server units (the budget holders of an organisation): unit_id, name, billing_day.",
  input: {},
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: "/unit" }],
  handler: (_args, { session }) => asList(session, "/unit"),
});

export const squonkTools: PlatformTool[] = [
  listProjectsTool,
  getProjectTool,
  listFilesTool,
  listJobsTool,
  getJobTool,
  startTool,
  dryRunTool,
  listInstancesTool,
  getInstanceTool,
  waitTool,
  deleteInstanceTool,
  deleteProjectInstancesTool,
  getTaskTool,
  listTasksTool,
  listProductsTool,
  listUnitsTool,
];
