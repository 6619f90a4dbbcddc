import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tokensEqual } from "../../core/auth/token.ts";
import { makeApp, TOKEN } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  h = await makeApp({ CORS_ORIGINS: "http://ui.test" });
});
afterAll(() => h.close());

const login = (token: string, ip?: string) => h.request("/api/auth/login", { method: "POST", auth: false, json: { token }, headers: ip ? { "x-test-ip": ip } : {} });

describe("auth", () => {
  test("every route but /ping needs credentials", async () => {
    expect((await h.request("/ping", { auth: false })).status).toBe(200);
    for (const path of ["/readyz", "/metrics", "/api/conversations", "/api/models", "/api/usage", "/api/system/health", "/api/nothing-here"]) {
      const res = await h.request(path, { auth: false });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe("unauthorized");
    }
    expect((await h.request("/readyz")).status).toBe(200);
  });

  test("POST /api/auth/login sets an httpOnly SameSite=Strict cookie that opens the API; logout ends it", async () => {
    const res = await login(TOKEN);
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain("Secure");
    const pair = cookie.split(";")[0]!;
    expect((await h.request("/api/conversations", { auth: false, headers: { cookie: pair } })).status).toBe(200);
    const out = await h.request("/api/auth/logout", { method: "POST", auth: false, headers: { cookie: pair } });
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await h.request("/api/conversations", { auth: false, headers: { cookie: pair } })).status).toBe(401);
  });

  test("the cookie is Secure behind TLS", async () => {
    const res = await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN }, headers: { "x-forwarded-proto": "https" } });
    expect(res.headers.get("set-cookie")).toContain("Secure");
  });

  test("a wrong token is 401, a malformed login body is 400 naming the field", async () => {
    const res = await h.request("/api/conversations", { headers: { authorization: "Bearer nope" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    const bad = await h.request("/api/auth/login", { method: "POST", auth: false, json: { tokn: "x" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toContain("token");
  });

  test("failed attempts are rate-limited: past the limit even the right token waits, with retry-after", async () => {
    // A fresh app so earlier failures in this file do not count.
    const fresh = await makeApp();
    try {
      for (let i = 0; i < 10; i++) {
        const r = await fresh.request("/api/auth/login", { method: "POST", auth: false, json: { token: `wrong-${i}` } });
        expect(r.status).toBe(401);
      }
      const blocked = await fresh.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN } });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await blocked.json()) as any).error.code).toBe("rate_limited");
      expect((await fresh.request("/api/conversations")).status).toBe(429);
    } finally {
      await fresh.close();
    }
  });

  test("token comparison is over fixed-length digests, so any length compares without throwing", () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual("", TOKEN)).toBe(false);
    expect(tokensEqual(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokensEqual("x".repeat(10_000), TOKEN)).toBe(false);
  });

  test("without AUTH_TOKEN a token is generated into the data dir with mode 0600", async () => {
    const g = await makeApp({ AUTH_TOKEN: undefined });
    try {
      const file = join(g.dataDir, "auth-token");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, "utf8").trim();
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(g.s.token.generated).toBe(true);
      expect((await g.request("/api/conversations", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  test("CORS answers only the configured origins", async () => {
    const ok = await h.request("/api/conversations", { headers: { origin: "http://ui.test" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://ui.test");
    const other = await h.request("/api/conversations", { headers: { origin: "http://evil.test" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await h.request("/api/chat", { method: "OPTIONS", auth: false, headers: { origin: "http://ui.test", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    const preBad = await h.request("/api/chat", { method: "OPTIONS", auth: false, headers: { origin: "http://evil.test", "access-control-request-method": "POST" } });
    expect(preBad.status).toBe(403);
    expect(preBad.headers.get("access-control-allow-origin")).toBeNull();
  });
});

import { ClientAddress } from "../../core/api/client-ip.ts";
import { ConfigError, loadConfig } from "../../core/config/index.ts";
import { serveApp } from "../helpers/app.ts";

describe("client address behind a reverse proxy", () => {
  test("X-Forwarded-For is believed only from TRUSTED_PROXIES, and only up to the first untrusted hop", () => {
    const a = new ClientAddress(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);
    expect(a.resolve("127.0.0.1", "203.0.113.9")).toBe("203.0.113.9");
    expect(a.resolve("::ffff:127.0.0.1", "203.0.113.9")).toBe("203.0.113.9");
    // A client cannot slip a fake address in front: the last untrusted hop wins.
    expect(a.resolve("127.0.0.1", "1.1.1.1, 203.0.113.9, 10.1.1.1")).toBe("203.0.113.9");
    expect(a.resolve("198.51.100.7", "203.0.113.9")).toBe("198.51.100.7");
    expect(a.resolve("127.0.0.1", "not-an-ip")).toBe("127.0.0.1");
    expect(new ClientAddress([]).resolve("127.0.0.1", "203.0.113.9")).toBe("127.0.0.1");
  });

  test("a bad TRUSTED_PROXIES entry stops start-up naming the key", () => {
    let err: unknown;
    try {
      loadConfig({ env: { BAKERST_DATA_DIR: "/tmp/x", TRUSTED_PROXIES: "10.0.0.0/99" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe("TRUSTED_PROXIES");
  });

  test("behind a trusted proxy one client's failed logins do not lock out another", async () => {
    const srv = await serveApp({ TRUSTED_PROXIES: "127.0.0.1,::1" });
    const login = (ip: string, token: string) =>
      fetch(`${srv.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": ip }, body: JSON.stringify({ token }) });
    try {
      for (let i = 0; i < 10; i++) expect((await login("203.0.113.66", "wrong")).status).toBe(401);
      expect((await login("203.0.113.66", TOKEN)).status).toBe(429);
      expect((await login("198.51.100.2", TOKEN)).status).toBe(200);
    } finally {
      await srv.stop();
    }
  });
});

import { tokenCommand } from "../../core/cli/token.ts";

describe("token rotation on a running server", () => {
  test("after `bakerst token --rotate` the old token and every browser session stop working, without a restart", async () => {
    const srv = await serveApp({ AUTH_TOKEN: undefined });
    try {
      const old = srv.services.token.token;
      const login = await fetch(`${srv.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: old }) });
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
      const get = (headers: Record<string, string>) => fetch(`${srv.url}/api/conversations`, { headers }).then((r) => r.status);
      expect(await get({ cookie })).toBe(200);
      let printed = "";
      expect(tokenCommand(srv.services.config, ["--rotate"], (s) => (printed += s))).toBe(0);
      const fresh = printed.split("\n")[0]!;
      expect(fresh).not.toBe(old);
      // The server looks at the token file at most once a second, on a request.
      await waitFor("the old token to be refused", async () => (await get({ authorization: `Bearer ${old}` })) === 401, 5_000, 100);
      expect(await get({ authorization: `Bearer ${fresh}` })).toBe(200);
      expect(await get({ cookie })).toBe(401);
    } finally {
      await srv.stop();
    }
  });
});
