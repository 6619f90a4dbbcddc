import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeApp } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, prompt, reply } from "../standins/script.ts";

/** A value shaped like nothing the redactor knows by shape: only the store can have it redacted. */
const VALUE = "wifi-pass-Kq8ZtXr2mPv9LsD4nWy7";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;
const logs: string[] = [];
const answers: string[] = [];

/** Every answer a test reads goes through here, so the last test can scan them all. */
async function call(path: string, init: Parameters<typeof h.request>[1] = {}) {
  const res = await h.request(path, init);
  const text = await res.text();
  answers.push(text);
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

const put = (name: string, json: unknown, init: Parameters<typeof h.request>[1] = {}) => call(`/api/secrets/${name}`, { method: "PUT", json, ...init });
const auditRows = () => {
  h.s.audit.flush();
  return h.s.store.sqlite.query("SELECT action, outcome, actor, target, detail FROM audit_log WHERE action LIKE 'secret.%' ORDER BY id").all() as Record<string, string>[];
};

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, LOG_LEVEL: "debug" }, { log: undefined, logSink: (l) => logs.push(l) });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

describe("Secrets API: what is refused at the door", () => {
  test("a name that is not an environment variable's is refused with 400 naming the field, and nothing is stored", async () => {
    for (const name of ["lower", "9LIVES", "A-B", "A.B", "A".repeat(65), "_X", "A%20B", "A%2FB"]) {
      const r = await put(name, { value: VALUE });
      expect(r.status, `${name} ${r.text}`).toBe(400);
      expect(r.json.error.code).toBe("invalid_request");
      expect(r.json.error.message).toMatch(/name/);
    }
    // A dot-dot segment resolves away before routing: no secrets route answers it.
    expect((await put("%2E%2E", { value: VALUE })).status).toBe(404);
    expect(h.s.store.sqlite.query("SELECT count(*) AS n FROM secrets").get()).toEqual({ n: 0 });
  });

  test("a bad body is refused without the value in the answer, and nothing is stored", async () => {
    for (const body of [{ value: VALUE, extra: VALUE }, { value: "" }, { value: 42 }, {}, { value: `${VALUE}\u0000` }, { value: "x".repeat(16 * 1024 + 1) }, [VALUE]]) {
      const r = await put("WIFI_PASSWORD", body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(r.text).not.toContain(VALUE);
    }
    expect(h.s.store.sqlite.query("SELECT count(*) AS n FROM secrets").get()).toEqual({ n: 0 });
  });

  test("without the token nothing is stored or listed, and a cookie write from another origin is refused", async () => {
    expect((await put("WIFI_PASSWORD", { value: VALUE }, { auth: false })).status).toBe(401);
    expect((await call("/api/secrets", { auth: false })).status).toBe(401);
    expect((await call("/api/secrets/WIFI_PASSWORD", { method: "DELETE", auth: false })).status).toBe(401);
    const cross = await put("WIFI_PASSWORD", { value: VALUE }, { auth: false, headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
    expect(cross.status).toBe(403);
    expect(h.s.secrets().includes(VALUE)).toBe(false);
    expect(h.s.store.sqlite.query("SELECT count(*) AS n FROM secrets").get()).toEqual({ n: 0 });
  });
});

describe("Secrets API: write-only", () => {
  test("a stored secret is listed by name with a mask, who wrote it and who uses it; never its value", async () => {
    const seen: (string | undefined)[] = [];
    const stop = h.need("secrets").onChange("WIFI_PASSWORD", (v) => seen.push(v), "test:listener");
    const stopUsing = h.need("secrets").use("WIFI_PASSWORD", "skill:router");
    const created = await put("WIFI_PASSWORD", { value: VALUE });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ name: "WIFI_PASSWORD", created: true });
    const list = await call("/api/secrets");
    expect(list.json.secrets).toEqual([
      {
        name: "WIFI_PASSWORD",
        masked: "••••••••wWy7".replace("wWy7", VALUE.slice(-4)),
        createdAt: expect.any(Number),
        updatedAt: expect.any(Number),
        updatedBy: "api",
        users: ["skill:router", "test:listener"],
      },
    ]);
    expect(h.need("secrets").get("WIFI_PASSWORD")).toBe(VALUE);
    const replaced = await put("WIFI_PASSWORD", { value: `${VALUE}-2` });
    expect(replaced.json.created).toBe(false);
    expect(seen).toEqual([VALUE, `${VALUE}-2`]);
    stop();
    stopUsing();
    expect((await call("/api/secrets")).json.secrets[0].users).toEqual([]);
    const short = await put("PIN", { value: "12345678" });
    expect(short.status).toBe(200);
    expect((await call("/api/secrets")).json.secrets.find((s: { name: string }) => s.name === "PIN").masked).toBe("••••••••");
  });

  test("DELETE removes it, tells its users, and a second DELETE is 404", async () => {
    const seen: (string | undefined)[] = [];
    const stop = h.need("secrets").onChange("PIN", (v) => seen.push(v));
    expect((await call("/api/secrets/PIN", { method: "DELETE" })).json).toEqual({ name: "PIN", deleted: true });
    expect(seen).toEqual([undefined]);
    expect((await call("/api/secrets/PIN", { method: "DELETE" })).status).toBe(404);
    expect((await call("/api/secrets")).json.secrets.map((s: { name: string }) => s.name)).toEqual(["WIFI_PASSWORD"]);
    stop();
  });

  test("every change is audited with the name and who, never the value", async () => {
    const rows = auditRows();
    expect(rows.map((r) => [r.action, r.outcome, r.actor, r.target])).toEqual([
      ["secret.set", "ok", "api", "WIFI_PASSWORD"],
      ["secret.set", "ok", "api", "WIFI_PASSWORD"],
      ["secret.set", "ok", "api", "PIN"],
      ["secret.deleted", "ok", "api", "PIN"],
    ]);
    expect(JSON.parse(rows[0]!.detail!)).toEqual({ created: true });
  });
});

describe("Secrets in output", () => {
  test("a stored value is redacted from a tool's result and from the memories recalled into the prompt, before the model, the stream or the conversation sees it", async () => {
    // The owner once wrote the password into a memory; the agent finds it with a tool.
    expect((await call("/api/memories", { method: "POST", json: { text: `The guest wifi password is ${VALUE}-2 for the garden`, category: "homelab" } })).status).toBe(200);
    model.on(prompt("what is the guest wifi?"), reply().tool("memory_search", { query: "guest wifi password garden" }));
    model.on(afterTool("memory_search"), reply().text("It is in your memory."));
    const turn = h.s.brain.start({ message: "what is the guest wifi?", origin: "api" });
    const done = await turn.done;
    const blocks = model.requests.at(-1)!.body.messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as { type: string }[]) : []));
    const toolResult = blocks.find((b) => b.type === "tool_result");
    const sent = JSON.stringify(toolResult);
    expect(sent).toContain("[REDACTED]");
    expect(sent).toContain("garden");
    expect(sent).not.toContain(VALUE);
    // Nor does the memory recalled into the prompt carry it to the model vendor.
    expect(JSON.stringify(model.requests)).not.toContain(VALUE);
    const convo = await call(`/api/conversations/${done.conversationId}`);
    expect(convo.text).toContain("[REDACTED]");
    expect(convo.text).not.toContain(VALUE);
  });

  test("a stored value is redacted from a command job's output", async () => {
    const res = await h.request("/api/jobs?wait=5000", { method: "POST", json: { type: "command", argv: ["date", `+pw=${VALUE}-2`] } });
    const job = await res.json();
    expect(job.result.stdout).toBe("pw=[REDACTED]\n");
    // The job's spec is what this test wrote into it; the scan below reads the rest of the answer.
    answers.push(JSON.stringify({ ...job, spec: undefined }));
  });

  test("a stored value is redacted from health: an outside service's error that quotes it shows [REDACTED]", async () => {
    h.s.health.register("leaky-service", () => ({ status: "degraded", detail: `GET https://example.test/?key=${VALUE}-2 failed` }));
    const health = await call("/api/system/health");
    expect(health.json.components["leaky-service"].detail).toBe("GET https://example.test/?key=[REDACTED] failed");
  });

  test("a stored value is redacted from the kernel's log lines, also when JSON escapes it", async () => {
    await put("QUOTED_SECRET", { value: 'has "quotes" and \\ in it' });
    h.s.log.warn("a line that carries secrets", { one: `${VALUE}-2`, two: 'has "quotes" and \\ in it' });
    const line = logs.find((l) => l.includes("a line that carries secrets"))!;
    expect(line).toContain('"one":"[REDACTED]"');
    expect(line).toContain('"two":"[REDACTED]"');
  });

  test("after all of the above: no answer, log line, audit row or database page holds a value", () => {
    const values = [VALUE, `${VALUE}-2`, 'has "quotes" and \\ in it', "12345678"];
    h.s.audit.flush();
    const audit = JSON.stringify(h.s.store.sqlite.query("SELECT * FROM audit_log").all());
    h.s.store.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const db = readFileSync(join(h.dataDir, "bakerst.db")).toString("latin1");
    expect(answers.length).toBeGreaterThan(20);
    expect(logs.length).toBeGreaterThan(0);
    for (const v of values) {
      for (const a of answers) expect(a.includes(v), a.slice(0, 300)).toBe(false);
      for (const l of logs) expect(l.includes(v)).toBe(false);
      expect(audit.includes(v)).toBe(false);
    }
    // The memory holds the owner's own text; the secrets table holds none of the values.
    const sealed = h.s.store.sqlite.query("SELECT sealed FROM secrets").all() as { sealed: Uint8Array }[];
    for (const v of values) for (const r of sealed) expect(Buffer.from(r.sealed).toString("latin1").includes(v)).toBe(false);
    expect(db.includes("12345678")).toBe(false);
  });
});
