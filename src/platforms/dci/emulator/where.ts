/**
 * DCImanager's `where` filter language, as the stored scripts use it (upstreams.md section 2, "Filter and
 * pagination syntax"):
 *
 *   (owner_email IS null) AND is_new EQ false
 *   NOT domain CP '%extended.%' AND (ipnet EQ 5)
 *
 * Grammar (keywords in any case; NOT binds tighter than AND, AND tighter than OR):
 *
 *   expr       := and ("OR" and)*
 *   and        := unary ("AND" unary)*
 *   unary      := "NOT" unary | "(" expr ")" | comparison
 *   comparison := field ("EQ" | "NE" | "CP") value | field "IS" ["NOT"] "null"
 *   value      := 'single-quoted' ('' escapes a quote) | number | true | false
 *   field      := name ("." name)*        (a dotted path reaches into objects and arrays)
 *
 * OR was not seen upstream; it is accepted because it costs one rule.
 */

export type WhereValue = string | number | boolean;

export type WhereNode =
  | { kind: "and" | "or"; left: WhereNode; right: WhereNode }
  | { kind: "not"; operand: WhereNode }
  | { kind: "compare"; field: string; op: "EQ" | "NE" | "CP"; value: WhereValue }
  | { kind: "null"; field: string; negated: boolean };

/** A filter the parser cannot read; `position` is the 0-based offset in the input. */
export class WhereSyntaxError extends Error {
  override name = "WhereSyntaxError";
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

type Token =
  | { type: "(" | ")" | "end"; at: number }
  | { type: "string"; value: string; at: number }
  | { type: "number"; value: number; at: number }
  | { type: "word"; value: string; at: number };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const char = input[i] as string;
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === "(" || char === ")") {
      tokens.push({ type: char, at: i });
      i += 1;
    } else if (char === "'") {
      const start = i;
      let value = "";
      i += 1;
      for (;;) {
        if (i >= input.length) throw new WhereSyntaxError("Unterminated string", start);
        if (input[i] === "'") {
          if (input[i + 1] !== "'") break;
          value += "'";
          i += 2;
        } else {
          value += input[i];
          i += 1;
        }
      }
      i += 1;
      tokens.push({ type: "string", value, at: start });
    } else {
      const number = /^-?\d+(\.\d+)?/.exec(input.slice(i));
      const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(input.slice(i));
      if (number) {
        tokens.push({ type: "number", value: Number(number[0]), at: i });
        i += number[0].length;
      } else if (word) {
        tokens.push({ type: "word", value: word[0], at: i });
        i += word[0].length;
      } else {
        throw new WhereSyntaxError(`Unexpected character "${char}"`, i);
      }
    }
  }
  tokens.push({ type: "end", at: input.length });
  return tokens;
}

