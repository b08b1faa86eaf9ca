import { afterEach, describe, expect, it, vi } from "vitest";
import { SSMCM_SANDBOX, SsmcmEmulator } from "../src/platforms/ssmcm/emulator/index.js";

const API = "/api/v1.0";
let emulator: SsmcmEmulator | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await emulator?.stop();
  emulator = undefined;
});

async function start(configure?: (e: SsmcmEmulator) => void): Promise<SsmcmEmulator> {
  emulator = new SsmcmEmulator();
  configure?.(emulator);
  await emulator.start();
  return emulator;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are asserted field by field
  json: any;
}

async function send(
  e: SsmcmEmulator,
  method: string,
  path: string,
  options: { token?: string; authorization?: string; body?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.contentType !== undefined) headers["content-type"] = options.contentType;
  const response = await fetch(`${e.url}${path}`, { method, headers, body: options.body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

function login(e: SsmcmEmulator, key: unknown = SSMCM_SANDBOX.apiKey): Promise<Answer> {
  return send(e, "POST", `${API}/auth/token`, {
    body: JSON.stringify({ key }),
    contentType: "application/json",
  });
}

async function token(e: SsmcmEmulator, key: string = SSMCM_SANDBOX.apiKey): Promise<string> {
  const answer = await login(e, key);
  expect(answer.json.code).toBe(200);
  return answer.json.data.token as string;
}

function get(e: SsmcmEmulator, path: string, bearer: string): Promise<Answer> {
  return send(e, "GET", path, { token: bearer });
}

describe("SSMCM emulator: auth", () => {
  it("grants a JWT for the sandbox API key inside the {code, message, data} envelope", async () => {
    const e = await start();
    const answer = await login(e);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toContain("application/json");
    expect(answer.json).toMatchObject({ code: 200, message: "OK", data: { token: expect.any(String) } });
    expect(Object.keys(answer.json.data)).toEqual(["token"]); // no lifetime: upstream documents none
    const [header, payload, signature] = (answer.json.data.token as string).split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    expect(claims.exp - claims.iat).toBe(3600);
    expect(signature).toMatch(/^[\w-]{43}$/);
    expect(e.logins).toBe(1);
    expect(e.issuedTokens()).toEqual([answer.json.data.token]);
  });

  it("issues a different random token on every login", async () => {
    const e = await start();
    const first = await token(e);
    const second = await token(e);
    expect(first).not.toBe(second);
    expect(e.logins).toBe(2);
    expect(e.issuedTokens()).toEqual([first, second]);
  });

  it("issues opaque tokens when tokenFormat is opaque", async () => {
    const e = await start((x) => {
      x.tokenFormat = "opaque";
    });
    expect(await token(e)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("accepts several keys: the viewer key, and keys added at run time", async () => {
    const e = await start();
    const viewer = await token(e, SSMCM_SANDBOX.readOnlyApiKey);
    expect((await get(e, `${API}/aws/s3`, viewer)).json.code).toBe(200);
    const added = e.addApiKey();
    expect(added).toMatch(/^ssmcm-[0-9a-f]{40}$/);
    expect(e.apiKeys()).toEqual([SSMCM_SANDBOX.apiKey, SSMCM_SANDBOX.readOnlyApiKey, added]);
    const fromAdded = await token(e, added);
    expect((await get(e, `${API}/aws/s3`, fromAdded)).json.code).toBe(200);
    expect(e.addApiKey({ key: "my-chosen-key" })).toBe("my-chosen-key");
    expect((await login(e, "my-chosen-key")).json.code).toBe(200);
  });

  it("refuses a revoked key at login and the tokens it granted from then on", async () => {
    const e = await start();
    const key = e.addApiKey();
    const granted = await token(e, key);
    expect(e.revokeApiKey(key)).toBe(true);
    expect(e.revokeApiKey(key)).toBe(false);
    const refused = await login(e, key);
    expect(refused.status).toBe(200);
    expect(refused.json).toEqual({ code: 401, message: "invalid API key" });
    const read = await get(e, `${API}/aws/s3`, granted);
    expect(read.json).toEqual({ code: 401, message: "token expired" });
    expect(e.logins).toBe(1);
  });

  it("answers a wrong key, a missing key and a non-JSON body with an error code inside HTTP 200", async () => {
    const e = await start();
    const wrong = await login(e, "not-a-key");
    expect(wrong.status).toBe(200);
    expect(wrong.json).toEqual({ code: 401, message: "invalid API key" });

    const missing = await send(e, "POST", `${API}/auth/token`, {
      body: "{}",
      contentType: "application/json",
    });
    expect(missing.json).toEqual({ code: 400, message: "key is required" });
    const notString = await login(e, 12345);
    expect(notString.json.code).toBe(400);

    const broken = await send(e, "POST", `${API}/auth/token`, {
      body: '{"key": ',
      contentType: "application/json",
    });
    expect(broken.status).toBe(200);
    expect(broken.json).toEqual({ code: 400, message: "request body must be JSON" });

    const form = await send(e, "POST", `${API}/auth/token`, {
      body: `key=${SSMCM_SANDBOX.apiKey}`,
      contentType: "application/x-www-form-urlencoded",
    });
    expect(form.json.code).toBe(400);
    const empty = await send(e, "POST", `${API}/auth/token`);
    expect(empty.json.code).toBe(400);
    expect(e.logins).toBe(0);
    expect(e.issuedTokens()).toEqual([]);
  });

  it("makes the HTTP status equal the code when errorStatus is http", async () => {
    const e = await start((x) => {
      x.errorStatus = "http";
    });
    const wrong = await login(e, "not-a-key");
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ code: 401, message: "invalid API key" });
    const bearer = await token(e);
    const badLength = await get(e, `${API}/aws/s3?length=ten`, bearer);
    expect(badLength.status).toBe(400);
    expect(badLength.json.code).toBe(400);
    const unknown = await get(e, `${API}/aws/glacier`, bearer);
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe(404);
  });

  it("reads the Bearer scheme case-insensitively", async () => {
    const e = await start();
    const bearer = await token(e);
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const answer = await send(e, "GET", `${API}/aws/s3?length=1`, { authorization: `${scheme} ${bearer}` });
      expect(answer.json.code).toBe(200);
    }
  });

  it("refuses a missing, non-bearer or unknown token with body code 401 on HTTP 200 by default", async () => {
    const e = await start();
    const missing = await send(e, "GET", `${API}/aws/s3`);
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual({ code: 401, message: "missing bearer token" });
    const basic = await send(e, "GET", `${API}/aws/s3`, { authorization: "Basic dXNlcjpwYXNz" });
    expect(basic.json.code).toBe(401);
    const unknown = await get(e, `${API}/aws/s3`, "eyJhbGciOiJIUzI1NiJ9.e30.forged");
    expect(unknown.status).toBe(200);
    expect(unknown.json).toEqual({ code: 401, message: "token expired" });
    expect(e.refusals).toBe(3);
  });

  it("refuses with HTTP 401 and the same body when expirySignal is http401", async () => {
    const e = await start((x) => {
      x.expirySignal = "http401";
    });
    const unknown = await get(e, `${API}/aws/s3`, "no-such-token");
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual({ code: 401, message: "token expired" });
    expect(unknown.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    const missing = await send(e, "GET", `${API}/aws/s3`);
    expect(missing.status).toBe(401);
    expect(missing.json.code).toBe(401);
    // The login's own refusal is an ordinary error, still in HTTP 200 under errorStatus "200".
    expect((await login(e, "not-a-key")).status).toBe(200);
  });

  it("expires every issued token at once with expireCredentials, while the key still logs in", async () => {
    const e = await start();
    const first = await token(e);
    const second = await token(e);
    e.expireCredentials();
    for (const old of [first, second]) {
      expect((await get(e, `${API}/aws/s3`, old)).json).toEqual({ code: 401, message: "token expired" });
    }
    const fresh = await token(e);
    expect((await get(e, `${API}/aws/s3`, fresh)).json.code).toBe(200);
  });

  it("expires a token after tokenLifetimeSeconds on a faked clock", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const e = await start((x) => {
      x.tokenLifetimeSeconds = 600;
    });
    const bearer = await token(e);
    const claims = JSON.parse(Buffer.from(bearer.split(".")[1]!, "base64url").toString());
    expect(claims.exp - claims.iat).toBe(600);
    vi.setSystemTime(Date.now() + 599_000);
    expect((await get(e, `${API}/aws/s3`, bearer)).json.code).toBe(200);
    vi.setSystemTime(Date.now() + 1_000);
    expect((await get(e, `${API}/aws/s3`, bearer)).json).toEqual({ code: 401, message: "token expired" });
  });

  it("lets the login through unauthenticated and never needs a token for it", async () => {
    const e = await start();
    const answer = await send(e, "POST", `${API}/auth/token`, {
      body: JSON.stringify({ key: SSMCM_SANDBOX.apiKey }),
      contentType: "application/json; charset=utf-8",
      authorization: "Bearer stale-token",
    });
    expect(answer.json.code).toBe(200);
  });
});

describe("SSMCM emulator: S3 buckets", () => {
  it("lists all 25 seeded buckets in the DataTables shape when length is absent", async () => {
    const e = await start();
    const answer = await get(e, `${API}/aws/s3`, await token(e));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ code: 200, message: "OK", recordsTotal: 25, recordsFiltered: 25 });
    expect(answer.json.data).toHaveLength(25);
    expect(answer.json.data[0]).toEqual({
      name: "meikai-prod-web-assets",
      arn: "arn:aws:s3:::meikai-prod-web-assets",
      region: "eu-west-1",
      account: "210987654321",
      account_name: "meikai-prod",
      creation_date: "2019-03-14T09:21:07.000Z",
      size_bytes: 48_318_382_080,
      object_count: 1_204_331,
      public: true,
      tags: { env: "prod", team: "web", app: "storefront" },
    });
    const names = answer.json.data.map((b: { name: string }) => b.name);
    expect(new Set(names).size).toBe(25);
    expect(names).toEqual(e.bucketNames());
    const publicOnes = answer.json.data
      .filter((b: { public: boolean }) => b.public)
      .map((b: { name: string }) => b.name);
    expect(publicOnes).toEqual([
      "meikai-prod-web-assets",
      "meikai-prod-cdn-origin",
      "meikai-prod-static-site",
      "meikai-staging-web-assets",
      "meikai-data-exports-partners",
      "meikai-legacy-www",
    ]);
    expect(answer.json.data.at(-1)).toMatchObject({
      name: "meikai-legacy-ftp-drop",
      size_bytes: 0,
      tags: {},
    });
  });

  it("pages with length and start, counting every record", async () => {
    const e = await start();
    const bearer = await token(e);
    const page = await get(e, `${API}/aws/s3?length=10&start=20`, bearer);
    expect(page.json.data.map((b: { name: string }) => b.name)).toEqual([
      "meikai-data-exports-partners",
      "meikai-glue-scripts",
      "meikai-legacy-www",
      "meikai-legacy-backups-2017",
      "meikai-legacy-ftp-drop",
    ]);
    expect(page.json).toMatchObject({ recordsTotal: 25, recordsFiltered: 25 });
    const first = await get(e, `${API}/aws/s3?length=10`, bearer);
    expect(first.json.data).toHaveLength(10);
    expect(first.json.data[0].name).toBe("meikai-prod-web-assets");
    const none = await get(e, `${API}/aws/s3?length=0`, bearer);
    expect(none.json).toMatchObject({ code: 200, data: [], recordsTotal: 25 });
    const past = await get(e, `${API}/aws/s3?start=100`, bearer);
    expect(past.json.data).toEqual([]);
    const onlyStart = await get(e, `${API}/aws/s3?start=23`, bearer);
    expect(onlyStart.json.data).toHaveLength(2);
  });

  it("searches case-insensitively over name, region, account and tag values, also as search[value]", async () => {
    const e = await start();
    const bearer = await token(e);
    const names = async (query: string) =>
      (await get(e, `${API}/aws/s3?${query}`, bearer)).json.data.map((b: { name: string }) => b.name);

    expect(await names("search=TERRAFORM")).toEqual([
      "meikai-prod-terraform-state",
      "meikai-staging-terraform-state",
    ]);
    expect(await names("search=us-east-2")).toEqual(["meikai-ml-training-sets", "meikai-ml-model-artifacts"]);
    expect(await names("search=678901234567")).toHaveLength(3);
    expect(await names("search=meikai-staging")).toHaveLength(5); // account_name
    expect(await names("search=partners")).toEqual(["meikai-data-exports-partners"]); // tag value
    expect(await names("search=team")).toEqual([]); // tag keys are not searched
    expect(await names(`${encodeURIComponent("search[value]")}=ISO27001`)).toEqual([
      "meikai-prod-cloudtrail",
    ]);

    const filtered = await get(e, `${API}/aws/s3?search=eu-west-1&length=3&start=1`, bearer);
    expect(filtered.json).toMatchObject({ recordsTotal: 25, recordsFiltered: 13 });
    expect(filtered.json.data.map((b: { name: string }) => b.name)).toEqual([
      "meikai-prod-app-logs",
      "meikai-prod-db-backups",
      "meikai-prod-terraform-state",
    ]);
  });

  it("accepts and ignores unknown DataTables parameters, echoing draw", async () => {
    const e = await start();
    const query = new URLSearchParams({
      draw: "7",
      "order[0][column]": "2",
      "order[0][dir]": "desc",
      "columns[0][data]": "name",
      "search[regex]": "false",
      length: "2",
    });
    const answer = await get(e, `${API}/aws/s3?${query}`, await token(e));
    expect(answer.json).toMatchObject({ code: 200, draw: 7, recordsTotal: 25, recordsFiltered: 25 });
    expect(answer.json.data).toHaveLength(2);
  });

  it("answers the plain shape without totals when listShape is plain", async () => {
    const e = await start((x) => {
      x.listShape = "plain";
    });
    const answer = await get(e, `${API}/aws/s3?length=3&draw=1`, await token(e));
    expect(Object.keys(answer.json).sort()).toEqual(["code", "data", "message"]);
    expect(answer.json.data).toHaveLength(3);
  });

  it("answers a bad length or start with code 400 in the envelope", async () => {
    const e = await start();
    const bearer = await token(e);
    for (const query of ["length=-1", "length=ten", "length=2.5", "start=-5", "start=x", "length=1e3"]) {
      const answer = await get(e, `${API}/aws/s3?${query}`, bearer);
      expect(answer.status).toBe(200);
      expect(answer.json.code).toBe(400);
      expect(answer.json.message).toMatch(/^(length|start) must be a non-negative integer/);
      expect(answer.json.data).toBeUndefined();
    }
    // An empty value counts as absent.
    expect((await get(e, `${API}/aws/s3?length=&start=`, bearer)).json.data).toHaveLength(25);
  });
});

describe("SSMCM emulator: other inventories and accounts", () => {
  it("lists EC2 instances, Azure VMs and GCP VMs with the same paging and search", async () => {
    const e = await start();
    const bearer = await token(e);
    const ec2 = await get(e, `${API}/aws/ec2`, bearer);
    expect(ec2.json).toMatchObject({ code: 200, recordsTotal: 10 });
    expect(ec2.json.data[0]).toMatchObject({
      instance_id: "i-0a3f9c2e71b5d4801",
      name: "web-prod-01",
      instance_type: "m6i.large",
      state: "running",
      region: "eu-west-1",
      availability_zone: "eu-west-1a",
      account: "210987654321",
      public_ip: "34.245.18.201",
    });
    const stopped = await get(e, `${API}/aws/ec2?search=stopped`, bearer);
    expect(stopped.json.recordsFiltered).toBe(3);

    const azure = await get(e, `${API}/azure/vm?length=2&start=4`, bearer);
    expect(azure.json).toMatchObject({ recordsTotal: 6, recordsFiltered: 6 });
    expect(azure.json.data.map((v: { name: string }) => v.name)).toEqual(["vm-jumpbox-01", "vm-sftp-01"]);
    expect(azure.json.data[0]).toMatchObject({
      power_state: "VM deallocated",
      resource_group: "rg-shared-services",
    });
    expect((await get(e, `${API}/azure/vm?search=RG-ERP`, bearer)).json.recordsFiltered).toBe(3);

    const gcp = await get(e, `${API}/gcp/vm?search=airflow`, bearer);
    expect(gcp.json).toMatchObject({ recordsTotal: 4, recordsFiltered: 2 });
    expect(gcp.json.data[0]).toMatchObject({
      project: "meikai-analytics-prod",
      labels: { component: "airflow" },
    });
  });

  it("lists accounts with supplier, name, alias, tags and service managers; one fails its inventory", async () => {
    const e = await start();
    const bearer = await token(e);
    const answer = await get(e, `${API}/accounts`, bearer);
    expect(answer.json).toMatchObject({ code: 200, recordsTotal: 6, recordsFiltered: 6 });
    expect(answer.json.data[0]).toEqual({
      id: "210987654321",
      supplier: "AWS",
      name: "meikai-prod",
      alias: "Production",
      tags: { env: "prod", cost_center: "CC-1001" },
      service_managers: ["aiko.tanaka@meikai.example", "jordi.puig@meikai.example"],
      created_at: "2019-01-08T10:12:00.000Z",
      inventory_status: "completed",
      last_inventory_at: "2025-11-24T02:00:41.000Z",
      inventory_error: null,
    });
    const legacy = answer.json.data.find((a: { id: string }) => a.id === "678901234567");
    expect(legacy).toMatchObject({
      inventory_status: "failed",
      inventory_error: expect.stringContaining("AccessDenied"),
    });
    const azure = await get(e, `${API}/accounts?search=AZURE`, bearer);
    expect(azure.json.data.map((a: { id: string }) => a.id)).toEqual([
      "3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13",
    ]);
    expect((await get(e, `${API}/accounts?search=CC-2040`, bearer)).json.recordsFiltered).toBe(2);
    const one = await get(e, `${API}/accounts/meikai-analytics-prod`, bearer);
    expect(one.json).toMatchObject({ code: 200, data: { supplier: "GCP", alias: "gcp-analytics" } });
    expect((await get(e, `${API}/accounts/999999999999`, bearer)).json).toEqual({
      code: 404,
      message: "account 999999999999 not found",
    });
  });

  it("runs an account's inventory on update: running, then completed after inventoryDurationMs", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const e = await start((x) => {
      x.inventoryDurationMs = 60_000;
    });
    const bearer = await token(e);
    const startedAt = Date.now();
    const update = await send(e, "POST", `${API}/accounts/210987654321/update`, { token: bearer });
    expect(update.status).toBe(200);
    expect(update.json).toEqual({
      code: 200,
      message: "inventory update started",
      data: {
        id: "210987654321",
        inventory_status: "running",
        started_at: new Date(startedAt).toISOString(),
      },
    });
    expect((await get(e, `${API}/accounts/210987654321`, bearer)).json.data.inventory_status).toBe("running");
    const again = await send(e, "POST", `${API}/accounts/210987654321/update`, { token: bearer });
    expect(again.json.code).toBe(409);

    vi.setSystemTime(startedAt + 60_000);
    const done = await get(e, `${API}/accounts/210987654321`, bearer);
    expect(done.json.data).toMatchObject({
      inventory_status: "completed",
      last_inventory_at: new Date(startedAt + 60_000).toISOString(),
      inventory_error: null,
    });
    expect(e.account("210987654321")?.inventory_status).toBe("completed");
    // Once done, it can run again.
    expect((await send(e, "POST", `${API}/accounts/210987654321/update`, { token: bearer })).json.code).toBe(
      200,
    );
  });

  it("ends the broken legacy account's inventory run as failed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const e = await start();
    const bearer = await token(e);
    await send(e, "POST", `${API}/accounts/678901234567/update`, { token: bearer });
    expect(e.account("678901234567")).toMatchObject({ inventory_status: "running", inventory_error: null });
    vi.setSystemTime(Date.now() + e.inventoryDurationMs);
    expect(e.account("678901234567")).toMatchObject({
      inventory_status: "failed",
      inventory_error: expect.stringContaining("s3:ListAllMyBuckets"),
    });
  });

  it("deletes an account and with it the account's inventory", async () => {
    const e = await start();
    const bearer = await token(e);
    const deleted = await send(e, "DELETE", `${API}/accounts/678901234567`, { token: bearer });
    expect(deleted.json).toEqual({ code: 200, message: "account deleted", data: { id: "678901234567" } });
    expect(e.accountIds()).not.toContain("678901234567");
    expect((await get(e, `${API}/accounts`, bearer)).json.recordsTotal).toBe(5);
    const buckets = await get(e, `${API}/aws/s3`, bearer);
    expect(buckets.json.recordsTotal).toBe(22);
    expect(e.bucketNames()).not.toContain("meikai-legacy-www");
    const twice = await send(e, "DELETE", `${API}/accounts/678901234567`, { token: bearer });
    expect(twice.json.code).toBe(404);
    expect((await send(e, "POST", `${API}/accounts/678901234567/update`, { token: bearer })).json.code).toBe(
      404,
    );
  });

  it("refuses writes to the read-only key's tokens with code 403", async () => {
    const e = await start();
    const viewer = await token(e, SSMCM_SANDBOX.readOnlyApiKey);
    const update = await send(e, "POST", `${API}/accounts/210987654321/update`, { token: viewer });
    expect(update.status).toBe(200);
    expect(update.json.code).toBe(403);
    expect((await send(e, "DELETE", `${API}/accounts/210987654321`, { token: viewer })).json.code).toBe(403);
    expect(e.accountIds()).toContain("210987654321");
    expect(e.account("210987654321")?.inventory_status).toBe("completed");
  });

  it("answers unknown API paths with 404 and wrong methods with 405 in the envelope", async () => {
    const e = await start();
    const bearer = await token(e);
    const unknown = await get(e, `${API}/aws/rds`, bearer);
    expect(unknown.status).toBe(200);
    expect(unknown.json).toEqual({ code: 404, message: `GET ${API}/aws/rds: not found` });
    // The router answers before the auth check.
    expect((await send(e, "GET", `${API}/aws/rds`)).json.code).toBe(404);

    const wrong = await send(e, "POST", `${API}/aws/s3`, { token: bearer });
    expect(wrong.status).toBe(200);
    expect(wrong.json.code).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET");
    const getLogin = await send(e, "GET", `${API}/auth/token`);
    expect(getLogin.json.code).toBe(405);
    const put = await send(e, "PUT", `${API}/accounts/210987654321`, { token: bearer });
    expect(put.json.code).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, DELETE");
  });

  it("answers paths outside the API with a plain-text 404 page, not the envelope", async () => {
    const e = await start();
    for (const path of ["/", "/api", "/swagger/v1/swagger.json", "/swagger/other.json"]) {
      const answer = await send(e, "GET", path);
      expect(answer.status).toBe(404);
      expect(answer.headers.get("content-type")).toContain("text/plain");
      expect(answer.text).toBe("404 page not found\n");
    }
  });
});

