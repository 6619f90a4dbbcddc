import { defineKeys, type KeyValues } from "../config/keys.ts";

export const mcpKeys = defineKeys({
  MCP_ALLOWED_HOSTS: {
    kind: "list",
    help: "further host names /mcp answers to (loopback, PUBLIC_URL's and CORS_ORIGINS' hosts always are), e.g. bakerst.home.lan; guards against DNS rebinding",
  },
});

export type McpSettings = KeyValues<typeof mcpKeys>;
