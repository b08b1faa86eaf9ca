import { generateKeyPairSync, sign, verify } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OVC_CRASH_NAME, OVC_SANDBOX, OvcEmulator } from "../src/platforms/ovc/emulator/index.js";

let ovc: OvcEmulator;

beforeEach(async () => {
  ovc = new OvcEmulator();
  await ovc.start();
});

afterEach(async () => {
  vi.useRealTimers();
  await ovc.stop();
});

interface Answer {
  status: number;
  type: string | null;
  text: string;
  /** The body parsed as JSON when it is JSON, else undefined. */
  json: unknown;
}

interface CallOptions {
  query?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  multipart?: Record<string, string>;
  headers?: Record<string, string>;
  method?: string;
  jwt?: string;
  authkey?: string;
}

/** One request the way the client makes it: POST, `Accept: application/json` unless told otherwise. */
async function call(path: string, options: CallOptions = {}): Promise<Answer> {
  const url = new URL(path, ovc.url);
  for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
  if (options.authkey !== undefined) url.searchParams.set("authkey", options.authkey);
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.jwt !== undefined) headers.authorization = `bearer ${options.jwt}`;
  let body: string | FormData | undefined;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.form).toString();
  } else if (options.multipart !== undefined) {
    const data = new FormData();
    for (const [key, value] of Object.entries(options.multipart)) data.set(key, value);
    body = data;
  }
  const response = await fetch(url, { method: options.method ?? "POST", headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get("content-type"), text, json };
}

const api = (actorMethod: string) => `/restmachine/cloudapi/${actorMethod}`;

/** A JWT from the emulator's ItsYou.online for a client (the admin's by default). */
async function jwtFor(
  clientId: string = OVC_SANDBOX.iyoClientId,
  clientSecret: string = OVC_SANDBOX.iyoClientSecret,
  extra: Record<string, string> = {},
): Promise<string> {
  const answer = await call("/v1/oauth/access_token", {
    query: {
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
      response_type: "id_token",
      ...extra,
    },
    headers: { accept: "" },
  });
  expect(answer.status).toBe(200);
  return answer.text;
}

const auditorJwt = () => jwtFor(OVC_SANDBOX.readOnlyIyoClientId, OVC_SANDBOX.readOnlyIyoClientSecret);

async function sessionKey(
  username: string = OVC_SANDBOX.username,
  password: string = OVC_SANDBOX.password,
): Promise<string> {
  const answer = await call(api("users/authenticate"), { json: { username, password } });
  expect(answer.status).toBe(200);
  return answer.json as string;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
}

function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString("utf8"));
}

/** Waits for an `_async` task to end by moving the faked clock past its duration. */
function startClock(): number {
  vi.useFakeTimers({ toFake: ["Date"] });
  const now = Date.parse("2025-03-01T09:00:00Z");
  vi.setSystemTime(now);
  return now;
}

const FORBIDDEN_AUDITOR = `User: "auditor@itsyouonline" isn't allowed to execute this action. Not enough permissions`;

