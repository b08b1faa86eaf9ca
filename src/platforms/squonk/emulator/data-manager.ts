import { randomUUID } from "node:crypto";
import type { EmulatorResponse, RecordedRequest } from "../../../sandbox/emulator.js";
import { type Authenticate, apiError, iso, notAllowed, ok } from "./answers.js";
import {
  type DeleteTask,
  type Instance,
  type JobDef,
  type Project,
  type SeededRun,
  type SeedFile,
  SQUONK_SANDBOX,
  SQUONK_SEED,
  seedJobs,
  seedRuns,
  USER,
  type VariableSpec,
  type Variables,
} from "./seed.js";

/** Where the Data Manager lives on the sandbox's one server (`SQUONK2_DMAPI_URL` ends in it). */
export const DM = "/data-manager-api";
/** Emulator's choice: upstreams.md gives no version numbers. */
const DM_VERSION = "4.1.0";

/** What the emulator lets tests change about runs; captured at each launch. */
export interface DataManagerSettings {
  /** How long a new instance stays PENDING. */
  readonly pendingMs: number;
  /** How long a new instance stays RUNNING before it ends. */
  readonly runningMs: number;
}

/**
 * Squonk2's Data Manager (upstreams.md section 3): projects and their files, jobs, instances moving
 * through their phases by the clock, tasks with their events; form-encoded bodies only.
 */
export class DataManager {
  readonly #projects: ReadonlyMap<string, Project>;
  readonly #settings: DataManagerSettings;
  readonly #authenticate: Authenticate;
  readonly #jobs = new Map<number, JobDef>();
  readonly #instances = new Map<string, Instance>();
  readonly #deleteTasks = new Map<string, DeleteTask>();

  constructor(
    projects: ReadonlyMap<string, Project>,
    settings: DataManagerSettings,
    authenticate: Authenticate,
  ) {
    this.#projects = projects;
    this.#settings = settings;
    this.#authenticate = authenticate;
    for (const job of seedJobs()) this.#jobs.set(job.id, job);
    for (const run of seedRuns(Date.now())) this.#seed(run);
  }

  /** Answers a request under `/data-manager-api`; `route` is the path below it. */
  handle(request: RecordedRequest, route: string): EmulatorResponse {
    const { method } = request;
    if (route === "/version")
      return method === "GET" ? ok({ version: DM_VERSION }) : notAllowed(method, route);
    const denied = this.#authenticate(request, SQUONK_SANDBOX.dmClientId);
    if (denied) return denied;
    let form: Record<string, string> = {};
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      const parsed = dmForm(request);
      if ("status" in parsed) return parsed;
      form = parsed.form;
    }
    const { query } = request;
    const is = (expected: string) => (method === expected ? undefined : notAllowed(method, route));

