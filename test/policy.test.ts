import { describe, expect, it } from "vitest";
import {
  type CallFacts,
  canonicalPath,
  compileName,
  compilePath,
  describeRule,
  type Policy,
  parsePolicy,
} from "../src/safety/policy.js";
import { TOOLS_MD_EXAMPLE } from "./policies.js";

/** A policy from its rules, failing the test when they do not load. */
function policyOf(rules: unknown[]): Policy {
  const loaded = parsePolicy(JSON.stringify({ rules }), "test.json");
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  return loaded.policy;
}

/** The problems a policy file is refused for. */
function problemsOf(text: string): string[] {
  const loaded = parsePolicy(text, "policy.json");
  return loaded.ok ? [] : loaded.problems;
}

const power: CallFacts = { tool: "dci_power_server", class: "destructive", principal: "local" };

describe("path patterns: * within one segment, ** across segments, relative to the service URL", () => {
  const table: [pattern: string, path: string, matches: boolean][] = [
    ["/api/dci/v3/server/1/*", "/api/dci/v3/server/1/power_on", true],
    ["/api/dci/v3/server/1/*", "/api/dci/v3/server/1/power_on/x", false],
    ["/api/dci/v3/server/1/*", "/api/dci/v3/server/10/power_on", false],
    ["/api/dci/v3/server/1/*", "/api/dci/v3/server/1", false],
    ["/api/dci/v3/server/*/power_*", "/api/dci/v3/server/7/power_reset", true],
    ["/api/dci/v3/server/*/power_*", "/api/dci/v3/server/7/ipmi", false],
    ["/api/dci/v3/**", "/api/dci/v3/server/1/power_on", true],
    ["/api/dci/v3/**", "/api/dci/v3", true],
    ["/api/dci/v3/**", "/api/dci/v30/server", false],
    ["/**/delete", "/restmachine/cloudapi/machines/delete", true],
    ["/**/delete", "/delete", true],
    ["/**/delete", "/restmachine/cloudapi/machines/deleteDisk", false],
    ["/restmachine/cloudapi/*/delete", "/restmachine/cloudapi/cloudspaces/delete", true],
    ["/restmachine/cloudapi/*/delete", "/restmachine/cloudapi/cloudspaces/x/delete", false],
    ["/**", "/anything/at/all", true],
    ["/instance/*", "/instance/instance-1", true],
    ["/instance/*", "/instance", false],
    // Characters that mean something to a regular expression are only themselves.
    ["/a.b/(c)", "/a.b/(c)", true],
    ["/a.b/(c)", "/aXb/(c)", false],
  ];
  for (const [pattern, path, expected] of table) {
    it(`${pattern} ${expected ? "matches" : "does not match"} ${path}`, () => {
      expect(compilePath(pattern).test(canonicalPath(path))).toBe(expected);
    });
  }
});

describe("the path a rule sees is the one the session sends", () => {
  const table: [given: string, canonical: string][] = [
    ["/api/dci/v3/server/1/power_on?x=1", "/api/dci/v3/server/1/power_on"],
    ["/api/dci/v3/server/2/../1/power_on", "/api/dci/v3/server/1/power_on"],
    ["/api/dci/v3/server/2/%2e%2e/1/power_on", "/api/dci/v3/server/1/power_on"],
    ["/api/dci/v3/server/%31/power_on", "/api/dci/v3/server/1/power_on"],
    ["/api/dci/v3/server/1%2Fpower_on", "/api/dci/v3/server/1/power_on"],
    ["/api/dci/v3/server/2%2F..%2F1/power_on", "/api/dci/v3/server/1/power_on"],
    ["/api/dci/v3/server/1\\power_on", "/api/dci/v3/server/1/power_on"],
    ["//api/dci", "//api/dci"],
    ["/a%3Fb/c", "/a?b/c"],
    ["/bad%zzescape", "/bad%zzescape"],
  ];
  for (const [given, canonical] of table) {
    it(`${JSON.stringify(given)} is matched as ${canonical}`, () => {
      expect(canonicalPath(given)).toBe(canonical);
    });
  }
});

describe("name patterns (tools, services, principals)", () => {
  const table: [pattern: string, name: string, matches: boolean][] = [
    ["ovc_delete_*", "ovc_delete_machine", true],
    ["ovc_delete_*", "ovc_create_machine", false],
    ["*_delete_*", "squonk_delete_project_instances", true],
    ["dci_update_setting", "dci_update_setting", true],
    ["dci_update_setting", "dci_update_settings", false],
    ["squonk_*", "squonk_dm", true],
    ["*", "anything", true],
  ];
  for (const [pattern, name, expected] of table) {
    it(`${pattern} ${expected ? "matches" : "does not match"} ${name}`, () => {
      expect(compileName(pattern).test(name)).toBe(expected);
    });
  }
});

