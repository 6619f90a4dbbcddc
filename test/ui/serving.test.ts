import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";

// Starting the binary (and the dev server building the UI) takes seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

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

describe("npm start (bun core/main.ts serve) serves the console too", () => {
  test("builds the UI on the fly and serves the app and its assets", async () => {
    const { tempDir } = await import("../helpers/app.ts");
    const dir = tempDir("bakerst-dev-");
    const proc = Bun.spawn([process.execPath, "core/main.ts", "serve"], {
      cwd: `${import.meta.dir}/../..`,
      env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", BAKERST_DATA_DIR: dir, AUTH_TOKEN: "dev-token-0123456789abcdef", LOG_LEVEL: "info" },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      // Keep draining stderr: closing it early would kill the server on its next log line (EPIPE).
      let log = "";
      const dec = new TextDecoder();
      void (async () => {
        for await (const chunk of proc.stderr) log += dec.decode(chunk, { stream: true });
      })();
      const url = await waitFor(
        "bakerst to listen",
        () => {
          if (proc.exitCode !== null) throw new Error(`bakerst exited with ${proc.exitCode}: ${log}`);
          return /"msg":"bakerst listening","url":"(http:\/\/[^"]+)"/.exec(log)?.[1];
        },
        30_000,
      );
      const page = await fetch(`${url}/chat/deep-link`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const js = await fetch(url + script!);
      expect(js.status).toBe(200);
      expect(js.headers.get("content-type")).toContain("javascript");
      expect((await js.text()).length).toBeGreaterThan(10_000);
    } finally {
      proc.kill();
      await proc.exited;
      (await import("node:fs")).rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