    if (route === "/account-server/namespace") return is("GET") ?? ok({ namespace: "squonk2-sandbox" });
    if (route === "/account-server/registration") {
      return (
        is("GET") ??
        ok({ merchant_id: 1, name: "sandbox-data-manager", registered: "2024-10-01T08:00:00.000Z" })
      );
    }
    if (route === "/project") return is("GET") ?? this.#listProjects(query.project_name);
    const projectPath = /^\/project\/([^/]+)$/.exec(route);
    if (projectPath) {
      if (method !== "GET") return notAllowed(method, route);
      const project = this.#visibleProject(projectPath[1] as string);
      return project === undefined
        ? projectNotFound(projectPath[1] as string)
        : ok(this.#projectDetail(project));
    }
    if (route === "/file") return is("GET") ?? this.#listFiles(query);
    if (route === "/job") return is("GET") ?? this.#listJobs(query.project_id);
    if (route === "/job/get-by-version") return is("GET") ?? this.#jobByVersion(query);
    const jobPath = /^\/job\/([^/]+)$/.exec(route);
    if (jobPath) {
      if (method !== "GET") return notAllowed(method, route);
      const raw = jobPath[1] as string;
      if (!/^\d+$/.test(raw)) return apiError(400, `job_id must be an integer, not '${raw}'`);
      if (query.project_id !== undefined && this.#visibleProject(query.project_id) === undefined)
        return projectNotFound(query.project_id);
      const job = this.#jobs.get(Number(raw));
      return job === undefined ? apiError(404, `Job ${raw} does not exist`) : ok(jobDetail(job));
    }
    if (route === "/instance") {
      if (method === "GET") return this.#listInstances(query.project_id);
      if (method === "POST") return this.#launch(form, false);
      return notAllowed(method, route);
    }
    if (route === "/instance/dry-run") return is("POST") ?? this.#launch(form, true);
    const instancePath = /^\/instance\/([^/]+)$/.exec(route);
    if (instancePath) {
      const id = instancePath[1] as string;
      const instance = this.#instances.get(id);
      const visible =
        instance !== undefined &&
        instance.deletedAt === undefined &&
        this.#visibleProject(instance.projectId);
      if (method !== "GET" && method !== "DELETE") return notAllowed(method, route);
      if (!visible) return apiError(404, `Instance ${id} does not exist`);
      return method === "GET" ? ok(this.#instanceDetail(instance, false)) : this.#deleteInstance(instance);
    }
    if (route === "/task") return is("GET") ?? this.#listTasks(query);
    const taskPath = /^\/task\/([^/]+)$/.exec(route);
    if (taskPath) return is("GET") ?? this.#getTask(taskPath[1] as string, query);
    return apiError(404, `Not Found: ${method} ${DM}${route}`);
  }

  #visibleProject(id: string): Project | undefined {
    const project = this.#projects.get(id);
    if (project === undefined) return undefined;
    const member = [...project.administrators, ...project.editors, ...project.observers].includes(USER);
    return member || !project.private ? project : undefined;
  }

  #listProjects(name: string | undefined): EmulatorResponse {
    // Emulator's choice: `project_name` matches the whole name exactly.
    const projects = [...this.#projects.values()]
      .filter((project) => this.#visibleProject(project.project_id))
      .filter((project) => name === undefined || name === "" || project.name === name)
      .map((project) => this.#projectDetail(project));
    return ok({ count: projects.length, projects });
  }

  #projectDetail(project: Project): Record<string, unknown> {
    const { files: _files, ...detail } = project;
    const size = this.#projectFiles(project).reduce((sum, file) => sum + file.size, 0);
    return {
      ...detail,
      administrators: [...detail.administrators],
      editors: [...detail.editors],
      observers: [...detail.observers],
      size,
    };
  }

  /** Seeded files plus the outputs of runs that have completed by now. */
  #projectFiles(project: Project): SeedFile[] {
    const now = Date.now();
    const outputs: SeedFile[] = [];
    for (const instance of this.#instances.values()) {
      const output = instance.job.output;
      if (instance.projectId !== project.project_id || output === undefined) continue;
      const progress = this.#progress(instance, now);
      if (progress.phase !== "COMPLETED" || progress.stoppedAt === undefined) continue;
      const count = Number(instance.variables[output.countVariable] ?? 1);
      outputs.push({
        path: `/${String(instance.variables[output.variable]).replace(/^\/+/, "")}`,
        owner: instance.owner,
        size: count * output.bytesPerItem,
        modified: iso(progress.stoppedAt),
        mime: output.mime,
      });
    }
    return [...project.files, ...outputs];
  }

  #listFiles(query: Record<string, string>): EmulatorResponse {
    const projectId = query.project_id;
    if (projectId === undefined || projectId === "") return apiError(400, "project_id is required");
    const project = this.#visibleProject(projectId);
    if (project === undefined) return projectNotFound(projectId);
    const raw = query.path ?? "/";
    if (!raw.startsWith("/")) return apiError(400, `The path must start with '/', not '${raw}'`);
    if (raw.split("/").includes("..")) return apiError(400, "The path must not contain '..'");
    const hidden = parseFlag(query.include_hidden, "include_hidden");
    if (typeof hidden !== "boolean") return hidden;
    const dir = normalisePath(raw);
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const all = this.#projectFiles(project).filter((file) => file.path.startsWith(prefix));
    if (all.length === 0 && dir !== "/")
      return apiError(404, `The path '${dir}' does not exist in the project`);
    const shown = (name: string) => hidden || !name.startsWith(".");
    const files = all
      .filter((file) => parentOf(file.path) === dir && shown(baseName(file.path)))
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((file) => {
        const entry: Record<string, unknown> = {
          file_name: baseName(file.path),
          owner: file.owner,
          stat: { size: file.size, modified: file.modified },
        };
        if (file.fileId !== undefined) {
          entry.immutable = true;
          entry.file_id = file.fileId;
        }
        if (file.mime !== undefined) entry.mime_type = file.mime;
        return entry;
      });
    const paths = [
      ...new Set(
        all
          .filter((file) => parentOf(file.path) !== dir)
          .map((file) => file.path.slice(prefix.length).split("/")[0] as string)
          .filter(shown),
      ),
    ].sort();
    return ok({ count: files.length, files, path: dir, paths, project_id: project.project_id });
  }

