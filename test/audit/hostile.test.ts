import { describe, expect, test } from "bun:test";
import { AuditLog, REFUSALS_PER_MINUTE } from "../../core/audit/service.ts";
import { FailureLimiter } from "../../core/auth/limiter.ts";
import { openStore } from "../../core/db/client.ts";
import { makeApp, TOKEN, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

type App = Awaited<ReturnType<typeof makeApp>>;

function rows(h: App): Record<string, unknown>[] {
  h.s.audit.flush();
  return h.s.store.sqlite.query("SELECT * FROM audit_log ORDER BY id").all() as Record<string, unknown>[];
}
const count = (h: App, action: string) => rows(h).filter((r) => r.action === action).length;

describe("Audit.tampering", () => {
  test("the database refuses to UPDATE, DELETE or INSERT OR REPLACE an audit row, and the row stays as written", async () => {
    const h = await makeApp();
    try {
      await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: "wrong-token-123" } });
      const before = rows(h);
      expect(before.map((r) => [r.action, r.outcome])).toEqual([["auth.login", "failed"]]);
      const id = before[0]!.id as number;
      const db = h.s.store.sqlite;
      expect(() => db.run("UPDATE audit_log SET outcome = 'ok' WHERE id = ?", [id])).toThrow(/append-only/);
      expect(() => db.run("DELETE FROM audit_log WHERE id = ?", [id])).toThrow(/append-only/);
      expect(() => db.run("DELETE FROM audit_log")).toThrow(/append-only/);
      // REPLACE deletes the old row without firing delete triggers; a reused id is refused instead.
      expect(() => db.run("INSERT OR REPLACE INTO audit_log (id, at, action, outcome, actor) VALUES (?, 0, 'auth.login', 'ok', 'web')", [id])).toThrow(/append-only/);
      expect(() => db.run("INSERT INTO audit_log (id, at, action, outcome, actor) VALUES (?, 0, 'x', 'ok', 'web') ON CONFLICT(id) DO UPDATE SET outcome = 'ok'", [id])).toThrow(
        /append-only/,
      );
      expect(() => db.run("INSERT INTO audit_log (at, action, outcome, actor) VALUES (0, 'x', 'maybe', 'web')")).toThrow(/CHECK/);
      expect(rows(h)).toEqual(before);
    } finally {
      await h.close();
    }
  });
});

