import type { ConfigReader } from "../../config.js";
import { definePlatform } from "../../platform.js";
import { createDciAuth, type DciAuth } from "./login.js";
import { dciProfile } from "./profile.js";
import { dciTools } from "./tools.js";

export interface DciSettings {
  url: string;
  auth: DciAuth;
}

const LOGIN_EXAMPLE = "DCI_EMAIL=admin@example.com with DCI_PASSWORD=<password>, or DCI_TOKEN=<token>";

function readDci(r: ConfigReader): DciSettings | undefined {
  const url = r.url("DCI_URL", "https://dci.example.com");
  const email = r.get("DCI_EMAIL");
  const password = r.get("DCI_PASSWORD");
  const token = r.get("DCI_TOKEN");
  const key = r.get("DCI_LOGIN_KEY");
  const ways = [email !== undefined || password !== undefined, token !== undefined, key !== undefined];
  const chosen = ways.filter(Boolean).length;
  if (chosen !== 1) {
    r.problem(
      "DCI_EMAIL/DCI_TOKEN/DCI_LOGIN_KEY",
      chosen === 0 ? "no credentials: set exactly one way to log in" : "more than one way to log in is set",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  if (url === undefined) return undefined;
  if (token !== undefined) return { url, auth: { kind: "token", token } };
  if (key !== undefined) return { url, auth: { kind: "key", key } };
  if (email === undefined || password === undefined) {
    r.problem(
      email === undefined ? "DCI_EMAIL" : "DCI_PASSWORD",
      "missing: password login needs both DCI_EMAIL and DCI_PASSWORD",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  return { url, auth: { kind: "password", email, password } };
}

/** DCImanager 6: the registry entry. */
export const dciPlatform = definePlatform({
  name: "dci",
  title: "DCImanager 6",
  product: "DCImanager 6",
  prefix: "DCI",
  urlVariable: "DCI_URL",
  variables: [
    {
      name: "DCI_URL",
      example: "https://dci.example.com",
      description: "Address of the DCImanager 6 panel.",
    },
    {
      name: "DCI_EMAIL",
      example: "admin@example.com",
      aliases: ["DCI_USER", "DCI_USERNAME", "DCI_LOGIN"],
      description: "Email of the user to log in as, with DCI_PASSWORD.",
    },
    { name: "DCI_PASSWORD", example: "<password>", secret: true, description: "That user's password." },
    {
      name: "DCI_TOKEN",
      example: "<long-lived token>",
      secret: true,
      description: "A long-lived token, instead of email and password.",
    },
    {
      name: "DCI_LOGIN_KEY",
      example: "<one-time login key>",
      secret: true,
      description: "A one-time login key (good for one session), instead of email and password.",
      usableOnce: { instead: "DCI_TOKEN=<long-lived token>, or DCI_EMAIL + DCI_PASSWORD" },
    },
  ],
  usage: "DCI_URL + DCI_EMAIL/DCI_PASSWORD, DCI_TOKEN or DCI_LOGIN_KEY",
  apiIds: ["dci"],
  read: readDci,
  apis: ({ url, auth }) => [{ url, profile: dciProfile, strategy: createDciAuth(auth) }],
  tools: dciTools,
  emulator: async () => new (await import("./emulator/index.js")).DciEmulator(),
});
