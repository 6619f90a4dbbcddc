import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Browser } from "playwright-core";
import { CONFIG_FILE, natsInit } from "../../core/nats/init.ts";
import type { EnrollmentBundle } from "../../core/protocol/index.ts";
import { tempDir } from "../helpers/app.ts";
import { compiledBinary, type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { type ConfiguredNats, startNatsWithConfig } from "../helpers/nats.ts";
import { logIn, newPage, TOKEN } from "./setup.ts";

setDefaultTimeout(60_000);

describe("companions page", () => {
  let dir: string;
  let nats: ConfiguredNats;
  let app: RunningBinary;
  let browser: Browser;
  let companion: Subprocess | undefined;

  beforeAll(async () => {
    dir = tempDir("bakerst-ui-companions-");
    natsInit({ dir, version: "test" });
    nats = await startNatsWithConfig(join(dir, CONFIG_FILE));
    [app, browser] = await Promise.all([
      startBinary({ AUTH_TOKEN: TOKEN, NATS_URL: nats.url, NATS_CREDS: join(dir, "creds", "core.nk"), COMPANION_OFFLINE_MS: "3000" }),
      launchBrowser(),
    ]);
  }, 120_000);
  afterAll(async () => {
    companion?.kill("SIGKILL");
    await browser?.close();
    await app?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("pairing shows the install command once; the companion started with it shows online; revoking marks it revoked", async () => {
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/companions`);
    await page.getByText("No companions yet").waitFor();
    await page.fill("#companion-name", "nas");
    await page.getByRole("button", { name: "Pair" }).click();
    const command = (await page.locator("[data-install-command]").textContent())!.trim();
    expect(command).toMatch(/^sudo sh install\.sh --binary \.\/bakerst-satellite --bundle [A-Za-z0-9_-]+$/);
    const bundle = JSON.parse(Buffer.from(command.split(" ").pop()!, "base64url").toString()) as EnrollmentBundle;
    expect(bundle).toMatchObject({ v: 1, id: "nas", natsUrl: nats.url });
    // Shown once: the list and a reload never carry the bundle (it holds the secret seed).
    const list = await (await fetch(`${app.url}/api/companions`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(list).not.toContain(bundle.seed);

    const home = join(dir, "nas");
    mkdirSync(home);
    writeFileSync(join(home, "seed.nk"), `${bundle.seed}\n`, { mode: 0o600 });
    companion = Bun.spawn([await compiledBinary("bakerst-satellite"), "--mode", "companion"], {
      cwd: home,
      env: {
        PATH: process.env.PATH ?? "/usr/bin",
        NATS_URL: bundle.natsUrl,
        NATS_CREDS: join(home, "seed.nk"),
        COMPANION_ID: "nas",
        CORE_PUBLIC_KEY: bundle.corePublicKey,
        COMPANION_STATE_DIR: join(home, "state"),
        HEARTBEAT_INTERVAL_MS: "500",
        LOG_LEVEL: "warn",
      },
      stdout: "ignore",
      stderr: "ignore",
    });
    const row = page.locator('tr[data-companion="nas"]');
    await row.locator(".chip", { hasText: "online" }).waitFor({ timeout: 30_000 });
    expect(await page.content()).not.toContain(bundle.seed);

    await row.getByRole("link", { name: "nas" }).click();
    await page.locator('section[aria-label="Companion nas"]').waitFor();

    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.locator(".chip", { hasText: "revoked" }).waitFor();
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("the companions page fits a phone", async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const { ctx, page } = await newPage(browser, viewport);
      await logIn(page, app.url);
      await page.goto(`${app.url}/companions`);
      await page.locator('table[aria-label="Companions"]').waitFor();
      expect(await hasHorizontalScroll(page)).toBe(false);
      await screenshot(page, "companions");
      await ctx.close();
    }
  });
});
