import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { LocalBus } from "../../core/bus/local.ts";
import { openStore, type Store } from "../../core/db/client.ts";
import { FORGET_MS, Heartbeats, MAX_HEARTBEAT_BYTES, MAX_SENDERS } from "../../core/jobs/heartbeats.ts";
import { encode, type Heartbeat, HeartbeatV1, subjects } from "../../core/protocol/index.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { tempDir } from "../helpers/app.ts";

/** Beats are fed straight to `receive` with a clock the test moves: nothing sleeps. */
let dir: string;
let store: Store;
let bus: LocalBus;
beforeAll(() => {
  dir = tempDir();
  store = openStore(dir);
  bus = new LocalBus(store.sqlite);
});
afterAll(async () => {
  await bus.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(limits: { maxSenders?: number } = {}) {
  let t = 1_000_000;
  const lines: string[] = [];
  const log = createLogger("warn", {}, (line) => lines.push(line) > 0);
  const hb = new Heartbeats({ bus, intervalMs: 30_000, version: "test", log, now: () => t, ...limits });
  const beat = (id: string, role: Heartbeat["role"] = "worker", extra: Partial<Heartbeat> = {}) =>
    hb.receive(encode(HeartbeatV1, { v: 1, role, id, at: t, version: "1", intervalMs: 30_000, ...extra }), subjects.heartbeat(role, id));
  return { hb, beat, lines, advance: (ms: number) => void (t += ms) };
}

describe("Heartbeats", () => {
  test("a sender silent for 90 s is forgotten; one that keeps beating stays", () => {
    const { hb, beat, advance } = setup();
    beat("quiet");
    beat("steady");
    advance(FORGET_MS - 1_000);
    beat("steady");
    expect(hb.workersHealth(false).count).toBe(2);
    advance(1_001);
    const w = hb.workersHealth(false);
    expect(w.workers.map((x) => x.id)).toEqual(["steady"]);
    advance(FORGET_MS);
    expect(hb.workersHealth(false)).toMatchObject({ count: 0, status: "degraded", detail: "no worker has sent a heartbeat" });
  });

  test(`at most ${MAX_SENDERS} senders: new ones past that are dropped and counted, known ones keep beating`, () => {
    const { hb, beat, advance } = setup();
    for (let i = 0; i < 50_000; i++) beat(`fake-${i}`);
    advance(10_000);
    beat("fake-0");
    beat("late-real");
    const w = hb.workersHealth(false);
    expect(w.count).toBe(MAX_SENDERS);
    expect(w.dropped).toEqual({ full: 50_000 - MAX_SENDERS + 1, invalid: 0 });
    expect(w.workers[0]).toMatchObject({ id: "fake-0", lastSeenMs: 0 });
    expect(JSON.stringify(w).length).toBeLessThan(8_192);
    // Once the flood is forgotten, a new sender gets in.
    advance(FORGET_MS - 9_000);
    beat("late-real");
    expect(hb.workersHealth(false).workers.map((x) => x.id)).toEqual(["late-real", "fake-0"]);
  });

  test("oversized, malformed and mismatched beats are counted, and logged at most once a minute", () => {
    const { hb, beat, lines, advance } = setup();
    hb.receive(new Uint8Array(MAX_HEARTBEAT_BYTES + 1).fill(0x20), subjects.heartbeat("worker", "big"));
    hb.receive(new TextEncoder().encode("{not json"), subjects.heartbeat("worker", "junk"));
    hb.receive(encode(HeartbeatV1, { v: 1, role: "worker", id: "a", at: 1, version: "1", intervalMs: 1000 }), subjects.heartbeat("worker", "b"));
    hb.receive(encode(HeartbeatV1, { v: 1, role: "worker", id: "a", at: 1, version: "1", intervalMs: 1000 }), subjects.heartbeat("brain", "a"));
    for (let i = 0; i < 1_000; i++) hb.receive(new TextEncoder().encode("[]"), subjects.heartbeat("worker", `junk-${i}`));
    expect(hb.dropped).toEqual({ full: 0, invalid: 1_004 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "heartbeats skipped: not valid heartbeats" });
    advance(60_000);
    hb.receive(new TextEncoder().encode("[]"), subjects.heartbeat("worker", "again"));
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!).sinceLastLine).toEqual({ full: 0, invalid: 1_004 });
    beat("real");
    expect(hb.workersHealth(false).workers.map((x) => x.id)).toEqual(["real"]);
  });

  test("the brain's own heartbeat is kept even when the table is full", () => {
    const { hb, beat } = setup({ maxSenders: 3 });
    for (let i = 0; i < 10; i++) beat(`fake-${i}`);
    beat(hb.brainId, "brain");
    beat("other-brain", "brain");
    expect(hb.brainHealth()).toMatchObject({ status: "ok", id: hb.brainId, others: [] });
  });
});