/** Parses a `where` expression, or throws WhereSyntaxError. */
export function parseWhere(input: string): WhereNode {
  const tokens = tokenize(input);
  let index = 0;
  const peek = (): Token => tokens[index] as Token;
  const next = (): Token => tokens[index++] as Token;
  const isKeyword = (token: Token, keyword: string): boolean =>
    token.type === "word" && token.value.toUpperCase() === keyword;
  const describe = (token: Token): string =>
    token.type === "end"
      ? "end of filter"
      : token.type === "string"
        ? `'${token.value}'`
        : `"${"value" in token ? token.value : token.type}"`;

  function expression(): WhereNode {
    let left = conjunction();
    while (isKeyword(peek(), "OR")) {
      next();
      left = { kind: "or", left, right: conjunction() };
    }
    return left;
  }

  function conjunction(): WhereNode {
    let left = unary();
    while (isKeyword(peek(), "AND")) {
      next();
      left = { kind: "and", left, right: unary() };
    }
    return left;
  }

  function unary(): WhereNode {
    const token = peek();
    if (isKeyword(token, "NOT")) {
      next();
      return { kind: "not", operand: unary() };
    }
    if (token.type === "(") {
      next();
      const inner = expression();
      const close = next();
      if (close.type !== ")")
        throw new WhereSyntaxError(`Expected ")" but found ${describe(close)}`, close.at);
      return inner;
    }
    return comparison();
  }

  function comparison(): WhereNode {
    const fieldToken = next();
    if (fieldToken.type !== "word" || ["AND", "OR", "NOT", "IS"].includes(fieldToken.value.toUpperCase())) {
      throw new WhereSyntaxError(`Expected a field name but found ${describe(fieldToken)}`, fieldToken.at);
    }
    const field = fieldToken.value;
    const operator = next();
    const op = operator.type === "word" ? operator.value.toUpperCase() : "";
    if (op === "IS") {
      const negated = isKeyword(peek(), "NOT");
      if (negated) next();
      const nullToken = next();
      if (!isKeyword(nullToken, "NULL"))
        throw new WhereSyntaxError(`Expected null after IS but found ${describe(nullToken)}`, nullToken.at);
      return { kind: "null", field, negated };
    }
    if (op !== "EQ" && op !== "NE" && op !== "CP") {
      throw new WhereSyntaxError(
        `Expected EQ, NE, CP or IS after ${field} but found ${describe(operator)}`,
        operator.at,
      );
    }
    return { kind: "compare", field, op, value: value() };
  }

  function value(): WhereValue {
    const token = next();
    if (token.type === "string" || token.type === "number") return token.value;
    if (isKeyword(token, "TRUE")) return true;
    if (isKeyword(token, "FALSE")) return false;
    throw new WhereSyntaxError(
      `Expected a value ('quoted string', number, true or false) but found ${describe(token)}`,
      token.at,
    );
  }

  const tree = expression();
  const rest = peek();
  if (rest.type !== "end") throw new WhereSyntaxError(`Unexpected ${describe(rest)}`, rest.at);
  return tree;
}

/** The values a dotted path reaches in an item; arrays along the way contribute each element. */
export function resolvePath(item: unknown, path: string): unknown[] {
  let current: unknown[] = [item];
  for (const key of path.split(".")) {
    const found: unknown[] = [];
    for (const value of current) {
      for (const element of Array.isArray(value) ? value : [value]) {
        if (element !== null && typeof element === "object" && key in element) {
          found.push((element as Record<string, unknown>)[key]);
        }
      }
    }
    current = found;
  }
  return current.flatMap((value) => (Array.isArray(value) ? value : [value]));
}

/** Every field a filter names, so the caller can refuse unknown ones as the platform does. */
export function fieldsOf(node: WhereNode): string[] {
  switch (node.kind) {
    case "and":
    case "or":
      return [...fieldsOf(node.left), ...fieldsOf(node.right)];
    case "not":
      return fieldsOf(node.operand);
    case "compare":
    case "null":
      return [node.field];
  }
}

/** SQL LIKE with `%` (any run) and `_` (one character), case-insensitive as in MySQL's default collation. */
function like(text: string, pattern: string): boolean {
  const source = pattern
    .split("")
    .map((char) => (char === "%" ? ".*" : char === "_" ? "." : char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "is").test(text);
}

/**
 * Loose comparison, as SQL compares a column with a literal: `location_id EQ '3'` and `location_id EQ 3`
 * both match 3, and `is_new EQ false` matches false.
 */
function compareOne(actual: unknown, op: "EQ" | "NE" | "CP", expected: WhereValue): boolean {
  if (actual === null || actual === undefined || typeof actual === "object") return false;
  const text = String(actual);
  if (op === "CP") return like(text, String(expected));
  const equal = text === String(expected);
  return op === "EQ" ? equal : !equal;
}

/** Whether an item matches the filter. */
export function matches(node: WhereNode, item: unknown): boolean {
  switch (node.kind) {
    case "and":
      return matches(node.left, item) && matches(node.right, item);
    case "or":
      return matches(node.left, item) || matches(node.right, item);
    case "not":
      return !matches(node.operand, item);
    case "null": {
      const isNull = resolvePath(item, node.field).every((value) => value === null || value === undefined);
      return node.negated ? !isNull : isNull;
    }
    case "compare": {
      const values = resolvePath(item, node.field);
      // NE on a list (an array field) means "no element equals".
      if (node.op === "NE") return values.every((value) => compareOne(value, "NE", node.value));
      return values.some((value) => compareOne(value, node.op, node.value));
    }
  }
}
