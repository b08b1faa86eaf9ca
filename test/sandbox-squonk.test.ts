import { createPublicKey, verify } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SQUONK_SANDBOX, SQUONK_SEED, SquonkEmulator } from "../src/platforms/squonk/emulator/index.js";

const DM = "/data-manager-api";
const AS = "/account-server-api";
const TOKEN = `/auth/realms/${SQUONK_SANDBOX.realm}/protocol/openid-connect/token`;
const START = new Date("2025-03-03T09:00:00.000Z");
const { projects, instances, tasks, jobs, products, units } = SQUONK_SEED;

let emulator: SquonkEmulator | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await emulator?.stop();
  emulator = undefined;
});

async function start(setup?: (e: SquonkEmulator) => void): Promise<SquonkEmulator> {
  emulator = new SquonkEmulator();
  setup?.(emulator);
  await emulator.start();
  return emulator;
}

function fakeClock(at = START): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are asserted field by field
  body: any;
  headers: Headers;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text (garbled answers).
  }
  return { status: response.status, body, headers: response.headers };
}

/** POSTs the token form, encoded properly by URLSearchParams. */
async function tokenRequest(e: SquonkEmulator, fields: Record<string, string>): Promise<Answer> {
  return answer(await fetch(`${e.url}${TOKEN}`, { method: "POST", body: new URLSearchParams(fields) }));
}

function passwordForm(clientId: string = SQUONK_SANDBOX.dmClientId): Record<string, string> {
  return {
    client_id: clientId,
    grant_type: "password",
    username: SQUONK_SANDBOX.username,
    password: SQUONK_SANDBOX.password,
  };
}

async function login(e: SquonkEmulator, clientId: string = SQUONK_SANDBOX.dmClientId) {
  const { status, body } = await tokenRequest(e, passwordForm(clientId));
  expect(status).toBe(200);
  return body as { access_token: string; refresh_token: string; expires_in: number };
}

interface CallOptions {
  method?: string;
  token?: string;
  form?: Record<string, string>;
  json?: unknown;
  query?: Record<string, string>;
}

