#!/usr/bin/env node
// Regenerates README.md's parts that come from the registry (npm run docs): the platforms' block of the
// Environment section and the tool reference.
import { readFileSync, writeFileSync } from "node:fs";
import { PLATFORMS } from "../dist/platforms/index.js";
import { updateReadme } from "../dist/readme.js";

const path = new URL("../README.md", import.meta.url);
const before = readFileSync(path, "utf8");
const after = updateReadme(before, PLATFORMS);
if (after === before) {
  console.log("README.md's generated parts are up to date.");
} else {
  writeFileSync(path, after);
  console.log("README.md's generated parts updated.");
}
