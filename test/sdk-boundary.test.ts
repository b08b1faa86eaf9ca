import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root, typescriptFiles } from "./built.js";

/** Where the MCP SDK may be imported from, and which of its packages: the server side of its v2 line. */
const SDK_FILES = new Set(["src/server.ts", "src/http.ts", "src/stdio.ts"]);
const SERVER_PACKAGES = /^@modelcontextprotocol\/(server|node)(\/[\w/-]+)?$/;

describe("the MCP SDK in the server", () => {
  it("is imported only by the server and transport files, and only as the v2 server packages (never 1.x)", () => {
    const imports: string[] = [];
    for (const file of typescriptFiles("src")) {
      for (const match of readFileSync(join(root, file), "utf8").matchAll(
        /from "(@modelcontextprotocol\/[^"]+)"/g,
      )) {
        imports.push(`${file}: ${match[1]}`);
      }
    }
    expect(imports.length).toBeGreaterThan(0);
    const misplaced = imports.filter((line) => {
      const [file, pkg] = line.split(": ") as [string, string];
      return !SDK_FILES.has(file) || !SERVER_PACKAGES.test(pkg);
    });
    expect(misplaced).toEqual([]);
  });

  it("ships the v2 server packages as dependencies and keeps 1.x for the test clients only", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(manifest.dependencies).toHaveProperty("@modelcontextprotocol/server");
    expect(manifest.dependencies).toHaveProperty("@modelcontextprotocol/node");
    expect(manifest.dependencies).not.toHaveProperty("@modelcontextprotocol/sdk");
    expect(manifest.devDependencies).toHaveProperty("@modelcontextprotocol/sdk");
  });
});