async function call(e: SquonkEmulator, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | URLSearchParams | undefined;
  if (options.form !== undefined) body = new URLSearchParams(options.form);
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] = "application/json";
  }
  const query = options.query ? `?${new URLSearchParams(options.query)}` : "";
  const response = await fetch(`${e.url}${path}${query}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return answer(response);
}

function decode(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = jwt.split(".");
  return {
    header: JSON.parse(Buffer.from(header!, "base64url").toString()),
    payload: JSON.parse(Buffer.from(payload!, "base64url").toString()),
  };
}

function launchForm(
  spec: Record<string, unknown>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    application_id: SQUONK_SANDBOX.applicationId,
    as_name: "Test run",
    project_id: projects.kinase,
    specification: JSON.stringify(spec),
    ...extra,
  };
}

const NOP = { collection: "im-test", job: "nop", version: "1.0.0" };

describe("Keycloak password grant", () => {
  it("issues a stock token response with an RS256 access token that verifies with the realm key", async () => {
    const e = await start();
    const { status, body, headers } = await tokenRequest(e, passwordForm());
    expect(status).toBe(200);
    expect(headers.get("cache-control")).toBe("no-store");
    expect(body).toMatchObject({
      expires_in: 300,
      refresh_expires_in: 1800,
      token_type: "Bearer",
      "not-before-policy": 0,
      scope: "profile email",
    });
    expect(typeof body.session_state).toBe("string");
    const { header, payload } = decode(body.access_token);
    expect(header).toMatchObject({ alg: "RS256", typ: "JWT" });
    expect(payload).toMatchObject({
      azp: SQUONK_SANDBOX.dmClientId,
      typ: "Bearer",
      preferred_username: SQUONK_SANDBOX.username,
      iss: `${e.url}/auth/realms/${SQUONK_SANDBOX.realm}`,
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(typeof payload.sub).toBe("string");
    expect(decode(body.refresh_token).payload).toMatchObject({
      typ: "Refresh",
      azp: SQUONK_SANDBOX.dmClientId,
    });

    const realm = await call(e, `/auth/realms/${SQUONK_SANDBOX.realm}`);
    expect(realm.status).toBe(200);
    expect(realm.body).toMatchObject({
      realm: SQUONK_SANDBOX.realm,
      "token-service": `${e.url}/auth/realms/${SQUONK_SANDBOX.realm}/protocol/openid-connect`,
      "account-service": `${e.url}/auth/realms/${SQUONK_SANDBOX.realm}/account`,
    });
    const key = createPublicKey({
      key: Buffer.from(realm.body.public_key, "base64"),
      format: "der",
      type: "spki",
    });
    const [h, p, s] = (body.access_token as string).split(".");
    expect(verify("sha256", Buffer.from(`${h}.${p}`), key, Buffer.from(s!, "base64url"))).toBe(true);

    expect(e.passwordGrants).toBe(1);
    expect(e.logins).toBe(1);
    expect(e.issuedTokens()).toEqual([body.access_token, body.refresh_token]);
  });

  it("accepts the sandbox password only when the form is URL-encoded", async () => {
    const e = await start();
    expect(SQUONK_SANDBOX.password).toMatch(/\+/);
    for (const char of ["&", "%", "=", "/", " "]) expect(SQUONK_SANDBOX.password).toContain(char);
    // The Python client's bug: the form built by string concatenation, without encoding.
    const raw = `client_id=${SQUONK_SANDBOX.dmClientId}&grant_type=password&username=${SQUONK_SANDBOX.username}&password=${SQUONK_SANDBOX.password}`;
    const unencoded = await answer(
      await fetch(`${e.url}${TOKEN}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: raw,
      }),
    );
    expect(unencoded.status).toBe(401);
    expect(unencoded.body).toEqual({ error: "invalid_grant", error_description: "Invalid user credentials" });
    expect(e.logins).toBe(0);

    const encoded = `client_id=${SQUONK_SANDBOX.dmClientId}&grant_type=password&username=${SQUONK_SANDBOX.username}&password=${encodeURIComponent(SQUONK_SANDBOX.password)}`;
    const good = await fetch(`${e.url}${TOKEN}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: encoded,
    });
    expect(good.status).toBe(200);
  });

  it("refuses bad credentials, unknown clients, bad grants and malformed requests as Keycloak does", async () => {
    const e = await start();
    const cases: [Record<string, string>, number, string, string?][] = [
      [{ ...passwordForm(), password: "wrong" }, 401, "invalid_grant", "Invalid user credentials"],
      [{ ...passwordForm(), username: "nobody" }, 401, "invalid_grant", "Invalid user credentials"],
      [{ ...passwordForm(), client_id: "some-other-client" }, 401, "invalid_client"],
      [{ ...passwordForm(), grant_type: "client_credentials" }, 400, "unsupported_grant_type"],
      [{ client_id: SQUONK_SANDBOX.dmClientId, username: "x", password: "y" }, 400, "invalid_request"],
      [{ grant_type: "password", username: "x", password: "y" }, 400, "invalid_request"],
      [
        { client_id: SQUONK_SANDBOX.dmClientId, grant_type: "password", password: "y" },
        400,
        "invalid_request",
      ],
      [{ client_id: SQUONK_SANDBOX.dmClientId, grant_type: "refresh_token" }, 400, "invalid_request"],
    ];
    for (const [form, status, error, description] of cases) {
      const result = await tokenRequest(e, form);
      expect(result.status, JSON.stringify(form)).toBe(status);
      expect(result.body.error).toBe(error);
      expect(typeof result.body.error_description).toBe("string");
      if (description !== undefined) expect(result.body.error_description).toBe(description);
    }
    const json = await call(e, TOKEN, { json: passwordForm() });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe("invalid_request");
    const duplicated = await answer(
      await fetch(`${e.url}${TOKEN}`, {
        method: "POST",
        body: `${new URLSearchParams(passwordForm())}&password=other`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    expect(duplicated.status).toBe(400);
    expect(duplicated.body.error).toBe("invalid_request");
    expect((await call(e, TOKEN)).status).toBe(405);
    expect(e.logins).toBe(0);
  });

  it("accepts a username in any case, as Keycloak stores them in lower case", async () => {
    const e = await start();
    const result = await tokenRequest(e, {
      ...passwordForm(),
      username: SQUONK_SANDBOX.username.toUpperCase(),
    });
    expect(result.status).toBe(200);
  });

  it("requires the client secret once the clients are confidential", async () => {
    const e = await start((emu) => {
      emu.confidentialClients = true;
    });
    const missing = await tokenRequest(e, passwordForm());
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: "unauthorized_client",
      error_description: "Client secret not provided in request",
    });
    const wrong = await tokenRequest(e, { ...passwordForm(), client_secret: "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe("unauthorized_client");
    const unknown = await tokenRequest(e, {
      ...passwordForm("some-other-client"),
      client_secret: SQUONK_SANDBOX.clientSecret,
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe("invalid_client");
    const good = await tokenRequest(e, { ...passwordForm(), client_secret: SQUONK_SANDBOX.clientSecret });
    expect(good.status).toBe(200);
    expect(e.sandboxEnv().SQUONK2_KEYCLOAK_CLIENT_SECRET).toBe(SQUONK_SANDBOX.clientSecret);
  });

  it("ignores a secret sent for a public client", async () => {
    const e = await start();
    expect((await tokenRequest(e, { ...passwordForm(), client_secret: "anything" })).status).toBe(200);
    expect(e.sandboxEnv().SQUONK2_KEYCLOAK_CLIENT_SECRET).toBeUndefined();
  });

  it("answers 404 Realm does not exist for an unknown realm, on the realm and token paths", async () => {
    const e = await start();
    const realm = await call(e, "/auth/realms/other");
    expect(realm).toMatchObject({ status: 404, body: { error: "Realm does not exist" } });
    const token = await answer(
      await fetch(`${e.url}/auth/realms/other/protocol/openid-connect/token`, {
        method: "POST",
        body: new URLSearchParams(passwordForm()),
      }),
    );
    expect(token).toMatchObject({ status: 404, body: { error: "Realm does not exist" } });
  });

  it("serves the realm's JWKS with the key that signs access tokens", async () => {
    const e = await start();
    const { access_token } = await login(e);
    const jwks = await call(e, `/auth/realms/${SQUONK_SANDBOX.realm}/protocol/openid-connect/certs`);
    const jwk = jwks.body.keys[0];
    expect(jwk).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: decode(access_token).header.kid });
  });
});

describe("Keycloak refresh_token grant", () => {
  it("renews with the refresh token, for the same client only", async () => {
    const e = await start();
    const first = await login(e);
    const renewed = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.access_token).not.toBe(first.access_token);
    expect(renewed.body.refresh_token).not.toBe(first.refresh_token);
    expect(e.refreshGrants).toBe(1);
    expect(e.passwordGrants).toBe(1);
    expect(e.logins).toBe(2);
    expect((await call(e, `${DM}/project`, { token: renewed.body.access_token })).status).toBe(200);

    const foreign = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.asClientId,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe("invalid_grant");

    const garbage = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: "not.a.token",
    });
    expect(garbage).toMatchObject({
      status: 400,
      body: { error: "invalid_grant", error_description: "Invalid refresh token" },
    });
    // An access token is not a refresh token.
    const access = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: first.access_token,
    });
    expect(access.status).toBe(400);
    expect(access.body.error).toBe("invalid_grant");
    expect(e.refreshGrants).toBe(1);
  });

  it("refuses refresh after revokeRefreshTokens() until the next password login", async () => {
    const e = await start();
    const first = await login(e);
    e.revokeRefreshTokens();
    const refused = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    });
    expect(refused).toMatchObject({
      status: 400,
      body: { error: "invalid_grant", error_description: "Token is not active" },
    });
    // Access tokens are checked offline by the DM, so they live on.
    expect((await call(e, `${DM}/project`, { token: first.access_token })).status).toBe(200);
    const second = await login(e);
    const renewed = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: second.refresh_token,
    });
    expect(renewed.status).toBe(200);
  });

  it("expires everything issued with expireCredentials(), while new logins work", async () => {
    const e = await start();
    const first = await login(e);
    e.expireCredentials();
    const dm = await call(e, `${DM}/project`, { token: first.access_token });
    expect(dm.status).toBe(401);
    expect(typeof dm.body.error).toBe("string");
    const refresh = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    });
    expect(refresh).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const second = await login(e);
    expect((await call(e, `${DM}/project`, { token: second.access_token })).status).toBe(200);
    expect(e.refusals).toBe(1);
  });

  it("lets the access token expire after expires_in and the refresh token after refresh_expires_in (faked Date)", async () => {
    fakeClock();
    const e = await start((emu) => {
      emu.accessTokenLifetimeSeconds = 60;
      emu.refreshTokenLifetimeSeconds = 120;
    });
    const first = await login(e);
    expect(first.expires_in).toBe(60);
    advance(59_000);
    expect((await call(e, `${DM}/project`, { token: first.access_token })).status).toBe(200);
    advance(1_000);
    const expired = await call(e, `${DM}/project`, { token: first.access_token });
    expect(expired).toMatchObject({ status: 401, body: { error: "Token has expired" } });
    const renewed = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    });
    expect(renewed.status).toBe(200);
    advance(60_000);
    const stale = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    });
    expect(stale).toMatchObject({
      status: 400,
      body: { error: "invalid_grant", error_description: "Token is not active" },
    });
    // The newer refresh token was issued a minute later, so it still lives.
    const newer = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: renewed.body.refresh_token,
    });
    expect(newer.status).toBe(200);
  });
});

describe("Data Manager authentication and bodies", () => {
  it("serves /version without a token and refuses everything else without a good DM token", async () => {
    const e = await start();
    const version = await call(e, `${DM}/version`);
    expect(version.status).toBe(200);
    expect(typeof version.body.version).toBe("string");

    const none = await call(e, `${DM}/project`);
    expect(none.status).toBe(401);
    expect(typeof none.body.error).toBe("string");
    const garbage = await call(e, `${DM}/project`, { token: "abc.def.ghi" });
    expect(garbage.status).toBe(401);
    const asToken = (await login(e, SQUONK_SANDBOX.asClientId)).access_token;
    const foreign = await call(e, `${DM}/project`, { token: asToken });
    expect(foreign.status).toBe(401);
    expect(foreign.body.error).toContain(SQUONK_SANDBOX.asClientId);
    const { refresh_token } = await login(e);
    expect((await call(e, `${DM}/project`, { token: refresh_token })).status).toBe(401);
    // A token signed by another key (tampered payload) is refused.
    const { access_token } = await login(e);
    const [h, , s] = access_token.split(".");
    const forged = Buffer.from(
      JSON.stringify({ ...decode(access_token).payload, exp: 9_999_999_999 }),
    ).toString("base64url");
    expect((await call(e, `${DM}/project`, { token: `${h}.${forged}.${s}` })).status).toBe(401);
    expect(e.refusals).toBe(5);
  });

  it("refuses a JSON body with 415 {error}: the DM takes forms", async () => {
    const e = await start();
    const { access_token } = await login(e);
    const result = await call(e, `${DM}/instance`, { token: access_token, json: launchForm(NOP) });
    expect(result.status).toBe(415);
    expect(result.body.error).toContain("form");
  });

  it("accepts a multipart form for a launch", async () => {
    const e = await start();
    const { access_token } = await login(e);
    const body = new FormData();
    for (const [key, value] of Object.entries(launchForm(NOP))) body.append(key, value);
    const response = await answer(
      await fetch(`${e.url}${DM}/instance`, {
        method: "POST",
        headers: { authorization: `Bearer ${access_token}` },
        body,
      }),
    );
    expect(response.status).toBe(201);
    expect(response.body.instance_id).toMatch(/^instance-[0-9a-f-]{36}$/);
  });
});

describe("Data Manager projects, files and jobs", () => {
  it("lists projects as {count, projects}, filters by project_name and gets one", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const all = await call(e, `${DM}/project`, { token });
    expect(all.status).toBe(200);
    expect(all.body.count).toBe(3);
    expect(all.body.projects.map((p: { project_id: string }) => p.project_id)).toEqual([
      projects.kinase,
      projects.docking,
      projects.reference,
    ]);
    for (const project of all.body.projects) {
      expect(project.project_id).toMatch(
        /^project-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(Object.keys(project)).toEqual(
        expect.arrayContaining([
          "name",
          "created",
          "creator",
          "administrators",
          "editors",
          "observers",
          "private",
          "size",
          "product_id",
          "unit_id",
          "organisation_id",
        ]),
      );
    }
    const filtered = await call(e, `${DM}/project`, {
      token,
      query: { project_name: "PLpro docking campaign" },
    });
    expect(filtered.body).toMatchObject({
      count: 1,
      projects: [{ project_id: projects.docking, private: true }],
    });
    const one = await call(e, `${DM}/project/${projects.kinase}`, { token });
    expect(one.body).toMatchObject({ name: "Kinase fragment screen", creator: "sandbox-user" });
    expect(one.body.size).toBeGreaterThan(12_000_000);
    const missing = await call(e, `${DM}/project/project-00000000-0000-0000-0000-000000000000`, { token });
    expect(missing.status).toBe(404);
    expect(typeof missing.body.error).toBe("string");
  });

  it("lists files under nested paths with paths[] and the FilesGetResponse shape", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const root = await call(e, `${DM}/file`, { token, query: { project_id: projects.kinase, path: "/" } });
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ path: "/", paths: ["data", "results"], project_id: projects.kinase });
    expect(root.body.files.map((f: { file_name: string }) => f.file_name)).toEqual([
      "README.md",
      "screen-summary.csv",
    ]);
    expect(root.body.count).toBe(2);
    expect(root.body.files[0]).toEqual({
      file_name: "README.md",
      owner: "sandbox-user",
      stat: { size: 2341, modified: "2024-11-04T09:31:12.000Z" },
      mime_type: "text/markdown",
    });
    const hidden = await call(e, `${DM}/file`, {
      token,
      query: { project_id: projects.kinase, path: "/", include_hidden: "true" },
    });
    expect(hidden.body.files.map((f: { file_name: string }) => f.file_name)).toContain(".notes.txt");

    const data = await call(e, `${DM}/file`, {
      token,
      query: { project_id: projects.kinase, path: "/data" },
    });
    expect(data.body.paths).toEqual(["raw"]);
    expect(data.body.count).toBe(3);
    expect(
      data.body.files.find((f: { file_name: string }) => f.file_name === "fragments-2024-11.sdf"),
    ).toMatchObject({
      immutable: true,
      file_id: expect.stringMatching(/^file-/),
      mime_type: "chemical/x-mdl-sdfile",
    });
    const raw = await call(e, `${DM}/file`, {
      token,
      query: { project_id: projects.kinase, path: "/data/raw/" },
    });
    expect(raw.body.count).toBe(12);
    expect(raw.body.path).toBe("/data/raw");
    expect(raw.body.paths).toEqual([]);

    const relative = await call(e, `${DM}/file`, {
      token,
      query: { project_id: projects.kinase, path: "data" },
    });
    expect(relative.status).toBe(400);
    expect(relative.body.error).toContain("/");
    const nowhere = await call(e, `${DM}/file`, {
      token,
      query: { project_id: projects.kinase, path: "/nope" },
    });
    expect(nowhere.status).toBe(404);
    expect((await call(e, `${DM}/file`, { token, query: { path: "/" } })).status).toBe(400);
    const unknown = await call(e, `${DM}/file`, { token, query: { project_id: "project-x", path: "/" } });
    expect(unknown.status).toBe(404);
  });

  it("lists jobs as {count, jobs} and gets one by id or by version", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const list = await call(e, `${DM}/job`, { token, query: { project_id: projects.kinase } });
    expect(list.status).toBe(200);
    expect(list.body.count).toBe(6);
    expect(list.body.jobs[0]).toMatchObject({
      id: 1,
      collection: "im-test",
      job: "nop",
      version: "1.0.0",
      disabled: false,
      image_type: "SIMPLE",
      required_assets: [],
    });
    expect(list.body.jobs[0].command).toBeUndefined();
    expect(list.body.jobs.find((j: { id: number }) => j.id === jobs.legacySleep)).toMatchObject({
      disabled: true,
      disabled_reason: expect.any(String),
    });

    const byId = await call(e, `${DM}/job/${jobs.picker110}`, { token });
    expect(byId.body).toMatchObject({
      collection: "rdkit",
      job: "max-min-picker",
      version: "1.1.0",
      image_name: "informaticsmatters/rdkit-jobs",
      image_tag: "1.1.0",
      command_encoding: "JINJA2_3_0",
      replaces: [{ collection: "rdkit", job: "max-min-picker", version: "1.0.0" }],
    });
    expect(byId.body.command).toContain("{{ inputFile }}");
    expect(byId.body.variables.inputs.required).toEqual(["inputFile"]);
    expect(byId.body.variables.options.required).toEqual(["count"]);

    const byVersion = await call(e, `${DM}/job/get-by-version`, {
      token,
      query: { collection: "rdkit", job: "max-min-picker", version: "1.0.0" },
    });
    expect(byVersion.body).toMatchObject({ id: jobs.picker100, replaced_by: [{ version: "1.1.0" }] });
    const badVersion = await call(e, `${DM}/job/get-by-version`, {
      token,
      query: { collection: "rdkit", job: "max-min-picker", version: "9.9.9" },
    });
    expect(badVersion.status).toBe(404);
    expect(badVersion.body.error).toContain("1.0.0, 1.1.0");
    expect(
      (await call(e, `${DM}/job/get-by-version`, { token, query: { collection: "rdkit" } })).status,
    ).toBe(400);
    expect((await call(e, `${DM}/job/99`, { token })).status).toBe(404);
    expect((await call(e, `${DM}/job/nop`, { token })).status).toBe(400);
  });
});

describe("Data Manager instances and tasks", () => {
  it("launches (201), then moves PENDING -> RUNNING -> COMPLETED with the settable durations (faked Date)", async () => {
    fakeClock();
    const e = await start((emu) => {
      emu.pendingMs = 1_000;
      emu.runningMs = 4_000;
    });
    const { access_token: token } = await login(e);
    const spec = {
      collection: "rdkit",
      job: "max-min-picker",
      version: "1.1.0",
      variables: { inputFile: "data/raw/candidates.sdf", count: 25, outputFile: "results/picked-25.sdf" },
    };
    const launched = await call(e, `${DM}/instance`, {
      token,
      form: launchForm(spec, { as_name: "Pick 25", debug: "true", callback_url: "https://example.org/cb" }),
    });
    expect(launched.status).toBe(201);
    expect(Object.keys(launched.body).sort()).toEqual(["instance_id", "task_id"]);
    expect(launched.body.instance_id).toMatch(/^instance-[0-9a-f-]{36}$/);
    expect(launched.body.task_id).toMatch(/^task-[0-9a-f-]{36}$/);
    const { instance_id: id, task_id: taskId } = launched.body;
    const form = e.requestsTo(`${DM}/instance`).at(-1)?.form;
    expect(JSON.parse(form?.specification ?? "{}")).toEqual(spec);

    const pending = await call(e, `${DM}/instance/${id}`, { token });
    expect(pending.body).toMatchObject({
      phase: "PENDING",
      name: "Pick 25",
      owner: "sandbox-user",
      project_id: projects.kinase,
      application_id: SQUONK_SANDBOX.applicationId,
      application_type: "JOB",
      job_collection: "rdkit",
      job_job: "max-min-picker",
      job_version: "1.1.0",
      job_id: jobs.picker110,
      tasks: [{ id: taskId, purpose: "CREATE" }],
      launched: START.toISOString(),
    });
    expect(pending.body.started).toBeUndefined();
    expect(pending.body.stopped).toBeUndefined();
    expect(pending.body.id).toBeUndefined();
    const pendingTask = await call(e, `${DM}/task/${taskId}`, { token });
    expect(pendingTask.body).toMatchObject({ done: false, purpose: "INSTANCE", purpose_id: id });
    expect(pendingTask.body.states.map((s: { state: string }) => s.state)).toEqual(["PENDING"]);

    advance(1_000);
    const running = await call(e, `${DM}/instance/${id}`, { token });
    expect(running.body).toMatchObject({
      phase: "RUNNING",
      started: new Date(START.getTime() + 1_000).toISOString(),
    });
    expect(running.body.stopped).toBeUndefined();
    const runningTask = await call(e, `${DM}/task/${taskId}`, { token });
    expect(runningTask.body.states.map((s: { state: string }) => s.state)).toEqual(["PENDING", "STARTED"]);
    expect(runningTask.body.exit_code).toBeUndefined();

    advance(4_000);
    const done = await call(e, `${DM}/instance/${id}`, { token });
    expect(done.body).toMatchObject({
      phase: "COMPLETED",
      stopped: new Date(START.getTime() + 5_000).toISOString(),
      run_time: "0:00:04",
    });
    const doneTask = await call(e, `${DM}/task/${taskId}`, { token });
    expect(doneTask.body).toMatchObject({ done: true, exit_code: 0 });
    expect(doneTask.body.states.map((s: { state: string }) => s.state)).toEqual([
      "PENDING",
      "STARTED",
      "SUCCESS",
    ]);
    const messages = doneTask.body.events.map((event: { message: string }) => event.message);
    expect(messages).toContain("Picking 25 diverse molecules (MaxMin, seed 42)");
    expect(doneTask.body.events.every((event: { level: string }) => event.level === "INFO")).toBe(true);

    // The run's output is now a project file.
    const results = await call(e, `${DM}/file`, {
      token,
      query: { project_id: projects.kinase, path: "/results" },
    });
    expect(results.body.files.map((f: { file_name: string }) => f.file_name)).toEqual([
      "diverse-50.sdf",
      "picked-25.sdf",
    ]);
  });

  it("ends a failing job FAILED with exit code 1 and a bad input file FAILED too", async () => {
    fakeClock();
    const e = await start((emu) => {
      emu.pendingMs = 100;
      emu.runningMs = 200;
    });
    const { access_token: token } = await login(e);
    const failing = await call(e, `${DM}/instance`, {
      token,
      form: launchForm({ collection: "im-test", job: "nop-fail", version: "1.0.0" }),
    });
    const badInput = await call(e, `${DM}/instance`, {
      token,
      form: launchForm({
        collection: "rdkit",
        job: "max-min-picker",
        version: "1.0.0",
        variables: { inputFile: "data/raw/missing.sdf", count: 5 },
      }),
    });
    expect(failing.status).toBe(201);
    expect(badInput.status).toBe(201);
    advance(300);
    for (const launched of [failing, badInput]) {
      const instance = await call(e, `${DM}/instance/${launched.body.instance_id}`, { token });
      expect(instance.body.phase).toBe("FAILED");
      expect(typeof instance.body.stopped).toBe("string");
      expect(typeof instance.body.error_message).toBe("string");
      const task = await call(e, `${DM}/task/${launched.body.task_id}`, { token });
      expect(task.body).toMatchObject({ done: true, exit_code: 1 });
      expect(task.body.states.at(-1).state).toBe("FAILURE");
      expect(task.body.events.some((event: { level: string }) => event.level === "ERROR")).toBe(true);
    }
    const instance = await call(e, `${DM}/instance/${badInput.body.instance_id}`, { token });
    expect(instance.body.error_message).toContain("data/raw/missing.sdf");
  });

  it("refuses bad launches with a real message", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const picker = { collection: "rdkit", job: "max-min-picker", version: "1.1.0" };
    const cases: [Record<string, string>, number, string][] = [
      [launchForm(NOP, { application_id: "other.app" }), 400, "application_id"],
      [{ ...launchForm(NOP), specification: "{not json" }, 400, "not valid JSON"],
      [launchForm({ ...NOP, version: "2.0.0" }), 400, "no version '2.0.0'"],
      [launchForm({ collection: "im-test", job: "nope", version: "1.0.0" }), 400, "no job 'nope'"],
      [launchForm({ collection: "im-test", job: "nop" }), 400, "version"],
      [launchForm({ ...picker, variables: { count: 5 } }), 400, "inputFile"],
      [
        launchForm({ ...picker, variables: { inputFile: "data/raw/candidates.sdf", count: "5" } }),
        400,
        "count",
      ],
      [launchForm({ ...picker, variables: { inputFile: "data/raw/candidates.sdf", count: 0 } }), 400, ">= 1"],
      [launchForm({ ...NOP, variables: { speed: 3 } }), 400, "speed"],
      [launchForm({ collection: "im-test", job: "legacy-sleep", version: "0.9.0" }), 400, "disabled"],
      [launchForm(NOP, { as_name: "" }), 400, "as_name"],
      [launchForm(NOP, { callback_url: "ftp://x" }), 400, "callback_url"],
      [
        launchForm(NOP, { project_id: "project-00000000-0000-0000-0000-000000000000" }),
        404,
        "does not exist",
      ],
      [launchForm(NOP, { project_id: projects.reference }), 403, "not an editor"],
    ];
    for (const [form, status, message] of cases) {
      const result = await call(e, `${DM}/instance`, { token, form });
      expect(result.status, JSON.stringify(form)).toBe(status);
      expect(result.body.error, JSON.stringify(form)).toContain(message);
    }
    const list = await call(e, `${DM}/instance`, { token });
    expect(list.body.count).toBe(6);
  });

  it("dry-runs with 201 {command} and creates nothing", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const before = await call(e, `${DM}/instance`, { token });
    const dry = await call(e, `${DM}/instance/dry-run`, {
      token,
      form: launchForm({
        collection: "rdkit",
        job: "max-min-picker",
        version: "1.1.0",
        variables: { inputFile: "data/raw/candidates.sdf", count: 10 },
      }),
    });
    expect(dry.status).toBe(201);
    expect(dry.body).toEqual({
      command:
        "python -m pipelines.rdkit.max_min_picker -i 'data/raw/candidates.sdf' -c 10 -o 'diverse.sdf' --seed 42",
    });
    const bad = await call(e, `${DM}/instance/dry-run`, {
      token,
      form: launchForm({ ...NOP, version: "0" }),
    });
    expect(bad.status).toBe(400);
    const after = await call(e, `${DM}/instance`, { token });
    expect(after.body.count).toBe(before.body.count);
    const tasks = await call(e, `${DM}/task`, { token });
    expect(tasks.body.count).toBe(6);
  });

  it("lists the seeded instances as {count, instances} with ids, filtered by project_id", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const all = await call(e, `${DM}/instance`, { token });
    expect(all.body.count).toBe(6);
    const byId = Object.fromEntries(
      all.body.instances.map((i: { id: string; phase: string }) => [i.id, i.phase] as const),
    );
    expect(byId).toEqual({
      [instances.pickerCompleted]: "COMPLETED",
      [instances.nopCompleted]: "COMPLETED",
      [instances.pickerFailed]: "FAILED",
      [instances.nopFailed]: "FAILED",
      [instances.eventsRunning]: "RUNNING",
      [instances.referenceCompleted]: "COMPLETED",
    });
    const docking = await call(e, `${DM}/instance`, { token, query: { project_id: projects.docking } });
    expect(docking.body).toMatchObject({
      count: 1,
      instances: [{ id: instances.nopFailed, phase: "FAILED" }],
    });
    const one = await call(e, `${DM}/instance/${instances.pickerCompleted}`, { token });
    expect(one.body).toMatchObject({
      phase: "COMPLETED",
      launched: "2025-01-14T10:02:11.000Z",
      started: "2025-01-14T10:02:15.200Z",
      stopped: "2025-01-14T10:05:27.200Z",
      tasks: [{ id: tasks.pickerCompleted, purpose: "CREATE" }],
    });
    expect((await call(e, `${DM}/instance/instance-unknown`, { token })).status).toBe(404);
  });

  it("deletes a running instance (200 {task_id}); unknown or already deleted is 404, another owner's 403", async () => {
    fakeClock();
    const e = await start((emu) => {
      emu.pendingMs = 100;
      emu.runningMs = 60_000;
    });
    const { access_token: token } = await login(e);
    const launched = await call(e, `${DM}/instance`, {
      token,
      form: launchForm({
        collection: "im-test",
        job: "event-test",
        version: "1.0.0",
        variables: { eventCount: 20 },
      }),
    });
    const id = launched.body.instance_id;
    advance(10_000);
    expect((await call(e, `${DM}/instance/${id}`, { token })).body.phase).toBe("RUNNING");
    const deleted = await call(e, `${DM}/instance/${id}`, { token, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(Object.keys(deleted.body)).toEqual(["task_id"]);
    expect(deleted.body.task_id).toMatch(/^task-/);
    expect((await call(e, `${DM}/instance/${id}`, { token })).status).toBe(404);
    const again = await call(e, `${DM}/instance/${id}`, { token, method: "DELETE" });
    expect(again.status).toBe(404);
    expect(typeof again.body.error).toBe("string");

    const createTask = await call(e, `${DM}/task/${launched.body.task_id}`, { token });
    expect(createTask.body).toMatchObject({ done: true, exit_code: 143 });
    expect(createTask.body.states.map((s: { state: string }) => s.state)).toEqual([
      "PENDING",
      "STARTED",
      "FAILURE",
    ]);
    expect(createTask.body.events.at(-1).level).toBe("WARNING");
    const deleteTask = await call(e, `${DM}/task/${deleted.body.task_id}`, { token });
    expect(deleteTask.body).toMatchObject({ done: true, removal: true, purpose_id: id });

    const unknown = await call(e, `${DM}/instance/instance-00000000-0000-0000-0000-000000000000`, {
      token,
      method: "DELETE",
    });
    expect(unknown.status).toBe(404);
    const others = await call(e, `${DM}/instance/${instances.referenceCompleted}`, {
      token,
      method: "DELETE",
    });
    expect(others.status).toBe(403);
  });

  it("lists tasks as {count, tasks} with exclude_done and project_id", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    const all = await call(e, `${DM}/task`, { token });
    expect(all.body.count).toBe(6);
    expect(all.body.tasks[0]).toMatchObject({
      id: tasks.referenceCompleted,
      done: true,
      exit_code: 0,
      purpose: "INSTANCE",
      purpose_id: instances.referenceCompleted,
    });
    const open = await call(e, `${DM}/task`, { token, query: { exclude_done: "true" } });
    expect(open.body).toMatchObject({ count: 1, tasks: [{ id: tasks.eventsRunning, done: false }] });
    const pythonFlag = await call(e, `${DM}/task`, { token, query: { exclude_done: "True" } });
    expect(pythonFlag.body.count).toBe(1);
    const docking = await call(e, `${DM}/task`, { token, query: { project_id: projects.docking } });
    expect(docking.body).toMatchObject({ count: 1, tasks: [{ id: tasks.nopFailed, exit_code: 1 }] });
    expect((await call(e, `${DM}/task`, { token, query: { exclude_done: "maybe" } })).status).toBe(400);
    expect((await call(e, `${DM}/task/task-unknown`, { token })).status).toBe(404);
  });

  it("pages task events oldest first after event_prior_ordinal, at most event_limit", async () => {
    fakeClock();
    const e = await start((emu) => {
      emu.pendingMs = 100;
      emu.runningMs = 1_000;
    });
    const { access_token: token } = await login(e);
    const launched = await call(e, `${DM}/instance`, {
      token,
      form: launchForm({
        collection: "im-test",
        job: "event-test",
        version: "1.0.0",
        variables: { eventCount: 12 },
      }),
    });
    advance(1_100);
    const task = `${DM}/task/${launched.body.task_id}`;
    const all = await call(e, task, { token });
    const ordinals = all.body.events.map((event: { ordinal: number }) => event.ordinal);
    // Launch, image pull, container start, 12 events, finish.
    expect(ordinals).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const times = all.body.events.map((event: { time: string }) => event.time);
    expect([...times].sort()).toEqual(times);
    for (const event of all.body.events)
      expect(Object.keys(event).sort()).toEqual(["level", "message", "ordinal", "time"]);

    const first = await call(e, task, { token, query: { event_prior_ordinal: "0", event_limit: "5" } });
    expect(first.body.events.map((event: { ordinal: number }) => event.ordinal)).toEqual([1, 2, 3, 4, 5]);
    const second = await call(e, task, { token, query: { event_prior_ordinal: "5", event_limit: "5" } });
    expect(second.body.events.map((event: { ordinal: number }) => event.ordinal)).toEqual([6, 7, 8, 9, 10]);
    expect(second.body.events[0].message).toBe("Event 3 of 12");
    const last = await call(e, task, { token, query: { event_prior_ordinal: "15", event_limit: "5" } });
    expect(last.body.events.map((event: { ordinal: number }) => event.ordinal)).toEqual([16]);
    // States are not paged.
    expect(last.body.states).toHaveLength(3);
    const zero = await call(e, task, { token, query: { event_limit: "0" } });
    expect(zero.status).toBe(400);
    expect(zero.body.error).toContain("event_limit");
    expect((await call(e, task, { token, query: { event_prior_ordinal: "x" } })).status).toBe(400);

    // Without event_limit, at most 500 events come back.
    const big = await call(e, `${DM}/instance`, {
      token,
      form: launchForm({
        collection: "im-test",
        job: "event-test",
        version: "1.0.0",
        variables: { eventCount: 600 },
      }),
    });
    advance(1_100);
    const page = await call(e, `${DM}/task/${big.body.task_id}`, { token });
    expect(page.body.events).toHaveLength(500);
    expect(page.body.events.at(-1).ordinal).toBe(500);
  });

  it("shows events of a running job only up to now, growing as time passes (faked Date)", async () => {
    fakeClock();
    const e = await start((emu) => {
      emu.accessTokenLifetimeSeconds = 86_400;
    });
    const { access_token: token } = await login(e);
    const path = `${DM}/task/${tasks.eventsRunning}`;
    const before = (await call(e, path, { token })).body.events.length;
    expect(before).toBeGreaterThan(3);
    advance(30 * 60_000);
    const after = (await call(e, path, { token })).body.events.length;
    expect(after).toBeGreaterThan(before);
    advance(4 * 3_600_000);
    const done = await call(e, path, { token });
    expect(done.body).toMatchObject({ done: true, exit_code: 0 });
    expect(done.body.events).toHaveLength(404);
    const rest = await call(e, path, { token, query: { event_prior_ordinal: "400" } });
    expect(rest.body.events.map((event: { ordinal: number }) => event.ordinal)).toEqual([401, 402, 403, 404]);
  });
});

describe("Account Server", () => {
  it("serves /version without a token and refuses a DM token", async () => {
    const e = await start();
    expect((await call(e, `${AS}/version`)).status).toBe(200);
    expect((await call(e, `${AS}/product`)).status).toBe(401);
    const dmToken = (await login(e)).access_token;
    const refused = await call(e, `${AS}/product`, { token: dmToken });
    expect(refused.status).toBe(401);
    expect(typeof refused.body.error).toBe("string");
  });

  it("lists products and units under their own key by default, and under asListKey when set", async () => {
    const e = await start();
    const { access_token: token } = await login(e, SQUONK_SANDBOX.asClientId);
    const productsList = await call(e, `${AS}/product`, { token });
    expect(productsList.status).toBe(200);
    expect(productsList.body.count).toBe(4);
    expect(productsList.body.products[0]).toEqual({
      product_id: products.kinaseTier,
      name: "Kinase fragment screen",
      type: "DATA_MANAGER_PROJECT_TIER_SUBSCRIPTION",
      flavour: "GOLD",
      unit_id: units.medchem,
      organisation_id: SQUONK_SEED.organisationId,
      created: "2024-11-04T09:21:36.000Z",
      coins: { allowance: 1000, limit: 1500, used: 412.35 },
    });
    const unitsList = await call(e, `${AS}/unit`, { token });
    expect(unitsList.body.count).toBe(2);
    expect(unitsList.body.units[0]).toMatchObject({
      unit_id: units.medchem,
      name: "Medicinal Chemistry",
      organisation_id: SQUONK_SEED.organisationId,
      billing_day: 3,
    });

    e.asListKey = "items";
    const items = await call(e, `${AS}/unit`, { token });
    expect(Object.keys(items.body).sort()).toEqual(["count", "items"]);
    expect(items.body.items).toHaveLength(2);
    e.asListKey = "data";
    expect((await call(e, `${AS}/product`, { token })).body.data).toHaveLength(4);
    e.asListKey = null;
    const bare = await call(e, `${AS}/product`, { token });
    expect(Array.isArray(bare.body)).toBe(true);
    expect(bare.body).toHaveLength(4);
  });

  it("gets one product or unit, 404 for unknown ids", async () => {
    const e = await start();
    const { access_token: token } = await login(e, SQUONK_SANDBOX.asClientId);
    expect((await call(e, `${AS}/product/${products.storage}`, { token })).body).toMatchObject({
      type: "DATA_MANAGER_STORAGE_SUBSCRIPTION",
      unit_id: units.medchem,
    });
    expect((await call(e, `${AS}/unit/${units.compchem}`, { token })).body).toMatchObject({
      billing_day: 17,
    });
    const missing = await call(e, `${AS}/product/product-11111111-1111-1111-1111-111111111111`, { token });
    expect(missing.status).toBe(404);
    expect(typeof missing.body.error).toBe("string");
    expect((await call(e, `${AS}/unit/unit-x`, { token })).status).toBe(404);
  });

  it("takes JSON bodies and refuses forms with 415", async () => {
    const e = await start();
    const { access_token: token } = await login(e, SQUONK_SANDBOX.asClientId);
    const path = `${AS}/product/unit/${units.compchem}`;
    const created = await call(e, path, {
      token,
      json: {
        type: "DATA_MANAGER_PROJECT_TIER_SUBSCRIPTION",
        name: "Scratch",
        flavour: "BRONZE",
        allowance: 10,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^product-[0-9a-f-]{36}$/);
    const form = await call(e, path, {
      token,
      form: { type: "DATA_MANAGER_STORAGE_SUBSCRIPTION", name: "x" },
    });
    expect(form.status).toBe(415);
    const invalid = await call(e, path, { token, json: { type: "GOLD_BARS", name: "x" } });
    expect(invalid.status).toBe(400);
    expect((await call(e, path, { token })).body.count).toBe(2);
  });
});

describe("fault switches and conventions", () => {
  it("answers failNext with the platform's {error} body and then recovers", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    e.failNext(1, 503, { retryAfterSeconds: 2 });
    const failed = await call(e, `${DM}/project`, { token });
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ error: "Service Unavailable" });
    expect(failed.headers.get("retry-after")).toBe("2");
    expect((await call(e, `${DM}/project`, { token })).status).toBe(200);

    e.failNext(1, 502, { methods: ["POST"] });
    expect((await call(e, `${DM}/project`, { token })).status).toBe(200);
    const post = await call(e, `${DM}/instance`, { token, form: launchForm(NOP) });
    expect(post).toMatchObject({ status: 502, body: { error: "Bad Gateway" } });
    expect(e.requestsTo(`${DM}/instance`).at(-1)?.faulted).toBe(true);
  });

  it("garbles the next answer with a proxy's HTML page", async () => {
    const e = await start();
    const { access_token: token } = await login(e);
    e.garbleNext(1);
    const response = await fetch(`${e.url}${DM}/project`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html");
    expect(await response.text()).toContain("<html>");
    e.failNext(3, 500);
    e.clearFaults();
    expect((await call(e, `${DM}/project`, { token })).status).toBe(200);
  });

  it("points sandboxEnv() at its three prefixes with the sandbox credentials", async () => {
    const e = await start();
    expect(e.sandboxEnv()).toEqual({
      SQUONK2_DMAPI_URL: `${e.url}/data-manager-api`,
      SQUONK2_ASAPI_URL: `${e.url}/account-server-api`,
      SQUONK2_KEYCLOAK_URL: `${e.url}/auth`,
      SQUONK2_KEYCLOAK_REALM: SQUONK_SANDBOX.realm,
      SQUONK2_KEYCLOAK_DM_CLIENT_ID: SQUONK_SANDBOX.dmClientId,
      SQUONK2_KEYCLOAK_AS_CLIENT_ID: SQUONK_SANDBOX.asClientId,
      SQUONK2_USERNAME: SQUONK_SANDBOX.username,
      SQUONK2_PASSWORD: "sq+uo&nk%2=/ sandbox",
    });
  });

  it("records every access and refresh token in issuedTokens()", async () => {
    const e = await start();
    const dm = await login(e);
    const as = await login(e, SQUONK_SANDBOX.asClientId);
    const renewed = await tokenRequest(e, {
      client_id: SQUONK_SANDBOX.asClientId,
      grant_type: "refresh_token",
      refresh_token: as.refresh_token,
    });
    expect(e.issuedTokens()).toEqual([
      dm.access_token,
      dm.refresh_token,
      as.access_token,
      as.refresh_token,
      renewed.body.access_token,
      renewed.body.refresh_token,
    ]);
  });

  it("keeps the seed deterministic across emulators", async () => {
    const a = new SquonkEmulator();
    const b = await start();
    await a.start();
    try {
      const tokenA = (await login(a)).access_token;
      const tokenB = (await login(b)).access_token;
      const filesA = await call(a, `${DM}/file`, {
        token: tokenA,
        query: { project_id: projects.kinase, path: "/data/raw" },
      });
      const filesB = await call(b, `${DM}/file`, {
        token: tokenB,
        query: { project_id: projects.kinase, path: "/data/raw" },
      });
      expect(filesA.body).toEqual(filesB.body);
      const jobsA = await call(a, `${DM}/job`, { token: tokenA });
      const jobsB = await call(b, `${DM}/job`, { token: tokenB });
      expect(jobsA.body).toEqual(jobsB.body);
    } finally {
      await a.stop();
    }
  });
});
