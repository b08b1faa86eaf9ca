#!/usr/bin/env node
// npm run inspector: the official MCP Inspector CLI (@modelcontextprotocol/inspector, on Node 22 from the
// npm package `node`) drives the built server as a third-party client would: over stdio it lists the tools
// with --strict (any schema-portability finding, warning or error, fails the check) and calls a read; over
// --http, with the bearer token, it carries a destructive call through its confirmation, and the
// emulator's own state shows that the first call did nothing and the confirmed one acted.
import {
  check,
  cli,
  finish,
  requireBuild,
  runOnNode22,
  startHttpServer,
  step,
  withoutNpmNotices,
} from "./harness.mjs";

requireBuild();

const INSPECTOR = "@modelcontextprotocol/inspector@2.12.0";

/** One `mcp-inspector --cli` run; the result is its JSON answer (`--format json`), or undefined. */
async function inspect(args) {
  const run = await runOnNode22([INSPECTOR], "mcp-inspector", ["--cli", "--format", "json", ...args]);
  let answer;
  try {
    answer = JSON.parse(run.stdout).result;
  } catch {
    answer = undefined;
  }
  return { ...run, answer, stderr: withoutNpmNotices(run.stderr).trim() };
}

const stdio = ["node", cli, "--sandbox"];

step(`${INSPECTOR} --cli over stdio: tools/list --strict against dist/cli.js --sandbox`);
const listing = await inspect(["--method", "tools/list", "--strict", ...stdio]);
const tools = listing.answer?.tools ?? [];
check(listing.code === 0, "the Inspector exits 0", listing.stderr);
check(tools.length >= 50, `it lists ${tools.length} tools`);
const findings = listing.stderr.split("\n").filter((line) => /^(Warning|Error): tool /.test(line));
check(findings.length === 0, "no schema-portability finding (warnings count)", listing.stderr);

step(`${INSPECTOR} --cli over stdio: a read, dci_get_server server_id=3`);
const read = await inspect([
  "--method",
  "tools/call",
  "--tool-name",
  "dci_get_server",
  "--tool-args-json",
  '{"server_id":3}',
  ...stdio,
]);
check(read.code === 0 && read.answer?.isError !== true, "the call succeeds", read.stderr || read.stdout);
check(
  read.answer?.structuredContent?.id === 3 && read.answer.structuredContent.name === "db-01",
  "structuredContent is server 3 (db-01)",
  JSON.stringify(read.answer?.structuredContent)?.slice(0, 300),
);
check(
  JSON.stringify(JSON.parse(read.answer?.content?.[0]?.text ?? "null")) ===
    JSON.stringify(read.answer?.structuredContent),
  "the text block is the same data as compact JSON",
);

step(`${INSPECTOR} --cli over --http: netprofiler_delete_aws_accounts, confirmed with its token`);
// The emulators run here, so their state can be read directly; the server is pointed at them.
const { startSandbox } = await import("../../dist/sandbox/index.js");
const { PLATFORMS } = await import("../../dist/platforms/index.js");
const sandbox = await startSandbox(PLATFORMS);
const netprofiler = sandbox.emulators.get("netprofiler");
const server = await startHttpServer(sandbox.env);
try {
  // --header takes every following word up to the next option: it comes last.
  const http = [
    "--transport",
    "http",
    "--server-url",
    server.url,
    "--header",
    `Authorization: Bearer ${server.token}`,
  ];
  const deletion = (extra) => [
    "--method",
    "tools/call",
    "--tool-name",
    "netprofiler_delete_aws_accounts",
    "--tool-args-json",
    JSON.stringify({ acc_ids: ["staging"], ...extra }),
    ...http,
  ];
  const deletes = () =>
    netprofiler.requestsTo("/api/npm.aws_config/1.0/auth_codes").filter((r) => r.method === "DELETE");

  const first = await inspect(deletion({}));
  const token = first.answer?.structuredContent?.confirmation_token;
  check(
    first.code === 0 &&
      first.answer?.isError !== true &&
      first.answer?.structuredContent?.confirmation_required === true,
    "the first call asks for confirmation (confirmation_required, not an error)",
    first.stderr || first.stdout,
  );
  check(typeof token === "string" && token.length > 0, "it returns a confirmation_token");
  check(
    deletes().length === 0 && netprofiler.accountIds().includes("staging"),
    "nothing was sent upstream: the emulator still has account staging",
  );

  const second = await inspect(deletion({ confirmation_token: token }));
  check(
    second.code === 0 && second.answer?.isError !== true,
    "the same call with the token succeeds",
    second.stderr || second.stdout,
  );
  check(
    deletes().length === 1,
    "exactly one DELETE /auth_codes reached the emulator",
    `${deletes().length} seen`,
  );
  check(
    !netprofiler.accountIds().includes("staging") && netprofiler.accountIds().includes("prod-eu"),
    "the emulator no longer has account staging, and still has the others",
    netprofiler.accountIds().join(", "),
  );

  const again = await inspect(deletion({ confirmation_token: token }));
  check(
    again.answer?.isError === true && /already used/i.test(JSON.stringify(again.answer?.content)),
    "the token is refused a second time, saying it was already used",
    JSON.stringify(again.answer ?? again.stderr).slice(0, 300),
  );
} finally {
  await server.stop();
  await sandbox.stop();
}
finish("inspector");
