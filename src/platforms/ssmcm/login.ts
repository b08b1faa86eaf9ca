import { jwtExpiry } from "../../auth/jwt.js";
import type { AuthStrategy, Credential, UpstreamRequest } from "../../auth/types.js";
import { SSMCM_API_BASE } from "./profile.js";

const KEY_HINT =
  "Check SSMCM_API_KEY: create a key in SSMCM's web UI (user menu > API keys), set it and restart.";

/**
 * SSMCM's one way in: `POST /api/v1.0/auth/token {key}` answers the envelope with `data.token`, sent as a
 * bearer token. The lifetime is not documented; the token is a JWT on the vendor's word ("JWT with API
 * keys"), so its `exp` is read when it has one, and an expired answer (HTTP 401 or `code` 401) means one
 * login again in any case.
 */
export function createSsmcmKeyAuth(apiKey: string): AuthStrategy {
  return {
    method: "API key",
    renewable: true,
    async login(context): Promise<Credential> {
      const request: UpstreamRequest = {
        method: "POST",
        path: `${SSMCM_API_BASE}/auth/token`,
        json: { key: apiKey },
      };
      const response = await context.send(request);
      const body = response.body as { code?: unknown; data?: { token?: unknown } } | undefined;
      const token = body?.data?.token;
      if (Number(body?.code) !== 200 || typeof token !== "string" || token === "") {
        throw context.fail(request, response, KEY_HINT);
      }
      const credential: Credential = { headers: { authorization: `Bearer ${token}` }, secrets: [token] };
      const expiresAt = jwtExpiry(token);
      if (expiresAt !== undefined) credential.expiresAt = expiresAt;
      return credential;
    },
  };
}
