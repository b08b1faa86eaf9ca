import type { ConfigReader } from "../../config.js";
import { definePlatform } from "../../platform.js";
import { createSsmcmKeyAuth } from "./login.js";
import { ssmcmProfile } from "./profile.js";
import { ssmcmTools } from "./tools.js";

export interface SsmcmSettings {
  url: string;
  apiKey: string;
}

function readSsmcm(r: ConfigReader): SsmcmSettings | undefined {
  const url = r.url("SSMCM_URL", "https://ssmcm.example.com");
  const apiKey = r.get("SSMCM_API_KEY");
  if (apiKey === undefined) {
    r.problem(
      "SSMCM_API_KEY",
      "missing: SSMCM logs in with an API key (user menu > API keys in its web UI)",
      "SSMCM_API_KEY=<API key>",
    );
    return undefined;
  }
  return url === undefined ? undefined : { url, apiKey };
}

/** SSMCM (Meikai multicloud manager): the registry entry. */
export const ssmcmPlatform = definePlatform({
  name: "ssmcm",
  title: "SSMCM multicloud manager",
  product: "SSMCM",
  prefix: "SSMCM",
  urlVariable: "SSMCM_URL",
  variables: [
    { name: "SSMCM_URL", example: "https://ssmcm.example.com", description: "Address of the SSMCM server." },
    {
      name: "SSMCM_API_KEY",
      example: "<API key>",
      secret: true,
      description: "An API key, from SSMCM's user menu > API keys.",
    },
  ],
  usage: "SSMCM_URL + SSMCM_API_KEY",
  apiIds: ["ssmcm"],
  read: readSsmcm,
  apis: ({ url, apiKey }) => [{ url, profile: ssmcmProfile, strategy: createSsmcmKeyAuth(apiKey) }],
  tools: ssmcmTools,
  emulator: async () => new (await import("./emulator/index.js")).SsmcmEmulator(),
});
