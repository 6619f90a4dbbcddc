import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { launchBrowser, screenshot } from "../helpers/browser.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { httpError, prompt } from "../standins/script.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

setDefaultTimeout(60_000);

describe("schedules page", () => {
  let model: AnthropicStandIn;
  let app: RunningBinary;
  let browser: Browser;

  beforeAll(async () => {
    model = startAnthropicStandIn();
    [app, browser] = await Promise.all([
      startBinary({ AUTH_TOKEN: TOKEN, ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, SCHEDULE_TIME_ZONE: "Europe/Berlin", MODEL_MAX_RETRIES: "0" }),
      launchBrowser(),
    ]);
  }, 120_000);
  afterEach(() => model.checkAndReset());
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await model?.stop();
  });

  test("a schedule made on the page previews its next runs in its zone, runs now, and a failed run stands out", async () => {
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/schedules`);
    await page.getByRole("button", { name: "New schedule" }).click();
    await page.fill("#schedule-name", "Weekday briefing");
    await page.fill("#schedule-timing", "0 9 * * 1-5");
    await page.fill("#schedule-zone", "America/New_York");
    await page.fill("#schedule-body", "Brief me");
    // The preview asks the server (croner) as the timing is typed.
    await page.locator('[data-testid="schedule-preview"]', { hasText: "09:00:00" }).waitFor();
    expect(await page.locator('[data-testid="schedule-preview"]').textContent()).toMatch(/09:00:00 E[SD]T/);
    await page.fill("#schedule-timing", "0 9 * * 8");
    await page.locator('[data-testid="schedule-preview"] .error-box').waitFor();
    await page.fill("#schedule-timing", "0 9 * * 1-5");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL((u) => /^\/schedules\/.+/.test(u.pathname));
    const id = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    expect(await page.locator('[data-testid="next-run"]').textContent()).toMatch(/09:00:00 E[SD]T · .+ \(.+\)/);

    model.on(prompt("Brief me"), httpError(400));
    await page.getByRole("button", { name: "Run now" }).click();
    await page.locator(`tr.failing[data-schedule="${id}"]`).waitFor({ timeout: 15_000 });
    await page.locator('table[aria-label="Runs"] .chip.status-failed').waitFor();
    expect(await page.locator('[data-testid="schedule-state"]').textContent()).toBe("failing");
    await screenshot(page, "schedules-detail");

    await page.getByRole("button", { name: "Pause" }).click();
    await page.locator(`tr[data-schedule="${id}"] .chip.status-paused`).waitFor();
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