describe("ovc emulator transport (PortalServer / PortalRest)", () => {
  it("serves the noauth locations methods to a guest as raw JSON", async () => {
    const list = await call(api("locations/list"));
    expect(list.status).toBe(200);
    expect(list.type).toBe("application/json");
    expect(list.json).toEqual([
      { id: 1, gid: 212, name: "be-gen-1", locationCode: "be-gen-1", flag: "be" },
      { id: 2, gid: 711, name: "nl-ams-1", locationCode: "nl-ams-1", flag: "nl" },
    ]);
    const url = await call(api("locations/getUrl"));
    expect(url.text).toBe(JSON.stringify(ovc.url));
  });

  it("answers any verb but POST, and unknown methods, with 404 Could not find method", async () => {
    const get = await call(api("locations/list"), { method: "GET" });
    expect(get.status).toBe(404);
    expect(get.type).toBe("application/json");
    expect(get.json).toBe("Could not find method, path was cloudapi/locations/list");
    const put = await call(api("cloudspaces/list"), { method: "PUT", jwt: await jwtFor() });
    expect(put.status).toBe(404);
    const unknown = await call(api("cloudspaces/explode"), { jwt: await jwtFor() });
    expect(unknown).toMatchObject({
      status: 404,
      json: "Could not find method, path was cloudapi/cloudspaces/explode",
    });
  });

  it("refuses a guest on an auth method with 401, a raw text body and no content type", async () => {
    const answer = await call(api("cloudspaces/list"));
    expect(answer.status).toBe(401);
    expect(answer.type).toBeNull();
    expect(answer.text).toBe(
      "NO VALID AUTHORIZATION KEY GIVEN, use get param called key (check key probably auth error).",
    );
  });

  it("merges query and JSON, form or multipart body parameters, the body winning", async () => {
    const jwt = await jwtFor();
    const json = await call(api("cloudspaces/get"), {
      jwt,
      query: { cloudspaceId: "999" },
      json: { cloudspaceId: 101 },
    });
    expect(json.json).toMatchObject({ id: 101, name: "production" });
    const form = await call(api("machines/get"), { jwt, form: { machineId: "1002" } });
    expect(form.json).toMatchObject({ id: 1002, name: "web-02" });
    const multipart = await call(api("machines/get"), { jwt, multipart: { machineId: "1004" } });
    expect(multipart.json).toMatchObject({ id: 1004, name: "win-build" });
    const query = await call(api("machines/get"), { jwt, query: { machineId: "1001" } });
    expect(query.json).toMatchObject({ id: 1001, name: "web-01" });
  });

  it("validates declared parameters: missing, wrong type, empty means absent, extras ignored", async () => {
    const jwt = await jwtFor();
    const missing = await call(api("accounts/get"), { jwt });
    expect(missing).toMatchObject({ status: 400, json: "Param with name:accountId is missing." });
    const empty = await call(api("accounts/get"), { jwt, query: { accountId: "" } });
    expect(empty.json).toBe("Param with name:accountId is missing.");
    const badInt = await call(api("accounts/get"), { jwt, query: { accountId: "one" } });
    expect(badInt).toMatchObject({
      status: 400,
      json: "Value of param accountId not correct needs to be of type int",
    });
    const badBool = await call(api("cloudspaces/list"), { jwt, query: { includedeleted: "maybe" } });
    expect(badBool.json).toBe("Value of param includedeleted not correct needs to be of type bool");
    const badList = await call(api("cloudspaces/create"), {
      jwt,
      query: { accountId: "1", location: "be-gen-1", name: "qa", access: "x", allowedVMSizes: "1,big" },
    });
    expect(badList.json).toBe("Value of param allowedVMSizes not correct needs to be of type list(int)");
    // "" falls back to the default (false): the DELETED cloudspace 104 stays hidden.
    const defaulted = await call(api("cloudspaces/list"), { jwt, query: { includedeleted: "", foo: "bar" } });
    expect((defaulted.json as { id: number }[]).map((c) => c.id)).not.toContain(104);
    const coerced = await call(api("cloudspaces/list"), { jwt, query: { includedeleted: "True" } });
    expect((coerced.json as { id: number }[]).map((c) => c.id)).toContain(104);
  });

  it("applies the name validator to cloudspace and machine names", async () => {
    const jwt = await jwtFor();
    for (const name of ["x", "web<01>", "it's"]) {
      const answer = await call(api("cloudspaces/create"), {
        jwt,
        json: { accountId: 1, location: "be-gen-1", name, access: "sandbox-admin@itsyouonline" },
      });
      expect(answer).toMatchObject({ status: 400, json: "Value of param name is not a valid name" });
    }
    const machine = await call(api("machines/create"), {
      jwt,
      json: { cloudspaceId: 101, name: 'a"b', description: "", imageId: 1, disksize: 20, sizeId: 2 },
    });
    expect(machine.json).toBe("Value of param name is not a valid name");
  });

  it("chooses the content type like reformatOutput: Accept, else the request's own type", async () => {
    const jwt = await jwtFor();
    // A form post without Accept gets Python str(result): garbage to a JSON client.
    const form = await call(api("cloudspaces/get"), {
      jwt,
      form: { cloudspaceId: "101" },
      headers: { accept: "" },
    });
    expect(form.type).toBe("text/plain");
    expect(form.text).toMatch(
      /^\{'id': 101, 'accountId': 1, 'acl': \[\], 'description': 'production environment'/,
    );
    expect(form.json).toBeUndefined();
    const key = await call(api("users/authenticate"), {
      form: { username: OVC_SANDBOX.username, password: OVC_SANDBOX.password },
      headers: { accept: "" },
    });
    expect(key.text).toMatch(/^[0-9a-f]{32}$/);
    const started = await call(api("machines/start"), {
      jwt,
      form: { machineId: "1001" },
      headers: { accept: "" },
    });
    expect(started.text).toBe("True");
    const nothing = await call(api("machines/list"), {
      jwt,
      query: { cloudspaceId: "106" },
      headers: { accept: "" },
    });
    expect(nothing).toMatchObject({ type: "text/plain", text: "[]" });
    // A JSON body without Accept, or Accept */*, gets JSON.
    const jsonBody = await call(api("machines/start"), {
      jwt,
      json: { machineId: 1001 },
      headers: { accept: "" },
    });
    expect(jsonBody).toMatchObject({ type: "application/json", text: "true" });
    const anything = await call(api("machines/start"), {
      jwt,
      form: { machineId: "1001" },
      headers: { accept: "*/*" },
    });
    expect(anything).toMatchObject({ type: "application/json", text: "true" });
    const plain = await call(api("machines/start"), {
      jwt,
      query: { machineId: "1001" },
      headers: { accept: "text/plain" },
    });
    expect(plain).toMatchObject({ type: "text/plain", text: "True" });
    const wrapped = await call(api("cloudspaces/create"), {
      jwt,
      json: { accountId: 2, location: "nl-ams-1", name: "wrapped", access: "sandbox-admin", format: "json" },
    });
    expect(wrapped.json).toEqual({ result: 107 });
  });
});

describe("ovc emulator legacy login (users/authenticate + authkey)", () => {
  it("hands out a session key as a JSON string that works as authkey in the query or the body", async () => {
    const answer = await call(api("users/authenticate"), {
      json: { username: OVC_SANDBOX.username, password: OVC_SANDBOX.password },
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/^"[0-9a-f]{32}"$/);
    const key = answer.json as string;
    expect(ovc.logins).toBe(1);
    expect(ovc.issuedTokens()).toContain(key);
    const viaQuery = await call(api("accounts/list"), { authkey: key });
    expect((viaQuery.json as { id: number }[]).map((a) => a.id)).toEqual([1, 2, 3]);
    const viaBody = await call("/restmachine/system/usermanager/whoami", { json: { authkey: key } });
    expect(viaBody.json).toMatchObject({ name: "sandbox-admin", groups: ["user", "admin"] });
  });

  it("refuses a wrong password with 401 Unauthorized", async () => {
    const answer = await call(api("users/authenticate"), {
      form: { username: OVC_SANDBOX.username, password: "wrong" },
    });
    expect(answer).toMatchObject({ status: 401, type: "application/json", json: "Unauthorized" });
    expect(ovc.logins).toBe(0);
  });

  it("answers an unknown key with 419, even on a noauth method", async () => {
    for (const path of [api("accounts/list"), api("locations/list")]) {
      const answer = await call(path, { authkey: "0123456789abcdef0123456789abcdef" });
      expect(answer).toMatchObject({
        status: 419,
        type: "application/json",
        json: "key not valid or expired",
      });
    }
  });

  it("expires session keys with expireCredentials", async () => {
    const key = await sessionKey();
    expect((await call(api("accounts/list"), { authkey: key })).status).toBe(200);
    ovc.expireCredentials();
    expect(await call(api("accounts/list"), { authkey: key })).toMatchObject({
      status: 419,
      json: "key not valid or expired",
    });
  });

  it("expires session keys after sessionLifetimeSeconds by the clock", async () => {
    const now = startClock();
    ovc.sessionLifetimeSeconds = 600;
    const key = await sessionKey();
    vi.setSystemTime(now + 599_000);
    expect((await call(api("accounts/list"), { authkey: key })).status).toBe(200);
    vi.setSystemTime(now + 600_000);
    expect((await call(api("accounts/list"), { authkey: key })).status).toBe(419);
  });
});

describe("ovc emulator ItsYou.online (/v1/oauth)", () => {
  it("issues an ES384 JWT with the documented claims, signed by the published key", async () => {
    const now = startClock();
    const answer = await call("/v1/oauth/access_token", {
      query: {
        grant_type: "client_credentials",
        client_id: OVC_SANDBOX.iyoClientId,
        client_secret: OVC_SANDBOX.iyoClientSecret,
        response_type: "id_token",
      },
      headers: { accept: "" },
    });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe("application/jwt");
    const jwt = answer.text;
    expect(headerOf(jwt)).toEqual({ alg: "ES384", typ: "JWT" });
    expect(claimsOf(jwt)).toEqual({
      username: "sandbox-admin",
      scope: [],
      iss: "itsyouonline",
      aud: [OVC_SANDBOX.iyoClientId],
      exp: now / 1000 + 86_400,
    });
    const [head, body, signature] = jwt.split(".") as [string, string, string];
    const valid = verify(
      "sha384",
      Buffer.from(`${head}.${body}`),
      { key: ovc.publicKeyPem, dsaEncoding: "ieee-p1363" },
      Buffer.from(signature, "base64url"),
    );
    expect(valid).toBe(true);
    expect(ovc.logins).toBe(1);
    expect(ovc.issuedTokens()).toEqual([jwt]);
  });

  it("takes form parameters and answers {access_token} to Accept: application/json", async () => {
    const answer = await call("/v1/oauth/access_token", {
      form: {
        grant_type: "client_credentials",
        client_id: OVC_SANDBOX.iyoClientId,
        client_secret: OVC_SANDBOX.iyoClientSecret,
        response_type: "id_token",
        scope: "user:memberof:acme,offline_access",
        aud: "ovc-portal",
      },
    });
    expect(answer.type).toBe("application/json");
    const jwt = (answer.json as { access_token: string }).access_token;
    expect(claimsOf(jwt)).toMatchObject({
      scope: ["user:memberof:acme", "offline_access"],
      aud: [OVC_SANDBOX.iyoClientId, "ovc-portal"],
      refresh_token: expect.any(String),
    });
  });

  it("lets validity shorten the JWT's life but never lengthen it", async () => {
    const now = startClock();
    const short = await jwtFor(undefined, undefined, { validity: "3600" });
    expect(claimsOf(short).exp).toBe(now / 1000 + 3600);
    const long = await jwtFor(undefined, undefined, { validity: "999999" });
    expect(claimsOf(long).exp).toBe(now / 1000 + 86_400);
    ovc.jwtLifetimeSeconds = 120;
    expect(claimsOf(await jwtFor()).exp).toBe(now / 1000 + 120);
  });

  it("refuses a wrong client with 401 and a wrong grant type with 400", async () => {
    const wrong = await call("/v1/oauth/access_token", {
      form: {
        grant_type: "client_credentials",
        client_id: OVC_SANDBOX.iyoClientId,
        client_secret: "nope",
        response_type: "id_token",
      },
    });
    expect(wrong).toMatchObject({ status: 401, text: "invalid client_id or client_secret\n" });
    expect(wrong.type).toContain("text/plain");
    const grant = await call("/v1/oauth/access_token", {
      form: { grant_type: "password", client_id: OVC_SANDBOX.iyoClientId, client_secret: "x" },
    });
    expect(grant.status).toBe(400);
    expect((await call("/v1/oauth/access_token", { method: "GET" })).status).toBe(405);
    expect(ovc.logins).toBe(0);
  });

  it("answers an opaque OAuth token without response_type=id_token, which OpenvCloud refuses", async () => {
    const answer = await call("/v1/oauth/access_token", {
      form: {
        grant_type: "client_credentials",
        client_id: OVC_SANDBOX.iyoClientId,
        client_secret: OVC_SANDBOX.iyoClientSecret,
      },
    });
    expect(answer.json).toMatchObject({
      token_type: "bearer",
      expires_in: 86_400,
      info: { username: "sandbox-admin" },
    });
    const token = (answer.json as { access_token: string }).access_token;
    const refused = await call(api("accounts/list"), { jwt: token });
    expect(refused.status).toBe(401);
    expect(refused.type).toBe("text/html");
  });

  it("refreshes an offline_access JWT by GET or POST: same claims, later expiry", async () => {
    const now = startClock();
    const jwt = await jwtFor(undefined, undefined, { scope: "offline_access", validity: "600" });
    vi.setSystemTime(now + 300_000);
    const refreshed = await call("/v1/oauth/jwt/refresh", {
      method: "GET",
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.type).toBe("application/jwt");
    const { exp, ...claims } = claimsOf(refreshed.text);
    const { exp: oldExp, ...oldClaims } = claimsOf(jwt);
    expect(claims).toEqual(oldClaims);
    expect(exp).toBe(now / 1000 + 300 + 86_400);
    expect(oldExp).toBe(now / 1000 + 600);
    const shorter = await call("/v1/oauth/jwt/refresh", {
      query: { validity: "60" },
      headers: { authorization: `bearer ${refreshed.text}` },
    });
    expect(claimsOf(shorter.text).exp).toBe(now / 1000 + 300 + 60);
    expect(ovc.refreshes).toBe(2);
    expect(ovc.logins).toBe(1);
    const whoami = await call("/restmachine/system/usermanager/whoami", { jwt: shorter.text });
    expect(whoami.json).toMatchObject({ name: "sandbox-admin@itsyouonline" });
  });

  it("refreshes an expired JWT, even one expired by expireCredentials", async () => {
    const now = startClock();
    const jwt = await jwtFor(undefined, undefined, { scope: "offline_access", validity: "60" });
    vi.setSystemTime(now + 120_000);
    expect((await call(api("accounts/list"), { jwt })).status).toBe(401);
    const refreshed = await call("/v1/oauth/jwt/refresh", { headers: { authorization: `bearer ${jwt}` } });
    expect(refreshed.status).toBe(200);
    ovc.expireCredentials();
    expect((await call(api("accounts/list"), { jwt: refreshed.text })).status).toBe(401);
    const again = await call("/v1/oauth/jwt/refresh", {
      headers: { authorization: `bearer ${refreshed.text}` },
    });
    expect((await call(api("accounts/list"), { jwt: again.text })).status).toBe(200);
  });

  it("refuses a refresh without a refresh token, after revocation, when forged or idle 30 days", async () => {
    const now = startClock();
    const plain = await jwtFor();
    const noClaim = await call("/v1/oauth/jwt/refresh", { headers: { authorization: `bearer ${plain}` } });
    expect(noClaim).toMatchObject({ status: 401, text: "Unauthorized\n" });
    expect((await call("/v1/oauth/jwt/refresh")).status).toBe(401);

    const offline = await jwtFor(undefined, undefined, { scope: "offline_access" });
    const [head, body] = offline.split(".") as [string, string];
    const foreign = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
    const forged = `${head}.${body}.${sign("sha384", Buffer.from(`${head}.${body}`), { key: foreign, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    expect(
      (await call("/v1/oauth/jwt/refresh", { headers: { authorization: `bearer ${forged}` } })).status,
    ).toBe(401);

    vi.setSystemTime(now + 31 * 86_400_000);
    expect(
      (await call("/v1/oauth/jwt/refresh", { headers: { authorization: `bearer ${offline}` } })).status,
    ).toBe(401);

    const fresh = await jwtFor(undefined, undefined, { scope: "offline_access" });
    expect(
      (await call("/v1/oauth/jwt/refresh", { headers: { authorization: `bearer ${fresh}` } })).status,
    ).toBe(200);
    ovc.revokeRefreshTokens();
    expect(
      (await call("/v1/oauth/jwt/refresh", { headers: { authorization: `bearer ${fresh}` } })).status,
    ).toBe(401);
  });
});

describe("ovc emulator JWT auth on the Cloud API", () => {
  it("takes Authorization: bearer in any case and makes the user <username>@itsyouonline", async () => {
    const jwt = await jwtFor();
    for (const scheme of ["bearer", "Bearer", "BEARER"]) {
      const answer = await call("/restmachine/system/usermanager/whoami", {
        headers: { authorization: `${scheme} ${jwt}` },
      });
      expect(answer.json).toEqual({
        name: "sandbox-admin@itsyouonline",
        emails: ["cloud-ops@acme.example.com"],
        groups: ["user", "admin"],
      });
    }
  });

  it("refuses a tampered, unsigned or foreign-key JWT with a 401 HTML access denied page", async () => {
    const jwt = await jwtFor();
    const [head, body, signature] = jwt.split(".") as [string, string, string];
    const tamperedBody = Buffer.from(JSON.stringify({ ...claimsOf(jwt), username: "root" })).toString(
      "base64url",
    );
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const foreign = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
    const foreignSig = sign("sha384", Buffer.from(`${head}.${body}`), {
      key: foreign,
      dsaEncoding: "ieee-p1363",
    });
    for (const bad of [
      `${head}.${tamperedBody}.${signature}`,
      `${none}.${body}.`,
      `${head}.${body}.${foreignSig.toString("base64url")}`,
      "not-a-jwt",
    ]) {
      const answer = await call(api("cloudspaces/list"), { jwt: bad });
      expect(answer.status).toBe(401);
      expect(answer.type).toBe("text/html");
      expect(answer.text).toContain("Access Denied");
    }
  });

  it("refuses a JWT past its exp by the clock, and every JWT after expireCredentials", async () => {
    const now = startClock();
    const jwt = await jwtFor(undefined, undefined, { validity: "60" });
    expect((await call(api("accounts/list"), { jwt })).status).toBe(200);
    vi.setSystemTime(now + 60_000);
    expect((await call(api("accounts/list"), { jwt })).status).toBe(401);
    vi.setSystemTime(now);
    const second = await jwtFor();
    ovc.expireCredentials();
    const refused = await call(api("accounts/list"), { jwt: second });
    expect(refused).toMatchObject({ status: 401, type: "text/html" });
    expect((await call(api("accounts/list"), { jwt: await jwtFor() })).status).toBe(200);
  });

  it("mints a fixed JWT with a chosen lifetime without counting a login", async () => {
    const now = startClock();
    const jwt = ovc.mintJwt({ lifetimeSeconds: 30 });
    expect(claimsOf(jwt)).toMatchObject({ username: "sandbox-admin", exp: now / 1000 + 30 });
    expect(claimsOf(jwt).refresh_token).toBeUndefined();
    expect(claimsOf(ovc.mintJwt({ offline: true })).refresh_token).toEqual(expect.any(String));
    expect((await call(api("accounts/list"), { jwt })).status).toBe(200);
    vi.setSystemTime(now + 30_000);
    expect((await call(api("accounts/list"), { jwt })).status).toBe(401);
    expect(ovc.logins).toBe(0);
    expect(ovc.issuedTokens()).toContain(jwt);
  });
});

describe("ovc emulator accounts and ACL", () => {
  it("lists the accounts a user can read, CONFIRMED or DISABLED only", async () => {
    const admin = await call(api("accounts/list"), { jwt: await jwtFor() });
    const rows = admin.json as Record<string, unknown>[];
    expect(rows.map((a) => [a.id, a.name])).toEqual([
      [1, "Acme Corp"],
      [2, "Globex Research"],
      [3, "Initech Legacy"],
    ]);
    expect(Object.keys(rows[0] ?? {})).toEqual(["id", "name", "acl", "creationTime", "updateTime"]);
    const auditor = await call(api("accounts/list"), { jwt: await auditorJwt() });
    expect((auditor.json as { id: number }[]).map((a) => a.id)).toEqual([1, 2]);
  });

  it("gets the full account dump; 404 for a deleted or unknown account, 403 without rights", async () => {
    const jwt = await jwtFor();
    const account = await call(api("accounts/get"), { jwt, json: { accountId: 2 } });
    expect(account.json).toMatchObject({
      id: 2,
      name: "Globex Research",
      status: "CONFIRMED",
      DCLocation: "nl-ams-1",
      company: "Globex Research",
      resourceLimits: { CU_M: 256, CU_D: 4096, CU_C: 64, CU_NP: 2048, CU_I: 4 },
      sendAccessEmails: true,
    });
    expect((account.json as { acl: unknown[] }).acl[0]).toEqual({
      userGroupId: "sandbox-admin@itsyouonline",
      type: "U",
      right: "ARCXDU",
      status: "CONFIRMED",
      explicit: true,
      canBeDeleted: false,
    });
    expect(await call(api("accounts/get"), { jwt, json: { accountId: 4 } })).toMatchObject({
      status: 404,
      json: "Could not find an accessible resource.",
    });
    expect(await call(api("accounts/get"), { jwt, json: { accountId: 99 } })).toMatchObject({
      status: 404,
      json: "Could not find 99 of type account",
    });
    const denied = await call(api("accounts/get"), { jwt: await auditorJwt(), json: { accountId: 3 } });
    expect(denied).toMatchObject({ status: 403, json: FORBIDDEN_AUDITOR });
  });

  it("gives the read-only user 403 on every write, by JWT or session key", async () => {
    const jwt = await auditorJwt();
    const writes: [string, Record<string, unknown>][] = [
      ["cloudspaces/create", { accountId: 1, location: "be-gen-1", name: "nope", access: "auditor" }],
      ["cloudspaces/delete", { cloudspaceId: 101 }],
      [
        "machines/create",
        { cloudspaceId: 101, name: "nope", description: "", imageId: 1, disksize: 20, sizeId: 2 },
      ],
      ["machines/stop", { machineId: 1001 }],
      ["machines/delete", { machineId: 1001 }],
      [
        "images/create",
        { name: "x", url: "https://e.x/a.qcow2", gid: 212, boottype: "bios", imagetype: "Linux" },
      ],
    ];
    for (const [method, json] of writes) {
      expect(await call(api(method), { jwt, json })).toMatchObject({ status: 403, json: FORBIDDEN_AUDITOR });
    }
    // Reads still work.
    expect((await call(api("machines/get"), { jwt, json: { machineId: 1001 } })).status).toBe(200);
    const key = await sessionKey(OVC_SANDBOX.readOnlyUsername, OVC_SANDBOX.readOnlyPassword);
    const bySession = await call(api("machines/reboot"), { authkey: key, json: { machineId: 1001 } });
    expect(bySession).toMatchObject({
      status: 403,
      json: `User: "auditor" isn't allowed to execute this action. Not enough permissions`,
    });
    expect(ovc.machine(1001)?.status).toBe("RUNNING");
  });
});

describe("ovc emulator cloudspaces", () => {
  it("creates a cloudspace (an int id) whose status moves VIRTUAL -> DEPLOYING -> DEPLOYED", async () => {
    const now = startClock();
    ovc.cloudspaceVirtualMs = 1000;
    ovc.cloudspaceDeployMs = 4000;
    const jwt = await jwtFor();
    const created = await call(api("cloudspaces/create"), {
      jwt,
      query: {
        accountId: "1",
        location: "nl-ams-1",
        name: "analytics",
        access: "sandbox-admin@itsyouonline",
        maxMemoryCapacity: "64.5",
        maxNumPublicIP: "2",
        allowedVMSizes: "[2, 3]",
        type: "vgw",
        privatenetwork: "10.30.0.0/24",
      },
    });
    expect(created).toMatchObject({ status: 200, text: "107" });
    const get = () => call(api("cloudspaces/get"), { jwt, json: { cloudspaceId: 107 } });
    const first = await get();
    expect(first.json).toMatchObject({
      id: 107,
      accountId: 1,
      name: "analytics",
      type: "vgw",
      location: "nl-ams-1",
      gid: 711,
      status: "VIRTUAL",
      publicipaddress: "91.198.174.22",
      resourceLimits: { CU_M: 64.5, CU_D: -1, CU_C: -1, CU_NP: -1, CU_I: 2 },
      acl: [
        {
          userGroupId: "sandbox-admin@itsyouonline",
          type: "U",
          right: "CXDRAU",
          status: "CONFIRMED",
          canBeDeleted: true,
        },
      ],
    });
    expect((first.json as { secret: string }).secret).toMatch(/^[0-9a-f]{32}$/);
    vi.setSystemTime(now + 1000);
    expect(((await get()).json as { status: string }).status).toBe("DEPLOYING");
    vi.setSystemTime(now + 5000);
    expect(((await get()).json as { status: string }).status).toBe("DEPLOYED");
    // allowedVMSizes restricts the sizes of the new cloudspace.
    const sizes = await call(api("sizes/list"), { jwt, json: { cloudspaceId: 107 } });
    expect((sizes.json as { id: number }[]).map((s) => s.id)).toEqual([2, 3]);
  });

  it("refuses bad creations: location, CIDR, type, public IPs, duplicate name, deleted account", async () => {
    const jwt = await jwtFor();
    const base = { accountId: 1, location: "be-gen-1", name: "qa", access: "sandbox-admin" };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ location: "us-nyc-1" }, 400, "Location us-nyc-1 does not exists"],
      [
        { privatenetwork: "8.8.8.0/24" },
        400,
        "Invalid private network 8.8.8.0/24, expected a private range like 192.168.103.0/24",
      ],
      [
        { privatenetwork: "192.168.1.0/33" },
        400,
        "Invalid private network 192.168.1.0/33, expected a private range like 192.168.103.0/24",
      ],
      [{ type: "openvswitch" }, 400, "Invalid type openvswitch, type should be one of routeros, vgw"],
      [{ maxNumPublicIP: 0 }, 400, "Cloudspace must have reserved at least 1 Public IP"],
      [{ name: "production" }, 409, "Cloud space with name production already exists."],
      [{ accountId: 4 }, 404, "Could not find an accessible resource."],
      [{ accountId: 77 }, 404, "Could not find 77 of type account"],
    ];
    for (const [change, status, message] of cases) {
      const answer = await call(api("cloudspaces/create"), { jwt, json: { ...base, ...change } });
      expect({ status: answer.status, json: answer.json }).toEqual({ status, json: message });
    }
    // The same name in another account is fine.
    expect(
      (await call(api("cloudspaces/create"), { jwt, json: { ...base, accountId: 2, name: "production" } }))
        .status,
    ).toBe(200);
  });

  it("lists visible cloudspaces: deleted only with includedeleted, destroyed never", async () => {
    const jwt = await jwtFor();
    const list = await call(api("cloudspaces/list"), { jwt });
    const rows = list.json as Record<string, unknown>[];
    expect(rows.map((c) => [c.id, c.name, c.status])).toEqual([
      [101, "production", "DEPLOYED"],
      [102, "staging", "DEPLOYED"],
      [103, "ml-lab", "DEPLOYED"],
      [106, "empty-dev", "DEPLOYED"],
    ]);
    expect(rows[0]).toMatchObject({
      descr: "production environment",
      accountId: 1,
      accountName: "Acme Corp",
      type: "routeros",
      publicipaddress: "185.15.201.10",
      externalnetworkip: "185.15.201.10/26",
      location: "be-gen-1",
      gid: 212,
      accountAcl: { userGroupId: "sandbox-admin@itsyouonline", right: "ARCXDU" },
    });
    const withDeleted = await call(api("cloudspaces/list"), { jwt, json: { includedeleted: true } });
    expect(
      (withDeleted.json as { id: number; status: string }[]).map((c) => [c.id, c.status]),
    ).toContainEqual([104, "DELETED"]);
    expect((withDeleted.json as { id: number }[]).map((c) => c.id)).not.toContain(105);
    expect(await call(api("cloudspaces/get"), { jwt, json: { cloudspaceId: 105 } })).toMatchObject({
      status: 404,
    });
    expect(await call(api("cloudspaces/get"), { jwt, json: { cloudspaceId: 999 } })).toMatchObject({
      status: 404,
      json: "Could not find 999 of type cloudspace",
    });
  });

  it("deletes: 409 while it holds machines, 400 while deploying, true when already destroyed", async () => {
    const now = startClock();
    const jwt = await jwtFor();
    const holding = await call(api("cloudspaces/delete"), { jwt, json: { cloudspaceId: 101 } });
    expect(holding).toMatchObject({
      status: 409,
      json: "Can not delete a CloudSpace that contains Virtual Machines.",
    });
    expect(await call(api("cloudspaces/delete"), { jwt, json: { cloudspaceId: 105 } })).toMatchObject({
      status: 200,
      json: true,
    });
    const id = (
      await call(api("cloudspaces/create"), {
        jwt,
        json: { accountId: 2, location: "be-gen-1", name: "short-lived", access: "sandbox-admin" },
      })
    ).json as number;
    vi.setSystemTime(now + ovc.cloudspaceVirtualMs);
    const deploying = await call(api("cloudspaces/delete"), { jwt, json: { cloudspaceId: id } });
    expect(deploying).toMatchObject({
      status: 400,
      json: "Cloudspace is being deployed, please wait until it is deployed",
    });
    vi.setSystemTime(now + 60_000);
    expect((await call(api("cloudspaces/delete"), { jwt, json: { cloudspaceId: id } })).json).toBe(true);
    expect(ovc.cloudspace(id)?.status).toBe("DELETED");
    expect(
      (await call(api("cloudspaces/delete"), { jwt, json: { cloudspaceId: 106, permanently: "true" } })).json,
    ).toBe(true);
    expect(ovc.cloudspace(106)?.status).toBe("DESTROYED");
    const list = await call(api("cloudspaces/list"), { jwt, json: { includedeleted: true } });
    expect((list.json as { id: number }[]).map((c) => c.id)).not.toContain(106);
  });
});

