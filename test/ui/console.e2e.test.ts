import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { DESKTOP, hasHorizontalScroll, launchBrowser, PHONE, screenshot } from "../helpers/browser.ts";
import { type AnthropicStandIn, echo, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, httpError, prompt, reply } from "../standins/script.ts";
import { eventually, logIn, newPage, send, TOKEN } from "./setup.ts";

// A real browser against a real binary: page loads and streams take seconds on a busy 2-core machine.
setDefaultTimeout(30_000);

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

/** A promise the test settles, for a model that answers when the test says so. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe("login", () => {
  test("a wrong token shows the error; the right one opens the page asked for", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(`${app.url}/system`);
    await page.waitForURL((u) => u.pathname === "/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/system");
    await page.fill("#token", "not-the-token");
    await page.press("#token", "Enter");
    await page.getByRole("alert").getByText("That token is not right").waitFor();
    expect(await page.evaluate(() => JSON.stringify(localStorage) + document.cookie)).not.toContain(TOKEN);
    await page.fill("#token", TOKEN);
    await page.press("#token", "Enter");
    await page.waitForURL((u) => u.pathname === "/system");
    await page.getByRole("heading", { name: "System" }).waitFor();
    // The session cookie is httpOnly: the page cannot read it, and the token is nowhere in storage.
    expect(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie)).not.toContain(TOKEN);
    const cookies = await ctx.cookies();
    expect(cookies.find((c) => c.name === "bakerst_session")?.httpOnly).toBe(true);
    await ctx.close();
  });

  test("log out ends the session", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL((u) => u.pathname === "/login");
    await page.goto(`${app.url}/memory`);
    await page.waitForURL((u) => u.pathname === "/login");
    await ctx.close();
  });
});

describe("chat", () => {
  let chatUrl = "";

  test("a streamed reply shows as markdown and never as raw HTML", async () => {
    const { ctx, page, errors } = await newPage(browser);
    await logIn(page, app.url);
    model.on(
      prompt("Show me something rich"),
      reply().text(
        "Here is **bold**, a table and code:\n\n| disk | free |\n|---|---|\n| nas | 2 TB |\n\n",
        "```sh\ndf -h\n```\n\n[docs](https://example.com/docs) [evil](javascript:window.__pwned=1) ",
        '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>',
      ),
    );
    await send(page, "Show me something rich");
    await page.waitForURL((u) => u.pathname.startsWith("/chat/"));
    chatUrl = page.url();
    const shown = page.locator(".msg.assistant .md");
    await shown.locator("strong", { hasText: "bold" }).waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor(); // the turn ended: Stop became Send
    expect(await shown.locator("table td").allTextContents()).toEqual(["nas", "2 TB"]);
    expect(await shown.locator(".code pre").textContent()).toBe("df -h");
    const link = shown.locator("a", { hasText: "docs" });
    expect(await link.getAttribute("href")).toBe("https://example.com/docs");
    expect(await link.getAttribute("rel")).toContain("noopener");
    expect(await link.getAttribute("target")).toBe("_blank");
    expect(await shown.locator("a", { hasText: "evil" }).count()).toBe(0);
    expect(await shown.locator("img, script").count()).toBe(0);
    expect(await shown.textContent()).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.locator(".turn .usage").waitFor();
    await screenshot(page, "chat-markdown");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("a turn with a tool call shows a collapsed card with its input and result", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(chatUrl);
    await page.locator(".msg.user", { hasText: "Show me something rich" }).waitFor();
    model.on(and(prompt("What time is it in London?"), firstRound), reply().tool("current_time", { timeZone: "Europe/London" }));
    model.on(afterTool("current_time"), reply().text("It is **tea time** in London."));
    await send(page, "What time is it in London?");
    const card = page.locator(".tool-card", { hasText: "current_time" });
    await card.waitFor();
    await page.locator(".md strong", { hasText: "tea time" }).waitFor();
    expect(await card.getAttribute("open")).toBeNull();
    await card.locator(".chip", { hasText: "ok" }).waitFor();
    await card.locator("summary").click();
    expect(await card.locator(".tool-body").textContent()).toContain("Europe/London");
    expect(await card.locator(".tool-body").textContent()).toContain("iso");
    await screenshot(page, "chat-tool");
    await ctx.close();
  });

  test("a reload shows the whole conversation, tool calls included", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(chatUrl);
    await page.reload();
    await page.locator(".msg.user", { hasText: "What time is it in London?" }).waitFor();
    await page.locator(".tool-card", { hasText: "current_time" }).waitFor();
    await page.locator(".md strong", { hasText: "tea time" }).waitFor();
    expect(await page.locator(".turn").count()).toBe(2);
    await ctx.close();
  });

  test("Shift+Enter makes a new line and Enter sends; Stop ends a slow turn", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.locator("#message").click();
    await page.keyboard.type("first line");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("second line");
    expect(await page.inputValue("#message")).toBe("first line\nsecond line");
    const late = gate();
    model.on(prompt("first line\nsecond line"), reply().waitToStart(late.opened).text("too late"));
    await page.keyboard.press("Enter");
    await page.locator(".msg.user .bubble", { hasText: "second line" }).waitFor();
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator(".turn-error", { hasText: "Stopped" }).waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor();
    // The model answers after the stop; the next turn's reply marks the point by which it would have shown.
    late.open();
    model.on(prompt("still there?"), reply().text("Yes."));
    await send(page, "still there?");
    await page.locator(".md", { hasText: "Yes." }).waitFor();
    expect(await page.locator(".md", { hasText: "too late" }).count()).toBe(0);
    await ctx.close();
  });

  test("a reload in the middle of a reply rejoins the running turn", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    const answer = gate();
    model.on(prompt("Take your time"), reply().wait(answer.opened).text("Worth ", "the wait."));
    await send(page, "Take your time");
    await page.waitForURL((u) => u.pathname.startsWith("/chat/"));
    await page.getByRole("button", { name: "Stop" }).waitFor();
    await page.reload();
    await page.locator(".msg.user", { hasText: "Take your time" }).waitFor();
    await page.getByRole("button", { name: "Stop" }).waitFor();
    answer.open();
    await page.locator(".md", { hasText: "Worth the wait." }).waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor();
    expect(await page.locator(".turn").count()).toBe(1);
    await ctx.close();
  });

  test("a failed turn shows its error in place and can be retried", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    // The same prompt twice: the first call fails, the retry gets an answer.
    model.on(prompt("Please fail once"), httpError(400, { type: "invalid_request_error" }), reply().text("Second time lucky."));
    await send(page, "Please fail once");
    const box = page.locator(".turn-error");
    await box.waitFor();
    await box.getByRole("button", { name: "Retry" }).click();
    await page.locator(".md", { hasText: "Second time lucky." }).waitFor();
    await ctx.close();
  });

  test("the sidebar renames, finds by title and deletes conversations", async () => {
    const { ctx, page } = await newPage(browser);
    page.on("dialog", (d) => void d.accept());
    await logIn(page, app.url);
    model.on(prompt("Plan the garden shed"), reply().text("Noted."));
    await send(page, "Plan the garden shed");
    await page.waitForURL((u) => u.pathname.startsWith("/chat/"));
    await page.getByRole("button", { name: "Send" }).waitFor();
    const item = page.locator(".conv-list li", { hasText: "Plan the garden shed" });
    await item.getByRole("button", { name: /^Rename/ }).click();
    await page.fill(".conv-rename", "Shed project");
    await page.press(".conv-rename", "Enter");
    await page.locator(".conv-list li", { hasText: "Shed project" }).waitFor();
    await page.locator(".thread-title", { hasText: "Shed project" }).waitFor();
    await page.fill("#conv-search", "shed");
    await page.waitForFunction(() => document.querySelectorAll(".conv-list li").length === 1);
    await page
      .locator(".conv-list li", { hasText: "Shed project" })
      .getByRole("button", { name: /^Delete/ })
      .click();
    await page.waitForURL((u) => u.pathname === "/");
    await page.locator(".welcome").waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll(".conv-title")].some((e) => e.textContent === "Shed project"));
    await ctx.close();
  });
});

describe("models and usage", () => {
  test("a role's fallback chain is edited, saved and reset; the budget shows what is left", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    // One turn today, so the usage chart has a bar to draw.
    model.on(prompt("cost something"), reply().text("Spent."));
    await page.evaluate(() => fetch("/api/chat", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "cost something" }) }));
    await page.goto(`${app.url}/models`);
    const agent = page.locator('form[aria-label="agent models"]');
    await agent.locator("input").first().waitFor();
    await agent.getByRole("button", { name: "Add fallback" }).click();
    await agent.locator("input").nth(1).fill("openai:llama3.1");
    await agent.getByRole("button", { name: "Save" }).click();
    // OpenAI is not configured on this server: the refusal names the role and what to set.
    await agent.getByRole("alert").getByText("roles.agent[1]").waitFor();
    await agent.locator("input").nth(1).fill("anthropic:claude-haiku-5-5");
    await agent.getByRole("button", { name: "Save" }).click();
    await agent.locator(".chip", { hasText: "set here" }).waitFor();
    const saved = await page.evaluate(async () => (await (await fetch("/api/models/config")).json()).roles.agent);
    expect(saved).toEqual(["anthropic:claude-sonnet-5-5", "anthropic:claude-haiku-5-5"]);
    await agent.getByRole("button", { name: "Move up" }).nth(1).click();
    await agent.getByRole("button", { name: "Save" }).click();
    const agentChain = () => page.evaluate(async () => (await (await fetch("/api/models/config")).json()).roles.agent as string[]);
    await eventually(async () => (await agentChain())[0] === "anthropic:claude-haiku-5-5");
    await agent.getByRole("button", { name: "Use config" }).click();
    await agent.locator(".chip", { hasText: "from config" }).waitFor();
    expect(await agent.locator(".chain-item input").count()).toBe(1);

    await page.fill("#budget", "5");
    await page.getByRole("button", { name: "Save" }).first().click();
    await page.getByText(/left of \$5\.00/).waitFor();
    expect(await page.locator("svg.chart rect").count()).toBeGreaterThan(0);
    expect(await page.locator('table[aria-label="Usage by day and model"] tbody').textContent()).toContain("claude-sonnet-5-5");
    await screenshot(page, "models-edited");
    await ctx.close();
  }, 30_000);
});

describe("conversation list", () => {
  test("older conversations load on demand", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    // 55 short conversations through the API, then the sidebar pages through them.
    model.always(prompt(/^bulk \d\d$/), echo);
    await page.evaluate(async () => {
      for (let i = 0; i < 55; i++) {
        await fetch("/api/chat", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: `bulk ${String(i).padStart(2, "0")}` }) });
      }
    });
    await page.reload();
    await page.locator(".conv-title", { hasText: "bulk 54" }).waitFor();
    expect(await page.locator(".conv-title", { hasText: "bulk 00" }).count()).toBe(0);
    await page.getByRole("button", { name: "Show older" }).click();
    await page.locator(".conv-title", { hasText: "bulk 00" }).waitFor();
    expect(await page.locator(".conv-title", { hasText: /^bulk \d\d$/ }).count()).toBe(55);
    await ctx.close();
  });
});

describe("layout", () => {
  test("the system page shows a heartbeat's age as an age, not as a date in 1970", async () => {
    const { ctx, page } = await newPage(browser);
    await logIn(page, app.url);
    await page.goto(`${app.url}/system`);
    const card = page.locator(".card, section, article").filter({ hasText: "Heartbeat" }).first();
    await card.getByText(/last seen/i).waitFor();
    const text = await card.innerText();
    expect(text).toMatch(/last seen\s+(\d+ ms|[\d.]+ s) ago/i);
    expect(text).not.toMatch(/\d+ d ago/);
    await ctx.close();
  });

  test("light and dark follow the system", async () => {
    const brightness = async (scheme: "light" | "dark") => {
      const ctx = await browser.newContext({ colorScheme: scheme, viewport: DESKTOP });
      const page = await ctx.newPage();
      await page.goto(`${app.url}/login`);
      await page.locator("#token").waitFor();
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      if (scheme === "dark") await screenshot(page, "login-dark");
      await ctx.close();
      const [r, g, b] = bg.match(/\d+/g)!.map(Number);
      return (r! + g! + b!) / 3;
    };
    expect(await brightness("light")).toBeGreaterThan(200);
    expect(await brightness("dark")).toBeLessThan(60);
  });

  const pages = ["/", "/jobs", "/memory", "/models", "/system", "/tasks"];

  test("at 390 px no page scrolls sideways; every page is captured at both widths", async () => {
    const phone = await newPage(browser, PHONE);
    const desk = await newPage(browser, DESKTOP);
    await logIn(phone.page, app.url);
    await logIn(desk.page, app.url);
    const conv = await phone.page.evaluate(async () => ((await (await fetch("/api/conversations")).json()) as { conversations: { id: string }[] }).conversations[0]?.id);
    const all = [...pages, ...(conv ? [`/chat/${conv}`] : [])];
    for (const path of all) {
      for (const { page } of [phone, desk]) {
        await page.goto(app.url + path);
        await page.locator("main h1, main .state").first().waitFor();
        await page.waitForLoadState("networkidle");
        expect({ path, width: page.viewportSize()!.width, scrolls: await hasHorizontalScroll(page) }).toEqual({ path, width: page.viewportSize()!.width, scrolls: false });
        await screenshot(page, path === "/" ? "chat-new" : path.startsWith("/chat/") ? "chat" : path.slice(1));
      }
    }
    // On a phone the conversation list is a drawer over the thread.
    await phone.page.goto(`${app.url}/`);
    await phone.page.getByRole("button", { name: "Conversations" }).click();
    await phone.page.locator(".convs #conv-search").waitFor({ state: "visible" });
    await phone.page.waitForFunction(() => getComputedStyle(document.querySelector(".convs")!).transform === "none"); // slide-in finished
    await screenshot(phone.page, "chat-drawer");
    await phone.page.keyboard.press("Escape");
    await phone.page.locator(".convs #conv-search").waitFor({ state: "hidden" });
    // The phone menu opens as a drawer and reaches every page.
    await phone.page.getByRole("button", { name: "Menu" }).click();
    await phone.page.locator("#main-nav a", { hasText: "Memory" }).click();
    await phone.page.waitForURL((u) => u.pathname === "/memory");
    for (const p of [phone, desk]) {
      await p.ctx.newPage().then(async (login) => {
        await login.goto(`${app.url}/login`);
        await screenshot(login, "login");
      });
      await p.ctx.close();
    }
  }, 60_000);
});
