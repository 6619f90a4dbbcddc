import type { Browser, BrowserContext, Page } from "playwright-core";
import { DESKTOP } from "../helpers/browser.ts";
import { waitFor } from "../helpers/nats.ts";

export const TOKEN = "e2e-token-0123456789abcdef";

/** A fresh browser profile (own cookies) at the given size, with page errors surfaced. */
export async function newPage(browser: Browser, viewport: { width: number; height: number } = DESKTOP): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return { ctx, page, errors };
}

export async function logIn(page: Page, base: string, token = TOKEN): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill("#token", token);
  await page.press("#token", "Enter");
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
}

export async function send(page: Page, text: string): Promise<void> {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

/** Polls `check` until it holds; for state the server owns, which the page cannot be waited on for. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  await waitFor(check.toString(), check, timeoutMs, 50);
}