describe("ovc emulator machines", () => {
  it("needs cloudspaceId to list, and lists only live machines with the list fields", async () => {
    const jwt = await jwtFor();
    expect(await call(api("machines/list"), { jwt })).toMatchObject({
      status: 400,
      json: "cloudspaceId is required",
    });
    const list = await call(api("machines/list"), { jwt, json: { cloudspaceId: 101 } });
    const rows = list.json as Record<string, unknown>[];
    expect(rows.map((m) => [m.id, m.name, m.status])).toEqual([
      [1001, "web-01", "RUNNING"],
      [1002, "web-02", "RUNNING"],
      [1003, "db-01", "HALTED"],
    ]);
    expect(Object.keys(rows[2] ?? {}).sort()).toEqual(
      [
        "id",
        "referenceId",
        "cloudspaceid",
        "hostname",
        "imageId",
        "name",
        "nics",
        "sizeId",
        "status",
        "stackId",
        "disks",
        "creationTime",
        "updateTime",
        "memory",
        "vcpus",
        "storage",
      ].sort(),
    );
    expect(rows[2]).toMatchObject({
      cloudspaceid: 101,
      sizeId: 4,
      vcpus: 8,
      memory: 16384,
      storage: 600,
      disks: [10030, 10031],
    });
  });

  it("gets a machine with its documented fields, an account password included; 404 when deleted", async () => {
    const jwt = await jwtFor();
    const machine = await call(api("machines/get"), { jwt, json: { machineId: 1004 } });
    expect(machine.json).toMatchObject({
      id: 1004,
      cloudspaceid: 102,
      name: "win-build",
      description: "Windows build agent",
      status: "RUNNING",
      imageid: 4,
      osImage: "Windows 2019 Standard",
      sizeid: 3,
      vcpus: 4,
      memory: 8192,
      storage: 100,
      accounts: [{ login: "Administrator", password: "Lm3nQ7xT5bVa" }],
      locked: false,
      interfaces: [{ type: "bridge", ipAddress: "192.168.104.11", status: "ok" }],
      disks: [{ id: 10040, type: "B", sizeMax: 100, status: "ASSIGNED" }],
    });
    expect(await call(api("machines/get"), { jwt, json: { machineId: 1008 } })).toMatchObject({
      status: 404,
      json: "Could not find an accessible resource.",
    });
    expect(await call(api("machines/get"), { jwt, json: { machineId: 5 } })).toMatchObject({
      status: 404,
      json: "Could not find 5 of type vmachine",
    });
  });

  it("creates machines from a size or from vcpus and memory; description is optional, and empty means absent", async () => {
    const jwt = await jwtFor();
    const bySize = await call(api("machines/create"), {
      jwt,
      form: {
        cloudspaceId: "101",
        name: "web-03",
        description: "",
        imageId: "1",
        disksize: "40",
        sizeId: "2",
        datadisks: "100,200",
      },
    });
    expect(bySize).toMatchObject({ status: 200, text: "1009" });
    expect(ovc.machine(1009)).toMatchObject({
      name: "web-03",
      status: "RUNNING",
      vcpus: 2,
      memory: 4096,
      storage: 340,
      interfaces: [{ ipAddress: "192.168.103.15" }],
      accounts: [{ login: "cloudscalers", password: expect.stringMatching(/^[\w-]{12}$/) }],
    });
    const custom = await call(api("machines/create"), {
      jwt,
      json: {
        cloudspaceId: 102,
        name: "etl-01",
        description: "nightly ETL",
        imageId: 3,
        disksize: 60,
        vcpus: 6,
        memory: 12288,
      },
    });
    expect(custom.json).toBe(1010);
    expect(ovc.machine(1010)).toMatchObject({ sizeid: null, vcpus: 6, memory: 12288, storage: 60 });
    expect(ovc.machine(1009)?.description).toBeNull();
    const noDescription = await call(api("machines/create"), {
      jwt,
      json: { cloudspaceId: 101, name: "web-04", imageId: 1, disksize: 40, sizeId: 2 },
    });
    expect(noDescription).toMatchObject({ status: 200, json: 1011 });
    expect(ovc.machine(1011)?.description).toBeNull();
  });

  it("refuses bad machine creations with the upstream's kinds of errors", async () => {
    const jwt = await jwtFor();
    const base = { cloudspaceId: 101, name: "app-01", description: "", imageId: 1, disksize: 40, sizeId: 2 };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ name: "web-01" }, 409, "Selected name already exists"],
      [{ sizeId: 2, vcpus: 2 }, 400, "sizeId and vcpus/memory are mutually exclusive, give one or the other"],
      [{ sizeId: "" }, 400, "Either sizeId or vcpus and memory should be given"],
      [{ disksize: 30 }, 400, "Disk size 30 is not allowed with size 2, choose one of 20, 40, 100"],
      [{ cloudspaceId: 103, sizeId: 2 }, 400, "Size 2 is not allowed in cloud space 103"],
      [{ imageId: 5 }, 400, "Image 5 is not available (status DISABLED)"],
      [{ imageId: 6, cloudspaceId: 103, sizeId: 3 }, 404, "Could not find an accessible resource."],
      [{ imageId: 4, sizeId: 2, disksize: 20 }, 400, "Disk size 20 GB is smaller than the image size 40 GB"],
      [{ cloudspaceId: 104 }, 404, "Could not find an accessible resource."],
      [{ sizeId: 9 }, 404, "Could not find 9 of type size"],
    ];
    for (const [change, status, message] of cases) {
      const answer = await call(api("machines/create"), { jwt, json: { ...base, ...change } });
      expect({ status: answer.status, json: answer.json }).toEqual({ status, json: message });
    }
  });

  it("moves machine status with actions and refuses invalid transitions and locked machines", async () => {
    const jwt = await jwtFor();
    const act = (action: string, machineId: number, extra: Record<string, unknown> = {}) =>
      call(api(`machines/${action}`), { jwt, json: { machineId, ...extra } });
    expect((await act("stop", 1001, { force: true })).json).toBe(true);
    expect(ovc.machine(1001)?.status).toBe("HALTED");
    expect(await act("reboot", 1001)).toMatchObject({
      status: 409,
      json: "Can not reboot machine 1001: it is HALTED, start it instead",
    });
    expect(await act("pause", 1001)).toMatchObject({
      status: 409,
      json: "Can not pause machine 1001: it is not running",
    });
    expect((await act("start", 1001)).json).toBe(true);
    expect((await act("pause", 1001)).json).toBe(true);
    expect(ovc.machine(1001)?.status).toBe("PAUSED");
    expect(await act("start", 1001)).toMatchObject({
      status: 409,
      json: "Can not start machine 1001: it is paused, resume it instead",
    });
    expect((await act("resume", 1001)).json).toBe(true);
    expect(await act("resume", 1001)).toMatchObject({
      status: 409,
      json: "Can not resume machine 1001: it is RUNNING, not paused",
    });
    expect((await act("reset", 1001)).json).toBe(true);
    expect((await act("start", 1001)).json).toBe(true);
    expect(ovc.machine(1001)?.status).toBe("RUNNING");
    for (const action of ["start", "stop", "reboot", "delete"]) {
      expect(await act(action, 1005)).toMatchObject({ status: 409, json: "Machine 1005 is locked" });
    }
  });

  it("deletes a machine to DELETED, or DESTROYED with permanently", async () => {
    const jwt = await jwtFor();
    expect((await call(api("machines/delete"), { jwt, json: { machineId: 1002 } })).json).toBe(true);
    expect(ovc.machine(1002)?.status).toBe("DELETED");
    expect((await call(api("machines/get"), { jwt, json: { machineId: 1002 } })).status).toBe(404);
    expect(
      (await call(api("machines/delete"), { jwt, json: { machineId: 1007, permanently: "1" } })).json,
    ).toBe(true);
    expect(ovc.machine(1007)?.status).toBe("DESTROYED");
    const list = await call(api("machines/list"), { jwt, json: { cloudspaceId: 103 } });
    expect((list.json as { id: number }[]).map((m) => m.id)).toEqual([1006]);
  });
});

