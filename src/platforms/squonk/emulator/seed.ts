/**
 * The sandbox's Squonk2: its users and clients (SQUONK_SANDBOX), the ids of what is seeded (SQUONK_SEED),
 * and the seeded projects, jobs, runs, units and products. Dates are fixed, except the running instance's.
 */

/**
 * Sandbox credentials: the emulator accepts these, and `--sandbox` configures them. The password holds
 * `+&%=/` and a space so that a client which does not URL-encode the token form (the public Python
 * client's bug, upstreams.md section 3) fails here as it would against a real Keycloak.
 */
export const SQUONK_SANDBOX = {
  realm: "squonk",
  dmClientId: "data-manager-api-sandbox",
  asClientId: "account-server-api-sandbox",
  /** Required only while `confidentialClients` is on; both clients share it (one env variable). */
  clientSecret: "sandbox-squonk-client-secret",
  username: "sandbox-user",
  password: "sq+uo&nk%2=/ sandbox",
  /** The only `application_id` the DM accepts for jobs (upstreams.md, `start_job_instance`). */
  applicationId: "datamanagerjobs.squonk.it",
} as const;

/** Ids of the seeded data, for tests and the demo. */
export const SQUONK_SEED = {
  organisationId: "org-2c7d9e41-6a3b-4f58-b1e2-93d4c5a6f701",
  units: {
    medchem: "unit-5e1a7c93-0b2d-4e6f-8a19-c3d4e5f60712",
    compchem: "unit-8b3f2d10-7c4e-4a95-9d61-e2f3a4b5c823",
  },
  products: {
    kinaseTier: "product-1d4e7a20-93b5-4c6f-8e12-a7b8c9d0e134",
    dockingTier: "product-6f2b8c31-4d7e-4a90-b5c3-d8e9f0a1b245",
    referenceTier: "product-9a5c1e42-8f3d-4b6a-9c24-e1f2a3b4c356",
    storage: "product-3e7d4f53-2a1b-4c8e-8d35-f2a3b4c5d467",
  },
  projects: {
    /** Sandbox user is administrator and editor; many files under `/`, `/data`, `/data/raw`. */
    kinase: "project-0a6e2b54-7d3c-4f19-8b46-a3b4c5d6e578",
    /** Private; sandbox user is administrator and editor. */
    docking: "project-4c8f3d65-1e2a-4b7d-9c57-b4c5d6e7f689",
    /** Owned by mkowalski; the sandbox user is only an observer, so launching there is refused (403). */
    reference: "project-7e1a4f76-5b3c-4d8e-8a68-c5d6e7f8a79a",
  },
  jobs: { nop: 1, eventTest: 2, nopFail: 3, picker100: 4, picker110: 5, legacySleep: 6 },
  instances: {
    pickerCompleted: "instance-b2d4f6a8-1c3e-4f5a-9b7d-0e2f4a6c8e01",
    nopCompleted: "instance-d4f6a8c0-3e5a-4b7c-8d9f-2a4c6e8a0b03",
    pickerFailed: "instance-f6a8c0e2-5a7c-4d9e-8f1b-4c6e8a0c2d05",
    nopFailed: "instance-18ace024-7c9e-4f1a-8b3d-6e8a0c2e4f07",
    eventsRunning: "instance-3ace0246-9eaf-4b3c-8d5f-8a0c2e4a6b09",
    referenceCompleted: "instance-5ce02468-b1c3-4d5e-8f7b-0c2e4a6c8d11",
  },
  tasks: {
    pickerCompleted: "task-c3e5a7b9-2d4f-4a6b-8c8e-1f3a5b7d9f02",
    nopCompleted: "task-e5a7c9d1-4f6b-4c8d-9eaf-3b5d7f9b1c04",
    pickerFailed: "task-a7c9e1f3-6b8d-4eaf-9a2c-5d7f9b1d3e06",
    nopFailed: "task-29bdf135-8daf-4a2b-9c4e-7f9b1d3f5a08",
    eventsRunning: "task-4bdf1357-afb1-4c4d-9e6a-9b1d3f5b7c10",
    referenceCompleted: "task-6df13579-c2d4-4e6f-9a8c-1d3f5b7d9e12",
  },
} as const;

/** The sandbox user, and the colleague who owns the reference project. */
export const USER = SQUONK_SANDBOX.username;
export const COLLEAGUE = "mkowalski";

