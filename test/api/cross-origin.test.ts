/**
 * A page the owner visits tries to write with the owner's session cookie.
 * SameSite=Strict lets the cookie through from the same host on another
 * port (same site, other origin); the Origin check must not.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { makeApp, serveApp, TOKEN } from "../helpers/app.ts";
import { launchBrowser } from "../helpers/browser.ts";

setDefaultTimeout(30_000);

let h: Awaited<ReturnType<typeof makeApp>>;
let cookie: string;
beforeAll(async () => {
  h = await makeApp({ CORS_ORIGINS: "http://ui.example", PUBLIC_URL: "https://bakerst.example/" });
  const login = await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN } });
  cookie = login.headers.get("set-cookie")!.split(";")[0]!;
});
afterAll(() => h.close());

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
const memories = async () => ((await (await h.request("/api/memories")).json()) as { memories: { text: string }[] }).memories.map((m) => m.text);
/** A write with the session cookie and the given browser headers; host is what the browser addressed. */
const write = (text: string, headers: Record<string, string>, host = "localhost") =>
  h.request("/api/memories", { method: "POST", auth: false, json: { text, category: "general" }, headers: { cookie, host, ...headers } });

describe("Cookie-authenticated writes and Origin", () => {
  test("a write from another origin, or one the browser says is cross-site or same-site, is 403 cross_origin and stores nothing", async () => {
    const forged: Record<string, string>[] = [
      { origin: "http://localhost:8080" },
      { origin: "http://evil.example" },
      { origin: "https://localhost" },
      { origin: "null" },
      { origin: "null", "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "http://localhost", "sec-fetch-site": "same-site" },
      { origin: "not a url" },
    ];
    for (const headers of forged) {
      const res = await write(`forged ${JSON.stringify(headers)}`, headers);
      expect(res.status).toBe(403);
      const e = await errorOf(res);
      expect(e.code).toBe("cross_origin");
      expect(e.message).toContain("Authorization: Bearer");
    }
    for (const method of ["DELETE", "PATCH", "PUT"]) {
      const res = await h.request("/api/conversations/x", { method, auth: false, headers: { cookie, origin: "http://localhost:8080" } });
      expect(res.status).toBe(403);
    }
    expect(await memories()).toEqual([]);
  });

  test("the console's own requests, CORS_ORIGINS, PUBLIC_URL and non-browser clients go through", async () => {
    const allowed: Record<string, string>[] = [
      { origin: "http://localhost" },
      { origin: "http://localhost", "sec-fetch-site": "same-origin" },
      { "sec-fetch-site": "same-origin" },
      { origin: "null", "sec-fetch-site": "same-origin" },
      { "sec-fetch-site": "none" },
      { origin: "http://ui.example", "sec-fetch-site": "cross-site" },
      { origin: "https://bakerst.example", "sec-fetch-site": "same-origin" },
      { origin: "https://bakerst.example" },
      {},
    ];
    for (const [i, headers] of allowed.entries()) expect((await write(`ok ${i}`, headers)).status).toBe(200);
    // Behind a TLS proxy that says so, the browser's https origin is the request's own.
    expect((await write("proxied", { origin: "https://proxied.example", "x-forwarded-proto": "https" }, "proxied.example")).status).toBe(200);
    expect(await memories()).toHaveLength(allowed.length + 1);
    for (const id of ((await (await h.request("/api/memories")).json()) as any).memories.map((m: { id: string }) => m.id)) {
      await h.request(`/api/memories/${id}`, { method: "DELETE" });
    }
  });

  test("the bearer token is not checked against Origin; reads with the cookie are not either", async () => {
    const bearer = await h.request("/api/memories", {
      method: "POST",
      json: { text: "by token", category: "general" },
      headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" },
    });
    expect(bearer.status).toBe(200);
    const read = await h.request("/api/conversations", { auth: false, headers: { cookie, origin: "http://evil.example", "sec-fetch-site": "cross-site" } });
    expect(read.status).toBe(200);
    await h.request(`/api/memories/${((await bearer.json()) as { id: string }).id}`, { method: "DELETE" });
  });

  test("logging in or out from another origin is refused: no cookie is set, no session ends, no failure is counted", async () => {
    for (let i = 0; i < 12; i++) {
      const res = await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN }, headers: { origin: "http://localhost:8080", host: "localhost" } });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("cross_origin");
      expect(res.headers.get("set-cookie")).toBeNull();
      const wrong = await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: "wrong" }, headers: { "sec-fetch-site": "cross-site" } });
      expect(wrong.status).toBe(403);
    }
    const out = await h.request("/api/auth/logout", { method: "POST", auth: false, headers: { cookie, "sec-fetch-site": "same-site" } });
    expect(out.status).toBe(403);
    expect((await h.request("/api/conversations", { auth: false, headers: { cookie } })).status).toBe(200);
    expect((await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN } })).status).toBe(200);
  });
});

