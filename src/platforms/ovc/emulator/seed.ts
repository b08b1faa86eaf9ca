/**
 * The sandbox's OpenvCloud: its users and ItsYou.online API keys (OVC_SANDBOX), and the seeded locations,
 * accounts, cloudspaces, machines, images and sizes that OvcEmulator's doc comment lists.
 */

/**
 * Sandbox credentials: the emulator accepts these, and `--sandbox` configures the admin's ItsYou.online
 * client. The auditor has only read rights (`R`) on the accounts it sees, so permission errors can be
 * tested with real credentials.
 */
export const OVC_SANDBOX = {
  /** Legacy login (`users/authenticate`) and the ItsYou.online username of the admin client. */
  username: "sandbox-admin",
  password: "sandbox-ovc-password",
  iyoClientId: "sandbox-ovc-admin",
  iyoClientSecret: "sandbox-ovc-admin-secret",
  readOnlyUsername: "auditor",
  readOnlyPassword: "sandbox-ovc-auditor-password",
  readOnlyIyoClientId: "sandbox-ovc-auditor",
  readOnlyIyoClientSecret: "sandbox-ovc-auditor-secret",
} as const;

export type AccountStatus = "CONFIRMED" | "DISABLED" | "DELETED" | "DESTROYING" | "DESTROYED";
export type CloudspaceStatus =
  | "VIRTUAL"
  | "DEPLOYING"
  | "DEPLOYED"
  | "DISABLED"
  | "MIGRATING"
  | "DELETED"
  | "DESTROYING"
  | "DESTROYED";
export type MachineStatus =
  | "RUNNING"
  | "HALTED"
  | "PAUSED"
  | "MIGRATING"
  | "DELETED"
  | "DESTROYING"
  | "DESTROYED"
  | "ERROR";
export type ImageStatus = "CREATING" | "CREATED" | "DISABLED" | "DELETED" | "DESTROYED";
export type MachineAction = "start" | "stop" | "reboot" | "reset" | "pause" | "resume";

export interface AclEntry {
  userGroupId: string;
  type: "U" | "G";
  right: string;
  status: "CONFIRMED" | "INVITED";
  explicit: boolean;
  canBeDeleted: boolean;
}

export interface ResourceLimits {
  CU_M: number;
  CU_D: number;
  CU_C: number;
  CU_NP: number;
  CU_I: number;
}

export interface Location {
  id: number;
  gid: number;
  name: string;
  locationCode: string;
  flag: string;
  /** First three octets of the external network handing out cloudspace public IPs (a /26). */
  publicNet: string;
}

export interface Account {
  id: number;
  name: string;
  status: AccountStatus;
  acl: AclEntry[];
  creationTime: number;
  updateTime: number;
  deactivationTime: number;
  DCLocation: string;
  company: string;
  companyurl: string;
  displayname: string;
  resourceLimits: ResourceLimits;
  sendAccessEmails: boolean;
}

export interface Cloudspace {
  id: number;
  accountId: number;
  name: string;
  description: string;
  location: string;
  gid: number;
  type: "routeros" | "vgw";
  privatenetwork: string;
  publicIp: string;
  /** Stored status; "VIRTUAL" with `deployStartedAt` moves on with the clock (see `#cloudspaceStatus`). */
  status: CloudspaceStatus;
  deployStartedAt?: number;
  acl: AclEntry[];
  resourceLimits: ResourceLimits;
  allowedVMSizes: number[];
  creationTime: number;
  updateTime: number;
  secret: string;
  /** Private IPs handed out so far (the next machine gets .11 + this). */
  hostsAssigned: number;
}

export interface Machine {
  id: number;
  cloudspaceId: number;
  name: string;
  /** Null when created without one (the parameter is optional). */
  description: string | null;
  imageId: number;
  sizeId: number | null;
  vcpus: number;
  memory: number;
  bootDiskSize: number;
  dataDisks: number[];
  status: MachineStatus;
  locked: boolean;
  ipAddress: string;
  login: string;
  password: string;
  referenceId: string;
  stackId: number;
  creationTime: number;
  updateTime: number;
}

export interface Image {
  id: number;
  name: string;
  description: string;
  type: "Linux" | "Windows" | "Other";
  size: number;
  username: string;
  password?: string;
  /** 0 for public images. */
  accountId: number;
  /** Stored status; "CREATING" with `createdAtMs` becomes CREATED after `imageCreateMs`. */
  status: ImageStatus;
  createdAtMs?: number;
  gid: number;
  bootType: "bios" | "uefi";
  hotResize: boolean;
  url: string;
}

export interface Size {
  id: number;
  name: string;
  vcpus: number;
  memory: number;
  description: string;
  CU: number;
  disks: number[];
}

export interface SandboxUser {
  name: string;
  password: string;
  emails: string[];
  groups: string[];
}

