import { z } from "zod";
import { jwtClaims, jwtExpiry } from "../../auth/jwt.js";
import type {
  AuthStrategy,
  Credential,
  LoginContext,
  RawResponse,
  UpstreamRequest,
} from "../../auth/types.js";
import { LoginError } from "../../errors.js";
import { ovcRequest } from "./profile.js";

/** ItsYou.online, which issues the JWTs OpenvCloud trusts (upstreams.md section 4). */
export const DEFAULT_IYO_URL = "https://itsyou.online";
const IYO_ACCESS_TOKEN = "/v1/oauth/access_token";
const IYO_REFRESH = "/v1/oauth/jwt/refresh";

// ---------------------------------------------------------------- ways in

/** The configured way in: an ItsYou.online API key, a username and password, or a fixed JWT. */
export type OvcAuth =
  | { kind: "iyo"; iyoUrl: string; clientId: string; clientSecret: string }
  | { kind: "password"; username: string; password: string }
  | { kind: "jwt"; jwt: string };

/** The three ways into OpenvCloud (upstreams.md section 4, "Auth"); the session decides when to log in. */
export function createOvcAuth(auth: OvcAuth): AuthStrategy {
  switch (auth.kind) {
    case "iyo":
      return createIyoClientAuth(auth.iyoUrl, auth.clientId, auth.clientSecret);
    case "password":
      return createOvcPasswordAuth(auth.username, auth.password);
    case "jwt":
      return createOvcJwtAuth(auth.jwt);
  }
}

const IYO_HINT =
  "Check OVC_IYO_CLIENT_ID and OVC_IYO_CLIENT_SECRET (an API key of the ItsYou.online user: Settings > API keys) and OVC_IYO_URL.";
const PASSWORD_HINT = "Check OVC_USERNAME and OVC_PASSWORD (a user of the OpenvCloud portal).";
const JWT_RENEW =
  "get a new JWT from ItsYou.online and set OVC_JWT, or set OVC_IYO_CLIENT_ID + OVC_IYO_CLIENT_SECRET instead so the server renews JWTs itself; then restart.";

/** OpenvCloud takes a JWT as `Authorization: bearer <jwt>` (any case of the scheme). */
function jwtCredential(jwt: string): Credential {
  const credential: Credential = { headers: { authorization: `bearer ${jwt}` }, secrets: [jwt] };
  // With offline_access the JWT carries its refresh token as a claim: a secret of its own.
  const refreshToken = jwtClaims(jwt)?.refresh_token;
  if (typeof refreshToken === "string") credential.secrets.push(refreshToken);
  const expiresAt = jwtExpiry(jwt);
  if (expiresAt !== undefined) credential.expiresAt = expiresAt;
  return credential;
}

const JWT_ANSWER = z.looseObject({ access_token: z.string() });

/**
 * The JWT in an ItsYou.online answer: `{"access_token": jwt}` to `Accept: application/json`, the raw JWT
 * (application/jwt) otherwise, which is also what `jwt/refresh` answers.
 */
function jwtFrom(response: RawResponse): string | undefined {
  if (response.status !== 200) return undefined;
  const body = response.body;
  const token = typeof body === "string" ? body.trim() : JWT_ANSWER.safeParse(body).data?.access_token;
  return token !== undefined && jwtClaims(token) !== undefined ? token : undefined;
}

/**
 * An ItsYou.online API key: the client-credentials grant asks for a JWT (`response_type=id_token`) with
 * `offline_access`, so that it carries a refresh token. Renewal, which the session starts a margin before
 * `exp`, first trades the old JWT at `jwt/refresh` (no client secret on the wire); when ItsYou.online
 * refuses that (a refresh token unused for 30 days, or revoked), the grant runs again.
 */
export function createIyoClientAuth(iyoUrl: string, clientId: string, clientSecret: string): AuthStrategy {
  // The JWT behind each credential issued here, for the refresh that replaces it.
  const jwtOf = new WeakMap<Credential, string>();
  const issue = (jwt: string): Credential => {
    const credential = jwtCredential(jwt);
    jwtOf.set(credential, jwt);
    return credential;
  };
  return {
    method: "ItsYou.online client credentials (JWT)",
    renewable: true,
    async login(context: LoginContext): Promise<Credential> {
      const previous = context.previous === undefined ? undefined : jwtOf.get(context.previous);
      if (previous !== undefined && jwtClaims(previous)?.refresh_token !== undefined) {
        const refreshed = await refreshJwt(context, iyoUrl, previous);
        if (refreshed !== undefined) return issue(refreshed);
      }
      const request: UpstreamRequest = {
        method: "POST",
        base: iyoUrl,
        path: IYO_ACCESS_TOKEN,
        // In the body, as the vendor's curl sends it: the client secret stays out of URLs and logs.
        form: {
          grant_type: "client_credentials",
          client_id: clientId,
          client_secret: clientSecret,
          response_type: "id_token",
          scope: "offline_access",
        },
      };
      const response = await context.send(request);
      const jwt = jwtFrom(response);
      if (jwt === undefined) throw context.fail(request, response, IYO_HINT);
      return issue(jwt);
    },
  };
}

/** `GET /v1/oauth/jwt/refresh` with the old JWT; undefined when ItsYou.online will not refresh it. */
async function refreshJwt(context: LoginContext, iyoUrl: string, jwt: string): Promise<string | undefined> {
  try {
    const response = await context.send({
      method: "GET",
      base: iyoUrl,
      path: IYO_REFRESH,
      headers: { authorization: `bearer ${jwt}` },
    });
    return jwtFrom(response);
  } catch {
    // Unreachable or refused: the client-credentials grant decides, and reports its own failure.
    return undefined;
  }
}

/**
 * `users/authenticate` answers a session key as a JSON string; it is sent as the `authkey` parameter.
 * Its lifetime is the deployment's choice, so it is renewed when refused (419 "key not valid or expired").
 */
export function createOvcPasswordAuth(username: string, password: string): AuthStrategy {
  return {
    method: "username and password (session key)",
    renewable: true,
    async login(context: LoginContext): Promise<Credential> {
      const request = ovcRequest("cloudapi/users/authenticate", { username, password });
      const response = await context.send(request);
      // A JSON string; a client that got text instead strips the quotes (the DECS module does).
      const key =
        response.status === 200 && typeof response.body === "string"
          ? response.body.trim().replace(/^"|"$/g, "")
          : "";
      if (key === "") throw context.fail(request, response, PASSWORD_HINT);
      return { query: { authkey: key }, secrets: [key] };
    },
  };
}

/**
 * A fixed `OVC_JWT`: never renewed. Its `exp` is read so that a JWT past it is reported before it is sent;
 * a refusal by OpenvCloud is reported by the session with `refusedHint`.
 */
export function createOvcJwtAuth(jwt: string): AuthStrategy {
  const expiresAt = jwtExpiry(jwt);
  return {
    method: "fixed JWT (OVC_JWT)",
    renewable: false,
    refusedHint: `OpenvCloud refused OVC_JWT (expired, revoked, or not from the ItsYou.online it trusts): ${JWT_RENEW}`,
    async login(): Promise<Credential> {
      if (expiresAt !== undefined && Date.now() >= expiresAt) {
        throw new LoginError({
          api: "ovc",
          message: `OVC_JWT expired at ${new Date(expiresAt).toISOString()}, so it was not sent`,
          hint: `To go on, ${JWT_RENEW}`,
        });
      }
      return jwtCredential(jwt);
    },
  };
}
