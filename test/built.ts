import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
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

/** The built binary with `args`, with only PATH and `env`: the developer's own environment must not leak in. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
  cwd = root,
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [builtCli(), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
  });
}

/** What a child wrote to stdout and stderr, and its exit code, once it has closed. */
export function finished(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** The TypeScript files under `dir` (a path inside the repository), as paths relative to its root. */
export function typescriptFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => relative(root, join(root, dir, name)))
    .sort();
}
