/**
 * Someone without credentials (or a page in the owner's browser) tries to
 * make the server work for nothing, read what needs the token, or write with
 * the owner's cookie. Each case asserts the refusal and that nothing else
 * happened.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { parseToolJson } from "../../core/agent/providers/anthropic.ts";
import { decode } from "../../core/protocol/codec.ts";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../../core/protocol/json.ts";
import { JobDispatchV1 } from "../../core/protocol/messages.ts";
import { makeApp, serveApp, TOKEN } from "../helpers/app.ts";

const nested = (depth: number, inner = "") => "[".repeat(depth) + inner + "]".repeat(depth);
/** The body of the outside attack: 40 KB, 20,000 levels. */
const ATTACK = nested(20_000);

let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  h = await makeApp({ EDGE_WORKER: "false" });
});
afterAll(() => h.close());

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("Hostile JSON bodies", () => {
  test("the depth scan counts brackets outside strings only, escapes included, and stops at the limit", () => {
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(nestedDeeperThan(`{"a":"${"[".repeat(1000)}"}`)).toBe(false);
    // An escaped quote does not end the string; an escaped backslash before a quote does.
    expect(nestedDeeperThan(`["\\"${"[".repeat(100)}"]`)).toBe(false);
    expect(nestedDeeperThan(`["\\\\", ${nested(100)}]`)).toBe(true);
    expect(nestedDeeperThan(`{"k\\"{":${nested(MAX_JSON_DEPTH - 1)}}`)).toBe(false);
  });

  test("a deep body to a validated route is 400 invalid_json, and nothing is stored", async () => {
    for (const [path, body] of [
      ["/api/chat", ATTACK],
      ["/api/chat", `{"message":${ATTACK}}`],
      ["/api/memories", `{"text":"x","category":"general","x":${ATTACK}}`],
      ["/api/jobs", `{"type":"command","argv":${ATTACK}}`],
      ["/api/conversations/abc", `{"title":${nested(100)}}`],
    ] as const) {
      const res = await h.request(path, { method: path.includes("conversations") ? "PATCH" : "POST", body, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_json", message: `request body is nested deeper than ${MAX_JSON_DEPTH} levels` });
    }
    const put = await h.request("/api/models/config", { method: "PUT", body: `{"roles":${ATTACK}}`, headers: { "content-type": "application/json" } });
    expect((await errorOf(put)).code).toBe("invalid_json");
    expect(((await (await h.request("/api/conversations")).json()) as any).conversations).toEqual([]);
    expect(((await (await h.request("/api/memories")).json()) as any).memories).toEqual([]);
    expect(((await (await h.request("/api/jobs")).json()) as any).jobs).toEqual([]);
  });

  test("brackets inside strings are text: a memory full of them is stored as written", async () => {
    const text = `${"[{".repeat(500)} \\" ${"]}".repeat(3)}`;
    const res = await h.request("/api/memories", { method: "POST", json: { text, category: "general" } });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    const list = ((await (await h.request("/api/memories")).json()) as any).memories as { id: string; text: string }[];
    expect(list.find((m) => m.id === id)?.text).toBe(text);
    await h.request(`/api/memories/${id}`, { method: "DELETE" });
  });

  test("login: a deep body is refused as bad JSON, the attack's 40 KB as too large, and neither counts as a failed login", async () => {
    const fresh = await makeApp();
    try {
      for (let i = 0; i < 12; i++) {
        const deep = await fresh.request("/api/auth/login", { method: "POST", auth: false, body: `{"token":${nested(1500)}}`, headers: { "content-type": "application/json" } });
        expect(deep.status).toBe(400);
        expect((await errorOf(deep)).code).toBe("invalid_json");
        const attack = await fresh.request("/api/auth/login", { method: "POST", auth: false, body: ATTACK, headers: { "content-type": "application/json" } });
        expect(attack.status).toBe(413);
        expect(attack.headers.get("set-cookie")).toBeNull();
      }
      // Ten failed logins would have locked the client out; these were not logins at all.
      const ok = await fresh.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN } });
      expect(ok.status).toBe(200);
    } finally {
      await fresh.close();
    }
  });

  test("JSON lines: a deep line refuses the whole import, naming the line, and imports nothing", async () => {
    const body = `${JSON.stringify({ text: "fine", category: "general" })}\n{"text":"x","category":"general","v":${nested(200)}}\n`;
    const res = await h.request("/api/memories/import", { method: "POST", body, headers: { "content-type": "application/x-ndjson" } });
    expect(res.status).toBe(400);
    const e = await errorOf(res);
    expect(e.code).toBe("invalid_json");
    expect(e.message).toStartWith("line 2: not valid JSON (nested deeper than 64 levels)");
    expect(((await (await h.request("/api/memories")).json()) as any).memories).toEqual([]);
  });

  test("a deep NATS message and a deep tool input from a model are refused without throwing", () => {
    const msg = decode(JobDispatchV1, new TextEncoder().encode(`{"v":1,"x":${ATTACK}}`));
    expect(msg).toEqual({ ok: false, reason: "not UTF-8 JSON (nested deeper than 64 levels)" });
    expect(parseToolJson(`{"q":${ATTACK}}`)).toEqual({ __invalid_json: `{"q":${ATTACK}}` });
  });
});

