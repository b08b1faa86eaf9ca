import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { AuthStrategy, Credential, UpstreamRequest } from "../../auth/types.js";

/** The configured way in: an OAuth access code, or a username and password (cookie or Basic). */
export type NetprofilerAuth =
  | { kind: "oauth"; accessCode: string }
  | { kind: "cookie"; username: string; password: string }
  | { kind: "basic"; username: string; password: string };

/**
 * The three ways NetProfiler lets a client in (upstreams.md section 5, the Common API `/api/common/1.0`).
 * Each is a small factory; the session decides when to call `login`.
 */
export function createNetprofilerAuth(auth: NetprofilerAuth): AuthStrategy {
  switch (auth.kind) {
    case "oauth":
      return createAccessCodeAuth(auth.accessCode);
    case "cookie":
      return createCookieAuth(auth.username, auth.password);
    case "basic":
      return createBasicAuth(auth.username, auth.password);
  }
}

/** The token endpoint's answer (the Common API's OAuth 2.0 grant): the token, the state it echoes, its life. */
const TOKEN_ANSWER = z.looseObject({
  access_token: z.string(),
  state: z.unknown().optional(),
  expires_in: z.unknown().optional(),
});
/** The session login's answer: the cookie's name and value (upstreams.md section 5). */
const SESSION_ANSWER = z.looseObject({
  session_key: z.string().optional(),
  session_id: z.string().optional(),
});

const ACCESS_CODE_HINT =
  "Create a new access code on NetProfiler's Configuration > Account Management > OAuth Access page and set NETPROFILER_ACCESS_CODE.";
const PASSWORD_HINT = "Check NETPROFILER_USERNAME and NETPROFILER_PASSWORD.";

/**
 * OAuth 2.0 "access code" grant: the code goes inside an unsigned assertion (`{"alg":"none"}` header, the
 * code as payload, empty signature); `state` must come back unchanged (steelscript rejects otherwise).
 */
export function createAccessCodeAuth(accessCode: string): AuthStrategy {
  return {
    method: "OAuth access code",
    renewable: true,
    async login(context): Promise<Credential> {
      const state = randomBytes(12).toString("hex");
      const header = Buffer.from('{"alg":"none"}').toString("base64url");
      const request: UpstreamRequest = {
        method: "POST",
        path: "/api/common/1.0/oauth/token",
        form: { grant_type: "access_code", assertion: `${header}.${accessCode}.`, state },
      };
      const response = await context.send(request);
      const answer = TOKEN_ANSWER.safeParse(response.body);
      if (response.status !== 200 || !answer.success) throw context.fail(request, response, ACCESS_CODE_HINT);
      const body = answer.data;
      if (body.state !== undefined && body.state !== state) {
        throw context.fail(
          request,
          {
            ...response,
            body: { error_id: "STATE_MISMATCH", error_text: "the token answer echoed another state" },
          },
          "Something between this server and NetProfiler altered the answer; check proxies.",
        );
      }
      const token = body.access_token;
      // steelscript's rule: a JWT-shaped token (three dot-separated parts) is a signed bearer.
      const scheme = token.split(".").length === 3 ? "SignedBearer" : "Bearer";
      const credential: Credential = { headers: { authorization: `${scheme} ${token}` }, secrets: [token] };
      const expiresIn = Number(body.expires_in);
      if (Number.isFinite(expiresIn) && expiresIn > 0) credential.expiresAt = Date.now() + expiresIn * 1000;
      return credential;
    },
  };
}

/** Session login: `POST /api/common/1.0/login` answers `{session_key: "SESSID", session_id}` and a cookie. */
export function createCookieAuth(username: string, password: string): AuthStrategy {
  return {
    method: "session cookie",
    renewable: true,
    async login(context): Promise<Credential> {
      const request: UpstreamRequest = {
        method: "POST",
        path: "/api/common/1.0/login",
        json: { username, password },
      };
      const response = await context.send(request);
      const answer = SESSION_ANSWER.safeParse(response.body);
      let name = answer.success ? answer.data.session_key : undefined;
      let id = answer.success ? answer.data.session_id : undefined;
      if (id === undefined) {
        // Fall back to Set-Cookie when the body lacks the pair.
        const match = /(SESSID)=([^;]+)/.exec(response.headers.get("set-cookie") ?? "");
        name = match?.[1];
        id = match?.[2];
      }
      if (response.status !== 200 || name === undefined || id === undefined) {
        throw context.fail(request, response, PASSWORD_HINT);
      }
      return { headers: { cookie: `${name}=${id}` }, secrets: [id] };
    },
  };
}

/** Basic: nothing to exchange; the header is the credential. */
export function createBasicAuth(username: string, password: string): AuthStrategy {
  const encoded = Buffer.from(`${username}:${password}`).toString("base64");
  return {
    method: "HTTP Basic",
    renewable: true,
    refusedHint: PASSWORD_HINT,
    async login(): Promise<Credential> {
      return { headers: { authorization: `Basic ${encoded}` }, secrets: [encoded] };
    },
  };
}
