import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LoginCodes } from "../../core/auth/codes.ts";
import { makeApp } from "../helpers/app.ts";

let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  h = await makeApp();
});
afterAll(() => h.close());

const login = (body: unknown) => h.request("/api/auth/login", { method: "POST", json: body, auth: false });

describe("POST /api/auth/login with a one-time code", () => {
  test("a printed code logs in once and sets the session cookie", async () => {
    const code = h.s.sessions.loginCodes.issue();
    const res = await login({ code });
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    const session = await h.request("/api/auth/session", { auth: false, headers: { cookie: cookie.split(";")[0]! } });
    expect(session.status).toBe(200);

    const again = await login({ code });
    expect(again.status).toBe(401);
    expect((await again.json()).error.code).toBe("invalid_code");
  });

  test("an unknown code is refused and counts as a failed attempt", async () => {
    const res = await login({ code: "not-a-real-code" });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toContain("expired");
  });

  test("a body with neither token nor code names the field", async () => {
    const res = await login({});
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain("token");
  });
});

describe("LoginCodes", () => {
  test("a code past its lifetime is refused", () => {
    let now = 1_000_000;
    const codes = new LoginCodes(() => now);
    const code = codes.issue(60_000);
    now += 60_001;
    expect(codes.redeem(code)).toBe(false);
  });
});