describe("SSMCM emulator: Swagger", () => {
  it("serves swaggo's Swagger 2.0 at /swagger/doc.json by default, unauthenticated, paths under basePath", async () => {
    const e = await start();
    const answer = await send(e, "GET", "/swagger/doc.json");
    expect(answer.status).toBe(200);
    const doc = answer.json;
    expect(doc).toMatchObject({
      swagger: "2.0",
      basePath: "/api/v1.0",
      host: "",
      info: { title: "SSMCM API" },
    });
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/accounts",
      "/accounts/{id}",
      "/accounts/{id}/update",
      "/auth/token",
      "/aws/ec2",
      "/aws/s3",
      "/azure/vm",
      "/gcp/vm",
    ]);
    const s3 = doc.paths["/aws/s3"].get;
    expect(s3).toMatchObject({
      summary: "List AWS S3 buckets",
      tags: ["aws"],
      security: [{ ApiKeyAuth: [] }],
    });
    expect(s3.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      "query:length",
      "query:start",
      "query:search",
    ]);
    expect(Object.keys(doc.paths["/accounts/{id}"]).sort()).toEqual(["delete", "get"]);
    expect(doc.paths["/auth/token"].post.security).toBeUndefined();
    expect(doc.paths["/auth/token"].post.parameters[0]).toMatchObject({ in: "body", name: "body" });
    expect((await send(e, "GET", "/swagger/v1/swagger.json")).status).toBe(404);
  });

  it("serves Swashbuckle's OpenAPI 3 at /swagger/v1/swagger.json when switched, with full paths and servers", async () => {
    const e = await start((x) => {
      x.swaggerPath = "/swagger/v1/swagger.json";
    });
    const answer = await send(e, "GET", "/swagger/v1/swagger.json");
    expect(answer.status).toBe(200);
    const doc = answer.json;
    expect(doc.openapi).toBe("3.0.1");
    expect(doc.servers).toEqual([{ url: e.url }]);
    expect(doc.paths[`${API}/aws/s3`].get).toMatchObject({
      summary: "List AWS S3 buckets",
      tags: ["aws"],
      security: [{ Bearer: [] }],
    });
    expect(doc.paths[`${API}/accounts/{id}/update`].post.parameters[0]).toMatchObject({
      name: "id",
      in: "path",
      required: true,
    });
    expect(doc.paths[`${API}/auth/token`].post.requestBody.content["application/json"]).toBeDefined();
    const plain404 = await send(e, "GET", "/swagger/doc.json");
    expect(plain404.status).toBe(404);
    expect(plain404.text).toBe("404 page not found\n");
  });

  it("describes the same operations in both flavours", async () => {
    const e = await start();
    const operations = (
      doc: { paths: Record<string, Record<string, { summary: string; tags: string[] }>> },
      prefix: string,
    ) =>
      Object.entries(doc.paths)
        .flatMap(([path, methods]) =>
          Object.entries(methods).map(
            ([method, op]) => `${method.toUpperCase()} ${prefix}${path} ${op.summary} ${op.tags}`,
          ),
        )
        .sort();
    const swaggo = operations((await send(e, "GET", "/swagger/doc.json")).json, API);
    e.swaggerPath = "/swagger/v1/swagger.json";
    const swashbuckle = operations((await send(e, "GET", "/swagger/v1/swagger.json")).json, "");
    expect(swaggo).toEqual(swashbuckle);
    expect(swaggo).toHaveLength(9);
  });

  it("serves neither document nor the UI page when swaggerPath is null", async () => {
    const e = await start((x) => {
      x.swaggerPath = null;
    });
    for (const path of ["/swagger/doc.json", "/swagger/v1/swagger.json", "/swagger/index.html"]) {
      const answer = await send(e, "GET", path);
      expect(answer.status).toBe(404);
      expect(answer.text).toBe("404 page not found\n");
    }
  });

  it("serves /swagger/index.html pointing at the flavour's document", async () => {
    const e = await start();
    const page = await send(e, "GET", "/swagger/index.html");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain('url: "doc.json"');
    e.swaggerPath = "/swagger/v1/swagger.json";
    expect((await send(e, "GET", "/swagger/index.html")).text).toContain('url: "v1/swagger.json"');
  });
});

