import type { TlsConfig } from "../config.js";

type Fetch = typeof globalThis.fetch;

/**
 * The fetch a session uses. With default TLS it is Node's own (keep-alive, verification on); `undefined`
 * lets ky take the global one when it first needs it. An insecure or extra-CA setting needs an undici
 * Agent; Node's bundled undici may differ in version from the package, so that case uses the package's own
 * fetch with its own Agent, never a mix of the two. The package loads on first use: it is a measured
 * sixth of the cold start, and most configurations never need it.
 */
export function createFetch(tls: TlsConfig): Fetch | undefined {
  if (!tls.insecure && tls.ca === undefined) return undefined;
  let loaded: Promise<{ fetch: typeof import("undici").fetch; agent: import("undici").Agent }> | undefined;
  const load = async () => {
    const [{ Agent, fetch }, { rootCertificates }] = await Promise.all([
      import("undici"),
      import("node:tls"),
    ]);
    const agent = new Agent({
      connect: tls.insecure ? { rejectUnauthorized: false } : { ca: [...rootCertificates, tls.ca as string] },
    });
    return { fetch, agent };
  };
  return (async (input: Request | string | URL, init?: RequestInit) => {
    loaded ??= load();
    const { fetch, agent } = await loaded;
    const request = input instanceof Request ? input : new Request(input, init);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const response = await fetch(request.url, {
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
