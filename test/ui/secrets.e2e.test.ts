import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

const VALUE = "ghp-like-but-not-Xq7Lm2Vb9Rt4Kz8Wn3";

describe("secrets page", () => {
  let app: RunningBinary;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBinary({ AUTH_TOKEN: TOKEN }), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  test("a secret typed in is stored, listed by name and mask, and its value is nowhere on the page; it can be deleted", async () => {
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/secrets`);
    await page.getByText("No secrets yet").waitFor();
    await page.fill("#secret-name", "bad-name");
    expect(await page.getByRole("button", { name: "Save" }).isDisabled()).toBe(true);
    await page.fill("#secret-name", "github_token");
    expect(await page.inputValue("#secret-name")).toBe("GITHUB_TOKEN");
    await page.fill("#secret-value", VALUE);
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator('[role="status"]', { hasText: "Stored GITHUB_TOKEN." }).waitFor();
    const row = page.locator('tr[data-secret="GITHUB_TOKEN"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(`••••••••${VALUE.slice(-4)}`);
    // The form forgot it, and nothing on the page holds it.
    expect(await page.inputValue("#secret-value")).toBe("");
    expect(await page.content()).not.toContain(VALUE);
    await page.reload();
    await row.waitFor();
    expect(await page.content()).not.toContain(VALUE);

    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await page.getByText("No secrets yet").waitFor();
    const left = await (await fetch(`${app.url}/api/secrets`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(left).toEqual({ secrets: [] });
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("the secrets page fits a phone", async () => {
    await fetch(`${app.url}/api/secrets/SOME_API_KEY`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ value: VALUE }),
    });
    for (const viewport of [PHONE, DESKTOP]) {
      const { ctx, page } = await newPage(browser, viewport);
      await logIn(page, app.url);
      await page.goto(`${app.url}/secrets`);
      await page.locator('tr[data-secret="SOME_API_KEY"]').waitFor();
      expect(await hasHorizontalScroll(page)).toBe(false);
      await screenshot(page, "secrets");
      await ctx.close();
    }
  });
});