export const USERS: SandboxUser[] = [
  {
    name: OVC_SANDBOX.username,
    password: OVC_SANDBOX.password,
    emails: ["cloud-ops@acme.example.com"],
    groups: ["user", "admin"],
  },
  {
    name: OVC_SANDBOX.readOnlyUsername,
    password: OVC_SANDBOX.readOnlyPassword,
    emails: ["audit@acme.example.com"],
    groups: ["user"],
  },
];

/** ItsYou.online API keys: each belongs to one user, whose name goes into the JWT's `username`. */
export const IYO_CLIENTS = [
  { id: OVC_SANDBOX.iyoClientId, secret: OVC_SANDBOX.iyoClientSecret, username: OVC_SANDBOX.username },
  {
    id: OVC_SANDBOX.readOnlyIyoClientId,
    secret: OVC_SANDBOX.readOnlyIyoClientSecret,
    username: OVC_SANDBOX.readOnlyUsername,
  },
];

export function seedLocations(): Location[] {
  return [
    { id: 1, gid: 212, name: "be-gen-1", locationCode: "be-gen-1", flag: "be", publicNet: "185.15.201" },
    { id: 2, gid: 711, name: "nl-ams-1", locationCode: "nl-ams-1", flag: "nl", publicNet: "91.198.174" },
  ];
}

function acl(userGroupId: string, right: string, canBeDeleted = true): AclEntry {
  return { userGroupId, type: "U", right, status: "CONFIRMED", explicit: true, canBeDeleted };
}

const ADMIN = `${OVC_SANDBOX.username}@itsyouonline`;
const AUDITOR = `${OVC_SANDBOX.readOnlyUsername}@itsyouonline`;
const UNLIMITED: ResourceLimits = { CU_M: -1, CU_D: -1, CU_C: -1, CU_NP: -1, CU_I: -1 };

export function seedAccounts(): Account[] {
  const rows: [number, string, AccountStatus, string, string, boolean, number][] = [
    [1, "Acme Corp", "CONFIRMED", "be-gen-1", "https://acme.example.com", true, 1_546_300_800],
    [2, "Globex Research", "CONFIRMED", "nl-ams-1", "https://globex.example.org", true, 1_561_939_200],
    [3, "Initech Legacy", "DISABLED", "be-gen-1", "https://initech.example.net", false, 1_514_764_800],
    [4, "Umbrella Labs", "DELETED", "nl-ams-1", "https://umbrella.example.com", false, 1_577_836_800],
  ];
  return rows.map(([id, name, status, DCLocation, companyurl, withAuditor, creationTime]) => ({
    id,
    name,
    status,
    acl: withAuditor ? [acl(ADMIN, "ARCXDU", false), acl(AUDITOR, "R")] : [acl(ADMIN, "ARCXDU", false)],
    creationTime,
    updateTime: creationTime + 86_400 * 30,
    deactivationTime: status === "DISABLED" || status === "DELETED" ? creationTime + 86_400 * 700 : 0,
    DCLocation,
    company: name,
    companyurl,
    displayname: name,
    resourceLimits: id === 2 ? { CU_M: 256, CU_D: 4096, CU_C: 64, CU_NP: 2048, CU_I: 4 } : { ...UNLIMITED },
    sendAccessEmails: true,
  }));
}

export function seedCloudspaces(): Cloudspace[] {
  const rows: [
    number,
    number,
    string,
    string,
    CloudspaceStatus,
    "routeros" | "vgw",
    string,
    string,
    number,
  ][] = [
    [101, 1, "production", "be-gen-1", "DEPLOYED", "routeros", "192.168.103.0/24", "185.15.201.10", 4],
    [102, 1, "staging", "nl-ams-1", "DEPLOYED", "routeros", "192.168.104.0/24", "91.198.174.20", 2],
    [103, 2, "ml-lab", "be-gen-1", "DEPLOYED", "vgw", "10.20.0.0/24", "185.15.201.11", 2],
    [104, 1, "sandbox-old", "be-gen-1", "DELETED", "routeros", "192.168.105.0/24", "185.15.201.9", 0],
    [105, 2, "archive-2019", "nl-ams-1", "DESTROYED", "routeros", "192.168.106.0/24", "91.198.174.19", 0],
    [106, 2, "empty-dev", "nl-ams-1", "DEPLOYED", "routeros", "192.168.107.0/24", "91.198.174.21", 0],
  ];
  return rows.map(([id, accountId, name, location, status, type, privatenetwork, publicIp, hosts]) => {
    const creationTime = 1_672_531_200 + (id - 100) * 86_400 * 17;
    return {
      id,
      accountId,
      name,
      description: `${name} environment`,
      location,
      gid: location === "be-gen-1" ? 212 : 711,
      type,
      privatenetwork,
      publicIp,
      status,
      acl: [],
      resourceLimits: { ...UNLIMITED },
      allowedVMSizes: id === 103 ? [1, 3, 4, 5] : [],
      creationTime,
      updateTime: creationTime + 3_600,
      secret: `c5f0e1d2a3b4${id}9e8d7c6b5a4f3e2d1c0`,
      hostsAssigned: hosts,
    };
  });
}

