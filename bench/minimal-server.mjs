#!/usr/bin/env node
// The cold-start baseline for `npm run bench`: the smallest useful MCP server the SDK makes, one tool over
// stdio, written the way the SDK's own README shows. infra-mcp's start-up is compared against this.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "minimal", version: "1.0.0" });
server.registerTool(
  "echo",
  {
    title: "Echo",
    description: "Returns the text it is given.",
    inputSchema: { text: z.string().describe("Text to return") },
  },
  async ({ text }) => ({ content: [{ type: "text", text }] }),
);
await server.connect(new StdioServerTransport());
