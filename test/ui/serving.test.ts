import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startBinary, type RunningBinary } from "../helpers/binary.ts";

let app: RunningBinary;
beforeAll(async () => {
  app = await startBinary({ AUTH_TOKEN: "serving-token-0123456789" });
}, 120_000);
afterAll(() => app?.stop());

const assetPaths = (html: string) => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);

describe("the compiled binary serves the console", () => {
  test("every non-API path loads the app, without auth and without caching", async () => {
    for (const path of ["/", "/chat/abc123", "/jobs/xyz", "/memory", "/login"]) {
      const res = await fetch(app.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await res.text()).toContain('<div id="root">');
    }
  });

  test("hashed assets are cached immutably and sent gzipped when asked", async () => {
    const html = await (await fetch(`${app.url}/`)).text();
    const paths = assetPaths(html).filter((p) => /-[a-z0-9]{6,}\.(js|css)$/.test(p));
    expect(paths.some((p) => p.endsWith(".js"))).toBe(true);
    expect(paths.some((p) => p.endsWith(".css"))).toBe(true);
    for (const p of paths) {
      const res = await fetch(app.url + p, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-encoding")).toBe("gzip");
      const etag = res.headers.get("etag")!;
      const again = await fetch(app.url + p, { headers: { "if-none-match": etag } });
      expect(again.status).toBe(304);
    }
  });

  test("API, health and metrics paths keep their own answers", async () => {
    const api = await fetch(`${app.url}/api/nothing-here`, { headers: { authorization: "Bearer serving-token-0123456789" } });
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe("not_found");
    expect((await fetch(`${app.url}/api/conversations`)).status).toBe(401);
    expect(await (await fetch(`${app.url}/ping`)).text()).toBe("pong");
    expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
    const missingAsset = await fetch(`${app.url}/assets/nope-123.js`);
    expect(missingAsset.status).toBe(404);
  });
});
