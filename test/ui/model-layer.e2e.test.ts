import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { launchBrowser, screenshot } from "../helpers/browser.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply, system } from "../standins/script.ts";
import { logIn, newPage, send, TOKEN } from "./setup.ts";

setDefaultTimeout(30_000);

let model: AnthropicStandIn;
let app: RunningBinary;
let browser: Browser;

beforeAll(async () => {
  model = startAnthropicStandIn();
  [app, browser] = await Promise.all([
    startBinary({ AUTH_TOKEN: TOKEN, ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, THINKING_AGENT: "2048", OBSERVER_THRESHOLD_CHARS: "1000000" }),
    launchBrowser(),
  ]);
}, 120_000);
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await model?.stop();
});

describe("thinking, cache and compaction in the console", () => {
  test("thinking shows collapsed, each answer its cache share, and Compact marks where the model's verbatim history starts", async () => {
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    model.on(prompt("Plan my week, please."), reply().thinking("Monday is busy; keep <b>Friday</b> free.").text("Monday: **errands**. Friday: rest."));
    await send(page, "Plan my week, please.");
    await page.locator(".md strong", { hasText: "errands" }).waitFor();
    const thinking = page.locator("details.thinking").first();
    expect(await thinking.getAttribute("open")).toBeNull();
    expect(await thinking.locator(".thinking-text").isVisible()).toBe(false);
    await thinking.locator("summary").click();
    // Thinking is shown as the text it is, never as markup.
    expect(await thinking.locator(".thinking-text").textContent()).toBe("Monday is busy; keep <b>Friday</b> free.");
    expect(await thinking.locator("b").count()).toBe(0);

    // The second turn reads the first from the cache: its cost line says how much.
    model.on(prompt("And next week?"), reply().thinking("Same shape.").text("Much the same."));
    await send(page, "And next week?");
    const usage = page.locator(".turn").nth(1).locator(".usage");
    await usage.waitFor();
    expect(await usage.textContent()).toMatch(/\d+% from cache/);

    model.on(system(/extract observations/), reply().text('[{"kind":"Decision","text":"Fridays stay free."}]'));
    await page.getByRole("button", { name: "Compact" }).click();
    await page
      .getByRole("status")
      .getByText(/^Compacted/)
      .waitFor();
    const divider = page.locator("details.compaction");
    await divider.waitFor();
    await divider.locator("summary").click();
    expect(await divider.locator("pre").textContent()).toContain("Fridays stay free.");
    // It sits above the turn the model still sees verbatim; the older one stays on the page.
    expect(await page.locator(".turn").nth(1).locator("details.compaction").count()).toBe(1);
    expect(await page.locator(".msg.user", { hasText: "Plan my week, please." }).count()).toBe(1);
    await screenshot(page, "chat-thinking-compaction");

    await page.reload();
    await page.locator("details.compaction").waitFor();
    await page.locator("details.thinking").first().waitFor();
    expect(await page.locator(".turn").nth(1).locator(".usage").textContent()).toMatch(/% from cache/);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("the usage page shows cache reads and writes and what caching saved", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/models`);
    const table = page.locator('table[aria-label="Usage by day and model"]');
    await table.waitFor();
    expect(await table.locator("thead").textContent()).toContain("Cache read / written");
    expect(await table.locator("thead").textContent()).toContain("Saved by caching");
    await page.getByText(/Prompt caching saved \$/).waitFor();
    await page.locator("#thinking-agent").waitFor();
    expect(await page.locator("#thinking-agent").inputValue()).toBe("2048");
    await ctx.close();
  });
});
