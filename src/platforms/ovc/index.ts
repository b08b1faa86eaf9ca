import { jwtClaims } from "../../auth/jwt.js";
import type { ConfigReader } from "../../config.js";
import { definePlatform } from "../../platform.js";
import { createOvcAuth, DEFAULT_IYO_URL, type OvcAuth } from "./login.js";
import { ovcProfile } from "./profile.js";
import { ovcTools } from "./tools.js";

export interface OvcSettings {
  url: string;
  auth: OvcAuth;
}

const VARIABLES = [
  { name: "OVC_URL", example: "https://ovc.example.com", description: "Address of the OpenvCloud portal." },
  {
    name: "OVC_IYO_URL",
    example: DEFAULT_IYO_URL,
    description: `ItsYou.online's address, when it is not ${DEFAULT_IYO_URL} (optional).`,
  },
  {
    name: "OVC_IYO_CLIENT_ID",
    example: "<ItsYou.online application id>",
    description: "Id of an ItsYou.online API key (Settings > API keys), with OVC_IYO_CLIENT_SECRET.",
  },
  {
    name: "OVC_IYO_CLIENT_SECRET",
    example: "<ItsYou.online application secret>",
    secret: true,
    description: "That API key's secret.",
  },
  {
    name: "OVC_USERNAME",
    example: "<portal user>",
    description: "Portal user to log in as, with OVC_PASSWORD, instead of an API key.",
  },
  { name: "OVC_PASSWORD", example: "<password>", secret: true, description: "That user's password." },
  {
    name: "OVC_JWT",
    example: "<JWT from ItsYou.online>",
    secret: true,
    description: "A JWT you obtained yourself, instead of the above; it is never renewed.",
  },
] as const;

const example = (name: string) => `${name}=${VARIABLES.find((v) => v.name === name)?.example ?? "..."}`;

/** The three ways in, each chosen by setting its variables. */
const WAYS = [
  { kind: "iyo", variables: ["OVC_IYO_CLIENT_ID", "OVC_IYO_CLIENT_SECRET"], what: "ItsYou.online login" },
  { kind: "password", variables: ["OVC_USERNAME", "OVC_PASSWORD"], what: "password login" },
  { kind: "jwt", variables: ["OVC_JWT"], what: "a fixed JWT" },
] as const;

const LOGIN_EXAMPLE = WAYS.map((way) => way.variables.map(example).join(" with ")).join(", or ");

function readOvc(r: ConfigReader): OvcSettings | undefined {
  const url = r.url("OVC_URL", "https://ovc.example.com");
  const chosen = WAYS.filter((way) => r.present(way.variables).length > 0);
  const [way] = chosen;
  if (way === undefined || chosen.length > 1) {
    r.problem(
      way === undefined
        ? WAYS.map((w) => w.variables[0]).join("/")
        : r.present(WAYS.flatMap((w) => w.variables)).join(", "),
      way === undefined
        ? "no credentials: set exactly one way to log in"
        : "more than one way to log in is set; keep one",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  const missing = way.variables.find((name) => r.get(name) === undefined);
  if (missing !== undefined) {
    r.problem(missing, `missing: ${way.what} needs ${way.variables.join(" and ")}`, example(missing));
    return undefined;
  }
  const iyoUrl = r.get("OVC_IYO_URL");
  if (way.kind !== "iyo" && iyoUrl !== undefined) {
    r.problem(
      "OVC_IYO_URL",
      "only used with OVC_IYO_CLIENT_ID + OVC_IYO_CLIENT_SECRET; remove it",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  const [first = "", second = ""] = way.variables.map((name) => r.get(name));
  let auth: OvcAuth;
  switch (way.kind) {
    case "iyo": {
      // Absent means the public ItsYou.online; a malformed one is a problem r.url records.
      const base = iyoUrl === undefined ? DEFAULT_IYO_URL : r.url("OVC_IYO_URL", DEFAULT_IYO_URL);
      if (base === undefined) return undefined;
      auth = { kind: "iyo", iyoUrl: base, clientId: first, clientSecret: second };
      break;
    }
    case "password":
      auth = { kind: "password", username: first, password: second };
      break;
    case "jwt":
      if (jwtClaims(first) === undefined) {
        r.problem(
          "OVC_JWT",
          "not a JWT (header.payload.signature, base64url)",
          "OVC_JWT=eyJhbGciOiJFUzM4NCIs...",
        );
        return undefined;
      }
      auth = { kind: "jwt", jwt: first };
      break;
  }
  return url === undefined ? undefined : { url, auth };
}

/** OpenvCloud's Cloud API: the registry entry. */
export const ovcPlatform = definePlatform({
  name: "ovc",
  title: "OpenvCloud",
  product: "OpenvCloud",
  prefix: "OVC",
  urlVariable: "OVC_URL",
  variables: VARIABLES,
  usage:
    "OVC_URL + OVC_IYO_CLIENT_ID/OVC_IYO_CLIENT_SECRET [OVC_IYO_URL], OVC_USERNAME/OVC_PASSWORD or OVC_JWT",
  apiIds: ["ovc"],
  read: readOvc,
  apis: ({ url, auth }) => [{ url, profile: ovcProfile, strategy: createOvcAuth(auth) }],
  tools: ovcTools,
  emulator: async () => new (await import("./emulator/index.js")).OvcEmulator(),
});