describe("ovc emulator images and sizes", () => {
  it("lists only CREATED images: the public ones, plus the given account's", async () => {
    const jwt = await jwtFor();
    // Without accountId the portal lists public images only (cloudapi_images.list: accountId 0), even
    // for a user whose own account has images.
    const all = await call(api("images/list"), { jwt });
    expect((all.json as { id: number }[]).map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect((all.json as unknown[])[3]).toEqual({
      id: 4,
      name: "Windows 2019 Standard",
      description: "Windows Server 2019 Standard",
      type: "Windows",
      size: 40,
      username: "Administrator",
      accountId: 0,
      status: "CREATED",
    });
    const acme = await call(api("images/list"), { jwt, json: { accountId: 1 } });
    expect((acme.json as { id: number }[]).map((i) => i.id)).toEqual([1, 2, 3, 4, 6]);
    const globex = await call(api("images/list"), { jwt, json: { accountId: 2 } });
    expect((globex.json as { id: number }[]).map((i) => i.id)).toEqual([1, 2, 3, 4]);
    // cloudspaceId narrows to the images of the cloudspace's location; it adds no account's images.
    const viaCloudspace = await call(api("images/list"), { jwt, json: { cloudspaceId: 101 } });
    expect((viaCloudspace.json as { id: number }[]).map((i) => i.id)).toEqual([1, 2, 3, 4]);
    const both = await call(api("images/list"), { jwt, json: { accountId: 1, cloudspaceId: 101 } });
    expect((both.json as { id: number }[]).map((i) => i.id)).toEqual([1, 2, 3, 4, 6]);
  });

  it("lists for a cloudspace only the images of its location", async () => {
    const jwt = await jwtFor();
    ovc.imageCreateMs = 0;
    const imported = await call(api("images/create"), {
      jwt,
      json: {
        name: "ams-only",
        url: "https://images.example.com/a.qcow2",
        gid: 711,
        boottype: "bios",
        imagetype: "Linux",
        accountId: 1,
      },
    });
    expect(imported.status).toBe(200);
    const id = imported.json as number;
    const atAccount = await call(api("images/list"), { jwt, json: { accountId: 1 } });
    expect((atAccount.json as { id: number }[]).map((i) => i.id)).toContain(id);
    // Cloudspace 101 is at be-gen-1 (gid 212); the new image is at nl-ams-1 (gid 711).
    const atCloudspace = await call(api("images/list"), { jwt, json: { accountId: 1, cloudspaceId: 101 } });
    expect((atCloudspace.json as { id: number }[]).map((i) => i.id)).not.toContain(id);
  });

  it("creates an image that stays CREATING for imageCreateMs, then is listed", async () => {
    const now = startClock();
    ovc.imageCreateMs = 10_000;
    const jwt = await jwtFor();
    const created = await call(api("images/create"), {
      jwt,
      json: {
        name: "Rocky 9 x64",
        url: "https://images.example.com/rocky-9.qcow2",
        gid: 711,
        imagetype: "Linux",
        boottype: "uefi",
        username: "rocky",
        password: "initial-pass",
        accountId: 2,
        hotresize: true,
      },
    });
    expect(created).toMatchObject({ status: 200, json: 7 });
    expect(ovc.image(7)).toMatchObject({
      name: "Rocky 9 x64",
      status: "CREATING",
      accountId: 2,
      username: "rocky",
    });
    const listIds = async () =>
      ((await call(api("images/list"), { jwt, json: { accountId: 2 } })).json as { id: number }[]).map(
        (i) => i.id,
      );
    expect(await listIds()).not.toContain(7);
    vi.setSystemTime(now + 10_000);
    expect(await listIds()).toContain(7);
    const publicImage = await call(api("images/create"), {
      jwt,
      form: {
        name: "Alpine",
        url: "https://images.example.com/alpine.qcow2",
        gid: "212",
        imagetype: "Other",
        boottype: "bios",
      },
    });
    expect(ovc.image(publicImage.json as number)).toMatchObject({ accountId: 0 });
  });

  it("refuses bad image imports", async () => {
    const jwt = await jwtFor();
    const base = {
      name: "x",
      url: "https://images.example.com/x.qcow2",
      gid: 212,
      imagetype: "Linux",
      boottype: "bios",
    };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ imagetype: "BSD" }, 400, "Invalid imagetype BSD, should be one of Linux, Windows, Other"],
      [{ boottype: "efi" }, 400, "Invalid boottype efi, should be one of bios, uefi"],
      [{ gid: 1 }, 400, "No location with gid 1"],
      [{ url: "ftp://x" }, 400, "Invalid url ftp://x, expected an http(s) URL"],
      [{ url: undefined }, 400, "Param with name:url is missing."],
    ];
    for (const [change, status, message] of cases) {
      const answer = await call(api("images/create"), { jwt, json: { ...base, ...change } });
      expect({ status: answer.status, json: answer.json }).toEqual({ status, json: message });
    }
  });

  it("lists sizes for a cloudspace or a location, and needs one of them", async () => {
    const jwt = await jwtFor();
    expect(await call(api("sizes/list"), { jwt })).toMatchObject({
      status: 400,
      json: "Either cloudspaceId or location should be given",
    });
    const byLocation = await call(api("sizes/list"), { jwt, query: { location: "be-gen-1" } });
    expect((byLocation.json as unknown[])[1]).toEqual({
      id: 2,
      name: "Small",
      vcpus: 2,
      memory: 4096,
      description: "2 vCPU, 4 GiB memory",
      CU: 4,
      disks: [20, 40, 100],
    });
    const byCloudspace = await call(api("sizes/list"), { jwt, query: { cloudspaceId: "103" } });
    expect((byCloudspace.json as { id: number }[]).map((s) => s.id)).toEqual([1, 3, 4, 5]);
    expect((await call(api("sizes/list"), { jwt, query: { location: "xx" } })).status).toBe(400);
  });
});

