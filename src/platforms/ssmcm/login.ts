import { z } from "zod";
import { jwtExpiry } from "../../auth/jwt.js";
import type { AuthStrategy, Credential, UpstreamRequest } from "../../auth/types.js";
import { SSMCM_API_BASE } from "./profile.js";

/** The login's answer: the envelope, its `data.token` the bearer token (the vendor's API page). */
const TOKEN_ANSWER = z.looseObject({
  code: z.unknown().optional(),
  data: z.looseObject({ token: z.string().min(1) }),
});

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
      const answer = TOKEN_ANSWER.safeParse(response.body);
      if (!answer.success || Number(answer.data.code) !== 200)
        throw context.fail(request, response, KEY_HINT);
      const { token } = answer.data.data;
      const credential: Credential = { headers: { authorization: `Bearer ${token}` }, secrets: [token] };
      const expiresAt = jwtExpiry(token);
      if (expiresAt !== undefined) credential.expiresAt = expiresAt;
      return credential;
    },
  };
}
