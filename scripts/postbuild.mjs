// After tsc: what the build adds to dist/.
// - The published binary must run as `infra-mcp` and `./dist/cli.js`: tsc writes files without the
//   execute bit (npm sets it too on install, but not in a checkout).
// - The tools' JSON schemas are computed once here instead of at every start (src/tools/schemas.ts).
import { chmodSync } from "node:fs";

chmodSync(new URL("../dist/cli.js", import.meta.url), 0o755);
const { PLATFORMS } = await import("../dist/platforms/index.js");
const { toolsOf } = await import("../dist/tools/index.js");
const { writeSchemaCache } = await import("../dist/tools/schemas.js");
writeSchemaCache(toolsOf(PLATFORMS));