describe("ovc emulator asynchronous calls (_async + system/task)", () => {
  const task = (jwt: string, taskguid: string) =>
    call("/restmachine/system/task/get", { jwt, json: { taskguid } });

  it("answers _async with a task guid at once; task/get is 202 and empty until done, then [true, result]", async () => {
    const now = startClock();
    const jwt = await jwtFor();
    const submitted = await call(api("cloudspaces/create"), {
      jwt,
      form: {
        _async: "True",
        accountId: "2",
        location: "be-gen-1",
        name: "async-space",
        access: "sandbox-admin",
      },
      headers: { accept: "application/json" },
    });
    expect(submitted.status).toBe(200);
    const guid = submitted.json as string;
    expect(guid).toMatch(/^[0-9a-f-]{36}$/);
    const running = await task(jwt, guid);
    expect(running).toMatchObject({ status: 202, text: "", type: null });
    vi.setSystemTime(now + ovc.taskDurationMs);
    const done = await task(jwt, guid);
    expect(done).toMatchObject({ status: 200, json: [true, 107] });
    expect(ovc.cloudspace(107)?.name).toBe("async-space");
  });

  it('stores a failure as [false, "<code>: <reason> \\"<msg>\\""], validation errors included', async () => {
    const now = startClock();
    const jwt = await jwtFor();
    const badName = await call(api("cloudspaces/create"), {
      jwt,
      json: { _async: true, accountId: 1, location: "be-gen-1", name: "<x>", access: "sandbox-admin" },
    });
    expect(badName.status).toBe(200);
    const conflict = await call(api("cloudspaces/delete"), {
      jwt,
      query: { _async: "" },
      json: { cloudspaceId: 101 },
    });
    vi.setSystemTime(now + 2000);
    expect((await task(jwt, badName.json as string)).json).toEqual([
      false,
      '400: Bad Request "Value of param name is not a valid name"',
    ]);
    expect((await task(jwt, conflict.json as string)).json).toEqual([
      false,
      '409: Conflict "Can not delete a CloudSpace that contains Virtual Machines."',
    ]);
  });

  it("forgets a result after 600 s, and answers an unknown guid with 404 Task is not found", async () => {
    const now = startClock();
    ovc.taskDurationMs = 0;
    const jwt = await jwtFor();
    const guid = (await call(api("accounts/list"), { jwt, json: { _async: 1 } })).json as string;
    const done = await task(jwt, guid);
    expect((done.json as [boolean, unknown[]])[0]).toBe(true);
    expect((done.json as [boolean, unknown[]])[1]).toHaveLength(3);
    vi.setSystemTime(now + 599_000);
    expect((await task(jwt, guid)).status).toBe(200);
    vi.setSystemTime(now + 600_000);
    expect(await task(jwt, guid)).toMatchObject({ status: 404, json: "Task is not found" });
    expect(await task(jwt, "5c8f4e1a-0000-4000-8000-000000000000")).toMatchObject({ status: 404 });
  });

  it("keeps auth synchronous for _async calls, and can say 204 while running", async () => {
    const guest = await call(api("cloudspaces/list"), { json: { _async: true } });
    expect(guest.status).toBe(401);
    startClock();
    ovc.taskRunningStatus = 204;
    const jwt = await jwtFor();
    const guid = (await call(api("cloudspaces/list"), { jwt, json: { _async: true } })).json as string;
    expect(await task(jwt, guid)).toMatchObject({ status: 204, text: "" });
  });

  it("kills a running task, which then reads as failed", async () => {
    startClock();
    const jwt = await jwtFor();
    const guid = (await call(api("machines/list"), { jwt, json: { _async: true, cloudspaceId: 101 } }))
      .json as string;
    const killed = await call("/restmachine/system/task/kill", { jwt, json: { taskguid: guid } });
    expect(killed.json).toBe(true);
    expect((await task(jwt, guid)).json).toEqual([false, "Task was killed"]);
  });
});

