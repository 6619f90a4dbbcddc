/**
 * `bakerst upgrade` under a load of streaming chats, on the in-process bus
 * and on a real nats-server with the per-role identities: to a good binary
 * (no failed request, no turn lost, the old process gone) and to one that
 * fails its health check (rolled back, no failed request, the old process
 * still serving).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { runningServers } from "../../core/upgrade/control.ts";
import { TOKEN } from "../helpers/app.ts";
import { compiledBinary, type RunningBinary, startBinary } from "../helpers/binary.ts";
import { chatLoad, streamChat } from "../helpers/load.ts";
import { waitFor } from "../helpers/nats.ts";
import { type SecuredNats, startSecuredNats } from "../helpers/nats-identities.ts";
import { type AnthropicStandIn, echo, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";
import { conversation, fixtureBinary, newBinary, runUpgrade, stopServersOn } from "./helpers.ts";

let bin: string;
let model: AnthropicStandIn;
let nats: SecuredNats;
let running: RunningBinary | undefined;

beforeAll(async () => {
  bin = await compiledBinary();
  model = startAnthropicStandIn();
  nats = await startSecuredNats();
}, 120_000);
afterAll(async () => {
  await model.stop();
  await nats.cleanup();
});
afterEach(async () => {
  if (running) {
    await stopServersOn(running.dataDir);
    await running.stop();
    running = undefined;
  }
  model.checkAndReset();
});

const modes = [
  ["on the in-process bus (edge)", () => ({})],
  ["over NATS with the core's own identity (cluster)", () => ({ NATS_URL: nats.url, NATS_CREDS: nats.credsFile({ role: "core" }) })],
] as const;

describe.each(modes)("bakerst upgrade %s", (_name, natsEnv) => {
  const start = async () => {
    model.always(prompt(/^load /), echo);
    running = await startBinary({ AUTH_TOKEN: TOKEN, ANTHROPIC_API_KEY: "sk-ant-test-key-0123456789", ANTHROPIC_BASE_URL: model.url, ...natsEnv() });
    return running;
  };

  test("to a good binary, under load: no request fails, no turn is lost, and the old process hands over and exits", async () => {
    const old = await start();
    const release = Promise.withResolvers<void>();
    model.on(prompt(/^held \d$/), ...[0, 1, 2].map(() => reply().text("held part one, ", "part two").wait(release.promise)));
    const load = chatLoad(old.url, TOKEN, { clients: 4 });
    await waitFor("chats answered by the old core", () => load.done.length >= 20, 20_000);
    // Three turns that are still answering when the old core stops taking connections: it must finish them.
    const held = [0, 1, 2].map((i) => streamChat(old.url, TOKEN, `held ${i}`));
    await waitFor("the held turns to reach the model", () => model.requests.filter((r) => /held \d/.test(JSON.stringify(r.body.messages))).length === 3);

    const upgrade = runUpgrade(bin, old.dataDir, await newBinary());
    await waitFor("the old core to hand its connections over and wait for its turns", () => /waiting for \d+ running turns/.test(upgrade.output()), 30_000);
    release.resolve();
    const result = await upgrade.finished();
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("upgraded to bakerst");
    expect(result.code).toBe(0);
    expect(await old.exited).toBe(0);

    const audited = (await (await fetch(`${old.url}/api/audit?action=upgrade`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      events: { outcome: string; detail: Record<string, unknown> }[];
    };
    expect(audited.events.map((e) => [e.outcome, e.detail.version])).toEqual([["ok", "0.1.0"]]);
    const [now] = await runningServers(old.dataDir);
    expect(now).toMatchObject({ state: "active", version: expect.any(String) });
    expect(now!.pid).not.toBe(old.pid);
    const before = load.done.length;
    await waitFor("chats answered by the new core alone", () => load.done.length >= before + 20, 20_000);
    const outcomes = [...(await load.stop()), ...(await Promise.all(held))];

    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect((await Promise.all(held)).map((h) => h.text)).toEqual(["held part one, part two", "held part one, part two", "held part one, part two"]);
    // Every turn, the old core's and the new core's, is stored whole.
    for (const o of outcomes) {
      const c = await conversation(old.url, o.conversationId!);
      const answer = c.messages.at(-1)!;
      expect({ role: answer.role, partial: answer.partial, error: answer.error, text: answer.content.map((b) => b.text ?? "").join("") }).toEqual({
        role: "assistant",
        partial: false,
        error: null,
        text: o.text,
      });
    }
  }, 120_000);

  test("to a binary that fails its health check, under load: rolled back within the window, no request fails, the old process serves on", async () => {
    const old = await start();
    const load = chatLoad(old.url, TOKEN, { clients: 4 });
    await waitFor("chats answered by the old core", () => load.done.length >= 20, 20_000);

    const upgrade = runUpgrade(bin, old.dataDir, fixtureBinary("bakerst-unhealthy", "unhealthy.ts"), ["--window", "5"]);
    const result = await upgrade.finished();
    expect(result.stdout).toMatch(/rolled back after [\d.]+ s: .*did not become healthy/);
    expect(result.code).toBe(1);

    const audited = (await (await fetch(`${old.url}/api/audit?action=upgrade`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      events: { outcome: string; detail: Record<string, unknown> }[];
    };
    expect(audited.events.map((e) => [e.outcome, e.detail.version, String(e.detail.reason)])).toEqual([
      ["failed", "0.0.0-unhealthy", expect.stringContaining("did not become healthy")],
    ]);
    const servers = await runningServers(old.dataDir);
    expect(servers.map((s) => ({ pid: s.pid, state: s.state }))).toEqual([{ pid: old.pid, state: "active" }]);
    const before = load.done.length;
    await waitFor("more chats answered after the rollback", () => load.done.length >= before + 20, 20_000);
    const outcomes = await load.stop();
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect((await fetch(`${old.url}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  }, 120_000);
});
