import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { root, typescriptFiles } from "./built.js";

/**
 * The import graph of `src/`, type imports and dynamic `import()` included, and the boundaries it must keep:
 * no cycle; the core reaches a platform only through the composition root; a platform reaches only the
 * core's public modules. The rules name folders, not platforms, so a new platform changes none of them.
 */

const SRC = join(root, "src");
/** The composition root: the one core module that imports the registry (src/platforms/index.ts). */
const COMPOSITION_ROOT = "cli.ts";
const REGISTRY = "platforms/index.ts";
/**
 * What a platform may use of the core: the contract it implements and the helpers it builds on. The
 * modules that assemble a server out of the platforms (config loading aside) are handed the registry; a
 * platform reaching them would be reaching around the composition root.
 */
const PUBLIC_CORE = new Set([
  "platform.ts",
  "config.ts",
  "errors.ts",
  "log.ts",
  "auth/types.ts",
  "auth/session.ts",
  "auth/jwt.ts",
  "auth/operations.ts",
  "tools/define.ts",
  "tools/wait.ts",
  "sandbox/emulator.ts",
  "safety/redact.ts",
]);

type Graph = ReadonlyMap<string, readonly string[]>;

/** Every module of `src/` (paths relative to it) with the modules of `src/` it imports, in any way. */
function importGraph(): Graph {
  const graph = new Map<string, string[]>();
  for (const file of typescriptFiles("src").map((name) => join(root, name))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => relative(SRC, resolve(dirname(file), name)).replace(/\.js$/, ".ts"));
    graph.set(relative(SRC, file), [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle, each as the path that closes it (`a.ts -> b.ts -> a.ts`), found by depth-first search. */
function cycles(graph: Graph): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (node: string) => {
    const at = onPath.indexOf(node);
    if (at >= 0) {
      found.push([...onPath.slice(at), node].join(" -> "));
      return;
    }
    if (done.has(node)) return;
    onPath.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    onPath.pop();
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) visit(node);
  return found;
}

/** The platform a module belongs to (its folder under src/platforms), or undefined for the core. */
function platformOf(module: string): string | undefined {
  const match = /^platforms\/([^/]+)\//.exec(module);
  return match?.[1];
}

/** Imports that cross a boundary, each as `importer -> imported: why`. */
function boundaryViolations(graph: Graph): string[] {
  const violations: string[] = [];
  for (const [importer, imported] of graph) {
    const own = platformOf(importer);
    for (const target of imported) {
      const theirs = platformOf(target);
      if (own === undefined && importer !== REGISTRY) {
        if ((theirs !== undefined || target === REGISTRY) && importer !== COMPOSITION_ROOT)
          violations.push(
            `${importer} -> ${target}: the core is handed the platforms, it never imports them`,
          );
      } else if (own !== undefined) {
        if (target === REGISTRY)
          violations.push(`${importer} -> ${target}: a platform never imports the registry`);
        else if (theirs !== undefined && theirs !== own)
          violations.push(`${importer} -> ${target}: a platform never imports another platform`);
        else if (theirs === undefined && !PUBLIC_CORE.has(target))
          violations.push(`${importer} -> ${target}: a platform imports only the core's public modules`);
      }
    }
  }
  return violations;
}

describe("the import graph of src/", () => {
  const graph = importGraph();

  it("sees type imports, re-exports and dynamic imports as edges", () => {
    const edges = (from: string, to: string) =>
      [...graph].filter(([file, targets]) => file === from && targets.includes(to));
    // Type-only (`import type`), dynamic (`import()`) and plain imports, one of each that src/ has today.
    expect(edges("platform.ts", "config.ts")).toHaveLength(1);
    expect(edges("cli.ts", "sandbox/index.ts")).toHaveLength(1);
    expect(edges("cli.ts", REGISTRY)).toHaveLength(1);
    expect(
      cycles(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", ["c.ts"]],
          ["c.ts", ["a.ts"]],
        ]),
      ),
    ).toEqual(["a.ts -> b.ts -> c.ts -> a.ts"]);
  });

  it("has no cycle, through value or type imports", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("keeps the boundaries: the core never imports a platform, a platform only the core's public modules", () => {
    expect(boundaryViolations(graph)).toEqual([]);
    // The rules bite: a core module importing a platform, a platform importing another or the registry.
    const broken = new Map(graph);
    broken.set("tools/index.ts", [...(graph.get("tools/index.ts") ?? []), "platforms/a/tools.ts"]);
    broken.set("platforms/a/tools.ts", ["platforms/b/login.ts", REGISTRY, "tools/invoke.ts"]);
    expect(boundaryViolations(broken)).toEqual([
      "tools/index.ts -> platforms/a/tools.ts: the core is handed the platforms, it never imports them",
      "platforms/a/tools.ts -> platforms/b/login.ts: a platform never imports another platform",
      `platforms/a/tools.ts -> ${REGISTRY}: a platform never imports the registry`,
      "platforms/a/tools.ts -> tools/invoke.ts: a platform imports only the core's public modules",
    ]);
  });
});