describe("ovc emulator older portals and their task quirks", () => {
  const task = (jwt: string, taskguid: string) =>
    call("/restmachine/system/task/get", { jwt, json: { taskguid } });
  const image = {
    name: "Rocky 9 x64",
    url: "https://images.example.com/rocky-9.qcow2",
    gid: 711,
    imagetype: "Linux",
    boottype: "uefi",
    accountId: 2,
  };

  it("has no cloudapi/images/create on an older portal, and the admins' broker import answers true", async () => {
    const now = startClock();
    ovc.hasImagesCreate = false;
    ovc.imageCreateMs = 10_000;
    const jwt = await jwtFor();
    expect(await call(api("images/create"), { jwt, json: image })).toMatchObject({
      status: 404,
      json: "Could not find method, path was cloudapi/images/create",
    });
    const broker = await call("/restmachine/cloudbroker/image/createImage", { jwt, json: image });
    expect(broker).toMatchObject({ status: 200, json: true });
    // The import runs on in the background: CREATING, then listed.
    expect(ovc.image(7)).toMatchObject({ name: "Rocky 9 x64", status: "CREATING", accountId: 2 });
    vi.setSystemTime(now + 10_000);
    const listed = await call(api("images/list"), { jwt, json: { accountId: 2 } });
    expect((listed.json as { id: number }[]).map((i) => i.id)).toContain(7);
    // With _async the broker call is a task like any other, whose result is that true.
    const guid = (
      await call("/restmachine/cloudbroker/image/createImage", { jwt, json: { ...image, _async: 1 } })
    ).json as string;
    vi.setSystemTime(now + 10_000 + ovc.taskDurationMs);
    expect((await task(jwt, guid)).json).toEqual([true, true]);
  });

  it("refuses the broker import to a non-admin (403), a bad account or boot type (400); an unknown gid fails unseen", async () => {
    const jwt = await jwtFor();
    const auditor = await call("/restmachine/cloudbroker/image/createImage", {
      jwt: await auditorJwt(),
      json: image,
    });
    expect(auditor).toMatchObject({
      status: 403,
      json: "User auditor@itsyouonline has no access. If you would like to gain access please contact your adminstrator",
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ accountId: 99 }, "Specified accountId does not exists"],
      [{ boottype: "efi" }, "Invalid boottype, should be either uefi or bios"],
      [{ url: "not a url" }, "Invalid url passed"],
    ];
    for (const [change, message] of cases) {
      const answer = await call("/restmachine/cloudbroker/image/createImage", {
        jwt,
        json: { ...image, ...change },
      });
      expect({ status: answer.status, json: answer.json }).toEqual({ status: 400, json: message });
    }
    const nowhere = await call("/restmachine/cloudbroker/image/createImage", {
      jwt,
      json: { ...image, gid: 999 },
    });
    expect(nowhere.json).toBe(true);
    expect(ovc.image(7)).toBeUndefined();
  });

  it("answers true instead of the id from images/create when told to, synchronously and as a task", async () => {
    const now = startClock();
    ovc.imagesCreateAnswersTrue = true;
    const jwt = await jwtFor();
    expect((await call(api("images/create"), { jwt, json: image })).json).toBe(true);
    const guid = (await call(api("images/create"), { jwt, json: { ...image, _async: true } })).json as string;
    vi.setSystemTime(now + ovc.taskDurationMs);
    expect((await task(jwt, guid)).json).toEqual([true, true]);
    expect(ovc.image(8)).toMatchObject({ name: "Rocky 9 x64" });
  });

  it("answers a fresh task's first polls with 404 Task is not found, then as usual", async () => {
    const now = startClock();
    ovc.unknownTaskPolls = 2;
    const jwt = await jwtFor();
    const guid = (await call(api("accounts/list"), { jwt, json: { _async: true } })).json as string;
    expect(await task(jwt, guid)).toMatchObject({ status: 404, json: "Task is not found" });
    expect(await task(jwt, guid)).toMatchObject({ status: 404, json: "Task is not found" });
    expect(await task(jwt, guid)).toMatchObject({ status: 202, text: "" });
    vi.setSystemTime(now + ovc.taskDurationMs);
    expect((await task(jwt, guid)).status).toBe(200);
  });

  it("never ends a task the platform refused when told to (2018), but still stores an unhandled error", async () => {
    const now = startClock();
    ovc.refusedTasksNeverEnd = true;
    const jwt = await jwtFor();
    const refused = (
      await call(api("cloudspaces/create"), {
        jwt,
        json: { _async: true, accountId: 1, location: "xyz", name: "nowhere", access: "sandbox-admin" },
      })
    ).json as string;
    const crashed = (
      await call(api("cloudspaces/create"), {
        jwt,
        json: {
          _async: true,
          accountId: 1,
          location: "be-gen-1",
          name: OVC_CRASH_NAME,
          access: "sandbox-admin",
        },
      })
    ).json as string;
    vi.setSystemTime(now + ovc.taskDurationMs);
    const failed = (await task(jwt, crashed)).json as [boolean, string];
    expect(failed[0]).toBe(false);
    expect(failed[1]).toMatch(/^Unexpected error, see eco-/);
    expect(await task(jwt, refused)).toMatchObject({ status: 202, text: "" });
    vi.setSystemTime(now + 3_600_000);
    expect(await task(jwt, refused)).toMatchObject({ status: 202, text: "" });
  });
});

