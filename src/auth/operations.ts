import { z } from "zod";
import type { Operation } from "./types.js";

/** Reading and filtering the operations an API documents, for infra_list_operations. */

/** Case-insensitive match on method, path or summary; every word must match. */
export function filterOperations(operations: readonly Operation[], filter: string | undefined): Operation[] {
  const words = (filter ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...operations];
  return operations.filter((operation) => {
    const haystack = `${operation.method} ${operation.path} ${operation.summary}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

const HTTP_METHODS = ["get", "post", "put", "patch", "delete"];

/** What the reader needs of a Swagger 2.0 or OpenAPI 3 document; everything else may be there. */
const DOCUMENT = z.looseObject({
  swagger: z.unknown().optional(),
  openapi: z.unknown().optional(),
  basePath: z.unknown().optional(),
  servers: z.unknown().optional(),
  paths: z.record(z.string(), z.unknown()),
});
const SERVER = z.looseObject({ url: z.unknown().optional() });
const PATH_ITEM = z.record(z.string(), z.unknown());
const OPERATION = z.looseObject({
  summary: z.unknown().optional(),
  description: z.unknown().optional(),
  operationId: z.unknown().optional(),
});

/**
 * The operations a Swagger 2.0 or OpenAPI 3 document describes, with full paths: Swagger 2's `basePath`
 * (or OpenAPI 3's first server's path) is put in front of each path. Undefined when the document is not
 * one of these.
 */
export function operationsFromOpenApi(document: unknown): Operation[] | undefined {
  const parsed = DOCUMENT.safeParse(document);
  if (!parsed.success) return undefined;
  const { swagger, openapi, basePath, servers, paths } = parsed.data;
  if (swagger === undefined && openapi === undefined) return undefined;
  const firstServer = Array.isArray(servers) ? SERVER.safeParse(servers[0]).data : undefined;
  const prefix = (typeof basePath === "string" ? basePath : serverPath(firstServer?.url)).replace(/\/+$/, "");
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(paths)) {
    const methods = PATH_ITEM.safeParse(item);
    if (!methods.success) continue;
    for (const [method, operation] of Object.entries(methods.data)) {
      if (!HTTP_METHODS.includes(method.toLowerCase())) continue;
      const fields = OPERATION.safeParse(operation).data;
      const text = [fields?.summary, fields?.description, fields?.operationId].find(
        (value) => typeof value === "string",
      );
      operations.push({
        method: method.toUpperCase(),
        path: `${prefix}${path.startsWith("/") ? path : `/${path}`}`,
        summary: typeof text === "string" ? text.split("\n")[0]!.trim() : "",
      });
    }
  }
  return operations;
}

/** The path part of an OpenAPI 3 server URL (absolute or relative), without a trailing slash. */
function serverPath(url: unknown): string {
  if (typeof url !== "string") return "";
  try {
    return new URL(url, "http://relative").pathname;
  } catch {
    return "";
  }
}
