import type { ConfigReader } from "../../config.js";
import type { ApiPlan } from "../../platform.js";
import { definePlatform } from "../../platform.js";
import { createKeycloakAuth } from "./login.js";
import { squonkAsProfile, squonkDmProfile } from "./profile.js";
import { squonkTools } from "./tools.js";

export interface SquonkSettings {
  dmUrl: string;
  /** The Account Server, when `SQUONK2_ASAPI_URL` is set (then with its own client id). */
  as?: { url: string; clientId: string };
  keycloakUrl: string;
  realm: string;
  dmClientId: string;
  clientSecret?: string;
  username: string;
  password: string;
}

// Aliases: names people carry over from the Python client's environments file (`keycloak-hostname`,
// `dm-hostname`, ...) or guess, so that a misspelt setting is named with the real one.
const VARIABLES = [
  {
    name: "SQUONK2_DMAPI_URL",
    example: "https://squonk.example.com/data-manager-api",
    aliases: ["SQUONK2_DM_URL", "SQUONK2_DM_HOSTNAME"],
    description: "Address of the Data Manager API (it ends in /data-manager-api).",
  },
  {
    name: "SQUONK2_ASAPI_URL",
    example: "https://squonk.example.com/account-server-api",
    aliases: ["SQUONK2_AS_URL", "SQUONK2_AS_HOSTNAME"],
    description:
      "Address of the Account Server API, for its tools (optional; with SQUONK2_KEYCLOAK_AS_CLIENT_ID).",
  },
  {
    name: "SQUONK2_KEYCLOAK_URL",
    example: "https://squonk.example.com/auth",
    aliases: ["SQUONK2_KEYCLOAK_HOSTNAME", "SQUONK2_KEYCLOAK_HOST"],
    description: "Address of Squonk2's Keycloak (it ends in /auth).",
  },
  { name: "SQUONK2_KEYCLOAK_REALM", example: "squonk", description: "Keycloak realm of Squonk2's users." },
  {
    name: "SQUONK2_KEYCLOAK_DM_CLIENT_ID",
    example: "data-manager-api",
    description: "Keycloak client of the Data Manager.",
  },
  {
    name: "SQUONK2_KEYCLOAK_AS_CLIENT_ID",
    example: "account-server-api",
    description: "Keycloak client of the Account Server (with SQUONK2_ASAPI_URL).",
  },
  {
    name: "SQUONK2_KEYCLOAK_CLIENT_SECRET",
    example: "<client secret>",
    secret: true,
    aliases: ["SQUONK2_CLIENT_SECRET"],
    description: "Secret of the Keycloak clients, when they are confidential (optional).",
  },
  {
    name: "SQUONK2_USERNAME",
    example: "jane",
    aliases: ["SQUONK2_USER", "SQUONK2_DMAPI_USERNAME"],
    description: "Squonk2 user to log in as.",
  },
  {
    name: "SQUONK2_PASSWORD",
    example: "<password>",
    secret: true,
    aliases: ["SQUONK2_DMAPI_PASSWORD"],
    description: "That user's password (who signs in through GitHub sets one on the realm's account page).",
  },
] as const;

type VariableName = (typeof VARIABLES)[number]["name"];
const EXAMPLES = Object.fromEntries(VARIABLES.map((v) => [v.name, v.example])) as Record<
  VariableName,
  string
>;

const AS_CLIENT_ID = "SQUONK2_KEYCLOAK_AS_CLIENT_ID";