describe("ovc emulator faults", () => {
  it("answers an unhandled exception with a 500 text/html eco page: crash switch and magic name", async () => {
    const jwt = await jwtFor();
    ovc.crashNext(1);
    const crashed = await call(api("cloudspaces/list"), { jwt });
    expect(crashed.status).toBe(500);
    expect(crashed.type).toBe("text/html");
    expect(crashed.text).toMatch(
      /^Your service request could not be fulfilled correctly, please contact support and mention "eco-212-[0-9a-f-]{36}"\.$/,
    );
    expect((await call(api("cloudspaces/list"), { jwt })).status).toBe(200);
    const magic = await call(api("cloudspaces/create"), {
      jwt,
      json: { accountId: 1, location: "be-gen-1", name: OVC_CRASH_NAME, access: "sandbox-admin" },
    });
    expect(magic).toMatchObject({ status: 500, type: "text/html" });
    ovc.crashNext(5);
    ovc.clearFaults();
    expect((await call(api("cloudspaces/list"), { jwt })).status).toBe(200);
  });

  it("stores a crash in an async task as a failure that names the eco", async () => {
    const now = startClock();
    const jwt = await jwtFor();
    ovc.crashNext();
    const guid = (await call(api("accounts/list"), { jwt, json: { _async: true } })).json as string;
    vi.setSystemTime(now + 2000);
    const result = await call("/restmachine/system/task/get", { jwt, json: { taskguid: guid } });
    expect(result.json).toEqual([false, expect.stringMatching(/^Unexpected error, see eco-212-/)]);
  });

  it("answers 503 Can not call API during upgrade through failNext, with Retry-After", async () => {
    const jwt = await jwtFor();
    ovc.failNext(1, 503, { retryAfterSeconds: 5 });
    const url = new URL(api("cloudspaces/list"), ovc.url);
    const response = await fetch(url, {
      method: "POST",
      headers: { authorization: `bearer ${jwt}`, accept: "application/json" },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.json()).toBe("Can not call API during upgrade");
    expect(ovc.requestsTo("/restmachine/").at(-1)?.faulted).toBe(true);
    expect((await call(api("cloudspaces/list"), { jwt })).status).toBe(200);
  });

  it("returns a proxy's HTML page through garbleNext", async () => {
    ovc.garbleNext(1);
    const answer = await call(api("locations/list"));
    expect(answer).toMatchObject({ status: 200, type: "text/html" });
    expect(answer.text).toContain("corporate proxy");
  });
});

describe("ovc emulator catalogue and sandbox environment", () => {
  it("describes every implemented actor method as Swagger 2.0 from prepareCatalog", async () => {
    const jwt = await jwtFor();
    const answer = await call("/restmachine/system/docgenerator/prepareCatalog", { jwt });
    const swagger = answer.json as {
      swagger: string;
      basePath: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(swagger.swagger).toBe("2.0");
    expect(swagger.basePath).toBe("/restmachine");
    const paths = Object.keys(swagger.paths);
    expect(paths).toHaveLength(27);
    for (const path of [
      "/cloudapi/locations/list",
      "/cloudapi/cloudspaces/create",
      "/cloudapi/machines/resume",
      "/cloudapi/images/create",
      "/cloudbroker/image/createImage",
      "/cloudapi/sizes/list",
      "/system/task/get",
    ]) {
      expect(paths).toContain(path);
    }
    const create = swagger.paths["/cloudapi/machines/create"]?.post as {
      summary: string;
      parameters: Record<string, unknown>[];
    };
    expect(create.summary).toBe("Create a machine in a cloud space");
    expect(create.parameters).toContainEqual(
      expect.objectContaining({ name: "description", required: false, type: "string" }),
    );
    expect(create.parameters).toContainEqual(
      expect.objectContaining({
        name: "datadisks",
        required: false,
        type: "array",
        items: { type: "integer" },
      }),
    );
    // Every listed path answers (not 404) when called.
    for (const path of paths) {
      const probe = await call(`/restmachine${path}`, { jwt });
      expect(probe.status, path).not.toBe(404);
    }
    const filtered = await call("/restmachine/system/docgenerator/prepareCatalog", {
      jwt,
      json: { actors: "cloudapi__sizes" },
    });
    expect(Object.keys((filtered.json as { paths: object }).paths)).toEqual(["/cloudapi/sizes/list"]);
    // An older portal describes only what it has.
    ovc.hasImagesCreate = false;
    const older = await call("/restmachine/system/docgenerator/prepareCatalog", { jwt });
    const olderPaths = Object.keys((older.json as { paths: object }).paths);
    expect(olderPaths).toHaveLength(26);
    expect(olderPaths).not.toContain("/cloudapi/images/create");
    expect(olderPaths).toContain("/cloudbroker/image/createImage");
  });

  it("gives sandboxEnv pointing both URLs at this server with the admin's IYO client", async () => {
    const env = ovc.sandboxEnv();
    expect(env).toEqual({
      OVC_URL: ovc.url,
      OVC_IYO_URL: ovc.url,
      OVC_IYO_CLIENT_ID: OVC_SANDBOX.iyoClientId,
      OVC_IYO_CLIENT_SECRET: OVC_SANDBOX.iyoClientSecret,
    });
    const token = await fetch(`${env.OVC_IYO_URL}/v1/oauth/access_token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: env.OVC_IYO_CLIENT_ID ?? "",
        client_secret: env.OVC_IYO_CLIENT_SECRET ?? "",
        response_type: "id_token",
      }),
    });
    const jwt = await token.text();
    const accounts = await fetch(`${env.OVC_URL}/restmachine/cloudapi/accounts/list`, {
      method: "POST",
      headers: { authorization: `bearer ${jwt}`, accept: "application/json" },
    });
    expect(accounts.status).toBe(200);
    expect(ovc.issuedTokens()).toEqual([jwt]);
  });
});
