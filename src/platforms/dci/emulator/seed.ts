/** The sandbox's DCImanager 6: its administrator, the seeded users and the seeded servers. */

/** Sandbox credentials: the emulator accepts these, and `--sandbox` configures them. */
export const DCI_SANDBOX = {
  email: "admin@dci.example.com",
  password: "sandbox-dci-password",
} as const;

export interface User {
  id: number;
  email: string;
  full_name: string;
  roles: string;
  state: string;
  vlans_per_user: number;
  password?: string;
}

export type Server = Record<string, unknown> & {
  id: number;
  power_status: "on" | "off";
  operation: Record<string, unknown>;
};

export function seedUsers(users: Map<number, User>): void {
  const seed: User[] = [
    {
      id: 1,
      email: DCI_SANDBOX.email,
      full_name: "Sandbox Administrator",
      roles: "[@admin]",
      state: "active",
      vlans_per_user: 0,
      password: DCI_SANDBOX.password,
    },
    {
      id: 2,
      email: "alice@example.com",
      full_name: "Alice Martin",
      roles: "[@user]",
      state: "active",
      vlans_per_user: 2,
    },
    {
      id: 3,
      email: "bob@example.com",
      full_name: "Bob Novak",
      roles: "[@user]",
      state: "active",
      vlans_per_user: 1,
    },
    {
      id: 4,
      email: "carol@example.org",
      full_name: "Carol Ozols",
      roles: "[@user]",
      state: "disabled",
      vlans_per_user: 1,
    },
  ];
  for (const user of seed) users.set(user.id, user);
}

const TEMPLATES = {
  ubuntu: { id: 11, name: "Ubuntu 22.04", tags: ["linux", "ubuntu"] },
  debian: { id: 12, name: "Debian 12", tags: ["linux", "debian"] },
  alma: { id: 13, name: "AlmaLinux 9", tags: ["linux", "rhel"] },
  windows: { id: 14, name: "Windows Server 2022", tags: ["windows"] },
} as const;

const CONFIGURATIONS = {
  small: {
    name: "E-2288G / 64 GB / 2x960 GB SSD",
    cpu: { model: "Intel Xeon E-2288G", cores: 8 },
    ram_mb: 65536,
    disks: ["960 GB SSD", "960 GB SSD"],
  },
  large: {
    name: "2x Xeon Gold 6338 / 512 GB / 4x3.84 TB NVMe",
    cpu: { model: "2x Intel Xeon Gold 6338", cores: 64 },
    ram_mb: 524288,
    disks: ["3.84 TB NVMe", "3.84 TB NVMe", "3.84 TB NVMe", "3.84 TB NVMe"],
  },
  storage: {
    name: "EPYC 7313P / 128 GB / 12x16 TB HDD",
    cpu: { model: "AMD EPYC 7313P", cores: 16 },
    ram_mb: 131072,
    disks: Array.from({ length: 12 }, () => "16 TB HDD"),
  },
} as const;

/** Twelve servers across three locations (1 Amsterdam, 2 Frankfurt, 3 Riga). */
export function seedServers(): Server[] {
  const rows: [
    string,
    1 | 2 | 3,
    keyof typeof CONFIGURATIONS,
    keyof typeof TEMPLATES | null,
    string | null,
    "on" | "off",
  ][] = [
    ["web-01", 1, "small", "ubuntu", "alice@example.com", "on"],
    ["web-02", 1, "small", "ubuntu", "alice@example.com", "on"],
    ["db-01", 1, "large", "debian", "alice@example.com", "on"],
    ["web-03", 2, "small", "ubuntu", "bob@example.com", "on"],
    ["k8s-node-01", 2, "large", "alma", "bob@example.com", "on"],
    ["k8s-node-02", 2, "large", "alma", "bob@example.com", "off"],
    ["backup-01", 2, "storage", "debian", "bob@example.com", "on"],
    ["win-app-01", 3, "small", "windows", "carol@example.org", "on"],
    ["db-02", 3, "large", "debian", "carol@example.org", "off"],
    ["spare-01", 3, "small", null, null, "off"],
    ["spare-02", 1, "storage", null, null, "off"],
    ["spare-03", 2, "large", null, null, "off"],
  ];
  return rows.map(([name, location, size, template, owner, power], index) => {
    const id = index + 1;
    const configuration = CONFIGURATIONS[size];
    const subnet = `203.0.${112 + location}`;
    const domain = `${name}.dc${location}.example.net`;
    return {
      id,
      name,
      domain,
      configuration: configuration.name,
      location_id: location,
      state: owner === null ? "free" : "active",
      state_info: {},
      power_status: power,
      owner_email: owner,
      is_new: owner === null,
      os_template: template === null ? null : { ...TEMPLATES[template], tags: [...TEMPLATES[template].tags] },
      operation: {
        id: 4000 + id,
        name: template === null ? "diag" : "os_install",
        status: "complete",
        status_info: {},
        progress_info: [],
      },
      ip:
        owner === null
          ? []
          : [
              {
                id: 100 + id,
                name: `${subnet}.${10 + id}`,
                domain,
                family: "ipv4",
                gateway: `${subnet}.1`,
                network: `${subnet}.0/24`,
                status: "allocated",
                status_info: {},
              },
            ],
      hardware_info: {
        cpu: { ...configuration.cpu },
        ram_mb: configuration.ram_mb,
        disks: [...configuration.disks],
        motherboard: { vendor: "Supermicro", model: size === "small" ? "X11SCL-F" : "X12DPi-NT6" },
      },
      perform_info: {},
      settings: { efi: size !== "small" },
      switch_connection: [
        {
          id: 300 + id,
          switch: `sw-${location}-a`,
          connection_id: id,
          description: `${name} eth0`,
          admin_status: "up",
          oper_status: power === "on" ? "up" : "down",
          do_not_collect_traffic: false,
          is_ipmi_connection: false,
        },
      ],
    };
  });
}