function readSquonk(r: ConfigReader): SquonkSettings | undefined {
  const before = r.problems.length;
  const missing = (name: VariableName, why: string) =>
    r.problem(name, `missing: ${why}`, `${name}=${EXAMPLES[name]}`);
  const need = (name: VariableName, why: string): string => {
    const value = r.get(name);
    if (value === undefined) missing(name, why);
    return value ?? "";
  };
  // Its presence is checked by the core: it enables the platform.
  const dmUrl = r.url("SQUONK2_DMAPI_URL", EXAMPLES.SQUONK2_DMAPI_URL);
  need("SQUONK2_KEYCLOAK_URL", "Squonk2 logs in through its Keycloak");
  const keycloakUrl = r.url("SQUONK2_KEYCLOAK_URL", EXAMPLES.SQUONK2_KEYCLOAK_URL);
  const realm = need("SQUONK2_KEYCLOAK_REALM", "the Keycloak realm of Squonk2's users");
  const dmClientId = need("SQUONK2_KEYCLOAK_DM_CLIENT_ID", "the Data Manager's Keycloak client");
  const username = need("SQUONK2_USERNAME", "the Squonk2 (Keycloak) user to log in as");
  const password = need("SQUONK2_PASSWORD", "that user's Keycloak password");
  // The Account Server is optional, and comes with a Keycloak client of its own.
  const asUrl = r.url("SQUONK2_ASAPI_URL", EXAMPLES.SQUONK2_ASAPI_URL);
  const asClientId = r.get(AS_CLIENT_ID);
  const asWanted = r.get("SQUONK2_ASAPI_URL") !== undefined;
  if (asWanted && asClientId === undefined)
    missing(AS_CLIENT_ID, "the Account Server (SQUONK2_ASAPI_URL is set) has its own Keycloak client");
  if (!asWanted && asClientId !== undefined)
    missing("SQUONK2_ASAPI_URL", `${AS_CLIENT_ID} is set, but not the Account Server it is for`);
  if (r.problems.length > before || dmUrl === undefined || keycloakUrl === undefined) return undefined;

  const settings: SquonkSettings = { dmUrl, keycloakUrl, realm, dmClientId, username, password };
  if (asUrl !== undefined && asClientId !== undefined) settings.as = { url: asUrl, clientId: asClientId };
  const clientSecret = r.get("SQUONK2_KEYCLOAK_CLIENT_SECRET");
  if (clientSecret !== undefined) settings.clientSecret = clientSecret;
  return settings;
}

/** One session per API, each logging in with its own Keycloak client (tokens carry it in `azp`). */
function squonkApis(settings: SquonkSettings): ApiPlan[] {
  const { keycloakUrl: url, realm, clientSecret, username, password } = settings;
  const login = { url, realm, username, password, ...(clientSecret === undefined ? {} : { clientSecret }) };
  const plans: ApiPlan[] = [
    {
      url: settings.dmUrl,
      profile: squonkDmProfile,
      strategy: createKeycloakAuth({
        ...login,
        clientId: settings.dmClientId,
        clientIdVariable: "SQUONK2_KEYCLOAK_DM_CLIENT_ID",
      }),
    },
  ];
  if (settings.as !== undefined) {
    plans.push({
      url: settings.as.url,
      profile: squonkAsProfile,
      strategy: createKeycloakAuth({
        ...login,
        clientId: settings.as.clientId,
        clientIdVariable: AS_CLIENT_ID,
      }),
    });
  }
  return plans;
}

/** Squonk2: the Data Manager and, when configured, the Account Server. The registry entry. */
export const squonkPlatform = definePlatform({
  name: "squonk",
  title: "Squonk2 Data Manager and Account Server",
  product: "Squonk2",
  prefix: "SQUONK2",
  urlVariable: "SQUONK2_DMAPI_URL",
  variables: VARIABLES,
  usage:
    "SQUONK2_DMAPI_URL + SQUONK2_KEYCLOAK_URL/REALM/DM_CLIENT_ID + SQUONK2_USERNAME/PASSWORD [SQUONK2_KEYCLOAK_CLIENT_SECRET] [SQUONK2_ASAPI_URL + SQUONK2_KEYCLOAK_AS_CLIENT_ID]",
  apiIds: ["squonk_dm", "squonk_as"],
  read: readSquonk,
  apis: squonkApis,
  tools: squonkTools,
  emulator: async () => new (await import("./emulator/index.js")).SquonkEmulator(),
});
