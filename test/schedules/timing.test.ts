import { describe, expect, test } from "bun:test";
import { localTime, Timing, TimingError } from "../../core/schedules/timing.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);

describe("Schedule timing (croner's evaluation)", () => {
  test("a daily 02:30 in Berlin across spring forward runs at 03:00 on the day 02:30 does not exist, then at 02:30 summer time", () => {
    const t = new Timing({ cron: "30 2 * * *" }, "Europe/Berlin", 0);
    const runs = t.upcoming(at("2026-03-27T12:00:00Z"), 4);
    expect(runs.map(iso)).toEqual(["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-03-31T00:30:00.000Z"]);
    expect(runs.map((r) => localTime(r, "Europe/Berlin").slice(0, 19))).toEqual(["2026-03-28 02:30:00", "2026-03-29 03:00:00", "2026-03-30 02:30:00", "2026-03-31 02:30:00"]);
  });

  test("across fall back, a time that occurs twice runs once", () => {
    const t = new Timing({ cron: "30 2 * * *" }, "Europe/Berlin", 0);
    const runs = t.upcoming(at("2026-10-24T12:00:00Z"), 3);
    expect(runs.map(iso)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z", "2026-10-27T01:30:00.000Z"]);
  });

  test("09:00 in New York stays 09:00 local across its DST change (the UTC time moves)", () => {
    const t = new Timing({ cron: "0 9 * * *" }, "America/New_York", 0);
    const runs = t.upcoming(at("2026-03-07T00:00:00Z"), 3);
    expect(runs.map(iso)).toEqual(["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-09T13:00:00.000Z"]);
  });

  test("six fields take seconds first; five fields fire on the minute", () => {
    expect(new Timing({ cron: "*/15 * * * * *" }, "UTC", 0).upcoming(at("2026-01-01T00:00:01Z"), 3).map(iso)).toEqual([
      "2026-01-01T00:00:15.000Z",
      "2026-01-01T00:00:30.000Z",
      "2026-01-01T00:00:45.000Z",
    ]);
    expect(iso(new Timing({ cron: "*/5 * * * *" }, "UTC", 0).next(at("2026-01-01T00:00:01Z"))!)).toBe("2026-01-01T00:05:00.000Z");
  });

  test("a one-shot without an offset is read in its zone, and has no due time after it", () => {
    const t = new Timing({ at: "2026-12-24T18:00:00" }, "America/New_York", 0);
    expect(iso(t.next(0)!)).toBe("2026-12-24T23:00:00.000Z");
    expect(t.next(at("2026-12-25T00:00:00Z"))).toBeUndefined();
    expect(iso(new Timing({ at: "2026-12-24T18:00:00Z" }, "America/New_York", 0).next(0)!)).toBe("2026-12-24T18:00:00.000Z");
  });

  test("an interval counts from its anchor, whatever the zone", () => {
    const t = new Timing({ every: 90, from: "2026-01-01T00:00:00Z" }, "Asia/Tokyo", 0);
    expect(t.upcoming(at("2026-01-01T00:02:00Z"), 2).map(iso)).toEqual(["2026-01-01T00:03:00.000Z", "2026-01-01T00:04:30.000Z"]);
    expect(t.shortestGap(0)).toBe(90_000);
  });

  test("a bad expression, date or zone is refused naming the field", () => {
    for (const [when, zone, field] of [
      [{ cron: "61 * * * *" }, "UTC", "when.cron"],
      [{ cron: "* * * *" }, "UTC", "when.cron"],
      [{ cron: "0 0 0 * * * 2026" }, "UTC", "when.cron"],
      [{ at: "tomorrow at five" }, "UTC", "when.at"],
      [{ every: 60, from: "soon" }, "UTC", "when.from"],
      [{ cron: "0 9 * * *" }, "Mars/Olympus_Mons", "timeZone"],
    ] as const) {
      expect(() => new Timing(when, zone, 0)).toThrow(TimingError);
      try {
        new Timing(when, zone, 0);
      } catch (err) {
        expect((err as Error).message.startsWith(field)).toBe(true);
      }
    }
  });
});
