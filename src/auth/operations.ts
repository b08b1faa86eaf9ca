/** One documented upstream operation, as infra_list_operations lists it. */
export interface Operation {
  method: string;
  path: string;
  summary: string;
}

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

/**
 * The operations a Swagger 2.0 or OpenAPI 3 document describes, with full paths: Swagger 2's `basePath`
 * (or OpenAPI 3's first server's path) is put in front of each path. Undefined when the document is not
 * one of these.
 */
export function operationsFromOpenApi(document: unknown): Operation[] | undefined {
  if (document === null || typeof document !== "object") return undefined;
  const doc = document as {
    swagger?: unknown;
    openapi?: unknown;
    basePath?: unknown;
    servers?: { url?: unknown }[];
    paths?: unknown;
  };
  if ((doc.swagger === undefined && doc.openapi === undefined) || typeof doc.paths !== "object") {
    return undefined;
  }
  const prefix = (
    typeof doc.basePath === "string" ? doc.basePath : serverPath(doc.servers?.[0]?.url)
  ).replace(/\/+$/, "");
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (item === null || typeof item !== "object") continue;
    for (const [method, operation] of Object.entries(item as Record<string, unknown>)) {
      if (!HTTP_METHODS.includes(method.toLowerCase())) continue;
      const { summary, description, operationId } = (operation ?? {}) as Record<string, unknown>;
      const text = [summary, description, operationId].find((value) => typeof value === "string");
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
