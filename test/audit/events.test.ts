import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { AUDIT_ACTIONS } from "../../core/audit/actions.ts";
import { tokenCommand } from "../../core/cli/token.ts";
import { openStore } from "../../core/db/client.ts";
import { AppError } from "../../core/errors.ts";
import { makeApp, serveApp, TOKEN, tempDir, testConfig } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, prompt, reply } from "../standins/script.ts";

interface Event {
  id: number;
  at: number;
  action: string;
  outcome: string;
  actor: string;
  address: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

type App = Awaited<ReturnType<typeof makeApp>>;
const events = async (h: App, query = ""): Promise<Event[]> => (await (await h.request(`/api/audit?limit=200${query}`)).json()).events;

let model: AnthropicStandIn;
beforeAll(() => {
  model = startAnthropicStandIn();
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await model.stop();
});

describe("GET /api/audit", () => {
  test("limit, before, action and outcome out of shape are 400 naming the field", async () => {
    const h = await makeApp();
    try {
      for (const [query, field] of [
        ["limit=0", "limit"],
        ["limit=201", "limit"],
        ["limit=1.5", "limit"],
        ["limit=ten", "limit"],
        ["limit=-1", "limit"],
        ["before=0", "before"],
        ["before=1e400", "before"],
        ["outcome=maybe", "outcome"],
        ["action=auth.login%27%20OR%201=1", "action"],
      ] as const) {
        const res = await h.request(`/api/audit?${query}`);
        expect(res.status).toBe(400);
        const body = await res.json();
        expect(body.error.code).toBe("invalid_request");
        expect(body.error.message).toStartWith(`${field}:`);
      }
      expect((await h.request("/api/audit", { auth: false })).status).toBe(401);
    } finally {
      await h.close();
    }
  });

  test("newest first, paged by next and before without gaps or repeats, filtered by action and outcome", async () => {
    const h = await makeApp();
    try {
      for (let i = 0; i < 5; i++) await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: `wrong-${i}-padding` } });
      await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: TOKEN } });
      await h.request("/api/conversations", { headers: { authorization: "Bearer not-the-token" } });
      const all = await events(h);
      expect(all.map((e) => `${e.action}:${e.outcome}`)).toEqual(["auth.bearer:failed", "auth.login:ok", ...Array(5).fill("auth.login:failed")]);
      expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => b - a));

      const seen: number[] = [];
      let before: number | null = null;
      do {
        const page: { events: Event[]; next: number | null } = await (await h.request(`/api/audit?limit=2${before ? `&before=${before}` : ""}`)).json();
        seen.push(...page.events.map((e) => e.id));
        before = page.next;
      } while (before !== null);
      expect(seen).toEqual(all.map((e) => e.id));

      expect((await events(h, "&action=auth.login&outcome=failed")).length).toBe(5);
      expect((await events(h, "&outcome=ok")).map((e) => e.action)).toEqual(["auth.login"]);
      expect(await events(h, "&action=job.dispatched")).toEqual([]);
    } finally {
      await h.close();
    }
  });

  test("GET /api/audit/actions lists every action with what it records", async () => {
    const h = await makeApp();
    try {
      const { actions } = await (await h.request("/api/audit/actions")).json();
      expect(actions.map((a: { name: string }) => a.name)).toEqual(Object.keys(AUDIT_ACTIONS));
      for (const a of actions) expect(a.description.length).toBeGreaterThan(20);
    } finally {
      await h.close();
    }
  });
});

