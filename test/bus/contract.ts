import { afterEach, describe, expect, test } from "bun:test";
import { type Bus, type Delivery, KvConflictError, NoResponderError } from "../../core/bus/types.ts";
import { KEYED_QUEUES, KV_BUCKETS, QUEUES, subjects } from "../../core/protocol/index.ts";
import { waitFor } from "../helpers/nats.ts";

export interface BusFixture {
  /** A bus over empty queues. */
  open(): Promise<Bus>;
  /** Another bus over the same store, as after a restart of the binary. */
  reopen(): Promise<Bus>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const collect = (got: Delivery[]) => async (d: Delivery) => {
  got.push(d);
  await d.ack();
};

/** The one contract both Bus implementations pass: every primitive the areas use. */
export function busContract(name: string, fixture: () => BusFixture) {
  describe(`Bus contract: ${name}`, () => {
    const open: Bus[] = [];
    const track = (b: Bus) => (open.push(b), b);
    afterEach(async () => {
      for (const b of open.splice(0)) await b.close();
    }, 15_000);

    describe("work queue", () => {
      test("a published message reaches one consumer with its subject and headers, and an acked one is not delivered again", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 1_000 });
        await q.publish(enc("job-1"), { headers: { traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" } });
        const got: Delivery[] = [];
        const c = q.consume(collect(got), { concurrency: 4 });
        await waitFor("delivery", () => got.length === 1);
        expect(dec(got[0]!.data)).toBe("job-1");
        expect(got[0]!.subject).toBe(subjects.jobDispatch());
        expect(got[0]!.headers.traceparent).toContain("0123456789abcdef0123456789abcdef");
        expect(got[0]!.redelivered).toBe(false);
        expect(got[0]!.deliveryCount).toBe(1);
        // Wait out the ack deadline, then prove the acked message stays gone with a later marker.
        await Bun.sleep(1_300);
        await q.publish(enc("marker"));
        await waitFor("marker", () => got.length === 2);
        expect(got.map((d) => dec(d.data))).toEqual(["job-1", "marker"]);
        await c.stop();
      }, 15_000);

      test("an unacked message is delivered again after the ack deadline, marked redelivered", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 1_000 });
        await q.publish(enc("slow"));
        const got: Delivery[] = [];
        const c = q.consume(
          async (d) => {
            got.push(d);
            if (d.deliveryCount >= 2) await d.ack();
          },
          { concurrency: 2 },
        );
        await waitFor("redelivery", () => got.length >= 2, 8_000);
        expect(got[1]!.redelivered).toBe(true);
        expect(got[1]!.deliveryCount).toBe(2);
        expect(dec(got[1]!.data)).toBe("slow");
        await c.stop();
      }, 15_000);

      test("working() holds a message past the ack wait without a redelivery", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 1_000 });
        await q.publish(enc("long"));
        let deliveries = 0;
        let finished = false;
        const c = q.consume(
          async (d) => {
            deliveries++;
            // Simulated slow work: 2.4 s in all, more than twice the ack wait.
            for (let i = 0; i < 8; i++) {
              await Bun.sleep(300);
              await d.working();
            }
            await d.ack();
            finished = true;
          },
          { concurrency: 2 },
        );
        await waitFor("long job", () => finished, 10_000);
        expect(deliveries).toBe(1);
        await c.stop();
      }, 15_000);

      test("no more than `concurrency` handlers run at once", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 5_000 });
        for (let i = 0; i < 12; i++) await q.publish(enc(`j${i}`));
        let running = 0;
        let peak = 0;
        let done = 0;
        const c = q.consume(
          async (d) => {
            running++;
            peak = Math.max(peak, running);
            await Bun.sleep(30);
            running--;
            done++;
            await d.ack();
          },
          { concurrency: 3 },
        );
        await waitFor("12 jobs", () => done === 12);
        expect(peak).toBeLessThanOrEqual(3);
        expect(peak).toBeGreaterThan(1);
        await c.stop();
      }, 15_000);

      test("messages on many subjects of one queue arrive in publish order, each with its subject", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobStatus, { ackWaitMs: 5_000 });
        const sent: string[] = [];
        for (let i = 0; i < 40; i++) {
          const msg = `job${i % 4}:${i}`;
          sent.push(msg);
          await q.publish(enc(msg), { subject: subjects.jobStatus(`job${i % 4}`) });
        }
        const got: Delivery[] = [];
        const c = q.consume(collect(got), { concurrency: 16 });
        await waitFor("40 statuses", () => got.length === 40);
        expect(got.map((d) => dec(d.data))).toEqual(sent);
        expect(got.every((d) => d.subject === subjects.jobStatus(dec(d.data).split(":")[0]!))).toBe(true);
        await c.stop();
      }, 15_000);

      test("stop() lets the message in flight finish, and the next one waits for the next consumer", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 5_000 });
        await q.publish(enc("first"));
        const seen: string[] = [];
        let acked = 0;
        const c = q.consume(
          async (d) => {
            seen.push(dec(d.data));
            await Bun.sleep(300);
            await d.ack();
            acked++;
          },
          { concurrency: 1 },
        );
        await waitFor("first started", () => seen.length === 1);
        await c.stop();
        expect(acked).toBe(1);
        await q.publish(enc("second"));
        const later: Delivery[] = [];
        const c2 = q.consume(collect(later), { concurrency: 1 });
        await waitFor("second, by the new consumer", () => later.length === 1);
        expect(dec(later[0]!.data)).toBe("second");
        expect(seen).toEqual(["first"]);
        await c2.stop();
      }, 15_000);

      test("a queued and an unacked message survive a restart and are delivered after it", async () => {
        const f = fixture();
        const bus = await f.open();
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 1_000 });
        await q.publish(enc("in-flight"));
        let seen = 0;
        const c = q.consume(async () => void seen++, { concurrency: 1 });
        await waitFor("taken, never acked", () => seen === 1);
        await c.stop(100);
        await q.publish(enc("queued"));
        await bus.close();

        const again = track(await f.reopen());
        const got: Delivery[] = [];
        const c2 = (await again.declare(QUEUES.jobs, { ackWaitMs: 1_000 })).consume(collect(got), { concurrency: 2 });
        await waitFor("both after restart", () => got.length === 2, 8_000);
        expect(got.map((d) => dec(d.data)).sort()).toEqual(["in-flight", "queued"]);
        await c2.stop();
      }, 15_000);

      test("a retried publish with the same dedupe id is queued once", async () => {
        const bus = track(await fixture().open());
        const q = await bus.declare(QUEUES.jobs, { ackWaitMs: 5_000 });
        await q.publish(enc("once"), { dedupeId: "job-abc" });
        await q.publish(enc("once"), { dedupeId: "job-abc" });
        await q.publish(enc("marker"), { dedupeId: "job-def" });
        const got: Delivery[] = [];
        const c = q.consume(collect(got), { concurrency: 1 });
        await waitFor("marker", () => got.some((d) => dec(d.data) === "marker"));
        expect(got.map((d) => dec(d.data))).toEqual(["once", "marker"]);
        await c.stop();
      }, 15_000);
    });

    describe("keyed queue", () => {
      test("messages for a key wait while nobody consumes it, and go only to that key's consumer", async () => {
        const bus = track(await fixture().open());
        const k = await bus.keyed(KEYED_QUEUES.companionTasks, { ackWaitMs: 5_000 });
        await k.publish("nas", enc("for-nas-1"));
        await k.publish("pi", enc("for-pi"));
        await k.publish("nas", enc("for-nas-2"));
        const got: Delivery[] = [];
        const c = k.consume("nas", collect(got), { concurrency: 1 });
        await waitFor("both nas messages", () => got.length === 2);
        expect(got.map((d) => dec(d.data))).toEqual(["for-nas-1", "for-nas-2"]);
        expect(got[0]!.subject).toBe(subjects.companionTask("nas"));
        const pi: Delivery[] = [];
        const c2 = k.consume("pi", collect(pi), { concurrency: 1 });
        await waitFor("the pi message", () => pi.length === 1);
        expect(dec(pi[0]!.data)).toBe("for-pi");
        expect(got).toHaveLength(2);
        await c.stop();
        await c2.stop();
      }, 15_000);

      test("a message past its expiry is dropped instead of delivered", async () => {
        const bus = track(await fixture().open());
        const k = await bus.keyed(KEYED_QUEUES.companionTasks, { ackWaitMs: 5_000 });
        await k.publish("nas", enc("stale"), { expiresAt: Date.now() - 1 });
        await k.publish("nas", enc("fresh"), { expiresAt: Date.now() + 60_000 });
        const got: Delivery[] = [];
        const c = k.consume("nas", collect(got), { concurrency: 1 });
        await waitFor("the fresh message", () => got.length === 1);
        expect(dec(got[0]!.data)).toBe("fresh");
        await c.stop();
      }, 15_000);

      test("remove() drops what waits for a key", async () => {
        const bus = track(await fixture().open());
        const k = await bus.keyed(KEYED_QUEUES.companionTasks, { ackWaitMs: 5_000 });
        await k.publish("gone", enc("never"));
        await k.remove("gone");
        await k.publish("gone", enc("after"));
        const got: Delivery[] = [];
        const c = k.consume("gone", collect(got), { concurrency: 1 });
        await waitFor("the message after the removal", () => got.length === 1);
        expect(dec(got[0]!.data)).toBe("after");
        await c.stop();
      }, 15_000);
    });

    describe("publish and subscribe", () => {
      test("subscribers get what matches their wildcard, with subject and headers, and nothing else", async () => {
        const bus = track(await fixture().open());
        const all: [string, string][] = [];
        const workers: string[] = [];
        const s1 = bus.subscribe(subjects.heartbeatAll(), (data, subject) => all.push([subject, dec(data)]));
        const s2 = bus.subscribe("bakerst.heartbeat.worker.*", (data, _subject, headers) => workers.push(`${dec(data)}:${headers["x-n"] ?? ""}`));
        // A subscription on NATS is live once the server has it: a round trip through the bus proves that.
        await waitFor("subscriptions live", async () => {
          await bus.publish("bakerst.heartbeat.probe.x", enc("probe"));
          await Bun.sleep(20);
          return all.some(([s]) => s === "bakerst.heartbeat.probe.x");
        });
        await bus.publish(subjects.heartbeat("brain", "b1"), enc("brain"));
        await bus.publish(subjects.heartbeat("worker", "w1"), enc("w1"), { "x-n": "1" });
        await bus.publish("bakerst.other.thing", enc("not a heartbeat"));
        await bus.publish(subjects.heartbeat("worker", "w2"), enc("marker"));
        await waitFor("the marker", () => workers.includes("marker:"));
        expect(all.filter(([s]) => !s.includes("probe"))).toEqual([
          ["bakerst.heartbeat.brain.b1", "brain"],
          ["bakerst.heartbeat.worker.w1", "w1"],
          ["bakerst.heartbeat.worker.w2", "marker"],
        ]);
        expect(workers).toEqual(["w1:1", "marker:"]);
        await s1.stop();
        await s2.stop();
      }, 15_000);
    });

    describe("request and reply", () => {
      test("a request gets its answer; with nobody answering it fails at once with NoResponderError", async () => {
        const bus = track(await fixture().open());
        await expect(bus.request(subjects.jobLookup(), enc("?"), { timeoutMs: 2_000 })).rejects.toBeInstanceOf(NoResponderError);
        const r = bus.respond(subjects.jobLookup(), (data) => enc(`answer to ${dec(data)}`));
        const reply = await waitFor("an answer", () => bus.request(subjects.jobLookup(), enc("q1"), { timeoutMs: 2_000 }).catch(() => undefined));
        expect(dec(reply)).toBe("answer to q1");
        await r.stop();
      }, 15_000);

      test("two responders share the requests: each request is answered once", async () => {
        const bus = track(await fixture().open());
        const answered: string[] = [];
        const r1 = bus.respond(subjects.jobLookup(), (data) => (answered.push(`a:${dec(data)}`), enc("a")));
        const r2 = bus.respond(subjects.jobLookup(), (data) => (answered.push(`b:${dec(data)}`), enc("b")));
        await waitFor("responders live", () => bus.request(subjects.jobLookup(), enc("warm"), { timeoutMs: 2_000 }).catch(() => undefined));
        answered.length = 0;
        const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => bus.request(subjects.jobLookup(), enc(`q${i}`), { timeoutMs: 2_000 })));
        expect(replies.map(dec).every((x) => x === "a" || x === "b")).toBe(true);
        expect(answered).toHaveLength(20);
        expect(new Set(answered.map((a) => a.slice(2))).size).toBe(20);
        await r1.stop();
        await r2.stop();
      }, 15_000);
    });

    describe("key-value bucket", () => {
      test("create succeeds once; update needs the current revision; delete frees the key", async () => {
        const bus = track(await fixture().open());
        const kv = await bus.kv(KV_BUCKETS.leases);
        const key = `lease-${crypto.randomUUID()}`;
        const r1 = await kv.create(key, enc("core-a"));
        await expect(kv.create(key, enc("core-b"))).rejects.toBeInstanceOf(KvConflictError);
        expect(dec((await kv.get(key))!.value)).toBe("core-a");
        const r2 = await kv.update(key, enc("core-a again"), r1);
        expect(r2).toBeGreaterThan(r1);
        await expect(kv.update(key, enc("stale"), r1)).rejects.toBeInstanceOf(KvConflictError);
        expect((await kv.get(key))!.revision).toBe(r2);
        await kv.delete(key);
        expect(await kv.get(key)).toBeUndefined();
        await kv.create(key, enc("core-b"));
        expect(dec((await kv.get(key))!.value)).toBe("core-b");
      }, 15_000);
    });
  });
}
