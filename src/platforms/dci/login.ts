import { z } from "zod";
import type {
  AuthStrategy,
  Credential,
  LoginContext,
  RawResponse,
  UpstreamRequest,
} from "../../auth/types.js";
import { LoginError } from "../../errors.js";
import { DCI_AUTH_BASE } from "./profile.js";

/** The platform deletes a session token left unused this long, unless `token_ttl` says otherwise. */
export const DCI_DEFAULT_TOKEN_TTL_MINUTES = 60;

/** The configured way in (`DCI_EMAIL` + `DCI_PASSWORD`, `DCI_TOKEN` or `DCI_LOGIN_KEY`). */
export type DciAuth =
  | { kind: "password"; email: string; password: string }
  | { kind: "token"; token: string }
  | { kind: "key"; key: string };

/**
 * The three ways into DCImanager 6 (upstreams.md section 2, "Auth"). Each is a small factory; the session
 * decides when to call `login`. Every way ends in the same session token, sent as both the `x-xsrf-token`
 * header and the `ses6` cookie (the vendor's sample sends both; `isp-box-instance` comes from the profile).
 */
export function createDciAuth(auth: DciAuth): AuthStrategy {
  switch (auth.kind) {
    case "password":
      return createDciPasswordAuth(auth.email, auth.password);
    case "token":
      return createDciTokenAuth(auth.token);
    case "key":
      return createDciLoginKeyAuth(auth.key);
  }
}

const PASSWORD_HINT = "Check DCI_EMAIL and DCI_PASSWORD (the DCImanager user's email and password).";
const TOKEN_HINT =
  "DCImanager refused DCI_TOKEN (revoked or past its expires_at): replace DCI_TOKEN with a valid token, or use DCI_EMAIL + DCI_PASSWORD, and restart.";
const KEY_HINT =
  "A DCImanager login key works once and only for an hour: create a new one (dci_create_login_key, or the platform's UI) and set DCI_LOGIN_KEY, or use DCI_EMAIL + DCI_PASSWORD, then restart.";

/**
 * A session token from a login idles out after `token_ttl` minutes unused; a long-lived token
 * (`expires_at`) does not, so its session must not give it up after an hour of quiet.
 */
function credentialFor(token: string, idles: boolean): Credential {
  const credential: Credential = {
    headers: { "x-xsrf-token": token, cookie: `ses6=${token}` },
    secrets: [token],
  };
  if (idles) credential.idleTimeoutMs = DCI_DEFAULT_TOKEN_TTL_MINUTES * 60_000;
  return credential;
}

const TOKEN_ANSWER = z.looseObject({ token: z.string().min(1) });

/** Reads `{token}` from a login answer; the 3P TypeScript client expects 201, the seed shows no status. */
function tokenFrom(response: RawResponse): string | undefined {
  if (response.status !== 200 && response.status !== 201) return undefined;
  const answer = TOKEN_ANSWER.safeParse(response.body);
  return answer.success ? answer.data.token : undefined;
}

/** `POST /api/auth/v4/public/token {email, password}` -> `{confirmed, id, token}`; renewable at will. */
export function createDciPasswordAuth(email: string, password: string): AuthStrategy {
  return {
    method: "email and password",
    renewable: true,
    async login(context): Promise<Credential> {
      const request: UpstreamRequest = {
        method: "POST",
        path: `${DCI_AUTH_BASE}/public/token`,
        json: { email, password },
      };
      const response = await context.send(request);
      const token = tokenFrom(response);
      if (token === undefined) throw context.fail(request, response, PASSWORD_HINT);
      return credentialFor(token, true);
    },
  };
}

/**
 * A long-lived token (`POST /auth/v4/token {expires_at}`): nothing to exchange. When the platform refuses
 * it, logging in again cannot help, so the session reports it once instead of looping.
 */
export function createDciTokenAuth(token: string): AuthStrategy {
  return {
    method: "long-lived token",
    renewable: false,
    refusedHint: TOKEN_HINT,
    async login(): Promise<Credential> {
      return credentialFor(token, false);
    },
  };
}

/**
 * A login key (`POST /api/auth/v4/public/key {key}` -> `{token}`) is spent by its first exchange and yields
 * one session. Once that session has ended, the key is never sent again: re-sending a spent key would only
 * collect refusals, so the session reports that new credentials are needed.
 */
export function createDciLoginKeyAuth(key: string): AuthStrategy {
  // Why the key may not be sent again, once it may not.
  let spent: string | undefined;
  return {
    method: "one-time login key",
    renewable: false,
    refusedHint: KEY_HINT,
    async login(context: LoginContext): Promise<Credential> {
      const request: UpstreamRequest = {
        method: "POST",
        path: `${DCI_AUTH_BASE}/public/key`,
        json: { key },
      };
      if (spent !== undefined) {
        throw new LoginError({
          api: "dci",
          method: request.method,
          path: request.path,
          message: `DCI_LOGIN_KEY ${spent}; it was not sent again`,
          hint: KEY_HINT,
        });
      }
      const response = await context.send(request);
      const token = tokenFrom(response);
      if (token === undefined) {
        const error = context.fail(request, response, KEY_HINT);
        // The platform's refusal is final (unknown, used or expired key); a server failure is not.
        if (response.status < 500) spent = `was refused (${error.message})`;
        throw error;
      }
      spent = "was already exchanged for a session, which has ended";
      return credentialFor(token, true);
    },
  };
}
