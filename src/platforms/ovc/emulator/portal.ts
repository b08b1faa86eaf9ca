import type { EmulatorResponse, RecordedRequest } from "../../../sandbox/emulator.js";

/**
 * The JumpScale portal's transport, as OpenvCloud's actors see it (PortalServer, PortalRest): parameters
 * merged from the query and the body, validated and coerced per the method's declared parameters, the
 * answer rendered as `reformatOutput` does, and the portal's exceptions as status and JSON string.
 */

/** Reason phrases of the portal's `exceptions.codemapping` (httplib's, plus 419). */
export const REASONS: Record<number, string> = {
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  419: "Authentication Timeout",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export type Params = Record<string, unknown>;
/** The spec `var:` types the portal validates. `obj` is passed through as it came. */
export type ParamType = "int" | "float" | "bool" | "str" | "list" | "list(int)" | "obj";

export interface ParamSpec {
  name: string;
  type: ParamType;
  required: boolean;
  /** Given to the method when the parameter is absent, null or "" (the portal's `param['default']`). */
  default?: unknown;
  /** `@tags validator:name`. */
  validator?: "name";
  description: string;
}

/** An upstream exception: `exceptions.BadRequest(msg)` and friends. */
export class OvcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** `str(exception)` as a task stores it, e.g. `400: Bad Request "Param with name:x is missing."`. */
  taskString(): string {
    return `${this.status}: ${REASONS[this.status] ?? "Unknown"} ${JSON.stringify(this.message)}`;
  }
}

/** An unhandled exception inside an actor method (the crash switch or the magic name). */
export class Crash extends Error {}

/** A method answer that is not a return value (task/get's 202 with an empty body). */
export class RawAnswer {
  constructor(readonly response: EmulatorResponse) {}
}

export function need(
  name: string,
  type: ParamType,
  description: string,
  extra: Partial<ParamSpec> = {},
): ParamSpec {
  return { name, type, required: true, description, ...extra };
}

export function opt(name: string, type: ParamType, fallback: unknown, description: string): ParamSpec {
  return { name, type, required: false, default: fallback, description };
}

export function errorAnswer(error: OvcError): EmulatorResponse {
  // exceptions.Error: the status line, application/json and json.dumps(msg).
  return { status: error.status, body: error.message };
}

export function jsonAnswer(value: unknown): EmulatorResponse {
  return {
    status: 200,
    body: JSON.stringify(value ?? null),
    headers: { "content-type": "application/json" },
  };
}

/** The query merged with a JSON object, form or multipart body (the body wins on a shared name). */
export function requestParams(request: RecordedRequest): Params {
  const params: Params = { ...request.query };
  const contentType = request.contentType ?? "";
  if (request.body.trim() === "") return params;
  if (contentType.includes("application/json")) {
    // Emulator's choice: a malformed JSON body is a 400 (the portal would raise an unhandled error).
    if (request.json === undefined) throw new OvcError(400, "Invalid JSON body");
    // The portal does `params.update(json)` when the body is truthy; a non-object cannot be merged.
    if (request.json === null || request.json === false) return params;
    if (typeof request.json !== "object" || Array.isArray(request.json)) {
      throw new OvcError(400, "Invalid JSON body, expected an object of parameters");
    }
    return { ...params, ...(request.json as Params) };
  }
  if (contentType.includes("www-form-urlencoded")) return { ...params, ...request.form };
  if (contentType.includes("multipart/form-data"))
    return { ...params, ...parseMultipart(request.body, contentType) };
  return params;
}

export function parseMultipart(body: string, contentType: string): Record<string, string> {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  const fields: Record<string, string> = {};
  if (boundary === undefined) return fields;
  for (const part of body.split(`--${boundary.trim()}`)) {
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) continue;
    const name = /;\s*name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name !== undefined) fields[name] = part.slice(split + 4).replace(/\r\n$/, "");
  }
  return fields;
}

export function badType(param: ParamSpec): OvcError {
  return new OvcError(400, `Value of param ${param.name} not correct needs to be of type ${param.type}`);
}

export function toInt(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}