export interface SeedFile {
  path: string;
  owner: string;
  size: number;
  modified: string;
  mime?: string;
  /** Managed (dataset-backed) files carry a file id and are immutable. */
  fileId?: string;
}

export interface Project {
  project_id: string;
  name: string;
  created: string;
  creator: string;
  administrators: string[];
  editors: string[];
  observers: string[];
  private: boolean;
  product_id: string;
  unit_id: string;
  organisation_id: string;
  files: SeedFile[];
}

export interface VariableSpec {
  title: string;
  type: "string" | "integer" | "number" | "boolean" | "file";
  default?: string | number | boolean;
  minimum?: number;
  maximum?: number;
  mime?: string[];
}

export interface JobDef {
  id: number;
  collection: string;
  job: string;
  version: string;
  name: string;
  category: string;
  description: string;
  keywords: string[];
  doc_url: string;
  image_name: string;
  image_tag: string;
  command: string;
  exchange_rate: string;
  inputs: Record<string, VariableSpec>;
  options: Record<string, VariableSpec>;
  required: string[];
  /** The option naming the file the job writes, relative to the project root. */
  output?: { variable: string; title: string; mime: string; bytesPerItem: number; countVariable: string };
  /** Always ends with exit code 1 (the seeded failing job). */
  fails?: boolean;
  disabled?: string;
  replaces?: { collection: string; job: string; version: string }[];
  replaced_by?: { collection: string; job: string; version: string }[];
}

export type Variables = Record<string, string | number | boolean>;

export interface Instance {
  id: string;
  taskId: string;
  name: string;
  projectId: string;
  owner: string;
  job: JobDef;
  /** Variables after defaults were applied. */
  variables: Variables;
  specification: string;
  launchedAt: number;
  /** Durations captured at launch, so that changing the emulator's settings never rewinds a run. */
  pendingMs: number;
  runningMs: number;
  /** Why the run fails, decided at launch (a failing job, an input file that is not there). */
  failure?: string;
  deletedAt?: number;
  deleteTaskId?: string;
}

export interface DeleteTask {
  id: string;
  instance: Instance;
  createdAt: number;
}

export interface Product {
  product_id: string;
  name: string;
  type: string;
  flavour?: string;
  unit_id: string;
  organisation_id: string;
  created: string;
  coins: { allowance: number; limit: number; used: number };
}

export interface Unit {
  unit_id: string;
  name: string;
  organisation_id: string;
  billing_day: number;
  owner: string;
  created: string;
}

export const PRODUCT_TYPES = ["DATA_MANAGER_PROJECT_TIER_SUBSCRIPTION", "DATA_MANAGER_STORAGE_SUBSCRIPTION"];
export const FLAVOURS = ["BRONZE", "SILVER", "GOLD"];

/** A run the sandbox starts with, as it was launched: the Data Manager makes its instance of it. */
export interface SeededRun {
  key: keyof typeof SQUONK_SEED.instances;
  name: string;
  projectId: string;
  jobId: number;
  variables: Variables;
  launchedAt: number;
  pendingMs: number;
  runningMs: number;
  owner: string;
}

/** The seeded runs; the one still running is placed relative to `now`. */
export function seedRuns(now: number): SeededRun[] {
  const { projects, jobs } = SQUONK_SEED;
  const run = (
    key: SeededRun["key"],
    name: string,
    projectId: string,
    jobId: number,
    variables: Variables,
    launchedAt: number,
    pendingMs: number,
    runningMs: number,
    owner: string = USER,
  ): SeededRun => ({ key, name, projectId, jobId, variables, launchedAt, pendingMs, runningMs, owner });
  return [
    run(
      "nopCompleted",
      "Smoke test",
      projects.kinase,
      jobs.nop,
      {},
      Date.parse("2025-01-13T16:40:02.000Z"),
      3_100,
      1_900,
    ),
    run(
      "pickerCompleted",
      "Diverse subset (50)",
      projects.kinase,
      jobs.picker100,
      { inputFile: "data/raw/candidates.sdf", count: 50, outputFile: "results/diverse-50.sdf" },
      Date.parse("2025-01-14T10:02:11.000Z"),
      4_200,
      192_000,
    ),
    run(
      "pickerFailed",
      "Diverse subset of all plates",
      projects.kinase,
      jobs.picker110,
      { inputFile: "data/raw/plates-all.sdf", count: 200 },
      Date.parse("2025-01-15T08:47:30.000Z"),
      3_800,
      6_500,
    ),
    run(
      "nopFailed",
      "Nightly failure check",
      projects.docking,
      jobs.nopFail,
      {},
      Date.parse("2025-01-16T02:00:00.000Z"),
      2_900,
      1_400,
    ),
    run(
      "referenceCompleted",
      "Reference set smoke test",
      projects.reference,
      jobs.nop,
      {},
      Date.parse("2025-01-10T11:15:44.000Z"),
      3_000,
      2_000,
      COLLEAGUE,
    ),
    // The one run in progress: relative to construction so that it is RUNNING whenever the sandbox starts.
    run(
      "eventsRunning",
      "Event stream soak test",
      projects.kinase,
      jobs.eventTest,
      { eventCount: 400 },
      now - 10 * 60_000,
      5_000,
      4 * 3_600_000,
    ),
  ];
}

