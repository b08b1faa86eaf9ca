import type { EmulatorResponse, RecordedRequest } from "../../../sandbox/emulator.js";
import type { Item } from "./seed.js";

/**
 * The instance's description of its own API, in the two flavours a client cannot tell apart beforehand
 * (upstreams.md section 1): Go swaggo's Swagger 2.0 and .NET Swashbuckle's OpenAPI 3. Both are built from the
 * emulator's routing table, so they describe exactly what it serves.
 */

/** Every API path starts here (upstreams.md section 1: `/api/v1.0/auth/token`, `/api/v1.0/aws/s3`). */
export const BASE = "/api/v1.0";

/** Where each Swagger flavour keeps its document (upstreams.md: the flavour is unknown; a client probes both). */
export type SsmcmSwaggerPath = "/swagger/doc.json" | "/swagger/v1/swagger.json";
export const SWAGGO_DOC = "/swagger/doc.json";
export const SWASHBUCKLE_DOC = "/swagger/v1/swagger.json";

type Method = "GET" | "POST" | "DELETE";

export interface Parameter {
  name: string;
  in: "query" | "path";
  type: "integer" | "string";
  description: string;
}

/** One operation: the routing table and both Swagger documents are built from this list. */
export interface Route {
  method: Method;
  /** Relative to `/api/v1.0`, in Swagger's `{name}` form. */
  path: string;
  summary: string;
  tag: string;
  params: Parameter[];
  /** Needs `Authorization: Bearer <token>` (everything but the login). */
  auth: boolean;
  /** Refused (403) to a read-only key's tokens. */
  write: boolean;
  run: (request: RecordedRequest, id: string) => EmulatorResponse;
  pattern?: RegExp;
}

/** The Swagger UI page of the flavour whose document is at `path`; it points at it, relative to /swagger/. */
export function swaggerIndex(path: SsmcmSwaggerPath): EmulatorResponse {
  const url = path === SWAGGO_DOC ? "doc.json" : "v1/swagger.json";
  const html = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="UTF-8"><title>Swagger UI</title><link rel="stylesheet" href="./swagger-ui.css"></head>
<body>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js"></script>
<script>window.onload = function () { window.ui = SwaggerUIBundle({ url: "${url}", dom_id: "#swagger-ui" }); };</script>
</body>
</html>
`;
  return { status: 200, body: html, headers: { "content-type": "text/html; charset=utf-8" }, raw: true };
}

/** Go swaggo: Swagger 2.0, paths relative to `basePath`; `host: ""` and `schemes: []` as swag renders them. */
export function swagger2(routes: readonly Route[]): Item {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = route.params.map((p) => ({
      type: p.type,
      description: p.description,
      name: p.name,
      in: p.in,
      ...(p.in === "path" ? { required: true } : {}),
    }));
    if (route.path === "/auth/token") {
      parameters.push({
        description: "The API key",
        name: "body",
        in: "body",
        required: true,
        schema: { $ref: "#/definitions/TokenRequest" },
      });
    }
    const operation: Item = {
      summary: route.summary,
      consumes: ["application/json"],
      produces: ["application/json"],
      tags: [route.tag],
      parameters,
      responses: { "200": { description: "OK", schema: { $ref: "#/definitions/Envelope" } } },
    };
    if (route.auth) operation.security = [{ ApiKeyAuth: [] }];
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  return {
    schemes: [],
    swagger: "2.0",
    info: {
      description: "Meikai SSMCM multicloud manager API",
      title: "SSMCM API",
      contact: {},
      version: "1.0",
    },
    host: "",
    basePath: BASE,
    paths,
    definitions: {
      Envelope: {
        type: "object",
        properties: {
          code: { type: "integer", example: 200 },
          message: { type: "string", example: "OK" },
          data: {},
          recordsTotal: { type: "integer" },
          recordsFiltered: { type: "integer" },
        },
      },
      TokenRequest: { type: "object", required: ["key"], properties: { key: { type: "string" } } },
    },
    securityDefinitions: {
      ApiKeyAuth: {
        description: "Bearer <token> from POST /auth/token",
        type: "apiKey",
        name: "Authorization",
        in: "header",
      },
    },
  };
}

/** .NET Swashbuckle: OpenAPI 3.0.1, full paths, and `servers` naming the host the request came to. */
export function openapi3(routes: readonly Route[], serverUrl: string): Item {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Item = { tags: [route.tag], summary: route.summary };
    if (route.params.length > 0) {
      operation.parameters = route.params.map((p) => ({
        name: p.name,
        in: p.in,
        description: p.description,
        ...(p.in === "path" ? { required: true } : {}),
        schema: { type: p.type, ...(p.type === "integer" ? { format: "int32" } : {}) },
      }));
    }
    if (route.path === "/auth/token") {
      operation.requestBody = {
        required: true,
        content: { "application/json": { schema: { $ref: "#/components/schemas/TokenRequest" } } },
      };
    }
    operation.responses = {
      "200": {
        description: "Success",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Envelope" } } },
      },
    };
    if (route.auth) operation.security = [{ Bearer: [] }];
    const full = `${BASE}${route.path}`;
    paths[full] = { ...paths[full], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: "3.0.1",
    info: { title: "SSMCM API", version: "v1" },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: {
        Envelope: {
          type: "object",
          properties: {
            code: { type: "integer", format: "int32" },
            message: { type: "string", nullable: true },
            data: { nullable: true },
            recordsTotal: { type: "integer", format: "int32" },
            recordsFiltered: { type: "integer", format: "int32" },
          },
          additionalProperties: false,
        },
        TokenRequest: {
          required: ["key"],
          type: "object",
          properties: { key: { type: "string" } },
          additionalProperties: false,
        },
      },
      securitySchemes: {
        Bearer: {
          type: "http",
          description: "Token from POST /api/v1.0/auth/token",
          scheme: "bearer",
          bearerFormat: "JWT",
        },
      },
    },
  };
}
