import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, serveApp, TOKEN } from "../helpers/app.ts";

/** What someone who does not hold the token, or a page that rebound a name to this machine, gets from /mcp: refused, and nothing ran. */
let h: Awaited<ReturnType<typeof makeApp>>;

const rpc = (method: string, params: unknown = {}) => ({ jsonrpc: "2.0", id: 1, method, params });
const store = (text: string) => rpc("tools/call", { name: "memory_store", arguments: { text, category: "general" } });
const MCP_HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };
const memories = () => (h.s.store.sqlite.query("SELECT count(*) AS n FROM memories").get() as { n: number }).n;

function post(body: unknown, headers: Record<string, string>) {
  return h.app.handle(new Request("http://localhost/mcp", { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) }));
}
const bearer = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  h = await makeApp({ MAX_BODY_BYTES: "4096", MCP_ALLOWED_HOSTS: "bakerst.home.lan" });
});
afterAll(() => h.close());

describe("/mcp: refused at the door", () => {
  test("without the token, or with a wrong one, a tool call is 401 and nothing is stored", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }, { authorization: "Basic dXNlcjpwYXNz" }] as Record<string, string>[]) {
      const res = await post(store("planted by a stranger"), headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    expect(memories()).toBe(0);
  });

  test("a request addressed to a name this server does not answer to is refused even with the token (DNS rebinding)", async () => {
    for (const headers of [{ host: "attacker.example:3000" }, { host: "attacker.example", origin: "http://attacker.example" }, { host: "localhost.attacker.example" }] as Record<
      string,
      string
    >[]) {
      const res = await post(store("planted through a rebound name"), { ...bearer, ...headers });
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("foreign_host");
    }
    expect(memories()).toBe(0);
  });

  test("a browser page on another origin is refused even when it has the right Host", async () => {
    const res = await post(store("planted from a page"), { ...bearer, host: "localhost:3000", origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("foreign_host");
    // With the session cookie instead of the token, the API's own cross-site check answers first.
    const cookie = await post(store("planted with a cookie"), { cookie: "bakerst_session=whatever", origin: "https://evil.example", "sec-fetch-site": "cross-site" });
    expect(cookie.status).toBe(403);
    expect(memories()).toBe(0);
  });

  test("a body over MAX_BODY_BYTES is 413, declared or streamed, and nothing is stored", async () => {
    const big = store("x".repeat(5000));
    expect((await post(big, bearer)).status).toBe(413);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(JSON.stringify(big)));
        c.close();
      },
    });
    const chunked = await h.app.handle(
      new Request("http://localhost/mcp", { method: "POST", headers: { ...MCP_HEADERS, ...bearer }, body: stream, duplex: "half" } as RequestInit),
    );
    expect(chunked.status).toBe(413);
    expect(memories()).toBe(0);
  });

  test("GET and DELETE have nothing to serve on a stateless server: 405, after the same checks", async () => {
    const get = await h.app.handle(new Request("http://localhost/mcp", { headers: { accept: "text/event-stream", ...bearer } }));
    expect(get.status).toBe(405);
    expect((await h.app.handle(new Request("http://localhost/mcp", { method: "DELETE", headers: bearer }))).status).toBe(405);
    expect((await h.app.handle(new Request("http://localhost/mcp", { headers: { accept: "text/event-stream" } }))).status).toBe(401);
    expect((await h.app.handle(new Request("http://localhost/mcp", { headers: { ...bearer, host: "attacker.example" } }))).status).toBe(403);
  });

  test("a name from MCP_ALLOWED_HOSTS is answered", async () => {
    const res = await post(rpc("tools/list"), { ...bearer, host: "bakerst.home.lan:3000" });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.result.tools.map((t: { name: string }) => t.name)).toContain("ask");
  });

  test("JSON nested too deep or not JSON is refused before it reaches the MCP server", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect((await post(rpc("tools/list", deep), bearer)).status).toBe(400);
    const broken = await h.app.handle(new Request("http://localhost/mcp", { method: "POST", headers: { ...MCP_HEADERS, ...bearer }, body: "{not json" }));
    expect(broken.status).toBe(400);
  });
});

describe("/mcp on a real socket", () => {
  test("no token is 401 without reading the body: a body that never ends is answered at once", async () => {
    const srv = await serveApp();
    try {
      // A body that never ends: had the server waited for it before checking the token, no answer would come.
      const endless = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"'));
        },
      });
      const res = await fetch(`${srv.url}/mcp`, { method: "POST", headers: MCP_HEADERS, body: endless, duplex: "half", signal: AbortSignal.timeout(10_000) } as RequestInit);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("unauthorized");
    } finally {
      await srv.stop();
    }
  });
});
