#!/usr/bin/env node
// Regenerates manifest.json (the MCP Bundle) and server.json (the MCP Registry entry) from the built
// registry and package.json (npm run docs), formatted as Biome formats JSON. A test fails when either
// says something else than the generator would.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleManifest, registryEntry } from "../dist/packaging.js";
import { PLATFORMS } from "../dist/platforms/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8"));
const files = {
  "manifest.json": bundleManifest(pkg, PLATFORMS),
  "server.json": registryEntry(pkg, PLATFORMS),
};
for (const [file, content] of Object.entries(files)) {
  writeFileSync(`${root}/${file}`, `${JSON.stringify(content, null, 2)}\n`);
}
execFileSync("npx", ["biome", "format", "--write", ...Object.keys(files)], { cwd: root, stdio: "ignore" });
console.log(`${Object.keys(files).join(" and ")} regenerated from the registry and package.json.`);
