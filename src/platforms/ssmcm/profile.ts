import { operationsFromOpenApi } from "../../auth/operations.js";
import type { ApiProfile, Operation, Outcome, RawResponse, UpstreamRequest } from "../../auth/types.js";
import { describeBody } from "../../errors.js";

/** Where SSMCM's API lives (upstreams.md section 1; the vendor's API page). */
export const SSMCM_API_BASE = "/api/v1.0";

/** The envelope of every answer but the export methods (the vendor's API page). */
interface Envelope {
  code: number | string;
  message?: unknown;
  data?: unknown;
  [extra: string]: unknown;
}

function isEnvelope(body: unknown): body is Envelope {
  return (
    body !== null &&
    typeof body === "object" &&
    !Array.isArray(body) &&
    (typeof (body as Envelope).code === "number" || typeof (body as Envelope).code === "string")
  );
}

/**
 * Reads the `{code, message, data}` envelope whatever the HTTP status: the vendor's sample checks `code`
 * and never the status, so errors can arrive inside HTTP 200. What the envelope carries besides code and
 * message (a list's totals) stays beside `data`; otherwise `data` alone is the result.
 */
export function interpretSsmcm({ status, body }: RawResponse): Outcome {
  if (!isEnvelope(body)) {
    // Not SSMCM's own answer: a web server's 404 page, a proxy's login page, an expired-token 401.
    return {
      ok: false,
      authExpired: status === 401,
      message: describeBody(body, `empty answer with HTTP ${status}`),
    };
  }
  const code = Number(body.code);
  if (code === 200 && status >= 200 && status < 300) {
    const { code: _code, message: _message, data, ...extra } = body;
    return { ok: true, data: Object.keys(extra).length === 0 ? (data ?? null) : { data, ...extra } };
  }
  const message =
    typeof body.message === "string" && body.message !== ""
      ? body.message
      : describeBody(body, `empty answer with HTTP ${status}`);
  // An expired token shows as HTTP 401 or as body code 401 on HTTP 200 (TOOLS.md section 5): both mean
  // "log in again".
  return { ok: false, authExpired: status === 401 || code === 401, code: body.code, message };
}

/** Where the instance may serve its own Swagger document: swaggo's path, then Swashbuckle's. */
export const SSMCM_SWAGGER_PATHS = ["/swagger/doc.json", "/swagger/v1/swagger.json"] as const;

/** The documented operations (the vendor's API page), for an instance that serves no Swagger document. */
export const SSMCM_OPERATIONS: readonly Operation[] = [
  {
    method: "POST",
    path: `${SSMCM_API_BASE}/auth/token`,
    summary: 'Log in with an API key {"key": ...} -> data.token (the server does this itself)',
  },
  {
    method: "GET",
    path: `${SSMCM_API_BASE}/aws/s3`,
    summary: "AWS S3 buckets in the inventory: length, start, search",
  },
  {
    method: "GET",
    path: "/swagger/index.html",
    summary: "The instance's Swagger UI, describing every operation it offers",
  },
];

export const ssmcmProfile: ApiProfile = {
  api: "ssmcm",
  probe: { method: "GET", path: `${SSMCM_API_BASE}/aws/s3`, query: { length: 1 } },
  operations: SSMCM_OPERATIONS,
  interpret: interpretSsmcm,
  hint(status, code, request: UpstreamRequest) {
    const effective = Number(code ?? status);
    if (effective === 401) return "SSMCM refused a fresh token too; check that SSMCM_API_KEY is still valid.";
    if (effective === 403)
      return "The API key's user lacks the permission for this; ask an SSMCM administrator.";
    if (effective === 404)
      return request.path.startsWith(SSMCM_API_BASE)
        ? "Check the path: infra_list_operations lists what this instance offers."
        : "Paths start with /api/v1.0; infra_list_operations lists what this instance offers.";
    if (effective === 400) return "Fix the request as the message says and retry.";
    return undefined;
  },
  async liveOperations(read) {
    for (const path of SSMCM_SWAGGER_PATHS) {
      const response = await read({ method: "GET", path }).catch(() => undefined);
      if (response === undefined || response.status !== 200) continue;
      const operations = operationsFromOpenApi(response.body);
      if (operations !== undefined)
        return { source: `the instance's Swagger document at ${path}`, operations };
    }
    return undefined;
  },
};
