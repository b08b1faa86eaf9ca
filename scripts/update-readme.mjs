#!/usr/bin/env node
// Regenerates the tool reference in README.md from the built tool definitions (npm run docs).
import { readFileSync, writeFileSync } from "node:fs";
import { PLATFORMS } from "../dist/platforms/index.js";
import { renderToolReference, replaceToolTable } from "../dist/tools/docs.js";

const path = new URL("../README.md", import.meta.url);
const before = readFileSync(path, "utf8");
const after = replaceToolTable(before, renderToolReference(PLATFORMS));
if (after === before) {
  console.log("README.md tool reference is up to date.");
} else {
  writeFileSync(path, after);
  console.log("README.md tool reference updated.");
}