  #listJobs(projectId: string | undefined): EmulatorResponse {
    if (projectId !== undefined && projectId !== "" && this.#visibleProject(projectId) === undefined)
      return projectNotFound(projectId);
    const jobs = [...this.#jobs.values()].map(jobSummary);
    return ok({ count: jobs.length, jobs });
  }

  #jobByVersion(query: Record<string, string>): EmulatorResponse {
    for (const name of ["collection", "job", "version"]) {
      if (!query[name]) return apiError(400, `${name} is required`);
    }
    if (query.project_id !== undefined && this.#visibleProject(query.project_id) === undefined)
      return projectNotFound(query.project_id);
    const found = this.#findJob(query.collection as string, query.job as string, query.version as string);
    return typeof found === "string" ? apiError(404, found) : ok(jobDetail(found));
  }

  /** The job, or why there is none (naming the versions that do exist). */
  #findJob(collection: string, job: string, version: string): JobDef | string {
    const candidates = [...this.#jobs.values()].filter((j) => j.collection === collection && j.job === job);
    const found = candidates.find((j) => j.version === version);
    if (found !== undefined) return found;
    if (candidates.length === 0) return `There is no job '${job}' in collection '${collection}'`;
    const versions = candidates.map((j) => j.version).join(", ");
    return `Job ${collection}/${job} has no version '${version}' (known versions: ${versions})`;
  }

  #launch(form: Record<string, string>, dryRun: boolean): EmulatorResponse {
    const applicationId = form.application_id;
    if (!applicationId) return apiError(400, "application_id is required");
    if (applicationId !== SQUONK_SANDBOX.applicationId) {
      return apiError(
        400,
        `Unknown application_id '${applicationId}' (jobs use '${SQUONK_SANDBOX.applicationId}')`,
      );
    }
    const projectId = form.project_id;
    if (!projectId) return apiError(400, "project_id is required");
    const project = this.#visibleProject(projectId);
    if (project === undefined) return projectNotFound(projectId);
    if (![...project.administrators, ...project.editors].includes(USER)) {
      return apiError(403, `You are not an editor of project ${projectId} and cannot run jobs in it`);
    }
    const name = form.as_name?.trim();
    if (!name) return apiError(400, "as_name is required");
    if (name.length > 80) return apiError(400, "as_name must be at most 80 characters");
    const callbackUrl = form.callback_url;
    if (callbackUrl !== undefined && callbackUrl !== "" && !/^https?:\/\/[^\s/]+/.test(callbackUrl)) {
      return apiError(400, `callback_url must be an http(s) URL, not '${callbackUrl}'`);
    }
    const rawSpec = form.specification;
    if (!rawSpec) return apiError(400, "specification is required for a job");
    let spec: unknown;
    try {
      spec = JSON.parse(rawSpec);
    } catch (error) {
      return apiError(400, `specification is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      return apiError(400, "specification must be a JSON object with collection, job and version");
    }
    const { collection, job: jobName, version, variables } = spec as Record<string, unknown>;
    for (const [key, value] of Object.entries({ collection, job: jobName, version })) {
      if (typeof value !== "string" || value === "") {
        return apiError(400, `specification.${key} is required and must be a string`);
      }
    }
    const job = this.#findJob(collection as string, jobName as string, version as string);
    if (typeof job === "string") return apiError(400, job);
    if (job.disabled !== undefined) {
      return apiError(400, `Job ${jobKey(job)} is disabled: ${job.disabled}`);
    }
    const checked = checkVariables(job, variables);
    if (typeof checked === "string") return apiError(400, checked);
    const command = renderCommand(job, checked);
    if (dryRun) return ok({ command }, 201);

    const instance: Instance = {
      id: `instance-${randomUUID()}`,
      taskId: `task-${randomUUID()}`,
      name,
      projectId,
      owner: USER,
      job,
      variables: checked,
      specification: rawSpec,
      launchedAt: Date.now(),
      pendingMs: this.#settings.pendingMs,
      runningMs: this.#settings.runningMs,
    };
    const failure = this.#failureOf(project, job, checked);
    if (failure !== undefined) instance.failure = failure;
    this.#instances.set(instance.id, instance);
    return ok({ instance_id: instance.id, task_id: instance.taskId }, 201);
  }

  /** A run fails when its job always fails or when an input file is not in the project at launch. */
  #failureOf(project: Project, job: JobDef, variables: Variables): string | undefined {
    for (const name of Object.keys(job.inputs)) {
      const value = variables[name];
      if (value === undefined) continue;
      const path = `/${String(value).replace(/^\/+/, "")}`;
      if (!this.#projectFiles(project).some((file) => file.path === path)) {
        return `Input file '${String(value)}' does not exist in the project`;
      }
    }
    return job.fails ? "The job exited with code 1" : undefined;
  }

  #listInstances(projectId: string | undefined): EmulatorResponse {
    if (projectId !== undefined && projectId !== "" && this.#visibleProject(projectId) === undefined)
      return projectNotFound(projectId);
    const instances = [...this.#instances.values()]
      .filter((instance) => instance.deletedAt === undefined && this.#visibleProject(instance.projectId))
      .filter((instance) => !projectId || instance.projectId === projectId)
      .sort((a, b) => a.launchedAt - b.launchedAt)
      .map((instance) => this.#instanceDetail(instance, true));
    return ok({ count: instances.length, instances });
  }

  /** Where a run is at `now`, computed from its launch time and its captured durations. */
  #progress(
    instance: Instance,
    now: number,
  ): {
    phase: "PENDING" | "RUNNING" | "COMPLETED" | "FAILED";
    startedAt?: number;
    stoppedAt?: number;
    done: boolean;
    exitCode?: number;
  } {
    const startAt = instance.launchedAt + instance.pendingMs;
    const endAt = startAt + instance.runningMs;
    const deletedAt = instance.deletedAt;
    if (deletedAt !== undefined && deletedAt < endAt) {
      // Stopped by a delete: the container was killed (SIGTERM, exit code 143; emulator's choice).
      const started = startAt <= deletedAt ? { startedAt: startAt } : {};
      return { phase: "FAILED", ...started, stoppedAt: deletedAt, done: true, exitCode: 143 };
    }
    if (now < startAt) return { phase: "PENDING", done: false };
    if (now < endAt) return { phase: "RUNNING", startedAt: startAt, done: false };
    const failed = instance.failure !== undefined;
    return {
      phase: failed ? "FAILED" : "COMPLETED",
      startedAt: startAt,
      stoppedAt: endAt,
      done: true,
      exitCode: failed ? 1 : 0,
    };
  }

  #instanceDetail(instance: Instance, summary: boolean): Record<string, unknown> {
    const now = Date.now();
    const progress = this.#progress(instance, now);
    const { job } = instance;
    const tasks: { id: string; purpose: "CREATE" | "DELETE" }[] = [
      { id: instance.taskId, purpose: "CREATE" },
    ];
    if (instance.deleteTaskId !== undefined) tasks.push({ id: instance.deleteTaskId, purpose: "DELETE" });
    const detail: Record<string, unknown> = summary ? { id: instance.id } : {};
    Object.assign(detail, {
      application_id: SQUONK_SANDBOX.applicationId,
      application_type: "JOB",
      application_version: "v1",
      archived: false,
      has_valid_callback_token: false,
      launched: iso(instance.launchedAt),
      name: instance.name,
      owner: instance.owner,
      phase: progress.phase,
      project_id: instance.projectId,
      run_time: pythonTimedelta(
        progress.startedAt === undefined ? 0 : (progress.stoppedAt ?? now) - progress.startedAt,
      ),
      tasks,
      job_collection: job.collection,
      job_job: job.job,
      job_version: job.version,
      job_id: job.id,
      job_name: job.name,
      application_specification: instance.specification,
    });
    if (progress.startedAt !== undefined) detail.started = iso(progress.startedAt);
    if (progress.stoppedAt !== undefined) detail.stopped = iso(progress.stoppedAt);
    if (progress.phase === "FAILED" && instance.failure !== undefined)
      detail.error_message = instance.failure;
    if (job.output !== undefined) {
      detail.outputs = JSON.stringify({
        [job.output.variable]: {
          title: job.output.title,
          "mime-types": [job.output.mime],
          creates: `{{ ${job.output.variable} }}`,
          type: "file",
        },
      });
    }
    return detail;
  }

  #deleteInstance(instance: Instance): EmulatorResponse {
    if (instance.owner !== USER) {
      return apiError(403, `Only the instance owner (${instance.owner}) can delete instance ${instance.id}`);
    }
    // Emulator's choice: deletion is immediate (the instance is gone from GET at once) and its DELETE
    // task is already done; a run still in progress is stopped and its CREATE task ends in FAILURE.
    const task: DeleteTask = { id: `task-${randomUUID()}`, instance, createdAt: Date.now() };
    instance.deletedAt = task.createdAt;
    instance.deleteTaskId = task.id;
    this.#deleteTasks.set(task.id, task);
    return ok({ task_id: task.id });
  }

  #listTasks(query: Record<string, string>): EmulatorResponse {
    const projectId = query.project_id;
    if (projectId && this.#visibleProject(projectId) === undefined) return projectNotFound(projectId);
    const excludeDone = parseFlag(query.exclude_done, "exclude_done");
    if (typeof excludeDone !== "boolean") return excludeDone;
    const excludeRemoval = parseFlag(query.exclude_removal, "exclude_removal");
    if (typeof excludeRemoval !== "boolean") return excludeRemoval;
    const excludedPurposes = (query.exclude_purpose ?? "")
      .split(",")
      .map((purpose) => purpose.trim().toUpperCase())
      .filter(Boolean);
    const now = Date.now();
    const rows: { created: number; summary: Record<string, unknown> }[] = [];
    for (const instance of this.#instances.values()) {
      if (!this.#visibleProject(instance.projectId)) continue;
      if (projectId && instance.projectId !== projectId) continue;
      const progress = this.#progress(instance, now);
      rows.push({
        created: instance.launchedAt,
        summary: {
          id: instance.taskId,
          created: iso(instance.launchedAt),
          done: progress.done,
          ...(progress.exitCode === undefined ? {} : { exit_code: progress.exitCode }),
          purpose: "INSTANCE",
          purpose_id: instance.id,
          purpose_version: 1,
          removal: false,
          image: `${instance.job.image_name}:${instance.job.image_tag}`,
        },
      });
      const deletion =
        instance.deleteTaskId === undefined ? undefined : this.#deleteTasks.get(instance.deleteTaskId);
      if (deletion !== undefined) {
        rows.push({
          created: deletion.createdAt,
          summary: {
            id: deletion.id,
            created: iso(deletion.createdAt),
            done: true,
            exit_code: 0,
            purpose: "INSTANCE",
            purpose_id: instance.id,
            purpose_version: 1,
            removal: true,
          },
        });
      }
    }
    const tasks = rows
      .sort((a, b) => a.created - b.created)
      .map((row) => row.summary)
      .filter((task) => !(excludeDone && task.done === true))
      .filter((task) => !(excludeRemoval && task.removal === true))
      .filter((task) => !excludedPurposes.includes(String(task.purpose)));
    return ok({ count: tasks.length, tasks });
  }

  #getTask(id: string, query: Record<string, string>): EmulatorResponse {
    const limit = parseInteger(query.event_limit, "event_limit", 1, 500);
    if (typeof limit !== "number") return limit;
    const prior = parseInteger(query.event_prior_ordinal, "event_prior_ordinal", 0, 0);
    if (typeof prior !== "number") return prior;
    const now = Date.now();
    const page = (events: TaskEvent[]) =>
      events
        .filter((event) => event.ordinal > prior)
        .slice(0, limit)
        .map((event) => ({ ...event }));

    const deletion = this.#deleteTasks.get(id);
    if (deletion !== undefined && this.#visibleProject(deletion.instance.projectId)) {
      const at = iso(deletion.createdAt);
      return ok({
        created: at,
        done: true,
        exit_code: 0,
        purpose: "INSTANCE",
        purpose_id: deletion.instance.id,
        purpose_version: 1,
        removal: true,
        states: [
          { state: "PENDING", time: at, message: "Delete requested" },
          { state: "STARTED", time: at, message: "Deleting instance" },
          { state: "SUCCESS", time: at, message: "Instance deleted" },
        ],
        events: page([
          { level: "INFO", message: `Deleting instance '${deletion.instance.name}'`, ordinal: 1, time: at },
          { level: "INFO", message: "Instance deleted", ordinal: 2, time: at },
        ]),
      });
    }
    const instance = [...this.#instances.values()].find((candidate) => candidate.taskId === id);
    if (instance === undefined || !this.#visibleProject(instance.projectId)) {
      return apiError(404, `Task ${id} does not exist`);
    }
    const progress = this.#progress(instance, now);
    const states: { state: string; time: string; message: string }[] = [
      { state: "PENDING", time: iso(instance.launchedAt), message: "Waiting for the instance to start" },
    ];
    if (progress.startedAt !== undefined) {
      states.push({ state: "STARTED", time: iso(progress.startedAt), message: "Instance started" });
    }
    if (progress.done && progress.stoppedAt !== undefined) {
      const success = progress.exitCode === 0;
      states.push({
        state: success ? "SUCCESS" : "FAILURE",
        time: iso(progress.stoppedAt),
        message: success
          ? "Job completed"
          : instance.deletedAt !== undefined && progress.exitCode === 143
            ? "Instance deleted before the job finished"
            : (instance.failure ?? "Job failed"),
      });
    }
    const body: Record<string, unknown> = {
      created: iso(instance.launchedAt),
      done: progress.done,
      purpose: "INSTANCE",
      purpose_id: instance.id,
      purpose_version: 1,
      removal: false,
      image: `${instance.job.image_name}:${instance.job.image_tag}`,
      instance_specification: instance.specification,
      states,
      events: page(this.#events(instance, now)),
    };
    if (progress.exitCode !== undefined) body.exit_code = progress.exitCode;
    return ok(body);
  }

  /** The run's log as events, oldest first; ordinals are fixed, so pages stay stable as events appear. */
  #events(instance: Instance, now: number): TaskEvent[] {
    const { job, variables } = instance;
    const startAt = instance.launchedAt + instance.pendingMs;
    const endAt = startAt + instance.runningMs;
    const script: { level: string; message: string; at: number }[] = [
      { level: "INFO", message: `Launching ${jobKey(job)} as '${instance.name}'`, at: instance.launchedAt },
      {
        level: "INFO",
        message: `Pulling image ${job.image_name}:${job.image_tag}`,
        at: instance.launchedAt + instance.pendingMs / 2,
      },
      { level: "INFO", message: "Container started", at: startAt },
    ];
    const lines = jobLog(job, variables, instance.failure);
    lines.forEach((line, index) => {
      script.push({ ...line, at: startAt + ((index + 1) * instance.runningMs) / (lines.length + 1) });
    });
    script.push(
      instance.failure === undefined
        ? { level: "INFO", message: "Job finished (exit code 0)", at: endAt }
        : { level: "ERROR", message: `Job failed (exit code 1): ${instance.failure}`, at: endAt },
    );
    const cutoff = Math.min(now, instance.deletedAt ?? Number.POSITIVE_INFINITY);
    const events: TaskEvent[] = script.map((line, index) => ({
      level: line.level,
      message: line.message,
      ordinal: index + 1,
      time: iso(line.at),
      at: line.at,
    }));
    const visible = events.filter((event) => (event.at as number) <= cutoff);
    if (instance.deletedAt !== undefined && instance.deletedAt < endAt) {
      visible.push({
        level: "WARNING",
        message: `Instance deleted by ${USER}; the container was stopped`,
        ordinal: visible.length + 1,
        time: iso(instance.deletedAt),
      });
    }
    return visible.map(({ at: _at, ...event }) => event);
  }

  /** Makes the instance of a seeded run, as its launch would have. */
  #seed(run: SeededRun): void {
    const { instances, tasks } = SQUONK_SEED;
    const job = this.#jobs.get(run.jobId) as JobDef;
    const project = this.#projects.get(run.projectId) as Project;
    const checked = checkVariables(job, run.variables) as Variables;
    const instance: Instance = {
      id: instances[run.key],
      taskId: tasks[run.key],
      name: run.name,
      projectId: run.projectId,
      owner: run.owner,
      job,
      variables: checked,
      specification: JSON.stringify({
        collection: job.collection,
        job: job.job,
        version: job.version,
        variables: run.variables,
      }),
      launchedAt: run.launchedAt,
      pendingMs: run.pendingMs,
      runningMs: run.runningMs,
    };
    const failure = this.#failureOf(project, job, checked);
    if (failure !== undefined) instance.failure = failure;
    this.#instances.set(instance.id, instance);
  }
}

/** Python's `str(timedelta)`: the DM is a Python service (emulator's choice of `run_time` format). */
function pythonTimedelta(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const micros = Math.max(0, Math.round(ms - total * 1000) * 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const base = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return micros === 0 ? base : `${base}.${String(micros).padStart(6, "0")}`;
}

function parseFlag(value: string | undefined, name: string): boolean | EmulatorResponse {
  if (value === undefined || value === "") return false;
  const lower = value.toLowerCase();
  // requests sends Python booleans as "True"/"False".
  if (["true", "1", "yes"].includes(lower)) return true;
  if (["false", "0", "no"].includes(lower)) return false;
  return apiError(400, `${name} must be true or false, not '${value}'`);
}

function parseInteger(
  value: string | undefined,
  name: string,
  min: number,
  fallback: number,
): number | EmulatorResponse {
  if (value === undefined || value === "") return fallback;
  if (!/^-?\d+$/.test(value)) return apiError(400, `${name} must be an integer, not '${value}'`);
  const number = Number(value);
  if (number < min) return apiError(400, `${name} must be >= ${min}`);
  return number;
}

/** Reads `multipart/form-data` text fields (files are ignored: no route here takes uploads). */
function parseMultipart(body: string, contentType: string): Record<string, string> | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const part of body.split(`--${boundary}`)) {
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) continue;
    const head = part.slice(0, split);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined || /filename=/i.test(head)) continue;
    fields[name] = part.slice(split + 4).replace(/\r\n$/, "");
  }
  return fields;
}

function normalisePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

function parentOf(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? "/" : path.slice(0, index);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

interface TaskEvent {
  level: string;
  message: string;
  ordinal: number;
  time: string;
  at?: number;
}

function projectNotFound(id: string): EmulatorResponse {
  return apiError(404, `Project ${id} does not exist`);
}

/** DM bodies are forms: url-encoded or multipart. The DM rejects JSON (415, emulator's choice of status). */
function dmForm(request: RecordedRequest): { form: Record<string, string> } | EmulatorResponse {
  const type = request.contentType?.toLowerCase() ?? "";
  if (type.includes("application/x-www-form-urlencoded")) {
    return { form: Object.fromEntries(new URLSearchParams(request.body)) };
  }
  if (type.includes("multipart/form-data")) {
    const form = parseMultipart(request.body, request.contentType ?? "");
    return form === undefined ? apiError(400, "The multipart body has no boundary") : { form };
  }
  if (type === "" && request.body === "") return { form: {} };
  return apiError(
    415,
    `Unsupported Media Type '${type || "none"}': the Data Manager API takes application/x-www-form-urlencoded or multipart/form-data, not JSON`,
  );
}

function jobKey(job: JobDef): string {
  return `${job.collection}/${job.job}/${job.version}`;
}

function jobSummary(job: JobDef): Record<string, unknown> {
  const summary: Record<string, unknown> = {
    id: job.id,
    collection: job.collection,
    job: job.job,
    version: job.version,
    name: job.name,
    category: job.category,
    description: job.description,
    disabled: job.disabled !== undefined,
    image_type: "SIMPLE",
    keywords: [...job.keywords],
    required_assets: [],
    doc_url: job.doc_url,
  };
  if (job.disabled !== undefined) summary.disabled_reason = job.disabled;
  if (job.replaces) summary.replaces = structuredClone(job.replaces);
  if (job.replaced_by) summary.replaced_by = structuredClone(job.replaced_by);
  return summary;
}

/** The variables block as the DM serves it from the job definition (inputs, outputs, options). */
function variablesOf(job: JobDef): Record<string, unknown> | undefined {
  const spec = (vars: Record<string, VariableSpec>) =>
    Object.fromEntries(
      Object.entries(vars).map(([name, v]) => {
        const out: Record<string, unknown> = { title: v.title, type: v.type };
        if (v.mime !== undefined) out["mime-types"] = [...v.mime];
        if (v.default !== undefined) out.default = v.default;
        if (v.minimum !== undefined) out.minimum = v.minimum;
        if (v.maximum !== undefined) out.maximum = v.maximum;
        return [name, out];
      }),
    );
  const names = [...Object.keys(job.inputs), ...Object.keys(job.options)];
  if (names.length === 0) return undefined;
  const required = (vars: Record<string, VariableSpec>) => job.required.filter((name) => name in vars);
  const variables: Record<string, unknown> = {
    order: { options: Object.keys(job.options) },
    inputs: { type: "object", required: required(job.inputs), properties: spec(job.inputs) },
    options: { type: "object", required: required(job.options), properties: spec(job.options) },
  };
  if (job.output !== undefined) {
    variables.outputs = {
      type: "object",
      properties: {
        [job.output.variable]: {
          title: job.output.title,
          "mime-types": [job.output.mime],
          creates: `{{ ${job.output.variable} }}`,
          type: "file",
        },
      },
    };
  }
  return variables;
}

function jobDetail(job: JobDef): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    ...jobSummary(job),
    command: job.command,
    command_encoding: "JINJA2_3_0",
    image_name: job.image_name,
    image_tag: job.image_tag,
    image_project_directory: "/data",
    image_working_directory: "/data",
    exchange_rate: job.exchange_rate,
    application: { application_id: SQUONK_SANDBOX.applicationId, kind: "DataManagerJob" },
  };
  const variables = variablesOf(job);
  if (variables !== undefined) detail.variables = variables;
  return detail;
}

/** Validates the specification's variables against the job; the variables with defaults, or an error. */
function checkVariables(job: JobDef, variables: unknown): Variables | string {
  if (
    variables !== undefined &&
    (typeof variables !== "object" || variables === null || Array.isArray(variables))
  ) {
    return "specification.variables must be a JSON object";
  }
  const given = (variables ?? {}) as Record<string, unknown>;
  const known = { ...job.inputs, ...job.options };
  const unknown = Object.keys(given).filter((name) => !(name in known));
  if (unknown.length > 0) {
    const accepted = Object.keys(known).join(", ") || "none";
    return `Job ${jobKey(job)} has no variable(s) ${unknown.join(", ")} (it accepts: ${accepted})`;
  }
  const missing = job.required.filter((name) => given[name] === undefined || given[name] === "");
  if (missing.length > 0) return `Job ${jobKey(job)} is missing required variable(s): ${missing.join(", ")}`;
  const result: Variables = {};
  for (const [name, spec] of Object.entries(known)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) continue;
    const typeOk =
      spec.type === "integer"
        ? Number.isInteger(value)
        : spec.type === "number"
          ? typeof value === "number" && Number.isFinite(value)
          : spec.type === "boolean"
            ? typeof value === "boolean"
            : typeof value === "string";
    if (!typeOk) {
      const wanted = spec.type === "file" ? "a project file path (string)" : `of type ${spec.type}`;
      return `Variable '${name}' must be ${wanted}, not ${JSON.stringify(value)}`;
    }
    if (typeof value === "number" && spec.minimum !== undefined && value < spec.minimum) {
      return `Variable '${name}' must be >= ${spec.minimum}`;
    }
    if (typeof value === "number" && spec.maximum !== undefined && value > spec.maximum) {
      return `Variable '${name}' must be <= ${spec.maximum}`;
    }
    result[name] = value as string | number | boolean;
  }
  return result;
}

function renderCommand(job: JobDef, variables: Variables): string {
  return job.command.replace(/\{\{\s*(\w+)\s*\}\}/g, (_match, name: string) => String(variables[name] ?? ""));
}

/** The job's own log lines, between "Container started" and the final line. */
function jobLog(
  job: JobDef,
  variables: Variables,
  failure: string | undefined,
): { level: string; message: string }[] {
  const info = (message: string) => ({ level: "INFO", message });
  if (job.job === "event-test") {
    const count = Number(variables.eventCount ?? 10);
    return Array.from({ length: count }, (_, index) => info(`Event ${index + 1} of ${count}`));
  }
  if (job.job === "max-min-picker") {
    const input = String(variables.inputFile);
    if (failure !== undefined)
      return [info(`Reading molecules from ${input}`), { level: "ERROR", message: failure }];
    const seed = variables.seed === undefined ? "" : `, seed ${variables.seed}`;
    return [
      info(`Reading molecules from ${input}`),
      info("Read 24118 molecules (12 skipped: could not be parsed)"),
      info("Computing Morgan fingerprints (radius 2, 2048 bits)"),
      info(`Picking ${variables.count} diverse molecules (MaxMin${seed})`),
      info(`Wrote ${variables.count} molecules to ${variables.outputFile}`),
    ];
  }
  if (job.fails)
    return [info("Nothing to do"), { level: "ERROR", message: "Exiting with code 1 as requested" }];
  return [info("Nothing to do")];
}
