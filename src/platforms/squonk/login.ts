import { z } from "zod";
import { jwtExpiry } from "../../auth/jwt.js";
import type {
  AuthStrategy,
  Credential,
  LoginContext,
  RawResponse,
  UpstreamRequest,
} from "../../auth/types.js";
import { parseSquonkError } from "./profile.js";

/** One Keycloak client of one API: the DM and the AS each have their own (upstreams.md section 3). */
export interface KeycloakClient {
  /** `SQUONK2_KEYCLOAK_URL`, e.g. `https://host/auth`. */
  url: string;
  realm: string;
  clientId: string;
  /** The variable that holds `clientId`, named when Keycloak does not know the client. */
  clientIdVariable: string;
  clientSecret?: string;
  username: string;
  password: string;
}

/** What renews a credential without the password: its refresh token, while Keycloak still takes it. */
interface Refresh {
  token: string;
  /** Epoch ms; undefined when Keycloak gave no lifetime (`refresh_expires_in: 0`, an offline token). */
  expiresAt?: number;
}

/** Keycloak's token answer (OAuth 2.0): the access token, its life, and the refresh token with its own. */
const TOKEN_ANSWER = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.unknown().optional(),
  refresh_token: z.unknown().optional(),
  refresh_expires_in: z.unknown().optional(),
});

/** A refresh token this close to its end is not worth a request: the password grant follows anyway. */
const REFRESH_TOKEN_MARGIN_MS = 10_000;

/**
 * Keycloak's password grant, renewed with the refresh_token grant while the refresh token lasts
 * (`refresh_expires_in`), and with the password grant again when Keycloak refuses the refresh or it has
 * run out. The public Python client builds the token form without URL-encoding and never refreshes
 * (upstreams.md section 3); here the session's `form` encodes every value, and `expires_in` tells the
 * session when to renew.
 */
export function createKeycloakAuth(client: KeycloakClient): AuthStrategy {
  // The refresh token behind each credential this strategy issued; the session hands back the credential
  // it replaces as `previous`.
  const refreshes = new WeakMap<Credential, Refresh>();
  const tokenRequest = (grant: Record<string, string>): UpstreamRequest => {
    const form: Record<string, string> = { client_id: client.clientId, ...grant };
    if (client.clientSecret !== undefined) form.client_secret = client.clientSecret;
    return {
      method: "POST",
      path: `/realms/${encodeURIComponent(client.realm)}/protocol/openid-connect/token`,
      base: client.url,
      form,
    };
  };
  const credentialFrom = (response: RawResponse): Credential | undefined => {
    const answer = TOKEN_ANSWER.safeParse(response.body);
    if (response.status !== 200 || !answer.success) return undefined;
    const body = answer.data;
    const access = body.access_token;
    const credential: Credential = { headers: { authorization: `Bearer ${access}` }, secrets: [access] };
    const expiresAt = secondsFromNow(body.expires_in) ?? jwtExpiry(access);
    if (expiresAt !== undefined) credential.expiresAt = expiresAt;
    if (typeof body.refresh_token === "string" && body.refresh_token !== "") {
      credential.secrets.push(body.refresh_token);
      const refresh: Refresh = { token: body.refresh_token };
      const refreshExpiresAt = secondsFromNow(body.refresh_expires_in);
      if (refreshExpiresAt !== undefined) refresh.expiresAt = refreshExpiresAt;
      refreshes.set(credential, refresh);
    }
    return credential;
  };

  return {
    method: "Keycloak password grant, renewed with its refresh token",
    renewable: true,
    async login(context: LoginContext): Promise<Credential> {
      const refresh = context.previous && refreshes.get(context.previous);
      if (refresh !== undefined && Date.now() < (refresh.expiresAt ?? Infinity) - REFRESH_TOKEN_MARGIN_MS) {
        const response = await context.send(
          tokenRequest({ grant_type: "refresh_token", refresh_token: refresh.token }),
        );
        const renewed = credentialFrom(response);
        if (renewed !== undefined) return renewed;
        // Refused (the session was logged out or idled out in Keycloak): the password still works.
      }
      const request = tokenRequest({
        grant_type: "password",
        username: client.username,
        password: client.password,
      });
      const response = await context.send(request);
      const credential = credentialFrom(response);
      if (credential === undefined) throw context.fail(request, response, loginHint(client, response));
      return credential;
    },
  };
}

function secondsFromNow(value: unknown): number | undefined {
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? Date.now() + seconds * 1000 : undefined;
}

/** What to change when Keycloak refuses the password grant, by its OAuth error code. */
function loginHint(client: KeycloakClient, response: RawResponse): string {
  const { code, message } = parseSquonkError(response.body) ?? { message: "" };
  const id = `client "${client.clientId}" in realm "${client.realm}"`;
  if (code === "invalid_grant")
    return "Check SQUONK2_USERNAME and SQUONK2_PASSWORD (a user who signs in through GitHub or another federated login sets a password on the realm's account page first).";
  if (code === "invalid_client") return `Keycloak does not know ${id}: check ${client.clientIdVariable}.`;
  if (code === "unauthorized_client" && /direct access/i.test(message))
    return `Keycloak's ${id} does not allow password logins: enable "Direct access grants" on it, or name another client in ${client.clientIdVariable}.`;
  if (code === "unauthorized_client")
    return client.clientSecret === undefined
      ? `Keycloak's ${id} is confidential: set SQUONK2_KEYCLOAK_CLIENT_SECRET to its secret.`
      : `Keycloak refused the secret of ${id}: check SQUONK2_KEYCLOAK_CLIENT_SECRET.`;
  if (response.status === 404 && /realm/i.test(message))
    return `Check SQUONK2_KEYCLOAK_REALM: Keycloak has no realm "${client.realm}".`;
  if (response.status === 404 || response.status === 200)
    return "Check SQUONK2_KEYCLOAK_URL: it is Keycloak's base URL, e.g. https://squonk.example.com/auth.";
  return "Check the SQUONK2_KEYCLOAK_* settings, or whether Keycloak is up.";
}
