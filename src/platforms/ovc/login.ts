import { jwtClaims, jwtExpiry } from "../../auth/jwt.js";
import type {
  AuthStrategy,
  Credential,
  LoginContext,
  RawResponse,
  UpstreamRequest,
} from "../../auth/types.js";
import { LoginError } from "../../errors.js";

/**
 * OpenvCloud's wire facts (upstreams.md section 4): every call is `POST /restmachine/<app>/<actor>/<method>`,
 * the answer is the method's raw JSON value, and ItsYou.online issues the JWTs it trusts.
 */
export const OVC_REST = "/restmachine";
export const DEFAULT_IYO_URL = "https://itsyou.online";
const IYO_ACCESS_TOKEN = "/v1/oauth/access_token";
const IYO_REFRESH = "/v1/oauth/jwt/refresh";
/** `system/task/get`: polls an `_async` call (202 while running, `[ok, result]` when done, 404 unknown). */
export const TASK_GET = "system/task/get";
/** OpenvCloud keeps a task's result this long after it ends (Redis `tasks.<guid>`). */
export const TASK_RESULT_TTL_SECONDS = 600;

/** The path of an actor method such as `cloudapi/cloudspaces/list`. */
export function ovcPath(method: string): string {
  return `${OVC_REST}/${method}`;
}

/**
 * One call of an actor method. Parameters travel as a JSON body, one of the three encodings the portal
 * merges (query, form, JSON): JSON keeps their types (ints, bools, the `list(int)` of data disks) instead of
 * leaning on the portal's string coercion, and keeps passwords out of URLs, which proxies and access logs
 * record. Only the session key rides in the query (`authkey`), as the vendor's own example sends it.
 */
export function ovcRequest(method: string, params: Record<string, unknown> = {}): UpstreamRequest {
  return { method: "POST", path: ovcPath(method), json: params };
}

/**
 * `/restmachine/<app>/<actor>/<method>` split into its parts, or undefined for any other path. Names are
 * Python identifiers upstream; anything else (`%2F`, `..`) could reach another method once decoded.
 */
export function actorMethodOf(path: string): { app: string; actor: string; method: string } | undefined {
  const match = /^\/restmachine\/(\w+)\/(\w+)\/(\w+)$/.exec(path);
  if (match === null) return undefined;
  return { app: match[1] as string, actor: match[2] as string, method: match[3] as string };
}

/**
 * The methods that only read: names starting with `list` or `get` (camelCase, so `listen` would not count),
 * which covers `system/task/get`. They are retried after transient failures and allowed in read-only mode;
 * every other method may change something.
 */
export function isReadMethodPath(path: string): boolean {
  const method = actorMethodOf(path)?.method;
  return method !== undefined && /^(list|get)(?=[A-Z]|$)/.test(method);
}

/**
 * A failed `_async` task stores `str(exception)`: `400: Bad Request "Location xyz does not exists"` for the
 * portal's own exceptions, any text for an unhandled one.
 */
export function parseTaskFailure(stored: unknown): { status?: number; reason?: string; message: string } {
  if (typeof stored !== "string") return { message: JSON.stringify(stored) ?? "no reason given" };
  const match = /^(\d{3}): ([^"]*?) ("[\s\S]*")$/.exec(stored.trim());
  if (match === null) return { message: stored.trim() || "no reason given" };
  const quoted = match[3] as string;
  let message: string;
  try {
    message = JSON.parse(quoted) as string;
  } catch {
    message = quoted.slice(1, -1);
  }
  return { status: Number(match[1]), reason: match[2] as string, message };
}

/** Which tool lists the ids each id parameter takes, for 404 hints. */
const ID_FINDERS: Record<string, string> = {
  machineId: "ovc_list_machines",
  cloudspaceId: "ovc_list_cloudspaces",
  accountId: "ovc_list_accounts",
  imageId: "ovc_list_images",
  sizeId: "ovc_list_sizes",
};

/** The parameters a call carries, wherever they travel (the tools send JSON; infra_api_call may use both). */
function paramsOf(request: UpstreamRequest): Record<string, unknown> {
  const json = request.json !== null && typeof request.json === "object" ? request.json : {};
  return { ...request.query, ...json };
}

/** A next step for a failed call of an actor method (the profile's hint, and a failed task's). */
export function ovcHint(status: number | undefined, request: UpstreamRequest): string | undefined {
  const call = actorMethodOf(request.path);
  const name = call === undefined ? undefined : `${call.actor}/${call.method}`;
  switch (status) {
    case 200:
      return "That is not OpenvCloud's JSON: check that OVC_URL points at the OpenvCloud portal itself, not a proxy or login page.";
    case 400:
      return "Fix the parameters as the message says; infra_list_operations describes each method's parameters.";
    case 401:
    case 419:
      return "OpenvCloud refused fresh credentials too: check the OVC_* credentials and that the user has access rights on this OpenvCloud.";
    case 403:
      return "The OpenvCloud user lacks the access right for this (R read, RCX write, ARCXDU admin); ask an account administrator.";
    case 404: {
      if (call === undefined)
        return "OpenvCloud serves its API as POST /restmachine/<app>/<actor>/<method>; infra_list_operations lists them.";
      if (request.path === ovcPath(TASK_GET))
        return `The task is unknown, or it ended over ${TASK_RESULT_TTL_SECONDS / 60} minutes ago and its result was dropped: check the resource itself (ovc_list_cloudspaces, ovc_list_machines, ovc_list_images).`;
      const params = paramsOf(request);
      const finders = Object.keys(ID_FINDERS)
        .filter((id) => params[id] !== undefined)
        .map((id) => ID_FINDERS[id]);
      if (finders.length === 0) return "Check the actor and method with infra_list_operations.";
      return `Check the id${finders.length > 1 ? "s" : ""} with ${finders.join(", ")}; a deleted resource answers 404 too.`;
    }
    case 409:
      if (name === "cloudspaces/delete")
        return "Delete its machines first (ovc_list_machines, then ovc_delete_machine), then retry.";
      if (name === "cloudspaces/create" || name === "machines/create")
        return "The name is taken in this account or cloudspace: choose another name.";
      return "The resource is locked or busy: check its status (ovc_get_machine, ovc_get_cloudspace), then retry if still needed.";
    case 500:
      return "OpenvCloud failed internally: give its support the eco id in the message, and check the resource's state before retrying a change.";
    case 503:
      return "OpenvCloud is unavailable (it refuses calls during an upgrade, or has run out of networks or IPs): try again later.";
    default:
      return undefined;
  }
}

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

/**
 * The JWT in an ItsYou.online answer: `{"access_token": jwt}` to `Accept: application/json`, the raw JWT
 * (application/jwt) otherwise, which is also what `jwt/refresh` answers.
 */
function jwtFrom(response: RawResponse): string | undefined {
  if (response.status !== 200) return undefined;
  const body = response.body;
  const token =
    typeof body === "string" ? body.trim() : (body as { access_token?: unknown } | undefined)?.access_token;
  return typeof token === "string" && jwtClaims(token) !== undefined ? token : undefined;
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
          service: "ovc",
          message: `OVC_JWT expired at ${new Date(expiresAt).toISOString()}, so it was not sent`,
          hint: `To go on, ${JWT_RENEW}`,
        });
      }
      return jwtCredential(jwt);
    },
  };
}
