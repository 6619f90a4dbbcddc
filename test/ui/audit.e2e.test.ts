import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

describe("audit page", () => {
  let app: RunningBinary;
  let browser: Browser;
  const login = (token: string) => fetch(`${app.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBinary({ AUTH_TOKEN: TOKEN }), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  test("a failed login made before the page was opened is there, with the address it came from; the outcome filter narrows the table", async () => {
    expect((await login("someone-guessing-0123")).status).toBe(401);
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/audit`);
    const failed = page.locator('table[aria-label="Audit log"] tr[data-action="auth.login"][data-outcome="failed"]');
    await failed.first().waitFor();
    expect(await failed.first().textContent()).toContain("127.0.0.1");
    expect(await failed.first().textContent()).toContain("invalid_token");
    expect(await failed.first().textContent()).not.toContain("someone-guessing");
    await page.selectOption("#audit-outcome", "ok");
    await page.waitForFunction(() => !document.querySelector('tr[data-outcome="failed"]'));
    await page.locator('tr[data-action="auth.login"][data-outcome="ok"]').first().waitFor();
    await page.selectOption("#audit-outcome", "");
    await page.selectOption("#audit-action", "auth.login");
    await failed.first().waitFor();
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("newest first, and Load more pages back through older events without repeating one", async () => {
    // Each right token resets the limiter, so none of these is refused: 120 more events.
    for (let i = 0; i < 60; i++) {
      expect((await login(`wrong-guess-${i}-xxxxxxxx`)).status).toBe(401);
      expect((await login(TOKEN)).status).toBe(200);
    }
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/audit`);
    const rows = page.locator('table[aria-label="Audit log"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(50);
    const more = page.getByRole("button", { name: "Load more" });
    while (await more.isVisible()) {
      await more.click();
      // Busy while the page loads; then it has grown, or the button is gone with the last page.
      await page.waitForFunction(() => !document.querySelector(".show-more[disabled]"));
    }
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute("data-id"))));
    expect(ids.length).toBeGreaterThan(120);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    await ctx.close();
  });

  test("the audit page fits a phone", async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const { ctx, page } = await newPage(browser, viewport);
      await logIn(page, app.url);
      await page.goto(`${app.url}/audit`);
      await page.locator("table[aria-label='Audit log'] tbody tr").first().waitFor();
      expect(await hasHorizontalScroll(page)).toBe(false);
      // The table itself fits too: nothing to scroll sideways inside its card.
      expect(await page.locator(".table-scroll").evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true);
      await screenshot(page, "audit");
      await ctx.close();
    }
  });
});
