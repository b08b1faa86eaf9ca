import { randomUUID } from "node:crypto";
import type { EmulatorResponse, RecordedRequest } from "../../../sandbox/emulator.js";
import { type Authenticate, apiError, iso, notAllowed, ok } from "./answers.js";
import {
  FLAVOURS,
  organisation,
  PRODUCT_TYPES,
  type Product,
  type Project,
  SQUONK_SANDBOX,
  SQUONK_SEED,
  seedProducts,
  seedUnits,
  type Unit,
} from "./seed.js";

/** Where the Account Server lives on the sandbox's one server (`SQUONK2_ASAPI_URL` ends in it). */
export const AS = "/account-server-api";
/** Emulator's choice: upstreams.md gives no version numbers. */
const AS_VERSION = "3.2.0";

/** What the emulator lets tests change about the Account Server. */
export interface AccountServerSettings {
  /**
   * The key that wraps AS lists (TOOLS.md section 5: the real key is unknown). `undefined`: the
   * resource's plural (`products`, `units`, `organisations`) beside `count`; a string: that key beside
   * `count`; `null`: a bare JSON array.
   */
  readonly asListKey: string | null | undefined;
}

/** Squonk2's Account Server (upstreams.md section 3): an organisation, its units and their products; JSON bodies. */
export class AccountServer {
  readonly #projects: ReadonlyMap<string, Project>;
  readonly #settings: AccountServerSettings;
  readonly #authenticate: Authenticate;
  readonly #products = new Map<string, Product>();
  readonly #units = new Map<string, Unit>();

  constructor(
    projects: ReadonlyMap<string, Project>,
    settings: AccountServerSettings,
    authenticate: Authenticate,
  ) {
    this.#projects = projects;
    this.#settings = settings;
    this.#authenticate = authenticate;
    for (const unit of seedUnits()) this.#units.set(unit.unit_id, unit);
    for (const product of seedProducts()) this.#products.set(product.product_id, product);
  }

  /** Answers a request under `/account-server-api`; `route` is the path below it. */
  handle(request: RecordedRequest, route: string): EmulatorResponse {
    const { method } = request;
    if (route === "/version")
      return method === "GET" ? ok({ version: AS_VERSION }) : notAllowed(method, route);
    const denied = this.#authenticate(request, SQUONK_SANDBOX.asClientId);
    if (denied) return denied;
    let body: unknown;
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      // The AS takes JSON bodies (upstreams.md: `json=` in as_api.py).
      if (!request.contentType?.toLowerCase().includes("application/json")) {
        return apiError(415, "Unsupported Media Type: the Account Server takes application/json bodies");
      }
      if (request.json === undefined) return apiError(400, "The request body is not valid JSON");
      body = request.json;
    }
    const is = (expected: string) => (method === expected ? undefined : notAllowed(method, route));

    if (route === "/product") return is("GET") ?? this.#asList("products", [...this.#products.values()]);
    const unitProducts = /^\/product\/unit\/([^/]+)$/.exec(route);
    if (unitProducts) {
      const unit = this.#units.get(unitProducts[1] as string);
      if (method !== "GET" && method !== "POST") return notAllowed(method, route);
      if (unit === undefined) return apiError(404, `Unit ${unitProducts[1]} does not exist`);
      if (method === "POST") return this.#createProduct(unit, body);
      return this.#asList(
        "products",
        [...this.#products.values()].filter((product) => product.unit_id === unit.unit_id),
      );
    }
    const productPath = /^\/product\/([^/]+)$/.exec(route);
    if (productPath) {
      const id = productPath[1] as string;
      const product = this.#products.get(id);
      if (method !== "GET" && method !== "DELETE") return notAllowed(method, route);
      if (product === undefined) return apiError(404, `Product ${id} does not exist`);
      if (method === "GET") return ok(structuredClone(product));
      const user = [...this.#projects.values()].find((project) => project.product_id === id);
      if (user !== undefined) return apiError(409, `Product ${id} is in use by project ${user.project_id}`);
      this.#products.delete(id);
      return { status: 204 };
    }
    if (route === "/unit") return is("GET") ?? this.#asList("units", [...this.#units.values()]);
    const unitPath = /^\/unit\/([^/]+)$/.exec(route);
    if (unitPath) {
      if (method !== "GET") return notAllowed(method, route);
      const unit = this.#units.get(unitPath[1] as string);
      return unit === undefined ? apiError(404, `Unit ${unitPath[1]} does not exist`) : ok({ ...unit });
    }
    if (route === "/organisation") return is("GET") ?? this.#asList("organisations", [organisation()]);
    const orgPath = /^\/organisation\/([^/]+)(\/unit)?$/.exec(route);
    if (orgPath) {
      if (method !== "GET") return notAllowed(method, route);
      if (orgPath[1] !== SQUONK_SEED.organisationId)
        return apiError(404, `Organisation ${orgPath[1]} does not exist`);
      return orgPath[2] === undefined ? ok(organisation()) : this.#asList("units", [...this.#units.values()]);
    }
    return apiError(404, `Not Found: ${method} ${AS}${route}`);
  }

  #asList(key: string, items: object[]): EmulatorResponse {
    const copies = items.map((item) => structuredClone(item));
    if (this.#settings.asListKey === null) return ok(copies);
    return ok({ count: copies.length, [this.#settings.asListKey ?? key]: copies });
  }

  #createProduct(unit: Unit, body: unknown): EmulatorResponse {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return apiError(400, "The body must be a JSON object");
    }
    const { type, name, flavour, allowance, limit } = body as Record<string, unknown>;
    if (typeof type !== "string" || !PRODUCT_TYPES.includes(type)) {
      return apiError(400, `type must be one of ${PRODUCT_TYPES.join(", ")}`);
    }
    if (typeof name !== "string" || name.trim() === "") return apiError(400, "name is required");
    if (flavour !== undefined && (typeof flavour !== "string" || !FLAVOURS.includes(flavour))) {
      return apiError(400, `flavour must be one of ${FLAVOURS.join(", ")}`);
    }
    if (type === PRODUCT_TYPES[0] && flavour === undefined) {
      return apiError(400, "flavour is required for a project tier subscription");
    }
    for (const [key, value] of Object.entries({ allowance, limit })) {
      if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
        return apiError(400, `${key} must be a number >= 0`);
      }
    }
    const coinsAllowance = (allowance as number | undefined) ?? 100;
    const coinsLimit = (limit as number | undefined) ?? coinsAllowance;
    if (coinsLimit < coinsAllowance) return apiError(400, "limit must not be below allowance");
    const product: Product = {
      product_id: `product-${randomUUID()}`,
      name,
      type,
      unit_id: unit.unit_id,
      organisation_id: unit.organisation_id,
      created: iso(Date.now()),
      coins: { allowance: coinsAllowance, limit: coinsLimit, used: 0 },
    };
    if (typeof flavour === "string") product.flavour = flavour;
    this.#products.set(product.product_id, product);
    return ok({ id: product.product_id }, 201);
  }
}
