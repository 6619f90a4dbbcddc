import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { TaskRunSpec } from "../../core/protocol/index.ts";
import { backoff } from "../../satellite/companion/daemon.ts";
import { Spool } from "../../satellite/companion/spool.ts";
import { tempDir } from "../helpers/app.ts";

const dirs: string[] = [];
const fresh = (max: number) => {
  const d = tempDir("bakerst-spool-");
  dirs.push(d);
  return { dir: d, spool: new Spool(d, max) };
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const spec: TaskRunSpec = { v: 1, id: "t1", mode: "script", script: "true", mounts: [], network: "none", timeoutMs: 1000, reportToken: "tokentokentokentoken" };
const progress = (seq: number) => ({ v: 1 as const, type: "progress" as const, taskId: "t1", token: spec.reportToken, seq, at: 0, kind: "log" as const, text: `line ${seq}\n` });

describe("Companion spool", () => {
  test("reports come out in the order they went in, and survive reopening the file", () => {
    const { dir, spool } = fresh(100);
    spool.accept(spec);
    for (let i = 1; i <= 3; i++) spool.add(progress(i));
    spool.close();
    const again = new Spool(dir, 100);
    expect(again.peek(10).map((r) => r.report.seq)).toEqual([1, 2, 3]);
    again.remove(again.peek(1)[0]!.seq);
    expect(again.peek(10).map((r) => r.report.seq)).toEqual([2, 3]);
    expect(again.task("t1")).toMatchObject({ state: "pending", lastSeq: 3, hasResult: false });
    again.close();
  });

  test("when full it drops progress and says so, and still keeps every result", () => {
    const { spool } = fresh(3);
    spool.accept(spec);
    const kept = [1, 2, 3, 4, 5].map((i) => spool.add(progress(i)));
    expect(kept).toEqual([true, true, true, false, false]);
    expect(spool.stats()).toEqual({ pending: 3, max: 3, full: true, dropped: 2 });
    expect(spool.droppedFor("t1")).toBe(true);
    expect(spool.droppedFor("t1")).toBe(false);
    expect(spool.add({ v: 1, type: "result", taskId: "t1", token: spec.reportToken, seq: 6, at: 0, status: "succeeded", exitCode: 0 })).toBe(true);
    expect(spool.peek(10).at(-1)?.report.type).toBe("result");
    spool.close();
  });

  test("a task is accepted once: a redelivery is recognised", () => {
    const { spool } = fresh(10);
    expect(spool.accept(spec)).toBe(true);
    expect(spool.accept(spec)).toBe(false);
    spool.close();
  });

  test("reconnect waits grow with each failure up to 30 s, with jitter, never zero", () => {
    const waits = Array.from({ length: 12 }, (_, i) => backoff(i));
    for (const [i, w] of waits.entries()) {
      const step = Math.min(30_000, 250 * 2 ** i);
      expect(w).toBeGreaterThanOrEqual(step / 2);
      expect(w).toBeLessThanOrEqual(step);
    }
    expect(new Set(Array.from({ length: 20 }, () => backoff(6))).size).toBeGreaterThan(1);
  });
});
