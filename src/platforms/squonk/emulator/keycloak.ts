import {
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { authorization, type EmulatorResponse, type RecordedRequest } from "../../../sandbox/emulator.js";
import { apiError, ok } from "./answers.js";
import { SQUONK_SANDBOX, USER } from "./seed.js";

/** Where Keycloak lives on the sandbox's one server (`SQUONK2_KEYCLOAK_URL` ends in it). */
export const KEYCLOAK = "/auth";
const USER_PROFILE = {
  sub: "7c1e2f44-3b9a-4d6e-8f21-5a0b9c3d7e18",
  email: "sandbox-user@squonk.example.com",
  given_name: "Sandbox",
  family_name: "User",
};
/** Stock Keycloak answers without `openid` in the request: the default client scopes. */
const SCOPE = "profile email";
const INVALID_CLIENT = "Invalid client or Invalid client credentials";

interface Session {
  id: string;
  clientId: string;
  revoked: boolean;
}

interface IssuedToken {
  kind: "access" | "refresh";
  /** Epoch ms; `expireCredentials()` pulls it to now. */
  expiresAt: number;
  sessionId: string;
  clientId: string;
}

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Keycloak's OAuth error body, with the no-store headers it sends on every token answer. */
const kcError = (status: number, error: string, error_description: string): EmulatorResponse => ({
  status,
  body: { error, error_description },
  headers: { "cache-control": "no-store", pragma: "no-cache" },
});

/** What the emulator lets tests change about its Keycloak (the emulator itself, as it has these knobs). */
export interface KeycloakSettings {
  /** The server's address: tokens name `<url>/auth/realms/squonk` as their issuer. */
  readonly url: string;
  /** Lifetime of access tokens; Keycloak's default is 300 s. */
  readonly accessTokenLifetimeSeconds: number;
  /** Lifetime of refresh tokens (`refresh_expires_in`); Keycloak's default SSO idle time is 1800 s. */
  readonly refreshTokenLifetimeSeconds: number;
  /** When true, both clients are confidential and require `client_secret`. */
  readonly confidentialClients: boolean;
}

/**
 * Squonk2's identity provider (upstreams.md section 3): realm `squonk`, the password and refresh_token
 * grants (form-encoded only, decoded with URLSearchParams), RS256 access tokens (`azp` = the client),
 * HS256 refresh tokens, stock error bodies. The DM and AS check the bearer tokens it issued with
 * `refusal()`, as resource servers verify a JWT themselves.
 */
export class Keycloak {
  /** Successful password grants. */
  passwordGrants = 0;
  /** Successful refresh_token grants. */
  refreshGrants = 0;

  readonly #settings: KeycloakSettings;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #kid: string;
  readonly #refreshSecret = randomBytes(32);
  readonly #sessions = new Map<string, Session>();
  readonly #tokens = new Map<string, IssuedToken>(); // jti -> record
  readonly #issued: string[] = [];

  constructor(settings: KeycloakSettings) {
    this.#settings = settings;
    const { privateKey, publicKey, kid } = realmKeys();
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.#kid = kid;
  }

  /** Every access and refresh token issued so far, oldest first (canaries for redaction tests). */
  issuedTokens(): string[] {
    return [...this.#issued];
  }

  /** Every access and refresh token issued so far expires now; new logins work as usual. */
  expireCredentials(): void {
    const now = Date.now();
    for (const record of this.#tokens.values()) record.expiresAt = Math.min(record.expiresAt, now);
  }

  /** Every session so far is logged out: its refresh tokens are refused; access tokens live on. */
  revokeRefreshTokens(): void {
    for (const session of this.#sessions.values()) session.revoked = true;
  }

  #issuer(): string {
    return `${this.#settings.url}${KEYCLOAK}/realms/${SQUONK_SANDBOX.realm}`;
  }

  #publicKeyDer(): Buffer {
    return this.#publicKey.export({ type: "spki", format: "der" });
  }

  /** Answers a request under `/auth`. */
  handle(request: RecordedRequest): EmulatorResponse {
    const { method } = request;
    const match = /^\/auth\/realms\/([^/]+)(\/.*)?$/.exec(request.path);
    // RESTEasy's answer for a path with no resource behind it (stock Keycloak).
    if (match === null) return apiError(404, "Unable to find matching target resource method");
    if (match[1] !== SQUONK_SANDBOX.realm) return apiError(404, "Realm does not exist");
    const rest = match[2] ?? "";
    const issuer = this.#issuer();
    switch (rest) {
      case "":
      case "/":
        if (method !== "GET") return apiError(405, "HTTP 405 Method Not Allowed");
        return ok({
          realm: SQUONK_SANDBOX.realm,
          public_key: this.#publicKeyDer().toString("base64"),
          "token-service": `${issuer}/protocol/openid-connect`,
          "account-service": `${issuer}/account`,
          "tokens-not-before": 0,
        });
      case "/protocol/openid-connect/token":
        return method === "POST" ? this.#token(request) : apiError(405, "HTTP 405 Method Not Allowed");
      case "/protocol/openid-connect/certs": {
        if (method !== "GET") return apiError(405, "HTTP 405 Method Not Allowed");
        const jwk = this.#publicKey.export({ format: "jwk" });
        return ok({ keys: [{ kid: this.#kid, kty: "RSA", alg: "RS256", use: "sig", n: jwk.n, e: jwk.e }] });
      }
      case "/.well-known/openid-configuration":
        if (method !== "GET") return apiError(405, "HTTP 405 Method Not Allowed");
        return ok({
          issuer,
          token_endpoint: `${issuer}/protocol/openid-connect/token`,
          jwks_uri: `${issuer}/protocol/openid-connect/certs`,
          grant_types_supported: ["password", "refresh_token"],
          id_token_signing_alg_values_supported: ["RS256"],
        });
      default:
        return apiError(404, "Unable to find matching target resource method");
    }
  }

  #token(request: RecordedRequest): EmulatorResponse {
    // The token endpoint consumes only application/x-www-form-urlencoded; emulator's choice of the
    // 400 invalid_request answer (the brief's) over RESTEasy's bare 415.
    if (!request.contentType?.toLowerCase().includes("application/x-www-form-urlencoded")) {
      return kcError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
    }
    // Decoded exactly as a servlet container would: `+` is a space, `%XX` a byte, `&` and `=` split.
    // A client that does not encode the sandbox password therefore sends a different password.
    const params = new URLSearchParams(request.body);
    for (const key of new Set(params.keys())) {
      if (params.getAll(key).length > 1) return kcError(400, "invalid_request", "duplicated parameter");
    }
    const grantType = params.get("grant_type");
    if (!grantType) return kcError(400, "invalid_request", "Missing form parameter: grant_type");
    if (grantType !== "password" && grantType !== "refresh_token") {
      return kcError(400, "unsupported_grant_type", "Unsupported grant_type");
    }
    const clientId = params.get("client_id");
    if (!clientId) return kcError(400, "invalid_request", "Missing parameter: client_id");
    if (clientId !== SQUONK_SANDBOX.dmClientId && clientId !== SQUONK_SANDBOX.asClientId) {
      return kcError(401, "invalid_client", INVALID_CLIENT);
    }
    // A public client ignores any secret it is sent (stock Keycloak); a confidential one requires it. An
    // unknown client is `invalid_client`, a missing or wrong secret `unauthorized_client` (Keycloak's
    // ClientIdAndSecretAuthenticator), so that a client can tell the user which setting is wrong.
    if (this.#settings.confidentialClients) {
      const given = params.get("client_secret");
      if (given === null) return kcError(400, "unauthorized_client", "Client secret not provided in request");
      const secret = Buffer.from(given);
      const expected = Buffer.from(SQUONK_SANDBOX.clientSecret);
      if (secret.length !== expected.length || !timingSafeEqual(secret, expected)) {
        return kcError(401, "unauthorized_client", INVALID_CLIENT);
      }
    }
    return grantType === "password"
      ? this.#passwordGrant(params, clientId)
      : this.#refreshGrant(params, clientId);
  }

  #passwordGrant(params: URLSearchParams, clientId: string): EmulatorResponse {
    const username = params.get("username");
    const password = params.get("password");
    if (!username) return kcError(400, "invalid_request", "Missing parameter: username");
    if (password === null) return kcError(400, "invalid_request", "Missing parameter: password");
    // Keycloak stores usernames in lower case and matches them case-insensitively.
    if (username.toLowerCase() !== USER || password !== SQUONK_SANDBOX.password) {
      return kcError(401, "invalid_grant", "Invalid user credentials");
    }
    const session: Session = { id: randomUUID(), clientId, revoked: false };
    this.#sessions.set(session.id, session);
    this.passwordGrants += 1;
    return this.#grant(session);
  }

  #refreshGrant(params: URLSearchParams, clientId: string): EmulatorResponse {
    const token = params.get("refresh_token");
    if (!token) return kcError(400, "invalid_request", "Missing parameter: refresh_token");
    const jwt = decodeJwt(token);
    const valid =
      jwt !== undefined &&
      jwt.header.alg === "HS256" &&
      timingSafeEqualBuffers(
        jwt.signature,
        createHmac("sha256", this.#refreshSecret).update(jwt.signingInput).digest(),
      ) &&
      jwt.payload.typ === "Refresh";
    const jti = valid ? String(jwt.payload.jti) : "";
    const record = this.#tokens.get(jti);
    if (!valid || record?.kind !== "refresh") return kcError(400, "invalid_grant", "Invalid refresh token");
    if (record.clientId !== clientId) {
      return kcError(
        400,
        "invalid_grant",
        "Invalid refresh token. Token client and authorized client don't match",
      );
    }
    const session = this.#sessions.get(record.sessionId);
    if (Date.now() >= record.expiresAt || session === undefined || session.revoked) {
      return kcError(400, "invalid_grant", "Token is not active");
    }
    // Emulator's choice, as stock Keycloak ("Revoke Refresh Token" off): the old refresh token stays
    // valid until its own expiry, and each refresh hands out a new one.
    this.refreshGrants += 1;
    return this.#grant(session);
  }

  #grant(session: Session): EmulatorResponse {
    const iat = Math.floor(Date.now() / 1000);
    const accessExp = iat + this.#settings.accessTokenLifetimeSeconds;
    const refreshExp = iat + this.#settings.refreshTokenLifetimeSeconds;
    const issuer = this.#issuer();
    const accessJti = randomUUID();
    const access = this.#signRs256({
      exp: accessExp,
      iat,
      jti: accessJti,
      iss: issuer,
      aud: "account",
      sub: USER_PROFILE.sub,
      typ: "Bearer",
      azp: session.clientId,
      session_state: session.id,
      sid: session.id,
      acr: "1",
      realm_access: { roles: ["offline_access", "uma_authorization", "default-roles-squonk"] },
      scope: SCOPE,
      email_verified: true,
      name: `${USER_PROFILE.given_name} ${USER_PROFILE.family_name}`,
      preferred_username: USER,
      given_name: USER_PROFILE.given_name,
      family_name: USER_PROFILE.family_name,
      email: USER_PROFILE.email,
    });
    const refreshJti = randomUUID();
    const refresh = this.#signHs256({
      exp: refreshExp,
      iat,
      jti: refreshJti,
      iss: issuer,
      aud: issuer,
      sub: USER_PROFILE.sub,
      typ: "Refresh",
      azp: session.clientId,
      session_state: session.id,
      sid: session.id,
      scope: SCOPE,
    });
    const base = { sessionId: session.id, clientId: session.clientId };
    this.#tokens.set(accessJti, { kind: "access", expiresAt: accessExp * 1000, ...base });
    this.#tokens.set(refreshJti, { kind: "refresh", expiresAt: refreshExp * 1000, ...base });
    this.#issued.push(access, refresh);
    return {
      status: 200,
      body: {
        access_token: access,
        expires_in: this.#settings.accessTokenLifetimeSeconds,
        refresh_expires_in: this.#settings.refreshTokenLifetimeSeconds,
        refresh_token: refresh,
        token_type: "Bearer",
        "not-before-policy": 0,
        session_state: session.id,
        scope: SCOPE,
      },
      headers: { "cache-control": "no-store", pragma: "no-cache" },
    };
  }

  #signRs256(payload: Record<string, unknown>): string {
    const input = jwtInput({ alg: "RS256", typ: "JWT", kid: this.#kid }, payload);
    return `${input}.${sign("sha256", Buffer.from(input), this.#privateKey).toString("base64url")}`;
  }

  /** Keycloak signs refresh tokens with the realm's HMAC key, which no client can check (emulator's choice). */
  #signHs256(payload: Record<string, unknown>): string {
    const input = jwtInput({ alg: "HS256", typ: "JWT", kid: "refresh" }, payload);
    return `${input}.${createHmac("sha256", this.#refreshSecret).update(input).digest("base64url")}`;
  }

  /**
   * Checks a bearer token the way a resource server does: signature with the realm key, `typ`, expiry
   * (including `expireCredentials()`), and `azp` naming this API's own client. Undefined when the token is
   * good; why it is not otherwise (messages are the emulator's choice).
   */
  refusal(request: RecordedRequest, clientId: string): string | undefined {
    const auth = authorization(request);
    if (auth === undefined || auth.scheme !== "bearer" || auth.value === "") {
      return "Not authenticated: an 'Authorization: Bearer <token>' header is required";
    }
    const jwt = decodeJwt(auth.value);
    const signed =
      jwt !== undefined &&
      jwt.header.alg === "RS256" &&
      verify("sha256", Buffer.from(jwt.signingInput), this.#publicKey, jwt.signature);
    const record = signed ? this.#tokens.get(String(jwt.payload.jti)) : undefined;
    if (!signed || record?.kind !== "access" || jwt.payload.typ !== "Bearer") {
      return "Invalid token: the signature or format is not valid";
    }
    if (Date.now() >= record.expiresAt) return "Token has expired";
    if (jwt.payload.azp !== clientId) {
      return `Token was issued to client '${String(jwt.payload.azp)}', not to '${clientId}'`;
    }
    return undefined;
  }
}

/**
 * The realm's RS256 key pair, made once per process on first use: a 2048-bit key takes 100-300 ms, and the
 * test harness starts one emulator per test. Tokens still belong to one emulator: each checks `jti` against
 * its own record of what it issued.
 */
let realmKeyPair: { privateKey: KeyObject; publicKey: KeyObject; kid: string } | undefined;
function realmKeys(): { privateKey: KeyObject; publicKey: KeyObject; kid: string } {
  if (realmKeyPair === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const der = publicKey.export({ type: "spki", format: "der" });
    realmKeyPair = { privateKey, publicKey, kid: createHash("sha256").update(der).digest("base64url") };
  }
  return realmKeyPair;
}

function jwtInput(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (part: Record<string, unknown>) => Buffer.from(JSON.stringify(part)).toString("base64url");
  return `${encode(header)}.${encode(payload)}`;
}

function decodeJwt(token: string): Jwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [head, body, signature] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null) {
      return undefined;
    }
    return {
      header,
      payload,
      signingInput: `${head}.${body}`,
      signature: Buffer.from(signature, "base64url"),
    };
  } catch {
    return undefined;
  }
}

function timingSafeEqualBuffers(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
