import { generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { authorization, type EmulatorResponse, type RecordedRequest } from "../../../sandbox/emulator.js";
import { nowSeconds, splitList } from "./common.js";
import { IYO_CLIENTS } from "./seed.js";

/** Where ItsYou.online's OAuth endpoints live (`OVC_IYO_URL` points at this server in the sandbox). */
export const IYO = "/v1/oauth";
/** ItsYou.online drops a refresh token that went unused this long (its JWT doc). */
const REFRESH_IDLE_MS = 30 * 86_400_000;

/**
 * ItsYou.online is a Go server: `http.Error` writes the text and a newline as text/plain. Emulator's
 * choice: its exact error texts ("invalid client_id or client_secret", "Unauthorized") are not documented.
 */
function goError(status: number, text: string): EmulatorResponse {
  return { status, body: `${text}\n`, headers: { "content-type": "text/plain; charset=utf-8" } };
}

/** What the emulator lets tests change about ItsYou.online. */
export interface ItsYouOnlineSettings {
  /** Default and ceiling of a JWT's life (IYO: 1 day); `validity` can only shorten it. */
  readonly jwtLifetimeSeconds: number;
}

/** What ItsYou.online tells the emulator: each secret it hands out, each login it grants. */
export interface ItsYouOnlineEvents {
  issued(secret: string): void;
  loggedIn(): void;
}

/**
 * The identity provider OpenvCloud trusts (upstreams.md section 4): `access_token` with client
 * credentials (a JWT with `response_type=id_token`, an opaque token otherwise), `jwt/refresh` with the
 * refresh token a JWT carries under `offline_access`; JWTs signed with ES384, the key the portal verifies.
 */
export class ItsYouOnline {
  /** Successful `jwt/refresh` calls. */
  refreshes = 0;
  /** The ES384 public key (SPKI PEM) that OpenvCloud verifies JWTs against. */
  readonly publicKeyPem: string;

  readonly #settings: ItsYouOnlineSettings;
  readonly #events: ItsYouOnlineEvents;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #refreshTokens = new Map<string, { lastUsedAt: number; revoked: boolean }>();
  readonly #jwts: string[] = [];
  readonly #expiredJwts = new Set<string>();

  constructor(settings: ItsYouOnlineSettings, events: ItsYouOnlineEvents) {
    this.#settings = settings;
    this.#events = events;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  }

  /** Every JWT issued so far is refused as expired from now. */
  expireJwts(): void {
    for (const jwt of this.#jwts) this.#expiredJwts.add(jwt);
  }

  /** Forgets every refresh token: `jwt/refresh` answers 401 from now. */
  revokeRefreshTokens(): void {
    for (const record of this.#refreshTokens.values()) record.revoked = true;
  }

  /** Answers a request under `/v1/oauth`. */
  handle(request: RecordedRequest, path: string): EmulatorResponse {
    if (path === `${IYO}/access_token`) {
      return request.method === "POST" ? this.#accessToken(request) : goError(405, "Method Not Allowed");
    }
    if (path === `${IYO}/jwt/refresh`) {
      // The JWT doc says GET; one 3P client uses POST, and both reach the same handler here.
      return request.method === "GET" || request.method === "POST"
        ? this.#refresh(request)
        : goError(405, "Method Not Allowed");
    }
    return goError(404, "404 page not found");
  }

  #accessToken(request: RecordedRequest): EmulatorResponse {
    const form: Record<string, string> = { ...request.query, ...request.form };
    if (form.grant_type !== "client_credentials") return goError(400, "unsupported grant_type");
    const client = IYO_CLIENTS.find((candidate) => candidate.id === form.client_id);
    if (client === undefined || client.secret !== form.client_secret) {
      return goError(401, "invalid client_id or client_secret");
    }
    const lifetime = this.#validity(form.validity);
    if (lifetime === undefined) return goError(400, "invalid validity");
    const scope = splitList(form.scope);
    this.#events.loggedIn();
    if (form.response_type !== "id_token") {
      // Without response_type=id_token ItsYou.online answers a plain OAuth access token: opaque, and
      // useless to OpenvCloud, which only takes JWTs (a client that forgets the parameter sees 401).
      const token = randomBytes(24).toString("base64url");
      this.#events.issued(token);
      return {
        status: 200,
        body: JSON.stringify({
          access_token: token,
          token_type: "bearer",
          scope: scope.join(","),
          expires_in: lifetime,
          info: { username: client.username },
        }),
        headers: { "content-type": "application/json" },
      };
    }
    const jwt = this.issueJwt(client.username, scope, [client.id, ...splitList(form.aud)], lifetime);
    if (request.headers.accept?.includes("application/json")) {
      return {
        status: 200,
        body: JSON.stringify({ access_token: jwt }),
        headers: { "content-type": "application/json" },
      };
    }
    return { status: 200, body: jwt, headers: { "content-type": "application/jwt" } };
  }

  #refresh(request: RecordedRequest): EmulatorResponse {
    const auth = authorization(request);
    // Emulator's choice: an expired JWT may be refreshed (that is what refreshing is for); only its
    // signature and its refresh token are checked.
    const claims = auth?.scheme === "bearer" ? this.verify(auth.value, true) : undefined;
    const refreshToken = claims?.refresh_token;
    const record = typeof refreshToken === "string" ? this.#refreshTokens.get(refreshToken) : undefined;
    if (
      claims === undefined ||
      record === undefined ||
      record.revoked ||
      Date.now() - record.lastUsedAt > REFRESH_IDLE_MS
    ) {
      return goError(401, "Unauthorized");
    }
    const lifetime = this.#validity(request.query.validity);
    if (lifetime === undefined) return goError(400, "invalid validity");
    record.lastUsedAt = Date.now();
    this.refreshes += 1;
    const jwt = this.#sign({ ...claims, exp: nowSeconds() + lifetime });
    return { status: 200, body: jwt, headers: { "content-type": "application/jwt" } };
  }

  /** `validity` in seconds can only shorten the default; undefined when it is not a positive integer. */
  #validity(value: string | undefined): number | undefined {
    if (value === undefined || value === "") return this.#settings.jwtLifetimeSeconds;
    const seconds = Number(value);
    if (!Number.isInteger(seconds) || seconds <= 0) return undefined;
    return Math.min(seconds, this.#settings.jwtLifetimeSeconds);
  }

  /** A JWT for `username`, with a refresh token when `scope` asks for offline access. */
  issueJwt(username: string, scope: string[], aud: string[], lifetimeSeconds: number): string {
    const claims: Record<string, unknown> = {
      username,
      scope,
      iss: "itsyouonline",
      aud,
      exp: nowSeconds() + lifetimeSeconds,
    };
    if (scope.includes("offline_access")) {
      const refreshToken = randomBytes(24).toString("base64url");
      this.#refreshTokens.set(refreshToken, { lastUsedAt: Date.now(), revoked: false });
      this.#events.issued(refreshToken);
      claims.refresh_token = refreshToken;
    }
    return this.#sign(claims);
  }

  #sign(claims: Record<string, unknown>): string {
    const head = Buffer.from(JSON.stringify({ alg: "ES384", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const signature = sign("sha384", Buffer.from(`${head}.${body}`), {
      key: this.#privateKey,
      dsaEncoding: "ieee-p1363",
    });
    const jwt = `${head}.${body}.${signature.toString("base64url")}`;
    this.#jwts.push(jwt);
    this.#events.issued(jwt);
    return jwt;
  }

  /** The claims of a JWT this server's key signed with ES384, unexpired unless `ignoreExpiry`. */
  verify(token: string, ignoreExpiry: boolean): Record<string, unknown> | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(head, "base64url").toString("utf8")) as { alg?: unknown };
      // Only ES384: a token with alg "none" or an HMAC alg is refused before any verification.
      if (header.alg !== "ES384") return undefined;
      const valid = verify(
        "sha384",
        Buffer.from(`${head}.${body}`),
        { key: this.#publicKey, dsaEncoding: "ieee-p1363" },
        Buffer.from(signature, "base64url"),
      );
      if (!valid) return undefined;
      const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
      if (typeof claims !== "object" || claims === null) return undefined;
      if (ignoreExpiry) return claims;
      if (typeof claims.exp !== "number" || nowSeconds() >= claims.exp) return undefined;
      return this.#expiredJwts.has(token) ? undefined : claims;
    } catch {
      return undefined;
    }
  }
}
