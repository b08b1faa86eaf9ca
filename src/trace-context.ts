/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header): `version-traceid-parentid-
 * flags` in lower-case hex. Version ff is invalid, and so are an all-zero trace or parent id. Version 00 has
 * exactly these four fields; a later version may append more after a `-`, which a participant that only
 * passes the header on keeps as they are. The bound keeps a client from stuffing a header upstream.
 */
const TRACEPARENT =
  /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(?:-[\x21-\x7e]*)?$/;
const MAX_TRACEPARENT = 512;

/** Whether `value` is a `traceparent` header value that may be sent upstream as it is. */
export function isTraceparent(value: string): boolean {
  if (value.length > MAX_TRACEPARENT || !TRACEPARENT.test(value)) return false;
  // Version 00 defines the four fields and nothing after them.
  return !value.startsWith("00-") || value.length === 55;
}
