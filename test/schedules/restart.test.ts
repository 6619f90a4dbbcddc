import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { TOKEN, tempDir } from "../helpers/app.ts";
import { compiledBinary, type ServeProcess, spawnServe } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";

/** The compiled binary stopped across a due time: on the next start the run happens once, marked caught up. */
let model: AnthropicStandIn;
const cwd = tempDir("bakerst-sched-restart-");
const dataDir = join(cwd, "data");

beforeAll(() => {
  model = startAnthropicStandIn();
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await model.stop();
  rmSync(cwd, { recursive: true, force: true });
});

async function serve(): Promise<ServeProcess> {
  return spawnServe([await compiledBinary(), "serve"], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: cwd,
      HOST: "127.0.0.1",
      PORT: "0",
      BAKERST_DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      AUTH_TOKEN: TOKEN,
      ANTHROPIC_API_KEY: "sk-ant-api03-restart-0123456789abcdefghij",
      ANTHROPIC_BASE_URL: model.url,
      SCHEDULE_TIME_ZONE: "UTC",
    },
    timeoutMs: 30_000,
  });
}

async function stop(p: ServeProcess): Promise<void> {
  p.proc.kill("SIGTERM");
  await p.proc.exited;
}

const api = (p: ServeProcess, path: string, init: RequestInit = {}) =>
  fetch(`${p.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...(init.headers ?? {}) } });

describe("A restart of the binary across a due time", () => {
  test("the missed one-shot runs once after the restart, marked caught up, and not again on the next start", async () => {
    model.on(prompt("Restart check"), reply().text("Checked after the restart."));
    let p = await serve();
    // croner keeps whole seconds.
    const dueAt = Math.ceil((Date.now() + 4_000) / 1000) * 1000;
    const res = await api(p, "/api/schedules", {
      method: "POST",
      body: JSON.stringify({ name: "Across a restart", when: { at: new Date(dueAt).toISOString() }, kind: "agent", prompt: "Restart check", catchUp: "once" }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await stop(p);

    // Nothing ran before the stop (the test would prove nothing otherwise), and the due time passes while it is down.
    const db = new Database(join(dataDir, "bakerst.db"), { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM schedule_runs").get()).toEqual({ n: 0 });
    db.close();
    await waitFor("the due time to pass while bakerst is down", () => Date.now() > dueAt + 100, 10_000, 100);

    p = await serve();
    try {
      const runs = await waitFor(
        "the caught-up run to end",
        async () => {
          const s = (await (await api(p, `/api/schedules/${id}`)).json()) as { runs: { status: string }[] };
          return s.runs.length && s.runs.every((r) => r.status === "succeeded" || r.status === "failed") ? s.runs : undefined;
        },
        20_000,
      );
      expect(runs).toEqual([expect.objectContaining({ dueAt, status: "succeeded", caughtUp: true, trigger: "due" })]);
      const s = (await (await api(p, `/api/schedules/${id}`)).json()) as { nextRunAt: number | null };
      expect(s.nextRunAt).toBeNull();
    } finally {
      await stop(p);
    }

    p = await serve();
    try {
      const s = (await (await api(p, `/api/schedules/${id}`)).json()) as { runs: unknown[] };
      expect(s.runs.length).toBe(1);
      expect(model.requests.filter((r) => JSON.stringify(r.body.messages).includes("Restart check")).length).toBe(1);
    } finally {
      await stop(p);
    }
  }, 120_000);
});
