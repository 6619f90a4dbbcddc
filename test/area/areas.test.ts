import { afterAll, describe, expect, test } from "bun:test";
import { AreaOrderError, startOrder } from "../../core/area/start.ts";
import { type Area, defineArea } from "../../core/area/types.ts";
import { AREAS } from "../../core/areas.ts";
import { runDoctor } from "../../core/cli/doctor.ts";
import { helpText } from "../../core/cli/help.ts";
import { ConfigError, loadConfig } from "../../core/config/index.ts";
import { assemble } from "../../core/server.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { echoArea, stopped } from "../fixtures/areas/echo/area.ts";
import { makeApp, TOKEN, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

// The one line a new area takes.
const WITH_ECHO = [...AREAS, echoArea];
const schemas = WITH_ECHO.map((a) => ({ name: a.name, ...a.config }));

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("Areas", () => {
  test("a throwaway area plugs in with one folder and one line: its route, tool, prompt section, health and doctor check", async () => {
    const h = await makeApp({ ECHO_GREETING: "ahoy", ECHO_REPEAT: "2" }, { areas: WITH_ECHO });
    cleanups.push(() => h.close());
    const res = await h.request("/api/echo/there");
    expect(await res.json()).toEqual({ said: "ahoy thereahoy there" });
    expect((await h.request("/api/echo/there", { auth: false })).status).toBe(401);
    expect(h.s.tools.specs().map((t) => t.name)).toContain("echo_say");
    const prompt = await h.s.prompt.build({ conversationId: "c", userMessage: "hi", signal: new AbortController().signal });
    // A section that declares no layer changes every turn: it goes with the turn's context.
    expect(prompt.find((b) => b.stability === "turn")?.text).toContain("The echo area greets with ahoy.");
    const health = await (await h.request("/api/system/health")).json();
    expect(health.components.echo).toEqual({ status: "ok", greeting: "ahoy" });
    const checks = await runDoctor(loadConfig({ schemas, env: { BAKERST_DATA_DIR: tempDir(), ECHO_GREETING: "ahoy" } }), WITH_ECHO);
    expect(checks).toContainEqual({ ok: true, name: "echo", detail: "says ahoy" });
  });

  test("bakerst --help lists every setting of every area", () => {
    const help = helpText(schemas);
    for (const a of WITH_ECHO) for (const key of Object.keys(a.config?.keys ?? {})) expect(help).toContain(key);
    expect(help).toContain("Settings of the echo area:");
  });

  test("a bad setting of an area stops start-up naming the key", () => {
    let err: unknown;
    try {
      loadConfig({ schemas, env: { BAKERST_DATA_DIR: tempDir(), ECHO_REPEAT: "9" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe("ECHO_REPEAT");
    expect((err as Error).message).toContain("an integer in 1..5");
  });

  test("an area whose outside service is down starts degraded, retries, and turns ok when it comes up", async () => {
    let up = false;
    const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(up ? "ok" : "starting", { status: up ? 200 : 503 }) });
    cleanups.push(async () => void upstream.stop(true));
    const h = await makeApp({ ECHO_UPSTREAM: `http://127.0.0.1:${upstream.port}` }, { areas: WITH_ECHO });
    cleanups.push(() => h.close());
    const degraded = await waitFor("degraded after a failed attempt", async () => {
      const c = (await (await h.request("/api/system/health")).json()).components["echo-upstream"];
      return c?.attempts >= 2 ? c : undefined;
    });
    expect(degraded).toMatchObject({ status: "degraded", fix: "start the echo upstream" });
    expect(degraded.detail).toContain("upstream answered 503");
    // The API answers meanwhile.
    expect((await h.request("/api/echo/x")).status).toBe(200);
    up = true;
    await waitFor("ok once the upstream is up", async () => (await (await h.request("/api/system/health")).json()).components["echo-upstream"]?.status === "ok");
  });

  test("areas start in the order of what they need and stop in reverse", async () => {
    const log: string[] = [];
    const area = (name: string, needs: string[], provides: string[]): Area =>
      defineArea({
        name,
        needs: needs as never,
        provides: provides as never,
        start(ctx) {
          log.push(`start ${name}`);
          for (const p of provides) ctx.provide(p as never, { name } as never);
          for (const n of needs) ctx.need(n as never);
          ctx.onStop(() => void log.push(`stop ${name}`));
        },
      });
    // Listed first, but needs what the later ones provide.
    const areas = [area("briefings", ["jobs", "echo"], ["briefings"]), ...AREAS, area("echo-like", ["jobs"], ["echo"])];
    expect(startOrder(areas).map((a) => a.name)).toEqual(["jobs", "echo-like", "briefings", "memory", "secrets", "tasks", "companions", "skills", "gateway", "schedules", "mcp"]);
    const dir = tempDir();
    const config = loadConfig({ schemas, env: { BAKERST_DATA_DIR: dir, AUTH_TOKEN: TOKEN, LOG_LEVEL: "silent" } });
    const { services } = await assemble(config, { areas, log: createLogger("silent") });
    await services.close();
    expect(log).toEqual(["start echo-like", "start briefings", "stop briefings", "stop echo-like"]);
  });

  test("a want is used when its area is there and simply absent when it is not; either way the order follows it", async () => {
    const seen: unknown[] = [];
    const wanting = defineArea({
      name: "reports",
      wants: ["echo"],
      start(ctx) {
        seen.push(ctx.want("echo")?.say("hi") ?? "no echo");
      },
    });
    expect(startOrder([wanting, ...WITH_ECHO]).map((a) => a.name)).toEqual(["jobs", "echo", "reports", "memory", ...AREAS.slice(2).map((a) => a.name)]);
    for (const areas of [
      [...WITH_ECHO, wanting],
      [...AREAS, wanting],
    ]) {
      const config = loadConfig({ schemas, env: { BAKERST_DATA_DIR: tempDir(), AUTH_TOKEN: TOKEN, LOG_LEVEL: "silent" } });
      const { services } = await assemble(config, { areas, log: createLogger("silent") });
      await services.close();
    }
    expect(seen).toEqual(["hello hi", "no echo"]);
  });

  test("a need nobody provides stops start-up with a message naming both", () => {
    const lonely = defineArea({ name: "schedules", needs: ["jobs", "echo"], start() {} });
    expect(() => startOrder([...AREAS, lonely])).toThrow(new AreaOrderError("area schedules needs echo, which no area provides: add the area that provides echo to core/areas.ts"));
  });

  test("two areas needing each other, or two providers of one thing, are refused", () => {
    const a = defineArea({ name: "a", needs: ["echo"], provides: ["jobs"], start() {} });
    const b = defineArea({ name: "b", needs: ["jobs"], provides: ["echo"], start() {} });
    expect(() => startOrder([a, b])).toThrow(/circle: a -> b -> a/);
    expect(() => startOrder([...AREAS, defineArea({ name: "jobs2", provides: ["jobs"], start() {} })])).toThrow(/jobs and jobs2 both provide jobs/);
  });

  test("an area that fails to start stops the ones already started, and nothing is left running", async () => {
    stopped.length = 0;
    const broken = defineArea({
      name: "broken",
      needs: ["echo"],
      start() {
        throw new Error("cannot start");
      },
    });
    const dir = tempDir();
    const config = loadConfig({ schemas, env: { BAKERST_DATA_DIR: dir, AUTH_TOKEN: TOKEN, LOG_LEVEL: "silent" } });
    await expect(assemble(config, { areas: [...WITH_ECHO, broken], log: createLogger("silent") })).rejects.toThrow("cannot start");
    expect(stopped).toEqual(["echo"]);
  });
});