export function coerce(param: ParamSpec, value: unknown): unknown {
  switch (param.type) {
    case "int": {
      const int = toInt(value);
      if (int === undefined) throw badType(param);
      return int;
    }
    case "float": {
      if (typeof value === "number") return value;
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
      if (!Number.isFinite(number)) throw badType(param);
      return number;
    }
    case "bool": {
      if (typeof value === "boolean") return value;
      const text = String(value).trim().toLowerCase();
      if (["true", "1", "yes", "y"].includes(text)) return true;
      if (["false", "0", "no", "n"].includes(text)) return false;
      throw badType(param);
    }
    case "str":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      throw badType(param);
    case "list":
    case "list(int)": {
      let list: unknown;
      if (Array.isArray(value)) list = value;
      else if (typeof value === "string") {
        const text = value.trim();
        try {
          list = text.startsWith("[") ? JSON.parse(text) : text.split(",").map((item) => item.trim());
        } catch {
          throw badType(param);
        }
      }
      if (!Array.isArray(list)) throw badType(param);
      if (param.type === "list") return list;
      return list.map((item) => {
        const int = toInt(item);
        if (int === undefined) throw badType(param);
        return int;
      });
    }
    default:
      return value;
  }
}

/** Validators.NAME: at least two characters and none of `<>"'`. */
export function validName(value: unknown): boolean {
  return typeof value === "string" && value.length >= 2 && !/[<>"']/.test(value);
}

/**
 * mimeparse.best_match over the portal's supported types; ties go to the later one (JSON for `*\/*`).
 * Emulator's choice: yaml is not offered, and an Accept matching nothing gets JSON (the portal fails).
 */
export function bestMatch(header: string): "text/plain" | "text/html" | "application/json" | undefined {
  const ranges = header.split(",").map((range) => {
    const [type = "", ...options] = range.trim().toLowerCase().split(";");
    const q = options.map((option) => /^\s*q=([\d.]+)\s*$/.exec(option)?.[1]).find((v) => v !== undefined);
    return { type: type.trim(), q: q === undefined ? 1 : Number(q) };
  });
  const supported = ["text/plain", "text/html", "application/json"] as const;
  let best: (typeof supported)[number] | undefined;
  let bestQ = 0;
  for (const candidate of supported) {
    const [major] = candidate.split("/");
    let fitness = -1;
    let q = 0;
    for (const range of ranges) {
      const fit =
        range.type === candidate ? 2 : range.type === `${major}/*` ? 1 : range.type === "*/*" ? 0 : -1;
      if (fit > fitness) {
        fitness = fit;
        q = range.q;
      }
    }
    if (fitness >= 0 && q > 0 && q >= bestQ) {
      best = candidate;
      bestQ = q;
    }
  }
  return best;
}

/** Python's `repr`: True/False/None, single-quoted strings, `{'a': 1}`. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
    return quote + (quote === "'" ? escaped.replaceAll("'", "\\'") : escaped) + quote;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([key, item]) => `${pyRepr(key)}: ${pyRepr(item)}`).join(", ")}}`;
  }
  return String(value);
}

/** Python's `str`: a string as it is, anything else as its repr. */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

/** PortalRest.validate over the method's declared parameters; returns the arguments it is called with. */
export function validate(specs: readonly ParamSpec[], params: Params): Params {
  const args: Params = { ...params };
  for (const param of specs) {
    const value = params[param.name];
    if (value === undefined || value === null || value === "") {
      if (param.required) throw new OvcError(400, `Param with name:${param.name} is missing.`);
      args[param.name] = structuredClone(param.default ?? null);
      continue;
    }
    args[param.name] = coerce(param, value);
    if (param.validator === "name" && !validName(args[param.name])) {
      throw new OvcError(400, `Value of param ${param.name} is not a valid name`);
    }
  }
  return args;
}

/** reformatOutput: `format` first, then Accept, then the request's own content type (text/plain if none). */
export function render(request: RecordedRequest, value: unknown, format: unknown): EmulatorResponse {
  if (format === "json") return jsonAnswer({ result: value });
  if (format === "jsonraw") return jsonAnswer(value);
  if (format === "raw") return { status: 200, body: pyStr(value), headers: { "content-type": "text/plain" } };
  const accept = request.headers.accept?.trim();
  const contentType = request.contentType ?? "text/plain";
  const wanted = accept ? accept : contentType.includes("form-") ? "text/plain" : contentType;
  switch (bestMatch(wanted)) {
    case "text/plain":
      return { status: 200, body: pyStr(value), headers: { "content-type": "text/plain" } };
    case "text/html":
      return {
        status: 200,
        body: pyRepr(value).replaceAll("\n", "<br>"),
        headers: { "content-type": "text/html" },
      };
    default:
      return jsonAnswer(value);
  }
}
