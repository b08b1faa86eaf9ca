/**
 * The sandbox's SSMCM inventory: deterministic, in insertion order.
 * - Accounts: AWS `210987654321` meikai-prod, `345678901234` meikai-staging, `456789012345` meikai-data,
 *   `678901234567` meikai-legacy (its inventory fails: the IAM role lost s3:ListAllMyBuckets), Azure
 *   subscription `3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13` (alias azure-prod), GCP project
 *   `meikai-analytics-prod` (alias gcp-analytics).
 * - 25 S3 buckets over the four AWS accounts (10 prod, 5 staging, 7 data, 3 legacy); 6 are public
 *   (`meikai-prod-web-assets`, `meikai-prod-cdn-origin`, `meikai-prod-static-site`,
 *   `meikai-staging-web-assets`, `meikai-data-exports-partners`, `meikai-legacy-www`); `meikai-legacy-ftp-drop`
 *   is empty and untagged.
 * - 10 EC2 instances (3 stopped), 6 Azure VMs (1 deallocated), 4 GCP VMs (1 terminated).
 */

/** One inventory item as the API lists it. */
export type Item = Record<string, unknown>;

export interface Account {
  id: string;
  supplier: "AWS" | "Azure" | "GCP";
  name: string;
  alias: string;
  tags: Record<string, string>;
  service_managers: string[];
  created_at: string;
  /** End of the last inventory run (ISO). */
  lastInventoryAt: string;
  /** Set for an account whose inventory always fails (its cloud credentials are broken). */
  failsWith?: string;
  /** True once a run failed (the seed's broken account starts so). */
  failed: boolean;
  /** Start of the run in progress (epoch ms); it ends `inventoryDurationMs` later. */
  runStartedAt?: number;
}
const ACCOUNT_NAMES: Record<string, string> = {
  "210987654321": "meikai-prod",
  "345678901234": "meikai-staging",
  "456789012345": "meikai-data",
  "678901234567": "meikai-legacy",
};

