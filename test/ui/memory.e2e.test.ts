import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads and streams take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

// No embedder: keyword search (FTS5) answers.
describe("memory page", () => {
  let app: RunningBinary;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBinary({ AUTH_TOKEN: TOKEN }), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  test("add, search, change category and delete a memory", async () => {
    const { ctx, page } = await newPage(browser);
    page.on("dialog", (d) => void d.accept());
    await logIn(page, app.url);
    await page.goto(`${app.url}/memory`);
    await page.fill("#mem-new", "The NAS in the attic is a Synology DS920+");
    await page.selectOption("#mem-new-cat", "homelab");
    await page.getByRole("button", { name: "Add" }).click();
    await page
      .getByRole("status")
      .getByText(/Saved|Merged/)
      .waitFor();
    const row = page.locator(".mem", { hasText: "Synology DS920+" });
    await row.waitFor();
    expect(await row.locator("select").inputValue()).toBe("homelab");

    await page.fill("#mem-new", "I take my coffee black, no sugar");
    await page.selectOption("#mem-new-cat", "preferences");
    await page.getByRole("button", { name: "Add" }).click();
    await page.locator(".mem", { hasText: "coffee black" }).waitFor();

    await page.fill("#mem-search", "Synology");
    await page.press("#mem-search", "Enter");
    await page.waitForFunction(() => [...document.querySelectorAll(".mem-text")].every((e) => !e.textContent!.includes("coffee")));
    await row.waitFor();
    await screenshot(page, "memory-search");

    await page.getByRole("button", { name: "Clear" }).click();
    // Browsing one category shows only its memories (each row's category select says which).
    const onlyCategory = (cat: string, text: string) =>
      page.waitForFunction(
        ([c, t]) => {
          const rows = [...document.querySelectorAll(".mem")];
          return rows.length > 0 && rows.every((r) => (r.querySelector("select") as HTMLSelectElement).value === c) && rows.some((r) => r.textContent!.includes(t));
        },
        [cat, text] as const,
      );
    await page.selectOption("#mem-category", "preferences");
    await onlyCategory("preferences", "coffee black");

    await page.selectOption("#mem-category", "");
    await page.locator(".mem", { hasText: "Synology" }).waitFor();
    await page.locator(".mem", { hasText: "coffee black" }).locator("select").selectOption("personal");
    await page.selectOption("#mem-category", "personal");
    await onlyCategory("personal", "coffee black");

    await page.selectOption("#mem-category", "");
    await page.locator(".mem", { hasText: "Synology" }).getByRole("button", { name: "Delete memory" }).click();
    await page.waitForFunction(() => ![...document.querySelectorAll(".mem-text")].some((e) => e.textContent!.includes("Synology")));
    await page.reload();
    await page.locator(".mem", { hasText: "coffee black" }).waitFor();
    expect(await page.locator(".mem", { hasText: "Synology" }).count()).toBe(0);
    await ctx.close();
  });

  test("observations and reflections are readable, and the page fits a phone", async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const { ctx, page } = await newPage(browser, viewport);
      await logIn(page, app.url);
      await page.goto(`${app.url}/memory`);
      await page.getByRole("tab", { name: "Observations" }).click();
      await page.locator("main .state, main .mem-list").first().waitFor();
      expect(await page.locator("main").textContent()).not.toContain("went wrong");
      await page.getByRole("tab", { name: "Reflections" }).click();
      await page.locator("main .state, main .mem-list").first().waitFor();
      expect(await hasHorizontalScroll(page)).toBe(false);
      await screenshot(page, "memory-reflections");
      await ctx.close();
    }
  });
});
