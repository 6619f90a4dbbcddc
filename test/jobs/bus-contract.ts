import { afterEach, describe, expect, test } from "bun:test";
import type { Bus, Delivery } from "../../core/protocol/bus.ts";
import { subjects } from "../../core/protocol/subjects.ts";
import { waitFor } from "../helpers/nats.ts";

export interface BusFixture {
  /** A bus over empty queues with the given ack wait. */
  open(ackWaitMs: number): Promise<Bus>;
  /** Another bus over the same store, as after a restart of the binary. */
  reopen(ackWaitMs: number): Promise<Bus>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** The one contract both Bus implementations pass. */
export function busContract(name: string, fixture: () => BusFixture) {
  describe(`Bus contract: ${name}`, () => {
    const open: Bus[] = [];
    const track = (b: Bus) => (open.push(b), b);
    afterEach(async () => {
      for (const b of open.splice(0)) await b.close();
    }, 15_000);

    test("a published job reaches one consumer with its headers, and an acked job is not delivered again", async () => {
      const bus = track(await fixture().open(1_000));
      await bus.publishJob(enc("job-1"), { traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" });
      const got: Delivery[] = [];
      const c = bus.consumeJobs(async (d) => {
        got.push(d);
        // The marker is left unacked once: its redelivery comes after job-1's ack wait has run out.
        if (dec(d.data) !== "marker" || d.deliveryCount > 1) await d.ack();
      }, { concurrency: 4 });
      await waitFor("delivery", () => got.length === 1);
      expect(dec(got[0]!.data)).toBe("job-1");
      expect(got[0]!.headers.traceparent).toContain("0123456789abcdef0123456789abcdef");
      expect(got[0]!.redelivered).toBe(false);
      expect(got[0]!.deliveryCount).toBe(1);
      // Past the ack wait, an acked message stays gone: prove it with a later marker message.
      await bus.publishJob(enc("marker"));
      await waitFor("marker redelivered", () => got.length === 3, 8_000);
      expect(got.map((d) => dec(d.data))).toEqual(["job-1", "marker", "marker"]);
      await c.stop();
    }, 15_000);

    test("an unacked job is delivered again after the ack deadline, marked redelivered", async () => {
      const bus = track(await fixture().open(1_000));
      await bus.publishJob(enc("slow"));
      const got: Delivery[] = [];
      const c = bus.consumeJobs(async (d) => {
        got.push(d);
        if (d.deliveryCount >= 2) await d.ack();
      }, { concurrency: 2 });
      await waitFor("redelivery", () => got.length >= 2, 8_000);
      expect(got[1]!.redelivered).toBe(true);
      expect(got[1]!.deliveryCount).toBe(2);
      expect(dec(got[1]!.data)).toBe("slow");
      await c.stop();
    }, 15_000);

    test("working() holds the job past the ack wait without a redelivery", async () => {
      const bus = track(await fixture().open(1_000));
      await bus.publishJob(enc("long"));
      let deliveries = 0;
      let finished = false;
      const c = bus.consumeJobs(async (d) => {
        deliveries++;
        for (let i = 0; i < 8; i++) {
          await Bun.sleep(300);
          await d.working();
        }
        await d.ack();
        finished = true;
      }, { concurrency: 2 });
      await waitFor("long job", () => finished, 10_000);
      expect(deliveries).toBe(1);
      await c.stop();
    }, 15_000);

    test("no more than `concurrency` handlers run at once", async () => {
      const bus = track(await fixture().open(5_000));
      for (let i = 0; i < 12; i++) await bus.publishJob(enc(`j${i}`));
      let running = 0;
      let peak = 0;
      let done = 0;
      const c = bus.consumeJobs(async (d) => {
        running++;
        peak = Math.max(peak, running);
        await Bun.sleep(30);
        running--;
        done++;
        await d.ack();
      }, { concurrency: 3 });
      await waitFor("12 jobs", () => done === 12);
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
      await c.stop();
    }, 15_000);

    test("statuses arrive in publish order and the last one per job is kept", async () => {
      const bus = track(await fixture().open(1_000));
      const sent: string[] = [];
      for (let i = 0; i < 40; i++) {
        const job = `job${i % 4}`;
        const msg = `${job}:${i}`;
        sent.push(msg);
        await bus.publishStatus(job, enc(msg));
      }
      const got: string[] = [];
      const c = bus.consumeStatuses(async (d) => {
        got.push(dec(d.data));
        await d.ack();
      });
      await waitFor("40 statuses", () => got.length === 40);
      expect(got).toEqual(sent);
      expect(dec((await bus.lastStatus("job3"))!)).toBe("job3:39");
      expect(await bus.lastStatus("never-seen")).toBeUndefined();
      await c.stop();
    }, 15_000);

    test("stop() lets the job in flight finish and takes no new ones", async () => {
      const bus = track(await fixture().open(5_000));
      await bus.publishJob(enc("first"));
      let started = 0;
      let acked = 0;
      const c = bus.consumeJobs(async (d) => {
        started++;
        await Bun.sleep(300);
        await d.ack();
        acked++;
      }, { concurrency: 1 });
      await waitFor("first started", () => started === 1);
      await c.stop();
      expect(acked).toBe(1);
      await bus.publishJob(enc("second"));
      // A new consumer getting "second" shows the stopped one had its chance and did not take it.
      const next: string[] = [];
      const c2 = bus.consumeJobs(async (d) => {
        next.push(dec(d.data));
        await d.ack();
      }, { concurrency: 1 });
      await waitFor("second, by the new consumer", () => next.length === 1);
      expect(next).toEqual(["second"]);
      expect(started).toBe(1);
      await c2.stop();
    }, 15_000);

    test("a queued and an unacked job survive a restart and are delivered after it", async () => {
      const f = fixture();
      const bus = await f.open(1_000);
      await bus.publishJob(enc("in-flight"));
      let seen = 0;
      const c = bus.consumeJobs(async () => void seen++, { concurrency: 1 });
      await waitFor("taken, never acked", () => seen === 1);
      await c.stop(100);
      await bus.publishJob(enc("queued"));
      await bus.close();

      const again = track(await f.reopen(1_000));
      const got: string[] = [];
      const c2 = again.consumeJobs(async (d) => {
        got.push(dec(d.data));
        await d.ack();
      }, { concurrency: 2 });
      await waitFor("both after restart", () => got.length === 2, 8_000);
      expect(got.sort()).toEqual(["in-flight", "queued"]);
      await c2.stop();
    }, 15_000);

    test("a retried publish with the same dedupe id is queued once", async () => {
      const bus = track(await fixture().open(5_000));
      await bus.publishJob(enc("once"), {}, "job-abc");
      await bus.publishJob(enc("once"), {}, "job-abc");
      await bus.publishJob(enc("marker"), {}, "job-def");
      const got: string[] = [];
      // One at a time, in order: once the marker is handled, a duplicate would have been too.
      const c = bus.consumeJobs(async (d) => {
        got.push(dec(d.data));
        await d.ack();
      }, { concurrency: 1 });
      await waitFor("marker", () => got.includes("marker"));
      expect(got).toEqual(["once", "marker"]);
      await c.stop();
    }, 15_000);

    test("heartbeats reach subscribers with their subject", async () => {
      const bus = track(await fixture().open(1_000));
      const got: [string, string][] = [];
      const sub = bus.subscribeHeartbeats((data, subject) => got.push([subject, dec(data)]));
      // Heartbeats are fire and forget: beat until the subscription is in place and one arrives.
      await waitFor("heartbeat", async () => {
        await bus.publishHeartbeat(subjects.heartbeat("worker", "w1"), enc("beat"));
        return got.length > 0;
      });
      expect(got[0]).toEqual(["bakerst.heartbeat.worker.w1", "beat"]);
      await sub.stop();
    }, 15_000);
  });
}
