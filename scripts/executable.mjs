// The published binary must run as `infra-mcp` and `./dist/cli.js`: tsc writes files without the
// execute bit, so the build sets it (npm sets it too on install, but not in a checkout).
import { chmodSync } from "node:fs";

chmodSync(new URL("../dist/cli.js", import.meta.url), 0o755);
