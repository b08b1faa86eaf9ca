/** TOOLS.md section 6's example policy, rule by rule, as the tests use it. */

export const PROTECT_CORE_SERVERS = {
  id: "protect-core-servers",
  effect: "deny",
  services: ["dci"],
  methods: ["POST"],
  paths: ["/api/dci/v3/server/1/*", "/api/dci/v3/server/2/*"],
  reason: "servers 1 and 2 run the core switches",
};

export const TOOLS_MD_EXAMPLE = [
  {
    id: "no-ovc-deletes",
    effect: "deny",
    tools: ["ovc_delete_*"],
    reason: "deletions go through change control",
  },
  PROTECT_CORE_SERVERS,
  { id: "syncs-are-routine", effect: "allow", tools: ["netprofiler_sync_aws_accounts"] },
  { id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] },
];