describe("Audit.secrets", () => {
  test("a wrong login token that looks like a secret and a job whose argv carries the API token leave neither in GET /api/audit nor in the table", async () => {
    const homeSecret = `ha-${"s3cr3t".repeat(6)}`;
    const providerShaped = `sk-ant-api03-${"Zq9".repeat(20)}`;
    const h = await makeApp({ SECRETS_TO_REDACT: "HOME_TOKEN", HOME_TOKEN: homeSecret, CORS_ORIGINS: "http://ui.test" });
    try {
      for (const token of [providerShaped, `${TOKEN}-and-more`, homeSecret]) {
        expect((await h.request("/api/auth/login", { method: "POST", auth: false, json: { token } })).status).toBe(401);
      }
      expect((await h.request("/api/auth/login", { method: "POST", auth: false, json: { code: providerShaped } })).status).toBe(401);
      expect((await h.request("/api/conversations", { headers: { authorization: `Bearer ${providerShaped}` } })).status).toBe(401);
      // An attacker-controlled field that is written down: the configured secret in it is replaced.
      await h.request("/api/jobs", { method: "OPTIONS", auth: false, headers: { origin: `http://${homeSecret}.evil.test`, "access-control-request-method": "POST" } });
      const jobs = [
        { type: "command", argv: [TOKEN, "--key", TOKEN] },
        { type: "command", argv: ["date", `--date=${TOKEN}`, homeSecret] },
        { type: "http", url: `http://127.0.0.1:9/${TOKEN}?key=${homeSecret}`, method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: providerShaped },
        { type: "agent", prompt: `use ${TOKEN} and ${providerShaped}` },
      ];
      const ids: string[] = [];
      for (const json of jobs) {
        const res = await h.request("/api/jobs", { method: "POST", json });
        expect(res.status).toBe(202);
        ids.push((await res.json()).id);
      }
      expect((await h.request("/api/jobs", { method: "POST", json: { type: TOKEN } })).status).toBe(400);
      // The worker refuses the first job (the token is no program); its refusal is recorded too.
      await waitFor("the worker's refusal", () => rows(h).find((r) => r.action === "job.refused" && r.target === ids[0]));

      const api = await (await h.request("/api/audit?limit=200")).text();
      const table = JSON.stringify(rows(h));
      for (const text of [api, table]) {
        for (const secret of [TOKEN, homeSecret, providerShaped]) expect(text).not.toContain(secret);
      }
      const events = JSON.parse(api).events as { action: string; outcome: string; target: string | null; detail: Record<string, unknown> | null }[];
      expect(events.filter((e) => e.action === "auth.login").map((e) => e.detail)).toEqual([
        { with: "code", code: "invalid_code" },
        { with: "token", code: "invalid_token" },
        { with: "token", code: "invalid_token" },
        { with: "token", code: "invalid_token" },
      ]);
      const dispatched = Object.fromEntries(events.filter((e) => e.action === "job.dispatched").map((e) => [e.target, e.detail]));
      expect(dispatched[ids[0]!]).toEqual({ type: "command", program: "[REDACTED]", args: 2, origin: "api" });
      expect(dispatched[ids[1]!]).toEqual({ type: "command", program: "date", args: 2, origin: "api" });
      expect(dispatched[ids[2]!]).toEqual({ type: "http", method: "POST", host: "127.0.0.1", origin: "api" });
      expect(dispatched[ids[3]!]).toEqual({ type: "agent", promptChars: jobs[3]!.prompt!.length, origin: "api" });
      expect(events.find((e) => e.action === "cors.refused")?.detail).toEqual({ origin: "http://[REDACTED].evil.test" });
      expect(events.find((e) => e.action === "job.refused" && e.target === null)?.detail).toEqual({ code: "invalid_job", field: "type", origin: "api" });
    } finally {
      await h.close();
    }
  }, 20_000);
});