export function seedAccounts(): Account[] {
  const managers = {
    platform: ["aiko.tanaka@meikai.example", "jordi.puig@meikai.example"],
    data: ["lena.fischer@meikai.example"],
    it: ["marta.sanz@meikai.example", "jordi.puig@meikai.example"],
  };
  const inventoried = "2025-11-24T02:00:41.000Z";
  return [
    {
      id: "210987654321",
      supplier: "AWS",
      name: "meikai-prod",
      alias: "Production",
      tags: { env: "prod", cost_center: "CC-1001" },
      service_managers: managers.platform,
      created_at: "2019-01-08T10:12:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "345678901234",
      supplier: "AWS",
      name: "meikai-staging",
      alias: "Staging",
      tags: { env: "staging", cost_center: "CC-1001" },
      service_managers: managers.platform,
      created_at: "2020-02-10T09:30:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "456789012345",
      supplier: "AWS",
      name: "meikai-data",
      alias: "Data lake",
      tags: { env: "prod", cost_center: "CC-2040" },
      service_managers: managers.data,
      created_at: "2021-02-26T14:05:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "678901234567",
      supplier: "AWS",
      name: "meikai-legacy",
      alias: "Legacy (pre-2018)",
      tags: { env: "legacy", cost_center: "CC-0900" },
      service_managers: managers.it,
      created_at: "2016-07-20T08:00:00.000Z",
      lastInventoryAt: inventoried,
      failsWith:
        "AccessDenied: User: arn:aws:sts::678901234567:assumed-role/SSMCMInventory/ssmcm is not authorized to perform: s3:ListAllMyBuckets",
      failed: true,
    },
    {
      id: "3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13",
      supplier: "Azure",
      name: "Meikai Production (Azure)",
      alias: "azure-prod",
      tags: { env: "prod", cost_center: "CC-3100" },
      service_managers: managers.it,
      created_at: "2021-09-13T11:20:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "meikai-analytics-prod",
      supplier: "GCP",
      name: "Meikai Analytics",
      alias: "gcp-analytics",
      tags: { env: "prod", cost_center: "CC-2040" },
      service_managers: managers.data,
      created_at: "2022-04-04T07:45:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
  ];
}

const GIB = 1024 ** 3;
const TIB = 1024 ** 4;

export function seedBuckets(): Item[] {
  const rows: [string, string, string, string, number, number, boolean, Record<string, string>][] = [
    // name, region, account, created, size, objects, public, tags
    [
      "meikai-prod-web-assets",
      "eu-west-1",
      "210987654321",
      "2019-03-14T09:21:07Z",
      45 * GIB,
      1_204_331,
      true,
      { env: "prod", team: "web", app: "storefront" },
    ],
    [
      "meikai-prod-app-logs",
      "eu-west-1",
      "210987654321",
      "2019-03-14T09:25:43Z",
      1.76 * TIB,
      58_221_904,
      false,
      { env: "prod", team: "platform", retention: "400d" },
    ],
    [
      "meikai-prod-db-backups",
      "eu-west-1",
      "210987654321",
      "2019-06-02T22:10:15Z",
      6.75 * TIB,
      18_432,
      false,
      { env: "prod", team: "dba", backup: "daily" },
    ],
    [
      "meikai-prod-cloudtrail",
      "us-east-1",
      "210987654321",
      "2019-02-28T11:02:55Z",
      384 * GIB,
      9_873_120,
      false,
      { env: "prod", team: "security", compliance: "iso27001" },
    ],
    [
      "meikai-prod-cdn-origin",
      "us-east-1",
      "210987654321",
      "2020-01-20T15:47:31Z",
      90 * GIB,
      402_118,
      true,
      { env: "prod", team: "web", app: "cdn" },
    ],
    [
      "meikai-prod-terraform-state",
      "eu-west-1",
      "210987654321",
      "2019-01-09T08:00:12Z",
      52_428_800,
      1_287,
      false,
      { env: "prod", team: "platform", "managed-by": "terraform" },
    ],
    [
      "meikai-prod-media-uploads",
      "ap-northeast-1",
      "210987654321",
      "2021-04-05T02:33:19Z",
      2.5 * TIB,
      12_904_557,
      false,
      { env: "prod", team: "mobile", app: "photos" },
    ],
    [
      "meikai-prod-invoices-archive",
      "eu-central-1",
      "210987654321",
      "2020-09-30T17:12:48Z",
      200 * GIB,
      3_402_991,
      false,
      { env: "prod", team: "finance", retention: "10y" },
    ],
    [
      "meikai-prod-alb-access-logs",
      "eu-west-1",
      "210987654321",
      "2021-11-16T10:05:00Z",
      639 * GIB,
      31_776_402,
      false,
      { env: "prod", team: "platform" },
    ],
    [
      "meikai-prod-static-site",
      "us-west-2",
      "210987654321",
      "2022-05-23T13:44:26Z",
      1 * GIB,
      2_315,
      true,
      { env: "prod", team: "marketing", app: "website" },
    ],
    [
      "meikai-staging-web-assets",
      "eu-west-1",
      "345678901234",
      "2020-02-11T10:02:31Z",
      6 * GIB,
      210_774,
      true,
      { env: "staging", team: "web", app: "storefront" },
    ],
    [
      "meikai-staging-app-logs",
      "eu-west-1",
      "345678901234",
      "2020-02-11T10:04:09Z",
      120 * GIB,
      4_118_203,
      false,
      { env: "staging", team: "platform" },
    ],
    [
      "meikai-staging-terraform-state",
      "eu-west-1",
      "345678901234",
      "2020-02-10T16:40:52Z",
      8_388_608,
      412,
      false,
      { env: "staging", team: "platform", "managed-by": "terraform" },
    ],
    [
      "meikai-staging-qa-fixtures",
      "eu-central-1",
      "345678901234",
      "2022-08-17T12:18:03Z",
      3 * GIB,
      18_922,
      false,
      { env: "staging", team: "qa" },
    ],
    [
      "meikai-staging-mobile-builds",
      "us-east-1",
      "345678901234",
      "2023-01-12T19:55:40Z",
      400 * GIB,
      7_844,
      false,
      { env: "staging", team: "mobile" },
    ],
    [
      "meikai-datalake-raw",
      "eu-west-1",
      "456789012345",
      "2021-03-01T08:30:00Z",
      44 * TIB,
      402_337_810,
      false,
      { env: "prod", team: "data", layer: "raw" },
    ],
    [
      "meikai-datalake-curated",
      "eu-west-1",
      "456789012345",
      "2021-03-01T08:31:12Z",
      9 * TIB,
      88_204_113,
      false,
      { env: "prod", team: "data", layer: "curated" },
    ],
    [
      "meikai-athena-query-results",
      "eu-west-1",
      "456789012345",
      "2021-03-04T13:07:45Z",
      16 * GIB,
      1_930_442,
      false,
      { env: "prod", team: "data" },
    ],
    [
      "meikai-ml-training-sets",
      "us-east-2",
      "456789012345",
      "2022-10-09T06:12:20Z",
      3 * TIB,
      2_104_993,
      false,
      { env: "prod", team: "ml" },
    ],
    [
      "meikai-ml-model-artifacts",
      "us-east-2",
      "456789012345",
      "2022-10-09T06:14:02Z",
      512 * GIB,
      14_210,
      false,
      { env: "prod", team: "ml" },
    ],
    [
      "meikai-data-exports-partners",
      "eu-west-1",
      "456789012345",
      "2023-06-19T09:41:17Z",
      70 * GIB,
      64_003,
      true,
      { env: "prod", team: "data", sharing: "partners" },
    ],
    [
      "meikai-glue-scripts",
      "eu-west-1",
      "456789012345",
      "2021-03-02T11:26:38Z",
      4_194_304,
      96,
      false,
      { env: "prod", team: "data" },
    ],
    [
      "meikai-legacy-www",
      "us-east-1",
      "678901234567",
      "2016-07-22T14:03:51Z",
      12 * GIB,
      88_412,
      true,
      { env: "legacy", team: "web" },
    ],
    [
      "meikai-legacy-backups-2017",
      "us-east-1",
      "678901234567",
      "2017-01-05T03:00:09Z",
      1 * TIB,
      5_120,
      false,
      { env: "legacy", backup: "monthly" },
    ],
    ["meikai-legacy-ftp-drop", "us-west-1", "678901234567", "2017-09-13T16:22:37Z", 0, 0, false, {}],
  ];
  return rows.map(([name, region, account, created, size, objects, isPublic, tags]) => ({
    name,
    arn: `arn:aws:s3:::${name}`,
    region,
    account,
    account_name: ACCOUNT_NAMES[account],
    creation_date: new Date(created).toISOString(),
    size_bytes: Math.round(size),
    object_count: objects,
    public: isPublic,
    tags,
  }));
}

export function seedEc2(): Item[] {
  const rows: [string, string, string, string, string, string, string | null, string, "linux" | "windows"][] =
    [
      // id, name, type, state, zone, private ip, public ip, launched, platform
      [
        "i-0a3f9c2e71b5d4801",
        "web-prod-01",
        "m6i.large",
        "running",
        "eu-west-1a",
        "10.20.1.11",
        "34.245.18.201",
        "2024-02-12T08:14:33Z",
        "linux",
      ],
      [
        "i-0b7d21e94c6a3f512",
        "web-prod-02",
        "m6i.large",
        "running",
        "eu-west-1b",
        "10.20.2.12",
        "34.247.90.77",
        "2024-02-12T08:14:35Z",
        "linux",
      ],
      [
        "i-0c18e5a7f3d2b9046",
        "api-prod-01",
        "c6i.xlarge",
        "running",
        "eu-west-1a",
        "10.20.1.21",
        null,
        "2024-06-03T21:40:02Z",
        "linux",
      ],
      [
        "i-0d94b3c6e8a1f7235",
        "worker-prod-01",
        "c6i.2xlarge",
        "running",
        "eu-west-1c",
        "10.20.3.31",
        null,
        "2024-06-03T21:41:18Z",
        "linux",
      ],
      [
        "i-0e2a7f8b5c9d1e364",
        "bastion-prod",
        "t3.micro",
        "running",
        "eu-west-1a",
        "10.20.0.5",
        "52.30.144.9",
        "2023-09-19T07:02:44Z",
        "linux",
      ],
      [
        "i-0f61c4d2a8e7b3590",
        "win-reporting-01",
        "r5.xlarge",
        "stopped",
        "eu-west-1b",
        "10.20.2.40",
        null,
        "2022-11-28T12:30:09Z",
        "windows",
      ],
      [
        "i-01d8e3f6a2b7c4915",
        "web-staging-01",
        "t3.medium",
        "running",
        "eu-west-1a",
        "10.30.1.11",
        "54.75.201.33",
        "2025-01-15T10:11:12Z",
        "linux",
      ],
      [
        "i-02c5a9b1e7f3d6428",
        "api-staging-01",
        "t3.large",
        "stopped",
        "eu-west-1b",
        "10.30.2.21",
        null,
        "2025-01-15T10:13:50Z",
        "linux",
      ],
      [
        "i-03b7f2d9c4e1a8657",
        "emr-master-01",
        "m5.2xlarge",
        "running",
        "eu-west-1a",
        "10.40.1.10",
        null,
        "2025-10-30T04:00:27Z",
        "linux",
      ],
      [
        "i-04e9c6a3b8d2f7170",
        "ml-gpu-train-01",
        "g5.2xlarge",
        "stopped",
        "us-east-2a",
        "10.41.1.50",
        null,
        "2025-03-08T18:25:31Z",
        "linux",
      ],
    ];
  const accountOf = (ip: string) =>
    ip.startsWith("10.20.") ? "210987654321" : ip.startsWith("10.30.") ? "345678901234" : "456789012345";
  return rows.map(
    ([instance_id, name, instance_type, state, zone, privateIp, publicIp, launched, platform]) => {
      const account = accountOf(privateIp);
      const env = account === "345678901234" ? "staging" : "prod";
      return {
        instance_id,
        name,
        instance_type,
        state,
        region: zone.slice(0, -1),
        availability_zone: zone,
        account,
        account_name: ACCOUNT_NAMES[account],
        private_ip: privateIp,
        public_ip: publicIp,
        launch_time: new Date(launched).toISOString(),
        platform,
        tags: { Name: name, env },
      };
    },
  );
}

export function seedAzureVms(): Item[] {
  const subscription = "3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13";
  const rows: [string, string, string, string, string, "Windows" | "Linux", string, string, string][] = [
    // name, group, location, size, power, os, private ip, created, app
    [
      "vm-erp-app-01",
      "rg-erp-prod",
      "westeurope",
      "Standard_D4s_v5",
      "VM running",
      "Windows",
      "10.50.1.4",
      "2022-03-07T09:15:00Z",
      "erp",
    ],
    [
      "vm-erp-app-02",
      "rg-erp-prod",
      "westeurope",
      "Standard_D4s_v5",
      "VM running",
      "Windows",
      "10.50.1.5",
      "2022-03-07T09:17:00Z",
      "erp",
    ],
    [
      "vm-erp-sql-01",
      "rg-erp-prod",
      "westeurope",
      "Standard_E8s_v5",
      "VM running",
      "Windows",
      "10.50.2.4",
      "2022-03-07T10:02:00Z",
      "erp",
    ],
    [
      "vm-ad-dc-01",
      "rg-identity",
      "westeurope",
      "Standard_B2ms",
      "VM running",
      "Windows",
      "10.50.0.4",
      "2021-09-14T08:40:00Z",
      "active-directory",
    ],
    [
      "vm-jumpbox-01",
      "rg-shared-services",
      "northeurope",
      "Standard_B1s",
      "VM deallocated",
      "Linux",
      "10.51.0.4",
      "2023-05-02T15:22:00Z",
      "jumpbox",
    ],
    [
      "vm-sftp-01",
      "rg-shared-services",
      "northeurope",
      "Standard_B2s",
      "VM running",
      "Linux",
      "10.51.0.5",
      "2023-05-02T15:30:00Z",
      "sftp",
    ],
  ];
  return rows.map(([name, group, location, size, power, os, ip, created, app]) => ({
    id: `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${name}`,
    name,
    resource_group: group,
    location,
    vm_size: size,
    power_state: power,
    os_type: os,
    private_ip: ip,
    subscription_id: subscription,
    subscription_name: "Meikai Production (Azure)",
    created: new Date(created).toISOString(),
    tags: { env: "prod", app },
  }));
}

export function seedGcpVms(): Item[] {
  const rows: [string, string, string, string, string, string, string, string][] = [
    // id, name, zone, machine type, status, private ip, created, component
    [
      "4820917365120938471",
      "bq-etl-runner-01",
      "europe-west1-b",
      "e2-standard-4",
      "RUNNING",
      "10.132.0.12",
      "2023-02-20T10:00:00Z",
      "etl",
    ],
    [
      "6193847205518370294",
      "airflow-scheduler",
      "europe-west1-c",
      "n2-standard-2",
      "RUNNING",
      "10.132.0.20",
      "2023-02-21T09:12:00Z",
      "airflow",
    ],
    [
      "7302958164423019856",
      "airflow-worker-01",
      "europe-west1-b",
      "n2-standard-8",
      "RUNNING",
      "10.132.0.21",
      "2023-02-21T09:14:00Z",
      "airflow",
    ],
    [
      "8415069273334128617",
      "notebook-ds-01",
      "europe-west4-a",
      "n1-standard-8",
      "TERMINATED",
      "10.164.0.7",
      "2024-08-12T13:47:00Z",
      "notebooks",
    ],
  ];
  return rows.map(([id, name, zone, machineType, status, ip, created, component]) => ({
    id,
    name,
    zone,
    machine_type: machineType,
    status,
    private_ip: ip,
    project: "meikai-analytics-prod",
    created: new Date(created).toISOString(),
    labels: { env: "prod", component },
  }));
}