export function seedMachines(): Machine[] {
  const rows: [
    number,
    number,
    string,
    string,
    number,
    number | null,
    number,
    number,
    number,
    number[],
    MachineStatus,
    string,
  ][] = [
    [1001, 101, "web-01", "nginx front end", 1, 2, 2, 4096, 40, [], "RUNNING", "Xk9v2QmR7tLp"],
    [1002, 101, "web-02", "nginx front end", 1, 2, 2, 4096, 40, [], "RUNNING", "Pq4wZ8nB3sYd"],
    [1003, 101, "db-01", "PostgreSQL 15 primary", 3, 4, 8, 16384, 100, [500], "HALTED", "Hj6tR2vM9cWe"],
    [1004, 102, "win-build", "Windows build agent", 4, 3, 4, 8192, 100, [], "RUNNING", "Lm3nQ7xT5bVa"],
    [1005, 102, "legacy-erp", "ERP, locked by support", 2, 3, 4, 8192, 100, [250], "HALTED", "Ry8kD4fG1hJs"],
    [1006, 103, "gpu-notebook", "CUDA notebook", 1, null, 8, 32768, 250, [1000], "RUNNING", "Wz2xC6vB8nMq"],
    [1007, 103, "jumpbox", "SSH bastion", 3, 1, 1, 1024, 20, [], "PAUSED", "Tf5gH9jK3lPo"],
    [1008, 101, "old-ci", "retired CI runner", 2, 2, 2, 4096, 40, [], "DELETED", "Nb7vC1xZ4aSd"],
  ];
  const perCloudspace = new Map<number, number>();
  return rows.map(
    ([id, cloudspaceId, name, description, imageId, sizeId, vcpus, memory, disk, data, status, password]) => {
      const index = (perCloudspace.get(cloudspaceId) ?? 0) + 1;
      perCloudspace.set(cloudspaceId, index);
      const net = cloudspaceId === 101 ? "192.168.103" : cloudspaceId === 102 ? "192.168.104" : "10.20.0";
      const creationTime = 1_680_307_200 + (id - 1000) * 86_400 * 9;
      return {
        id,
        cloudspaceId,
        name,
        description,
        imageId,
        sizeId,
        vcpus,
        memory,
        bootDiskSize: disk,
        dataDisks: data,
        status,
        locked: id === 1005,
        ipAddress: `${net}.${10 + index}`,
        login: imageId === 4 ? "Administrator" : "cloudscalers",
        password,
        referenceId: `7b3f${id}-4c1e-4a8b-9d2e-1f6a5c8e${id}`,
        stackId: cloudspaceId === 102 ? 7 : 3,
        creationTime,
        updateTime: creationTime + 86_400,
      };
    },
  );
}

export function seedImages(): Image[] {
  const rows: [number, string, string, Image["type"], number, string, number, ImageStatus][] = [
    [
      1,
      "Ubuntu 22.04 x64",
      "Ubuntu Server 22.04 LTS (Jammy Jellyfish)",
      "Linux",
      10,
      "cloudscalers",
      0,
      "CREATED",
    ],
    [
      2,
      "Ubuntu 20.04 x64",
      "Ubuntu Server 20.04 LTS (Focal Fossa)",
      "Linux",
      10,
      "cloudscalers",
      0,
      "CREATED",
    ],
    [3, "Debian 12 x64", "Debian GNU/Linux 12 (bookworm)", "Linux", 10, "cloudscalers", 0, "CREATED"],
    [
      4,
      "Windows 2019 Standard",
      "Windows Server 2019 Standard",
      "Windows",
      40,
      "Administrator",
      0,
      "CREATED",
    ],
    [5, "CentOS 7 x64", "CentOS Linux 7 (end of life)", "Linux", 10, "cloudscalers", 0, "DISABLED"],
    [6, "acme-golden-2023.10", "Acme hardened Ubuntu 22.04 base", "Linux", 20, "cloudscalers", 1, "CREATED"],
  ];
  return rows.map(([id, name, description, type, size, username, accountId, status]) => ({
    id,
    name,
    description,
    type,
    size,
    username,
    accountId,
    status,
    gid: 212,
    bootType: type === "Windows" ? "uefi" : "bios",
    hotResize: type === "Linux",
    url: `https://images.example.com/${name.toLowerCase().replaceAll(" ", "-")}.qcow2`,
  }));
}

export function seedSizes(): Size[] {
  const rows: [number, string, number, number, number[]][] = [
    [1, "Tiny", 1, 1024, [10, 20, 40]],
    [2, "Small", 2, 4096, [20, 40, 100]],
    [3, "Medium", 4, 8192, [40, 100, 250]],
    [4, "Large", 8, 16384, [100, 250, 500]],
    [5, "XLarge", 16, 65536, [250, 500, 1000]],
  ];
  return rows.map(([id, name, vcpus, memory, disks]) => ({
    id,
    name,
    vcpus,
    memory,
    description: `${vcpus} vCPU, ${memory / 1024} GiB memory`,
    CU: memory / 1024,
    disks,
  }));
}
