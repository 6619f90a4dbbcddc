import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { launchBrowser, screenshot } from "../helpers/browser.ts";
import { type MountArea, mountArea, runnerBinary } from "../helpers/tasks.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";
import { logIn, newPage, send, TOKEN } from "./setup.ts";

setDefaultTimeout(30_000);

describe("tasks page", () => {
  let model: AnthropicStandIn;
  let app: RunningBinary;
  let browser: Browser;
  let area: MountArea;

  beforeAll(async () => {
    model = startAnthropicStandIn();
    area = mountArea();
    [app, browser] = await Promise.all([
      startBinary({ AUTH_TOKEN: TOKEN, ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, TASK_ALLOWED_PATHS: area.root, TASK_RUNNER: await runnerBinary() }),
      launchBrowser(),
    ]);
  }, 120_000);
  afterEach(() => model.checkAndReset());
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await model?.stop();
  });

  test("a script task started from the page streams its output live and ends succeeded in the table", async () => {
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/tasks`);
    await page.fill("#new-task-script", `cat ${area.ro}/file.txt; echo to-stderr >&2; sleep 1; echo last line`);
    await page.fill("#new-task-mounts", area.ro);
    await page.getByRole("button", { name: "Start" }).click();
    await page.waitForURL((u) => /^\/tasks\/.+/.test(u.pathname));
    const id = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    // The first line shows while the task still runs (it sleeps before the last).
    await page.locator('[data-testid="task-output"]', { hasText: "read me" }).waitFor();
    await page.locator('[data-testid="task-output"] .stderr', { hasText: "to-stderr" }).waitFor();
    await page.locator('[data-testid="task-status"]', { hasText: "succeeded" }).waitFor({ timeout: 15_000 });
    const output = await page.locator('[data-testid="task-output"] span:not(.note)').allTextContents();
    expect(output.join("")).toBe("read me\nto-stderr\nlast line\n");
    expect(await page.locator('[data-testid="task-output"] .note').first().textContent()).toBe("— started\n");
    await page.locator(`tr[data-task="${id}"] .chip`, { hasText: "succeeded" }).waitFor({ timeout: 5_000 });
    await screenshot(page, "tasks-detail");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("a writable mount waits for approval; Approve on the page runs it", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/tasks`);
    await page.fill("#new-task-script", `echo from-the-page > ${area.rw}/page.txt; echo wrote`);
    await page.fill("#new-task-mounts", `${area.rw}:rw`);
    await page.getByRole("button", { name: "Start" }).click();
    await page.waitForURL((u) => /^\/tasks\/.+/.test(u.pathname));
    await page.locator(".task-detail", { hasText: `write:${area.rw}` }).waitFor();
    await page.locator(".task-detail").getByRole("button", { name: "Approve" }).click();
    await page.locator('[data-testid="task-status"]', { hasText: "succeeded" }).waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="task-output"]', { hasText: "wrote" }).waitFor();
    expect(readFileSync(join(area.rw, "page.txt"), "utf8")).toBe("from-the-page\n");
    await ctx.close();
  });

  test("Cancel task stops a running task", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/tasks`);
    await page.fill("#new-task-script", "echo waiting; sleep 60");
    await page.getByRole("button", { name: "Start" }).click();
    await page.locator('[data-testid="task-output"]', { hasText: "waiting" }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Cancel task" }).click();
    await page.locator('[data-testid="task-status"]', { hasText: "cancelled" }).waitFor({ timeout: 15_000 });
    await ctx.close();
  });

  test("a task the agent starts in chat appears as a card; one that waits for approval gets an Approve button there", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    model.on(
      and(prompt("Write the note"), firstRound),
      reply()
        .tool("run_task", { mode: "script", script: `echo note > ${area.rw}/chat.txt`, mounts: [{ path: area.rw, writable: true }], wait: false })
        .stopReason("tool_use"),
    );
    model.on(afterTool("run_task"), reply().text("It waits for your approval."));
    await send(page, "Write the note");
    await page.locator(".md", { hasText: "It waits for your approval." }).waitFor();
    const card = page.locator(".task-card").first();
    await card.locator(".chip", { hasText: "awaiting approval" }).waitFor({ timeout: 10_000 });
    await screenshot(page, "chat-task-card");
    await card.getByRole("button", { name: "Approve" }).click();
    await card.locator(".chip", { hasText: "succeeded" }).waitFor({ timeout: 15_000 });
    expect(readFileSync(join(area.rw, "chat.txt"), "utf8")).toBe("note\n");
    const href = await card.locator(".chip").getAttribute("href");
    await card.locator(".chip").click();
    await page.waitForURL((u) => u.pathname === href);
    await page.locator('[data-testid="task-status"]', { hasText: "succeeded" }).waitFor();
    await ctx.close();
  });
});