describe("Audit.events", () => {
  test("logins, failed logins, logouts, wrong bearer tokens and refused preflights carry the client's address over a real socket", async () => {
    const app = await serveApp({ CORS_ORIGINS: "http://ui.test" });
    try {
      const login = (token: string) => fetch(`${app.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
      expect((await login("wrong-token-here")).status).toBe(401);
      const ok = await login(TOKEN);
      const cookie = ok.headers.get("set-cookie")!.split(";")[0]!;
      expect((await fetch(`${app.url}/api/auth/logout`, { method: "POST", headers: { cookie } })).status).toBe(200);
      // Logging out again, or with no session at all, ends nothing and writes nothing: the route is public.
      await fetch(`${app.url}/api/auth/logout`, { method: "POST", headers: { cookie } });
      await fetch(`${app.url}/api/auth/logout`, { method: "POST" });
      expect((await fetch(`${app.url}/api/models`, { headers: { authorization: "Bearer wrong-bearer" } })).status).toBe(401);
      expect((await fetch(`${app.url}/api/chat`, { method: "OPTIONS", headers: { origin: "http://evil.test", "access-control-request-method": "POST" } })).status).toBe(403);
      expect((await fetch(`${app.url}/api/chat`, { method: "OPTIONS", headers: { origin: "http://ui.test", "access-control-request-method": "POST" } })).status).toBe(204);

      const got: Event[] = (await (await fetch(`${app.url}/api/audit`, { headers: app.auth })).json()).events;
      expect(got.reverse().map((e) => [e.action, e.outcome, e.actor, e.detail])).toEqual([
        ["auth.login", "failed", "web", { with: "token", code: "invalid_token" }],
        ["auth.login", "ok", "web", { with: "token" }],
        ["auth.logout", "ok", "web", null],
        ["auth.bearer", "failed", "api", null],
        ["cors.refused", "refused", "web", { origin: "http://evil.test" }],
      ]);
      for (const e of got) expect(e.address).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    } finally {
      await app.stop();
      rmSync(app.dataDir, { recursive: true, force: true });
    }
  });

  test("every job is recorded with its origin and who asked: over the API, and by the agent in a turn", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, COMMAND_ALLOWLIST: "date" });
    try {
      const res = await h.request("/api/jobs", { method: "POST", json: { type: "command", command: "date -u" } });
      const viaApi = (await res.json()).id;
      model.on(prompt("fetch that"), reply().tool("dispatch_job", { type: "http", url: "http://127.0.0.1:9/x", wait: false }));
      model.on(afterTool("dispatch_job"), reply().text("Started it."));
      const turn = await h.s.brain.start({ message: "fetch that", origin: "telegram" }).done;
      expect(turn.error).toBeNull();
      const dispatched = await events(h, "&action=job.dispatched");
      expect(dispatched.reverse().map((e) => [e.actor, e.detail])).toEqual([
        ["api", { type: "command", program: "date", args: 1, origin: "api" }],
        ["agent", { type: "http", method: "GET", host: "127.0.0.1", origin: "telegram" }],
      ]);
      expect(dispatched[0]!.target).toBe(viaApi);
    } finally {
      await h.close();
    }
  });

  test("jobs refused at POST /api/jobs and by the worker's policy are recorded, the worker's with its id", async () => {
    const h = await makeApp({ COMMAND_ALLOWLIST: "date" });
    try {
      expect((await h.request("/api/jobs", { method: "POST", json: { type: "command", command: "date; rm -rf /" } })).status).toBe(400);
      expect((await h.request("/api/jobs", { method: "POST", json: { type: "http" } })).status).toBe(400);
      const res = await h.request("/api/jobs", { method: "POST", json: { type: "command", argv: ["rm", "-rf", "/tmp/x"] } });
      const id = (await res.json()).id;
      const byWorker = await waitFor("the worker's refusal", async () => (await events(h, "&action=job.refused")).find((e) => e.target === id));
      expect(byWorker.actor).toMatch(/^worker:edge-/);
      expect(byWorker.detail).toEqual({ type: "command", program: "rm", args: 2, origin: "api", code: "refused" });
      const atPost = (await events(h, "&action=job.refused")).filter((e) => e.target === null).reverse();
      expect(atPost.map((e) => [e.actor, e.outcome, e.detail])).toEqual([
        ["api", "refused", { code: "invalid_job", field: "command", origin: "api" }],
        ["api", "refused", { code: "invalid_job", field: "url", origin: "api" }],
      ]);
    } finally {
      await h.close();
    }
  });

  test("past the daily budget a background turn and an agent job are refused, and both refusals are recorded", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, DAILY_BUDGET_USD: "0.01" });
    try {
      model.on(prompt("spend"), reply().text("expensive").usage({ input: 10_000, output: 0 }));
      await h.s.brain.start({ message: "spend", origin: "api" }).done;
      expect(() => h.s.brain.start({ message: "morning briefing", origin: "schedule" })).toThrow(AppError);
      const res = await h.request("/api/jobs", { method: "POST", json: { type: "agent", prompt: "summarise the day" } });
      expect(res.status).toBe(402);
      const refused = (await events(h, "&outcome=refused")).reverse();
      expect(refused.map((e) => [e.action, e.actor, e.detail])).toEqual([
        ["turn.refused", "system", { origin: "schedule", code: "budget_exceeded" }],
        ["job.refused", "api", { type: "agent", promptChars: 17, origin: "api", code: "budget_exceeded" }],
      ]);
    } finally {
      await h.close();
    }
  });

  test("bakerst token --rotate writes its row into the store itself, and a refused rotation is recorded too", async () => {
    const dataDir = tempDir();
    try {
      const out: string[] = [];
      expect(tokenCommand(testConfig({ AUTH_TOKEN: "" }, dataDir), ["--rotate"], (s) => out.push(s))).toBe(0);
      const rotated = out[0]!.trim();
      expect(tokenCommand(testConfig({}, dataDir), ["--rotate"], () => {})).toBe(1);
      const store = openStore(dataDir);
      const got = store.sqlite.query("SELECT action, outcome, actor, detail FROM audit_log ORDER BY id").all();
      const dump = JSON.stringify(store.sqlite.query("SELECT * FROM audit_log").all());
      store.close();
      expect(got).toEqual([
        { action: "auth.token_rotated", outcome: "ok", actor: "cli", detail: null },
        { action: "auth.token_rotated", outcome: "refused", actor: "cli", detail: JSON.stringify({ reason: "AUTH_TOKEN is set" }) },
      ]);
      expect(dump).not.toContain(rotated);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
