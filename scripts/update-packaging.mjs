#!/usr/bin/env node
// Regenerates package.json's description, manifest.json (the MCP Bundle) and server.json (the MCP
// Registry entry) from the built registry (npm run docs), formatted as Biome formats JSON. A test fails
// when any says something else than the generator would.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleManifest, packageDescription, registryEntry } from "../dist/packaging.js";
import { PLATFORMS } from "../dist/platforms/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8"));
pkg.description = packageDescription(PLATFORMS);
const files = {
  "package.json": pkg,
  "manifest.json": bundleManifest(pkg, PLATFORMS),
  "server.json": registryEntry(pkg, PLATFORMS),
};
for (const [file, content] of Object.entries(files)) {
  writeFileSync(`${root}/${file}`, `${JSON.stringify(content, null, 2)}\n`);
}
execFileSync("npx", ["biome", "format", "--write", ...Object.keys(files)], { cwd: root, stdio: "ignore" });
console.log(`${Object.keys(files).join(", ")} regenerated from the registry.`);
