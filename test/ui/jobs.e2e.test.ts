import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";
import { logIn, newPage, send, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads and streams take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

describe("jobs page", () => {
  let model: AnthropicStandIn;
  let app: RunningBinary;
  let browser: Browser;

  beforeAll(async () => {
    model = startAnthropicStandIn();
    [app, browser] = await Promise.all([startBinary({ AUTH_TOKEN: TOKEN, ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url }), launchBrowser()]);
  }, 120_000);
  afterEach(() => model.checkAndReset());
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await model?.stop();
  });

  test("a job dispatched from the page shows up and reaches completed", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/jobs`);
    model.on(prompt("Say that the job is done"), reply().text("The agent job is done."));
    await page.selectOption("#new-job-type", "agent");
    await page.fill("#new-job-value", "Say that the job is done");
    await page.getByRole("button", { name: "Dispatch" }).click();
    await page.waitForURL((u) => /^\/jobs\/.+/.test(u.pathname));
    const id = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    await page.locator(`tr[data-job="${id}"]`).waitFor();
    await page.locator('[data-testid="job-status"]', { hasText: "completed" }).waitFor({ timeout: 15_000 });
    await page.locator(`tr[data-job="${id}"] .chip`, { hasText: "completed" }).waitFor({ timeout: 5_000 }); // the table polls too
    expect(await page.locator(".job-detail").textContent()).toContain("Say that the job is done");
    await screenshot(page, "jobs-detail");
    await ctx.close();
  });

  test("a command job's status updates live and the filters narrow the table", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/jobs`);
    const r = await page.evaluate(async () =>
      (await fetch("/api/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "command", command: "date -u" }) })).json(),
    );
    const id = (r as { id: string }).id;
    // The page was open before the job existed: it appears and finishes without a reload.
    await page.locator(`tr[data-job="${id}"] .chip`, { hasText: /completed|failed/ }).waitFor({ timeout: 15_000 });
    await page.selectOption("#job-type", "agent");
    await page.waitForFunction((jobId) => !document.querySelector(`tr[data-job="${jobId}"]`), id);
    await page.selectOption("#job-type", "command");
    await page.locator(`tr[data-job="${id}"]`).waitFor();
    await ctx.close();
  });

  test("a job the agent starts in chat gets a status chip that follows it to the end", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    model.on(and(prompt("Run date in the background"), firstRound), reply().tool("dispatch_job", { type: "command", command: "date -u", wait: false }));
    model.on(afterTool("dispatch_job"), reply().text("Started it."));
    await send(page, "Run date in the background");
    await page.locator(".md", { hasText: "Started it." }).waitFor();
    const chip = page.locator(".chips .chip").first();
    await chip.waitFor();
    // The turn is over; the chip keeps polling the job until it finishes.
    await page.locator(".chips .chip", { hasText: /completed|failed/ }).waitFor({ timeout: 15_000 });
    const href = await chip.getAttribute("href");
    expect(href).toMatch(/^\/jobs\/.+/);
    await chip.click();
    await page.waitForURL((u) => u.pathname === href);
    await page.locator('[data-testid="job-status"]').waitFor();
    await ctx.close();
  }, 30_000);

  test("the jobs page fits a phone", async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const { ctx, page } = await newPage(browser, viewport);
      await logIn(page, app.url);
      await page.goto(`${app.url}/jobs`);
      await page.locator("table[aria-label='Jobs']").waitFor();
      expect(await hasHorizontalScroll(page)).toBe(false);
      await screenshot(page, "jobs-list");
      await ctx.close();
    }
  });
});