/** One request on a raw socket, so the path goes out exactly as written. */
function rawGet(port: number, path: string, host = "127.0.0.1", headers = ""): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let out = "";
    sock.on("data", (d) => (out += d));
    sock.on("end", () => resolve({ status: Number(out.split(" ")[1]), body: out.split("\r\n\r\n").slice(1).join("\r\n\r\n") }));
    sock.on("error", reject);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${headers}\r\n`);
  });
}

describe("Auth on every spelling of a protected path", () => {
  let srv: Awaited<ReturnType<typeof serveApp>>;
  beforeAll(async () => {
    srv = await serveApp({}, { fallback: async (r) => (r.method === "GET" ? new Response("the console") : undefined) });
  });
  afterAll(() => srv.stop());

  const spellings = (p: string) => {
    const [first, ...rest] = p.slice(1).split("/");
    const tail = rest.length ? `/${rest.join("/")}` : "";
    const f = first!;
    return [
      p,
      `${p}/`,
      `${p}//`,
      `/${p}`,
      `//${f}${tail}`,
      `${p}/.`,
      `/./${f}${tail}`,
      `/x/..${p}`,
      `/%2e/${f}${tail}`,
      `/x/%2e%2e${p}`,
      `/${f.toUpperCase()}${tail}`,
      `/${f[0]!.toUpperCase()}${f.slice(1)}${tail}`,
      `/%${f.charCodeAt(0).toString(16)}${f.slice(1)}${tail}`,
      `/%25${f.charCodeAt(0).toString(16)}${f.slice(1)}${tail}`,
      `${p};x=1`,
      `/${f};x${tail}`,
      `${p}%3Bx`,
      `${p}%2F`,
      `${p}\\`,
      `/${f}\\${tail.slice(1)}`,
      `${p}?`,
      `${p}#x`,
      `${p}?a=1`,
      `http://127.0.0.1${p}`,
    ];
  };

  test("without credentials each spelling of /metrics, /readyz, /api/system/health and /api/jobs is refused", async () => {
    for (const p of ["/metrics", "/readyz", "/api/system/health", "/api/jobs"]) {
      for (const path of spellings(p)) {
        const r = await rawGet(srv.port, path);
        // Refused (401), malformed (400), or the console's page: never the protected answer.
        expect([400, 401, 404, 200]).toContain(r.status);
        if (r.status === 200) expect(r.body).toBe("the console");
        expect(r.body).not.toContain("bakerst_http_requests_total");
        expect(r.body).not.toContain('"components"');
        expect(r.body).not.toContain('"ready"');
        expect(r.body).not.toContain('"jobs"');
      }
    }
  });

  test("a Host header too short for the router's own path finding does not move the path past auth", async () => {
    for (const host of ["a", "ab", "abc", "[::1]"]) {
      for (const path of ["/xy/metrics", "/x/api/system/health", "/y/readyz", "/zz/api/jobs"]) {
        const r = await rawGet(srv.port, path, host);
        expect(r.status).toBe(200);
        expect(r.body).toBe("the console");
      }
      expect((await rawGet(srv.port, "/metrics", host)).status).toBe(401);
    }
    // A short name behind a proxy (`nas`) reaches the route it asked for.
    const jobs = await rawGet(srv.port, "/api/jobs", "nas", `authorization: Bearer ${TOKEN}\r\n`);
    expect(jobs.status).toBe(200);
    expect(JSON.parse(jobs.body)).toEqual({ jobs: [], next: null });
    // No Host at all: a 400 in JSON, not a stack trace.
    const none = await rawGet(srv.port, "/metrics", "");
    expect(none.status).toBe(400);
    expect(none.body).toContain('"invalid_request"');
  });

  test("only the exact allowlist is open; the token opens every spelling the router serves", async () => {
    expect((await rawGet(srv.port, "/ping")).status).toBe(200);
    expect((await rawGet(srv.port, "/ping/")).status).toBe(401);
    expect((await rawGet(srv.port, "/chat/abc")).body).toBe("the console");
    const auth = `authorization: Bearer ${TOKEN}\r\n`;
    expect((await rawGet(srv.port, "/metrics/", "127.0.0.1", auth)).body).toContain("bakerst_http_requests_total");
    expect((await rawGet(srv.port, "/api/jobs/", "127.0.0.1", auth)).status).toBe(200);
    const post = (path: string) => fetch(`${srv.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"token":"${TOKEN}"}` });
    expect((await post("/api/auth/login")).status).toBe(200);
    expect((await post("/api/auth/login/")).status).toBe(401);
    expect((await post("/chat/abc")).status).toBe(401);
  });
});