describe("the policy file", () => {
  it("accepts TOOLS.md's example and reads it as written", () => {
    const loaded = parsePolicy(JSON.stringify({ rules: TOOLS_MD_EXAMPLE }), "example.json");
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.policy.rules.map(describeRule)).toEqual([
      "no-ovc-deletes: deny when tool is ovc_delete_* (reason: deletions go through change control)",
      "protect-core-servers: deny when a request goes to dci, with method POST, at path /api/dci/v3/server/1/* or /api/dci/v3/server/2/* (reason: servers 1 and 2 run the core switches)",
      "syncs-are-routine: allow when tool is netprofiler_sync_aws_accounts",
      "settings-need-a-human: confirm when tool is dci_update_setting",
    ]);
  });

  const bad: [what: string, text: string, problem: string][] = [
    ["not JSON", "{rules: []", "the file is not JSON"],
    [
      "an unknown top-level field",
      '{"rules": [], "rulez": []}',
      'the policy, field "rulez": not a field of a policy',
    ],
    ["no rules", "{}", 'the policy, field "rules": missing'],
    [
      "an unknown field of a rule",
      '{"rules": [{"id": "a", "effect": "deny", "tool": ["x"]}]}',
      'rule "a" (rules[0]), field "tool": not a field of a rule (fields: id, effect, reason, tools, annotations, services, methods, paths, principals)',
    ],
    [
      "an unknown effect",
      '{"rules": [{"id": "a", "effect": "block"}]}',
      'rule "a" (rules[0]), field "effect": it must be one of allow, confirm, deny',
    ],
    [
      "a rule without an id",
      '{"rules": [{"effect": "deny"}]}',
      'rules[0] (a rule without an id), field "id": missing',
    ],
    [
      "an unknown annotation",
      '{"rules": [{"id": "a", "effect": "deny", "annotations": ["dangerous"]}]}',
      'rule "a" (rules[0]), field "annotations[0]": it must be one of read_only, mutating, destructive',
    ],
    [
      "an unknown method",
      '{"rules": [{"id": "a", "effect": "deny", "methods": ["FETCH"]}]}',
      'rule "a" (rules[0]), field "methods[0]": it must be one of GET, POST, PUT, PATCH, DELETE',
    ],
    [
      "a path without its leading /",
      '{"rules": [{"id": "a", "effect": "deny", "paths": ["api/x"]}]}',
      'rule "a" (rules[0]), field "paths[0]": must start with /',
    ],
    [
      "a path with a query string",
      '{"rules": [{"id": "a", "effect": "deny", "paths": ["/api/x?y=1"]}]}',
      'field "paths[0]": must not hold a query string',
    ],
    [
      "** inside a segment",
      '{"rules": [{"id": "a", "effect": "deny", "paths": ["/api/x**"]}]}',
      'field "paths[0]": ** must be a whole segment',
    ],
    [
      "an empty matcher",
      '{"rules": [{"id": "a", "effect": "deny", "tools": []}]}',
      'rule "a" (rules[0]), field "tools": must list at least one value; leave the field out to match any',
    ],
    [
      "two rules with one id",
      '{"rules": [{"id": "a", "effect": "deny"}, {"id": "a", "effect": "allow"}]}',
      'rule "a" (rules[1]), field "id": rules[0] has the same id',
    ],
  ];
  for (const [what, text, problem] of bad) {
    it(`refuses ${what}, naming the rule and the field`, () => {
      const problems = problemsOf(text);
      expect(problems.join("\n")).toContain(problem);
    });
  }

  it("lists every problem of every rule, not just the first", () => {
    const problems = problemsOf(
      '{"rules": [{"id": "a", "effect": "nope"}, {"effect": "deny"}, {"id": "c", "effect": "deny", "paths": ["x"]}]}',
    );
    expect(problems).toHaveLength(3);
  });
});

