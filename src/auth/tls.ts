import { rootCertificates } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import type { TlsConfig } from "../config.js";

type Fetch = typeof globalThis.fetch;

/**
 * The fetch a session uses. With default TLS it is Node's own (keep-alive, verification on). An insecure
 * or extra-CA setting needs an undici Agent; Node's bundled undici may differ in version from the
 * package, so that case uses the package's own fetch with its own Agent, never a mix of the two.
 */
export function createFetch(tls: TlsConfig): Fetch {
  if (!tls.insecure && tls.ca === undefined) return globalThis.fetch;
  const agent = new Agent({
    connect: tls.insecure ? { rejectUnauthorized: false } : { ca: [...rootCertificates, tls.ca as string] },
  });
  return (async (input: Request | string | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const response = await undiciFetch(request.url, {
      method: request.method,
      headers: [...request.headers],
      body,
      signal: request.signal,
      redirect: request.redirect,
      dispatcher: agent,
    });
    return response as unknown as Response;
  }) as Fetch;
}
