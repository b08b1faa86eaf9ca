import { z } from "zod";

/**
 * Reads the `exp` claim of a JWT without verifying it: the upstream verifies its own tokens; the client
 * only needs to know when to renew. Undefined for anything that is not a JWT with a numeric `exp`.
 */
export function jwtExpiry(token: string): number | undefined {
  const payload = jwtClaims(token);
  const exp = payload?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

const CLAIMS = z.record(z.string(), z.unknown());

/** The claims of a JWT (its middle part), or undefined when the token is not one. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims = CLAIMS.safeParse(JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")));
    return claims.success ? claims.data : undefined;
  } catch {
    return undefined;
  }
}
