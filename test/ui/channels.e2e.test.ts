import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { waitFor } from "../helpers/nats.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

describe("channels page", () => {
  let tg: TelegramStandIn;
  let app: RunningBinary;
  let browser: Browser;

  beforeAll(async () => {
    tg = startTelegramStandIn();
    [app, browser] = await Promise.all([startBinary({ AUTH_TOKEN: TOKEN, TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.url }), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await tg?.close();
  });

  test("a chat asking to pair shows as waiting; the code typed in pairs it; its notifications can be switched off and it can be revoked", async () => {
    const irene = person(5150, "irene");
    tg.say(irene.chat, irene.user, "hello?");
    const codeMessage = await waitFor("the pairing code", () => tg.sentTo(irene.chat.id)[0]);
    const code = /([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(codeMessage.text)![1]!;
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/channels`);
    await page.locator('[data-platform="telegram"] .chip', { hasText: "ok" }).waitFor();
    expect(await page.locator('[data-platform="telegram"]').textContent()).toContain(`@${tg.bot.username}`);
    expect(await page.locator('[data-platform="discord"] .chip').textContent()).toBe("off");
    const waiting = page.locator('table[aria-label="Waiting for approval"] tr[data-pairing="telegram:5150"]');
    await waiting.waitFor();
    expect(await waiting.textContent()).toContain("@irene");
    // The page never shows the code itself: only the person who was given it can read it out.
    expect(await page.content()).not.toContain(code.replace("-", ""));
    expect(await page.content()).not.toContain(code);

    await page.fill("#pairing-code", "WRNG-2222");
    await page.getByRole("button", { name: "Approve" }).click();
    await page.locator('[role="alert"]', { hasText: "no chat is waiting with that pairing code" }).waitFor();
    await page.fill("#pairing-code", code.toLowerCase());
    await page.getByRole("button", { name: "Approve" }).click();
    await page.locator('[role="status"]', { hasText: "Paired @irene (Telegram)" }).waitFor();
    const paired = page.locator('table[aria-label="Paired chats"] tr[data-pairing="telegram:5150"]');
    await paired.waitFor();
    await waitFor("the chat told", () => tg.sentTo(irene.chat.id).some((m) => m.text.includes("Paired with Baker Street")));

    const box = paired.locator('input[type="checkbox"]');
    expect(await box.isChecked()).toBe(true);
    await box.uncheck();
    await waitFor("notifications off", async () => {
      const r = await (await fetch(`${app.url}/api/channels`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      return r.paired.find((p: { pairKey: string }) => p.pairKey === "telegram:5150")?.notify === false;
    });

    page.once("dialog", (d) => void d.accept());
    await paired.getByRole("button", { name: "Revoke" }).click();
    await paired.waitFor({ state: "detached" });
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("the channels page fits a phone", async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const { ctx, page } = await newPage(browser, viewport);
      await logIn(page, app.url);
      await page.goto(`${app.url}/channels`);
      await page.locator('[data-platform="telegram"]').waitFor();
      expect(await hasHorizontalScroll(page)).toBe(false);
      await screenshot(page, "channels");
      await ctx.close();
    }
  });
});