describe("Metrics labels", () => {
  test("2,000 unique unknown paths add no series to /metrics", async () => {
    const srv = await serveApp();
    try {
      const auth = { authorization: `Bearer ${TOKEN}` };
      const round = async (tag: string, n: number) => {
        for (let i = 0; i < n; i += 50) {
          await Promise.all(
            Array.from({ length: 50 }, (_, j) => {
              const k = `${tag}-${i + j}-${"0123456789abcdef".repeat(2)}`;
              const f = [
                () => fetch(`${srv.url}/api/${k}`),
                () => fetch(`${srv.url}/api/${k}`, { headers: auth }),
                () => fetch(`${srv.url}/${k}/deeper`, { headers: auth }),
                () => fetch(`${srv.url}/api/conversations/${k}`, { headers: auth }),
                () => fetch(`${srv.url}/api/${k}`, { method: "POST", headers: auth }),
              ][(i + j) % 5]!;
              return f().then((r) => r.arrayBuffer());
            }),
          );
        }
      };
      const series = async () =>
        (await (await fetch(`${srv.url}/metrics`, { headers: auth })).text())
          .split("\n")
          .filter((l) => l.startsWith("bakerst_http_"))
          .map((l) => l.replace(/ [^ ]+$/, ""));
      await round("warm", 50);
      await series(); // the scrape itself is a route too
      const before = await series();
      await round("attack", 2000);
      const after = await series();
      expect(after.filter((l) => !before.includes(l))).toEqual([]);
      expect(after.some((l) => l.includes("attack"))).toBe(false);
      expect(after).toContain('bakerst_http_requests_total{method="GET",route="unrouted",status="401"}');
      expect(after).toContain('bakerst_http_requests_total{method="GET",route="/api/conversations/:id",status="404"}');
      expect(after).toContain('bakerst_http_requests_total{method="POST",route="unmatched",status="404"}');
    } finally {
      await srv.stop();
    }
  }, 60_000);
});

