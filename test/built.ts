import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = fileURLToPath(new URL("..", import.meta.url));

/** The built binary, as users run it. `npm test` builds first; a bare `vitest` run may not have. */
export function builtCli(): string {
  const cli = join(root, "dist", "cli.js");
  if (!existsSync(cli)) {
    execFileSync(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: root,
      },
    );
  }
  return cli;
}