describe("Audit.flooding", () => {
  test("failed logins past the limit write one rate_limited row for the block, and requests refused while blocked write none", async () => {
    const h = await makeApp();
    try {
      for (let i = 0; i < 10; i++) expect((await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: `wrong-${i}-xxxxxxxx` } })).status).toBe(401);
      expect(count(h, "auth.login")).toBe(10);
      expect(count(h, "auth.rate_limited")).toBe(1);
      const before = rows(h).length;
      for (let i = 0; i < 50; i++) {
        expect((await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: `wrong-again-${i}` } })).status).toBe(429);
        expect((await h.request("/api/conversations", { headers: { authorization: `Bearer wrong-${i}` } })).status).toBe(429);
      }
      expect(rows(h).length).toBe(before);
    } finally {
      await h.close();
    }
  });

  test("an attacker trying as fast as the limiter lets them for an hour writes a row per allowed try and one per window blocked, nothing for refused tries", () => {
    const store = openStore(tempDir());
    try {
      let now = 0;
      const audit = new AuditLog(store.db, { secrets: () => [], now: () => now, refusalsPerMinute: 1_000 });
      const limiter = new FailureLimiter(10, 5 * 60_000, () => now);
      limiter.onBlock = () => audit.record({ action: "auth.rate_limited", outcome: "refused", actor: "system", address: "203.0.113.9" });
      let allowed = 0;
      let refused = 0;
      // One try a second for an hour.
      for (now = 0; now < 3_600_000; now += 1_000) {
        if (limiter.blockedFor("203.0.113.9")) {
          refused++;
          continue;
        }
        allowed++;
        audit.record({ action: "auth.login", outcome: "failed", actor: "web", address: "203.0.113.9" });
        limiter.fail("203.0.113.9");
      }
      audit.flush();
      const byAction = store.sqlite.query("SELECT action, count(*) AS n FROM audit_log GROUP BY action ORDER BY action").all();
      // Ten tries, then one more each time the oldest failure ages out (every 30 s): about 130 an hour.
      expect(allowed).toBeLessThanOrEqual(10 + 3_600 / 30);
      expect(refused).toBe(3_600 - allowed);
      // Blocked again at every freed slot, but told once a window: at most 12 block rows an hour.
      const blocks = (byAction.find((r: any) => r.action === "auth.rate_limited") as { n: number }).n;
      expect(blocks).toBeGreaterThan(0);
      expect(blocks).toBeLessThanOrEqual(12);
      expect(byAction).toEqual([
        { action: "auth.login", n: allowed },
        { action: "auth.rate_limited", n: blocks },
      ]);
    } finally {
      store.close();
    }
  });

  test("a flood of refused CORS preflights, which no limiter slows, writes 60 rows a minute and counts the rest in one audit.suppressed row", async () => {
    const h = await makeApp({ CORS_ORIGINS: "http://ui.test" });
    const flood = 3 * REFUSALS_PER_MINUTE;
    try {
      for (let i = 0; i < flood; i++) {
        const res = await h.request("/api/chat", { method: "OPTIONS", auth: false, headers: { origin: `http://evil-${i}.test`, "access-control-request-method": "POST" } });
        expect(res.status).toBe(403);
      }
      // A login failure in the same minute is an action of its own: the flood does not crowd it out.
      await h.request("/api/auth/login", { method: "POST", auth: false, json: { token: "wrong-token-after-flood" } });
      expect(count(h, "cors.refused")).toBe(REFUSALS_PER_MINUTE);
      expect(count(h, "auth.login")).toBe(1);
    } finally {
      await h.close(false);
    }
    // The count of what was left out is written when the minute ends, or at the latest on shutdown.
    const store = openStore(h.dataDir);
    try {
      const summary = store.sqlite.query("SELECT outcome, actor, target, detail FROM audit_log WHERE action = 'audit.suppressed'").all() as Record<string, unknown>[];
      expect(summary).toHaveLength(1);
      const { detail, ...row } = summary[0]!;
      expect(row).toEqual({ outcome: "refused", actor: "system", target: "cors.refused" });
      expect(JSON.parse(detail as string).count).toBe(flood - REFUSALS_PER_MINUTE);
    } finally {
      store.close();
    }
  });

  test("when the minute is over the suppressed count is written and the next refusals are kept again", () => {
    const store = openStore(tempDir());
    try {
      let now = 1_000_000;
      const audit = new AuditLog(store.db, { secrets: () => [], now: () => now, refusalsPerMinute: 3 });
      for (let i = 0; i < 10; i++) audit.record({ action: "cors.refused", outcome: "refused", actor: "web", detail: { i } });
      now += 60_000;
      audit.record({ action: "cors.refused", outcome: "refused", actor: "web", detail: { i: 10 } });
      audit.flush();
      const got = store.sqlite.query("SELECT action, target, detail FROM audit_log ORDER BY id").all() as { action: string; target: string | null; detail: string }[];
      expect(got.map((r) => [r.action, JSON.parse(r.detail).i ?? JSON.parse(r.detail).count])).toEqual([
        ["cors.refused", 0],
        ["cors.refused", 1],
        ["cors.refused", 2],
        ["audit.suppressed", 7],
        ["cors.refused", 10],
      ]);
      audit.close();
    } finally {
      store.close();
    }
  });

  test("the count is written when the window ends, even if nothing of that action comes after", async () => {
    const store = openStore(tempDir());
    const audit = new AuditLog(store.db, { secrets: () => [], refusalsPerMinute: 2, windowMs: 200 });
    try {
      for (let i = 0; i < 5; i++) audit.record({ action: "auth.bearer", outcome: "failed", actor: "api" });
      const suppressed = () => store.sqlite.query("SELECT target, detail FROM audit_log WHERE action = 'audit.suppressed'").get() as { target: string; detail: string } | null;
      audit.flush();
      expect(suppressed()).toBeNull();
      const row = await waitFor("the end of the window", () => (audit.flush(), suppressed()));
      expect([row.target, JSON.parse(row.detail).count]).toEqual(["auth.bearer", 3]);
    } finally {
      audit.close();
      store.close();
    }
  });
});