describe("Cookie and query parsing", () => {
  test("a malformed, duplicated or huge session cookie is a 401 that says so, never a 500", async () => {
    const get = (cookie: string) => h.request("/api/conversations", { auth: false, headers: { cookie } });
    for (const cookie of [
      "bakerst_session=%",
      "bakerst_session=%E0%A4%A",
      "bakerst_session=a%zz",
      `bakerst_session=${"x%".repeat(4000)}`,
      "bakerst_session=\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
    ]) {
      const res = await get(cookie);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).message).toBe("the session cookie is malformed; log in again");
    }
    expect((await errorOf(await get(`bakerst_session=${"A".repeat(43)}`))).message).toBe("the session has expired; log in again");
    expect((await get(`bakerst_session=${"y".repeat(20_000)}`)).status).toBe(401);
    // A second cookie of the same name (set for another path or a parent domain) does not hide a valid one.
    const login = await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN } });
    const pair = login.headers.get("set-cookie")!.split(";")[0]!;
    expect((await get(`bakerst_session=%; ${pair}`)).status).toBe(200);
    expect((await get(`${pair}; bakerst_session=${"B".repeat(43)}`)).status).toBe(200);
  });

  test("a query string with a broken escape or a repeated name is a 400 naming it", async () => {
    for (const [query, field] of [
      ["q=%", "q"],
      ["q=%E0%A4%A", "q"],
      ["%zz=1", "%zz"],
      ["limit=1&limit=2", "limit"],
      ["q=a&q=b", "q"],
      ["q=a&q=a", "q"],
    ]) {
      const res = await h.request(`/api/conversations?${query}`);
      expect(res.status).toBe(400);
      const e = await errorOf(res);
      expect(e.code).toBe("invalid_request");
      expect(e.message).toStartWith(`${field}: `);
    }
    const long = await h.request(`/api/conversations?q=${"a".repeat(50_000)}`);
    expect(long.status).toBe(400);
    expect((await errorOf(long)).message).toStartWith("q: ");
  });

  test("every numeric query value is a whole number in its range, or a 400 naming the field", async () => {
    const bad = ["1.5", "0", "201", "-1", "1e3", "NaN", "", " 5", "0x10", "99999999999999999999", "Infinity"];
    const cases: [string, string, string[]][] = [
      ["/api/conversations", "limit", bad],
      ["/api/jobs", "limit", bad],
      ["/api/conversations", "before", ["-1", "1.5", "1e3", "NaN", "", "abc"]],
      ["/api/jobs", "before", ["-1", "1.5", "1e3", "NaN", ""]],
      ["/api/usage", "days", ["0", "367", "1.5", "-1", "1e2", "NaN", ""]],
      ["/api/memories", "limit", ["0", "501", "1.5", "-1", "1e2", ""]],
      ["/api/memories/search?q=x&", "limit", ["0", "101", "1.5", ""]],
      ["/api/memories/observations", "before", ["-1", "1.5", ""]],
      ["/api/chat/stream/some-turn", "after", ["-1", "1.5", "1e3", ""]],
    ];
    for (const [path, field, values] of cases) {
      for (const v of values) {
        const res = await h.request(`${path}${path.endsWith("&") ? "" : "?"}${field}=${encodeURIComponent(v)}`);
        expect(res.status).toBe(400);
        const e = await errorOf(res);
        expect(e.code).toBe("invalid_request");
        expect(e.message).toStartWith(`${field}: expected a whole number in `);
      }
    }
    const wait = await h.request("/api/jobs?wait=1.5", { method: "POST", json: { type: "command", command: "date -u" } });
    expect((await errorOf(wait)).message).toStartWith("wait: ");
    const resume = await h.request("/api/chat/stream/some-turn", { headers: { "last-event-id": "2.5" } });
    expect((await errorOf(resume)).message).toStartWith("Last-Event-ID: ");
  });

  test("limit is honoured exactly: no row beyond it, whatever is asked", async () => {
    for (let i = 0; i < 5; i++) h.s.conversations.create(`limit ${i}`);
    const page = (await (await h.request("/api/conversations?limit=2")).json()) as any;
    expect(page.conversations).toHaveLength(2);
    expect(page.next).not.toBeNull();
    const refused = await h.request("/api/conversations?limit=1.5");
    expect(refused.status).toBe(400);
    expect((await refused.json()) as object).not.toHaveProperty("conversations");
    expect(((await (await h.request("/api/conversations?limit=200")).json()) as any).conversations).toHaveLength(5);
  });
});
