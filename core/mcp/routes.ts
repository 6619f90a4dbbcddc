import { Elysia } from "elysia";
import type { HostGuard } from "../api/origin.ts";
import type { Services } from "../services.ts";
import { mcpTools } from "./tools.ts";

/** The SDK (and the zod it brings) costs start-up about 60 ms and 11 MB: loaded by the first MCP request, not by every start. */
let sdk: Promise<[typeof import("./server.ts"), typeof import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")]> | undefined;
const loadSdk = () => (sdk ??= Promise.all([import("./server.ts"), import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")]));

/** Stateless: no session to keep, so GET (a stream for server-sent requests) and DELETE (ending a session) have nothing to do. */
const notAllowed = () =>
  new Response(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: this server is stateless; POST JSON-RPC messages to /mcp" }, id: null }), {
    status: 405,
    headers: { allow: "POST", "content-type": "application/json" },
  });

/**
 * `/mcp`: bakerst's own MCP server (Streamable HTTP, stateless, JSON
 * responses). The API's token (or session) is checked before anything here
 * runs, and the body is read under MAX_BODY_BYTES; this adds the Host and
 * Origin check against DNS rebinding.
 */
export const mcpRoutes = (guard: HostGuard) => (s: Services) =>
  new Elysia({ name: "mcp" })
    .post("/mcp", async ({ request, body }) => {
      const refused = guard.refuse(request);
      if (refused) return refused;
      const [{ mcpServer }, { WebStandardStreamableHTTPServerTransport }] = await loadSdk();
      const server = mcpServer(mcpTools(s), s.version);
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      try {
        return await transport.handleRequest(request, { parsedBody: body });
      } finally {
        void server.close();
      }
    })
    .get("/mcp", ({ request }) => guard.refuse(request) ?? notAllowed())
    .delete("/mcp", ({ request }) => guard.refuse(request) ?? notAllowed());
