import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";
import type { TlsConfig } from "../config.js";

type Fetch = (input: Request) => Promise<Response>;

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * The fetch ky uses, over node:http(s) with keep-alive agents. ky still does the mechanics (retries,
 * Retry-After, hooks); this only moves the bytes. Measured with `npm run bench` against Node's global
 * fetch: less CPU per call and far less garbage under load. TLS options map onto the https agent, so a
 * self-signed appliance needs no second HTTP stack.
 */
export function createHttpFetch(tls: TlsConfig): Fetch {
  const httpAgent = new HttpAgent({ keepAlive: true });
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    ...(tls.insecure ? { rejectUnauthorized: false } : {}),
    ...(tls.ca !== undefined && !tls.insecure ? { ca: [...rootCertificates, tls.ca] } : {}),
  });
  return async (input: Request): Promise<Response> => {
    const url = new URL(input.url);
    const secure = url.protocol === "https:";
    const body = input.body === null ? undefined : Buffer.from(await input.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [name, value] of input.headers) headers[name] = value;
    if (body !== undefined) headers["content-length"] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        { method: input.method, headers, agent: secure ? httpsAgent : httpAgent, signal: input.signal },
        (response) => {
          collect(response).then((bytes) => {
            const status = response.statusCode ?? 502;
            resolve(
              new Response(NULL_BODY.has(status) ? null : bytes, {
                status,
                statusText: response.statusMessage ?? "",
                headers: responseHeaders(response),
              }),
            );
          }, reject);
        },
      );
      // Shaped like fetch's failure, so the session reads the cause (ECONNREFUSED, a certificate code).
      request.on("error", (error) =>
        reject(input.signal.aborted ? input.signal.reason : new TypeError("fetch failed", { cause: error })),
      );
      request.end(body);
    });
  };
}

function collect(response: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks)));
    response.on("error", reject);
  });
}

function responseHeaders(response: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}
