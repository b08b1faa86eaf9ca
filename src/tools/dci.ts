import type { ToolDefinition } from "./define.js";

/** DCImanager 6 tools: added by the DCImanager issue. */
export const dciTools: ToolDefinition[] = [];