describe("deciding: the first matching rule decides, in one order before and during the call", () => {
  const policy = policyOf([
    { id: "core", effect: "deny", services: ["dci"], methods: ["POST"], paths: ["/api/dci/v3/server/1/*"] },
    { id: "powers-confirm", effect: "confirm", tools: ["dci_power_*"] },
    { id: "the-rest", effect: "allow", annotations: ["destructive"] },
  ]);
  const onOne = { service: "dci", method: "POST", path: "/api/dci/v3/server/1/power_on" };
  const onTwo = { service: "dci", method: "POST", path: "/api/dci/v3/server/2/power_on" };

  it("gives the same verdict from a declared request as from the request being sent", () => {
    expect(policy.gate(power, [onOne], "confirm")).toMatchObject({ effect: "deny", rule: { id: "core" } });
    expect(policy.decide(power, onOne, "confirm")).toMatchObject({ effect: "deny", rule: { id: "core" } });
    expect(policy.gate(power, [onTwo], "confirm")).toMatchObject({
      effect: "confirm",
      rule: { id: "powers-confirm" },
    });
    expect(policy.decide(power, onTwo, "confirm")).toMatchObject({ rule: { id: "powers-confirm" } });
  });

  it("matches a rule only when every matcher it gives matches", () => {
    expect(policy.decide(power, { ...onOne, method: "GET" }, "confirm").rule?.id).toBe("powers-confirm");
    expect(policy.decide(power, { ...onOne, service: "ovc" }, "confirm").rule?.id).toBe("powers-confirm");
    const other: CallFacts = { tool: "ovc_delete_machine", class: "destructive", principal: "local" };
    expect(policy.decide(other, { service: "ovc", method: "POST", path: "/x" }, "confirm").rule?.id).toBe(
      "the-rest",
    );
  });

  it("falls back to the annotations and INFRA_MCP_CONFIRM when no rule matches", () => {
    const read: CallFacts = { tool: "dci_get_server", class: "read_only", principal: "local" };
    expect(policy.decide(read, { service: "dci", method: "GET", path: "/x" }, "allow")).toEqual({
      effect: "allow",
    });
  });

  it("refuses before confirmation a call one of whose requests every possibility denies", () => {
    expect(policy.gate(power, [onTwo, onOne], "confirm")).toMatchObject({ effect: "deny", request: onOne });
  });

  it("does not refuse a call whose unknown request may or may not be denied: the session decides it", () => {
    const bulk: CallFacts = { tool: "bulk_delete", class: "destructive", principal: "local" };
    const rules = policyOf([
      { id: "keep-x", effect: "deny", methods: ["DELETE"], paths: ["/instance/x-*"] },
      { id: "bulk-ok", effect: "allow", tools: ["bulk_delete"] },
    ]);
    const declared = [
      { service: "dm", method: "GET", path: "/instance" },
      { service: "dm", method: "DELETE" },
    ];
    expect(rules.gate(bulk, declared, "confirm")).toMatchObject({ effect: "allow", rule: { id: "bulk-ok" } });
    expect(
      rules.decide(bulk, { service: "dm", method: "DELETE", path: "/instance/x-1" }, "confirm"),
    ).toMatchObject({ effect: "deny" });
    // Every deletion would be refused: then the whole call is, before anyone is asked.
    const all = policyOf([{ id: "no-deletes", effect: "deny", methods: ["DELETE"] }]);
    expect(all.gate(bulk, declared, "confirm")).toMatchObject({ effect: "deny", rule: { id: "no-deletes" } });
  });

  it("asks for confirmation when any request may need it", () => {
    const rules = policyOf([{ id: "c", effect: "confirm", paths: ["/instance/*"] }]);
    const bulk: CallFacts = { tool: "bulk_delete", class: "destructive", principal: "local" };
    expect(rules.gate(bulk, [{ service: "dm", method: "DELETE" }], "allow")).toMatchObject({
      effect: "confirm",
      rule: { id: "c" },
    });
  });

  it("decides a tool that cannot say what it sends only by rules that cannot depend on it", () => {
    const rules = policyOf([
      { id: "dci-writes", effect: "deny", services: ["dci"], methods: ["POST"] },
      { id: "no-status", effect: "deny", tools: ["infra_status"] },
    ]);
    const status: CallFacts = { tool: "infra_status", class: "read_only", principal: "local" };
    expect(rules.gate(status, undefined, "allow")).toMatchObject({
      effect: "deny",
      rule: { id: "no-status" },
    });
    const list: CallFacts = { tool: "infra_list_operations", class: "read_only", principal: "local" };
    expect(rules.gate(list, undefined, "allow")).toEqual({ effect: "allow" });
  });

  it("matches a call that sends nothing only by its own facts", () => {
    const rules = policyOf([{ id: "dci", effect: "deny", services: ["dci"] }]);
    const status: CallFacts = { tool: "infra_status", class: "read_only", principal: "local" };
    expect(rules.gate(status, [], "allow")).toEqual({ effect: "allow" });
  });

  it("matches principals, and counts an unknown caller as any when deciding what a tool may need", () => {
    const rules = policyOf([{ id: "remote-confirms", effect: "confirm", principals: ["http"] }]);
    expect(rules.decide({ ...power, principal: "local" }, onTwo, "allow")).toEqual({ effect: "allow" });
    expect(rules.decide({ ...power, principal: "http" }, onTwo, "allow").rule?.id).toBe("remote-confirms");
    expect(rules.mayConfirm("dci_get_server", [{ class: "read_only", fallback: "allow" }])).toBe(true);
  });

  it("knows which tools may need confirmation: a confirm rule they can reach, or their fallback", () => {
    const rules = policyOf([
      { id: "sync-ok", effect: "allow", tools: ["netprofiler_sync_aws_accounts"] },
      { id: "settings", effect: "confirm", tools: ["dci_update_setting"] },
      { id: "reads-confirm-on-ovc", effect: "confirm", annotations: ["read_only"], services: ["ovc"] },
    ]);
    expect(
      rules.mayConfirm("netprofiler_sync_aws_accounts", [{ class: "mutating", fallback: "confirm" }]),
    ).toBe(false);
    expect(rules.mayConfirm("dci_update_setting", [{ class: "mutating", fallback: "allow" }])).toBe(true);
    expect(rules.mayConfirm("ovc_get_machine", [{ class: "read_only", fallback: "allow" }])).toBe(true);
    expect(rules.mayConfirm("dci_set_session_ttl", [{ class: "mutating", fallback: "allow" }])).toBe(false);
  });
});
