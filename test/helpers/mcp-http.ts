import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { buildServer } from "../fixtures/skills/server.ts";

/** The fixture MCP server over Streamable HTTP (stateless: a fresh server per request), optionally behind a bearer token. */
export function streamableServer(opts: { bearer?: string; port?: number } = {}) {
  let requests = 0;
  let refused = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    async fetch(req) {
      requests++;
      if (opts.bearer && req.headers.get("authorization") !== `Bearer ${opts.bearer}`) {
        refused++;
        return new Response("unauthorized", { status: 401 });
      }
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await buildServer().connect(transport);
      return transport.handleRequest(req);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/mcp`,
    get requests() {
      return requests;
    },
    get refused() {
      return refused;
    },
    stop: () => server.stop(true),
  };
}

/** The fixture MCP server over the older HTTP+SSE transport only: a POST to its URL is 405, as such servers answer. */
export async function sseServer() {
  const sessions = new Map<string, SSEServerTransport>();
  const http = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/sse") {
      const transport = new SSEServerTransport("/messages", res);
      sessions.set(transport.sessionId, transport);
      res.on("close", () => sessions.delete(transport.sessionId));
      await buildServer().connect(transport);
      return;
    }
    if (req.method === "POST" && url.pathname === "/messages") {
      const t = sessions.get(url.searchParams.get("sessionId") ?? "");
      if (!t) return res.writeHead(404).end();
      return t.handlePostMessage(req, res);
    }
    res.writeHead(405).end();
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const port = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    stop: () => {
      http.closeAllConnections();
      http.close();
    },
  };
}