describe("Cross-origin writes from a real browser", () => {
  let browser: Browser;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let evil: ReturnType<typeof Bun.serve>;
  const script = (target: string) => `
    <form id="f" method="POST" action="${target}/api/memories" enctype="text/plain">
      <input name='{"text":"forged by form","category":"general","pad":"' value='"}'>
    </form>
    <script>
      fetch("${target}/api/memories", { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" },
        body: JSON.stringify({ text: "forged by fetch", category: "general" }) })
        .finally(() => { document.title = "sent"; document.getElementById("f").submit(); });
    </script>`;

  beforeAll(async () => {
    srv = await serveApp(
      {},
      {
        // The console stands in as a page on the server's own origin that writes with the cookie, as the real one does.
        fallback: (r) =>
          new URL(r.url).pathname === "/own"
            ? new Response(
                `<script>fetch("/api/memories", { method: "POST", headers: { "content-type": "application/json" }, credentials: "same-origin",
                body: JSON.stringify({ text: "from the console", category: "general" }) }).then((r) => (document.title = "own " + r.status));</script>`,
                { headers: { "content-type": "text/html", "referrer-policy": "no-referrer" } },
              )
            : undefined,
      },
    );
    evil = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response(script(srv.url), { headers: { "content-type": "text/html" } }),
    });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    evil?.stop(true);
    await srv?.stop();
  });

  test("a page on the same host and another port cannot write with the owner's cookie; the server's own page can", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const login = await fetch(`${srv.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: TOKEN }) });
    const value = login.headers.get("set-cookie")!.split(";")[0]!.split("=")[1]!;
    await ctx.addCookies([{ name: "bakerst_session", value, domain: "127.0.0.1", path: "/", httpOnly: true, sameSite: "Strict" }]);

    const statuses: number[] = [];
    const cookies: Promise<string | undefined>[] = [];
    page.on("response", (r) => {
      if (r.request().method() !== "POST" || !r.url().endsWith("/api/memories")) return;
      statuses.push(r.status());
      cookies.push(
        r
          .request()
          .allHeaders()
          .then((hd) => hd.cookie),
      );
    });
    await page.goto(`http://127.0.0.1:${evil.port!}/`);
    // The fetch, then the form, whose answer the browser shows.
    await page.waitForURL(`${srv.url}/api/memories`);
    expect(await page.textContent("body")).toContain("cross_origin");
    expect(statuses).toEqual([403, 403]);
    // The browser did send the owner's cookie with the form (same site): only the Origin check stood in the way.
    expect(await Promise.all(cookies)).toContain(`bakerst_session=${value}`);

    await page.goto(`${srv.url}/own`);
    await page.waitForFunction(() => document.title.startsWith("own "));
    expect(await page.title()).toBe("own 200");
    const stored = (await (await fetch(`${srv.url}/api/memories`, { headers: srv.auth })).json()) as { memories: { text: string }[] };
    expect(stored.memories.map((m) => m.text)).toEqual(["from the console"]);
    await ctx.close();
  });
});