export function organisation(): Record<string, unknown> {
  return {
    organisation_id: SQUONK_SEED.organisationId,
    name: "Northbank Discovery",
    owner: COLLEAGUE,
    created: "2024-09-30T14:02:51.000Z",
  };
}
export function seedJobs(): JobDef[] {
  const testImage = { image_name: "informaticsmatters/squonk2-test-jobs", image_tag: "1.0.0" };
  const rdkit = "https://github.com/InformaticsMatters/squonk2-rdkit-utilities";
  const pickerInputs: Record<string, VariableSpec> = {
    inputFile: { title: "Molecules to pick from", type: "file", mime: ["chemical/x-mdl-sdfile"] },
  };
  const pickerOptions: Record<string, VariableSpec> = {
    count: { title: "Number of molecules to pick", type: "integer", minimum: 1, maximum: 10_000 },
    outputFile: { title: "Output file name", type: "string", default: "diverse.sdf" },
  };
  const pickerOutput = {
    variable: "outputFile",
    title: "Picked molecules",
    mime: "chemical/x-mdl-sdfile",
    bytesPerItem: 2_150,
    countVariable: "count",
  };
  const picker = { collection: "rdkit", job: "max-min-picker" };
  return [
    {
      id: 1,
      collection: "im-test",
      job: "nop",
      version: "1.0.0",
      name: "No operation",
      category: "test",
      description: "Does nothing and exits with code 0; checks that jobs can run",
      keywords: ["test", "nop"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#nop",
      ...testImage,
      command: "python -m im_test.nop",
      exchange_rate: "0.1",
      inputs: {},
      options: {},
      required: [],
    },
    {
      id: 2,
      collection: "im-test",
      job: "event-test",
      version: "1.0.0",
      name: "Event generator",
      category: "test",
      description: "Emits eventCount INFO events over its run, for testing event paging",
      keywords: ["test", "events"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#event-test",
      ...testImage,
      command: "python -m im_test.event_test --count {{ eventCount }}",
      exchange_rate: "0.1",
      inputs: {},
      options: {
        eventCount: { title: "Number of events", type: "integer", default: 10, minimum: 1, maximum: 1000 },
      },
      required: [],
    },
    {
      id: 3,
      collection: "im-test",
      job: "nop-fail",
      version: "1.0.0",
      name: "Failing no-op",
      category: "test",
      description: "Does nothing and exits with code 1; checks failure handling",
      keywords: ["test", "failure"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#nop-fail",
      ...testImage,
      command: "python -m im_test.nop --exit-code 1",
      exchange_rate: "0.1",
      inputs: {},
      options: {},
      required: [],
      fails: true,
    },
    {
      id: 4,
      ...picker,
      version: "1.0.0",
      name: "RDKit MaxMin diversity picker",
      category: "comp chem",
      description: "Picks a diverse subset of molecules with RDKit's MaxMin algorithm on Morgan fingerprints",
      keywords: ["rdkit", "diversity", "clustering"],
      doc_url: `${rdkit}/blob/1.0.0/docs/max-min-picker.md`,
      image_name: "informaticsmatters/rdkit-jobs",
      image_tag: "1.0.0",
      command:
        "python -m pipelines.rdkit.max_min_picker -i '{{ inputFile }}' -c {{ count }} -o '{{ outputFile }}'",
      exchange_rate: "0.5",
      inputs: pickerInputs,
      options: pickerOptions,
      required: ["inputFile", "count"],
      output: pickerOutput,
      replaced_by: [{ ...picker, version: "1.1.0" }],
    },
    {
      id: 5,
      ...picker,
      version: "1.1.0",
      name: "RDKit MaxMin diversity picker",
      category: "comp chem",
      description:
        "Picks a diverse subset of molecules with RDKit's MaxMin algorithm on Morgan fingerprints; a seed makes picks repeatable",
      keywords: ["rdkit", "diversity", "clustering"],
      doc_url: `${rdkit}/blob/1.1.0/docs/max-min-picker.md`,
      image_name: "informaticsmatters/rdkit-jobs",
      image_tag: "1.1.0",
      command:
        "python -m pipelines.rdkit.max_min_picker -i '{{ inputFile }}' -c {{ count }} -o '{{ outputFile }}' --seed {{ seed }}",
      exchange_rate: "0.5",
      inputs: pickerInputs,
      options: { ...pickerOptions, seed: { title: "Random seed", type: "integer", default: 42, minimum: 0 } },
      required: ["inputFile", "count"],
      output: pickerOutput,
      replaces: [{ ...picker, version: "1.0.0" }],
    },
    {
      id: 6,
      collection: "im-test",
      job: "legacy-sleep",
      version: "0.9.0",
      name: "Sleep (legacy)",
      category: "test",
      description: "Sleeps for a while; kept for old workflows",
      keywords: ["test"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#legacy-sleep",
      image_name: "informaticsmatters/squonk2-test-jobs",
      image_tag: "0.9.0",
      command: "sleep 60",
      exchange_rate: "0.1",
      inputs: {},
      options: {},
      required: [],
      disabled: "The 0.9.0 image is no longer published",
    },
  ];
}

export function seedProjects(): Project[] {
  const { projects, organisationId, units, products } = SQUONK_SEED;
  const sdf = "chemical/x-mdl-sdfile";
  const plates: SeedFile[] = Array.from({ length: 10 }, (_, index) => ({
    path: `/data/raw/plate-${String(index + 1).padStart(2, "0")}.sdf`,
    owner: index % 3 === 2 ? COLLEAGUE : USER,
    size: 1_204_331 + index * 37_511,
    modified: `2024-11-${String(5 + index).padStart(2, "0")}T1${index % 10}:0${index % 6}:17.000Z`,
    mime: sdf,
  }));
  return [
    {
      project_id: projects.kinase,
      name: "Kinase fragment screen",
      created: "2024-11-04T09:21:37.000Z",
      creator: USER,
      administrators: [USER],
      editors: [USER, COLLEAGUE],
      observers: [],
      private: false,
      product_id: products.kinaseTier,
      unit_id: units.medchem,
      organisation_id: organisationId,
      files: [
        {
          path: "/README.md",
          owner: USER,
          size: 2_341,
          modified: "2024-11-04T09:31:12.000Z",
          mime: "text/markdown",
        },
        {
          path: "/.notes.txt",
          owner: USER,
          size: 418,
          modified: "2024-12-02T17:05:40.000Z",
          mime: "text/plain",
        },
        {
          path: "/screen-summary.csv",
          owner: COLLEAGUE,
          size: 18_422,
          modified: "2025-01-09T13:48:02.000Z",
          mime: "text/csv",
        },
        {
          path: "/data/fragments-2024-11.sdf",
          owner: USER,
          size: 4_812_305,
          modified: "2024-11-04T10:02:55.000Z",
          mime: sdf,
          fileId: "file-8d2c4e6a-0b1f-4a3d-9e5c-7f9a1b3c5d21",
        },
        {
          path: "/data/hits.smi",
          owner: COLLEAGUE,
          size: 6_120,
          modified: "2025-01-08T15:12:09.000Z",
          mime: "chemical/x-daylight-smiles",
        },
        {
          path: "/data/kinase-panel.csv",
          owner: USER,
          size: 94_233,
          modified: "2024-11-21T11:40:30.000Z",
          mime: "text/csv",
        },
        {
          path: "/data/raw/candidates.sdf",
          owner: USER,
          size: 12_884_120,
          modified: "2024-11-04T10:05:13.000Z",
          mime: sdf,
          fileId: "file-1f3e5a7c-2d4b-4c6e-8a0f-9b1d3e5f7a32",
        },
        {
          path: "/data/raw/README.txt",
          owner: USER,
          size: 911,
          modified: "2024-11-04T10:06:01.000Z",
          mime: "text/plain",
        },
        ...plates,
      ],
    },
    {
      project_id: projects.docking,
      name: "PLpro docking campaign",
      created: "2024-12-09T08:12:44.000Z",
      creator: USER,
      administrators: [USER],
      editors: [USER],
      observers: [COLLEAGUE],
      private: true,
      product_id: products.dockingTier,
      unit_id: units.compchem,
      organisation_id: organisationId,
      files: [
        {
          path: "/docking-config.json",
          owner: USER,
          size: 1_204,
          modified: "2024-12-09T08:30:19.000Z",
          mime: "application/json",
        },
        {
          path: "/receptor/plpro-7jrn.pdb",
          owner: USER,
          size: 612_480,
          modified: "2024-12-09T08:22:51.000Z",
          mime: "chemical/x-pdb",
        },
        {
          path: "/ligands/enamine-subset.smi",
          owner: USER,
          size: 2_304_117,
          modified: "2024-12-10T09:41:07.000Z",
          mime: "chemical/x-daylight-smiles",
        },
      ],
    },
    {
      project_id: projects.reference,
      name: "Shared reference sets",
      created: "2024-10-02T12:00:05.000Z",
      creator: COLLEAGUE,
      administrators: [COLLEAGUE],
      editors: [COLLEAGUE],
      observers: [USER],
      private: false,
      product_id: products.referenceTier,
      unit_id: units.medchem,
      organisation_id: organisationId,
      files: [
        {
          path: "/reference/chembl-kinase-actives.sdf",
          owner: COLLEAGUE,
          size: 9_120_554,
          modified: "2024-10-02T12:20:41.000Z",
          mime: sdf,
          fileId: "file-5a7c9e1b-3d5f-4b7a-8c2e-0d2f4a6b8c43",
        },
        {
          path: "/reference/dude-decoys.sdf",
          owner: COLLEAGUE,
          size: 31_402_877,
          modified: "2024-10-02T12:26:03.000Z",
          mime: sdf,
          fileId: "file-7c9e1b3d-5f7a-4d9c-9e4a-2f4b6c8d0e54",
        },
      ],
    },
  ];
}

export function seedUnits(): Unit[] {
  const { units, organisationId } = SQUONK_SEED;
  return [
    {
      unit_id: units.medchem,
      name: "Medicinal Chemistry",
      organisation_id: organisationId,
      billing_day: 3,
      owner: USER,
      created: "2024-10-01T09:00:12.000Z",
    },
    {
      unit_id: units.compchem,
      name: "Computational Chemistry",
      organisation_id: organisationId,
      billing_day: 17,
      owner: COLLEAGUE,
      created: "2024-10-01T09:04:48.000Z",
    },
  ];
}

export function seedProducts(): Product[] {
  const { products, units, organisationId } = SQUONK_SEED;
  const tier = PRODUCT_TYPES[0] as string;
  return [
    {
      product_id: products.kinaseTier,
      name: "Kinase fragment screen",
      type: tier,
      flavour: "GOLD",
      unit_id: units.medchem,
      organisation_id: organisationId,
      created: "2024-11-04T09:21:36.000Z",
      coins: { allowance: 1000, limit: 1500, used: 412.35 },
    },
    {
      product_id: products.dockingTier,
      name: "PLpro docking campaign",
      type: tier,
      flavour: "SILVER",
      unit_id: units.compchem,
      organisation_id: organisationId,
      created: "2024-12-09T08:12:43.000Z",
      coins: { allowance: 500, limit: 750, used: 96.1 },
    },
    {
      product_id: products.referenceTier,
      name: "Shared reference sets",
      type: tier,
      flavour: "BRONZE",
      unit_id: units.medchem,
      organisation_id: organisationId,
      created: "2024-10-02T12:00:04.000Z",
      coins: { allowance: 100, limit: 100, used: 12.5 },
    },
    {
      product_id: products.storage,
      name: "Medchem bulk storage",
      type: PRODUCT_TYPES[1] as string,
      unit_id: units.medchem,
      organisation_id: organisationId,
      created: "2024-10-01T09:10:27.000Z",
      coins: { allowance: 200, limit: 300, used: 140.8 },
    },
  ];
}