describe("SSMCM emulator: faults, log and environment", () => {
  it("fails the next requests with the envelope body and Retry-After, then recovers", async () => {
    const e = await start();
    const bearer = await token(e);
    e.failNext(2, 503, { retryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const answer = await get(e, `${API}/aws/s3`, bearer);
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ code: 503, message: "service unavailable" });
      expect(answer.headers.get("retry-after")).toBe("3");
    }
    expect((await get(e, `${API}/aws/s3`, bearer)).json.code).toBe(200);
    expect(e.requestsTo(`${API}/aws/s3`).map((r) => r.faulted)).toEqual([true, true, false]);
  });

  it("limits a fault to the given methods and answers 429 and 500 in the envelope", async () => {
    const e = await start();
    const bearer = await token(e);
    e.failNext(1, 429, { methods: ["post"] });
    expect((await get(e, `${API}/aws/s3`, bearer)).json.code).toBe(200);
    const limited = await send(e, "POST", `${API}/accounts/210987654321/update`, { token: bearer });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ code: 429, message: "too many requests" });
    expect(e.account("210987654321")?.inventory_status).toBe("completed"); // nothing was done
    e.failNext(1, 500);
    expect((await get(e, `${API}/aws/s3`, bearer)).json).toEqual({
      code: 500,
      message: "internal server error",
    });
  });

  it("garbles the next answer with a proxy's HTML page, and clearFaults drops pending faults", async () => {
    const e = await start();
    const bearer = await token(e);
    e.garbleNext(1);
    const garbled = await get(e, `${API}/aws/s3`, bearer);
    expect(garbled.status).toBe(200);
    expect(garbled.headers.get("content-type")).toBe("text/html");
    expect(garbled.json).toBeUndefined();
    e.failNext(5, 503);
    e.clearFaults();
    expect((await get(e, `${API}/aws/s3`, bearer)).json.code).toBe(200);
  });

  it("records each request with its method, path, query, headers and JSON body", async () => {
    const e = await start();
    const bearer = await token(e);
    await get(e, `${API}/aws/s3?length=10&start=5&search=prod`, bearer);
    const [loginRequest] = e.requestsTo(`${API}/auth/token`);
    expect(loginRequest).toMatchObject({ method: "POST", json: { key: SSMCM_SANDBOX.apiKey } });
    const [list] = e.requestsTo(`${API}/aws/s3`);
    expect(list).toMatchObject({ method: "GET", query: { length: "10", start: "5", search: "prod" } });
    expect(list?.headers.authorization).toBe(`Bearer ${bearer}`);
  });

  it("gives sandboxEnv with the URL and the sandbox API key", async () => {
    const e = await start();
    expect(e.sandboxEnv()).toEqual({ SSMCM_URL: e.url, SSMCM_API_KEY: SSMCM_SANDBOX.apiKey });
    expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
