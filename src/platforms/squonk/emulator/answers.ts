import type { EmulatorResponse, RecordedRequest } from "../../../sandbox/emulator.js";

/** How the Data Manager and the Account Server answer (both are Python services of one vendor). */

export const ok = (body: unknown, status = 200): EmulatorResponse => ({ status, body });
/** DM and AS errors: `DmError {error: string}` (upstreams.md, js typedoc). */
export const apiError = (status: number, error: string): EmulatorResponse => ({ status, body: { error } });
export const notAllowed = (method: string, route: string) =>
  apiError(405, `Method ${method} is not allowed for ${route}`);

export const iso = (ms: number) => new Date(ms).toISOString();

/** Checks a request's bearer token for one API's client: undefined when good, the refusal otherwise. */
export type Authenticate = (request: RecordedRequest, clientId: string) => EmulatorResponse | undefined;
