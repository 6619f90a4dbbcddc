/**
 * Real headless Chromium for end-to-end tests, through playwright-core and
 * the Debian package (never `npx playwright install`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const INSTALL = "apt-get update && apt-get install -y chromium";

export const SCREENSHOTS = join(import.meta.dir, "..", "..", ".test-artifacts", "screenshots");

/** Installs chromium with apt-get when running as root; otherwise says exactly what to run. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() === 0) {
    execFileSync("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${INSTALL}`], { stdio: "inherit" });
    if (existsSync(CHROMIUM)) return CHROMIUM;
  }
  throw new Error(`${CHROMIUM} is missing; install it with: ${INSTALL}`);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;

/** Saves a full-page screenshot as .test-artifacts/screenshots/<name>-<width>.png for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  const path = join(SCREENSHOTS, `${name}-${width}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** True when the page is wider than its viewport (the phone-width bug users notice first). */
export function hasHorizontalScroll(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}
