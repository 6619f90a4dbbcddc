import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { hasHorizontalScroll, launchBrowser, PHONE } from "../helpers/browser.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

describe("skills page", () => {
  let app: RunningBinary;
  let browser: Browser;
  const api = (path: string, init: RequestInit = {}) => fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } });

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBinary({ AUTH_TOKEN: TOKEN }), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  test("a proposal shows exactly what it would run; Approve moves it to its tier, approved", async () => {
    const proposed = await api("/api/skills/propose", {
      method: "POST",
      body: JSON.stringify({ name: "remote-notes", description: "Notes over HTTP", tier: 2, url: "https://notes.example.com/mcp", bearerSecret: "NOTES_TOKEN" }),
    });
    expect(proposed.status).toBe(201);
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/skills`);
    const card = page.locator('.skill.pending[data-skill="remote-notes"]');
    await card.waitFor();
    const shown = await card.locator('[data-testid="would-run"]').textContent();
    expect(shown).toContain("https://notes.example.com/mcp");
    expect(shown).toContain("Authorization");
    expect(await page.locator('.skill[data-skill="filesystem"]').count()).toBe(1);
    await card.getByRole("button", { name: "Approve" }).click();
    await page.locator('.skill:not(.pending)[data-skill="remote-notes"]').waitFor();
    expect((await (await api("/api/skills/remote-notes")).json()).status).toBe("approved");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("fits a phone without sideways scrolling", async () => {
    const { ctx, page } = await newPage(browser, PHONE);
    await logIn(page, app.url);
    await page.goto(`${app.url}/skills`);
    await page.locator('.skill[data-skill="filesystem"]').waitFor();
    expect(await hasHorizontalScroll(page)).toBe(false);
    await ctx.close();
  });
});
