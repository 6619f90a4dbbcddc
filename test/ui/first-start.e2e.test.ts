import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { launchBrowser, screenshot } from "../helpers/browser.ts";
import { waitFor } from "../helpers/nats.ts";
import { newPage, send } from "./setup.ts";

// A real browser against a real binary: page loads and streams take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

// A fresh install: no AUTH_TOKEN and no model configured.
let app: RunningBinary;
let browser: Browser;
let link = "";
let token = "";

beforeAll(async () => {
  [app, browser] = await Promise.all([startBinary({}), launchBrowser()]);
  // The banner is written just after the listening line, in one write with the token.
  link = await waitFor("the login link on stdout", () => /Open (http:\/\/\S+\/login#code=[\w-]+)/.exec(app.output())?.[1]);
  token = /shown only now\):\s+([0-9a-f]{64})/.exec(app.output())?.[1] ?? "";
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe("first start", () => {
  test("the printed link carries a one-time code, not the token", () => {
    expect(link).toContain("/login#code=");
    expect(token).toHaveLength(64);
    expect(link).not.toContain(token);
  });

  test("the printed link logs in directly, once", async () => {
    const first = await newPage(browser);
    await first.page.goto(link);
    await first.page.waitForURL((u) => u.pathname === "/");
    await first.page.locator("#message").waitFor();
    expect(first.page.url()).not.toContain("code=");
    await first.ctx.close();

    const second = await newPage(browser);
    await second.page.goto(link);
    await second.page.getByRole("alert").getByText("used or has expired").waitFor();
    expect(new URL(second.page.url()).pathname).toBe("/login");
    await second.ctx.close();
  });

  test("with no model configured the chat says what to set", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(`${app.url}/login`);
    await page.fill("#token", token);
    await page.press("#token", "Enter");
    await page.waitForURL((u) => u.pathname === "/");
    await send(page, "hello?");
    const box = page.locator(".turn-error");
    await box.getByText("No model configured").waitFor();
    expect(await box.textContent()).toContain("ANTHROPIC_API_KEY");
    await screenshot(page, "chat-no-model");
    await ctx.close();
  });

  test("the system page shows the models component down and what to do about it", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(`${app.url}/login`);
    await page.fill("#token", token);
    await page.press("#token", "Enter");
    await page.waitForURL((u) => u.pathname === "/");
    await page.goto(`${app.url}/system`);
    const card = page.locator('[data-component="models"]');
    await card.locator(".chip", { hasText: "down" }).waitFor();
    expect(await card.locator(".fix").textContent()).toContain("ANTHROPIC_API_KEY");
    expect(await page.locator('[data-component="database"] .chip').textContent()).toBe("ok");
    await screenshot(page, "system-down");
    await ctx.close();
  });

  // Last: it leaves this loopback client rate-limited.
  test("repeated wrong tokens are slowed down with a clear message", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(`${app.url}/login`);
    for (let i = 0; i < 11; i++) {
      await page.fill("#token", `wrong-${i}`);
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/auth/login")), page.press("#token", "Enter")]);
      if (res.status() === 429) break;
      expect(res.status()).toBe(401);
      if (await page.getByText("Too many failed attempts").count()) break;
    }
    await page
      .getByRole("alert")
      .getByText(/Too many failed attempts\. Try again in \d+ s\./)
      .waitFor();
    expect(await page.getByRole("button", { name: "Log in" }).isDisabled()).toBe(true);
    await ctx.close();
  });
});
