/** The MCP registry's search API (`GET /v0/servers?search=&limit=`) as the public registry answers it, over a fixed list. */
export function startRegistryStandIn(servers: Record<string, unknown>[]) {
  const queries: string[] = [];
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== "/v0/servers") return Response.json({ title: "Not Found", status: 404 }, { status: 404 });
      const q = (url.searchParams.get("search") ?? "").toLowerCase();
      queries.push(q);
      const limit = Number(url.searchParams.get("limit") ?? "30");
      const found = servers
        .filter(
          (s) =>
            String(s.name).toLowerCase().includes(q) ||
            String(s.description ?? "")
              .toLowerCase()
              .includes(q),
        )
        .slice(0, limit);
      return Response.json({
        servers: found.map((server) => ({ server, _meta: { "io.modelcontextprotocol.registry/official": { status: "active" } } })),
        metadata: { count: found.length },
      });
    },
  });
  return { url: `http://127.0.0.1:${http.port}`, queries, stop: () => http.stop(true) };
}
