/**
 * When a schedule is due. Cron expressions and one-shot times are evaluated by
 * croner (time zones and DST as croner does them: a time in a spring-forward
 * gap runs at the first valid time after it, a time that occurs twice runs
 * once); an interval is plain arithmetic from its anchor.
 */

import { type Static, Type } from "@sinclair/typebox";
import { Cron } from "croner";

export const MIN_EVERY_S = 1;
export const MAX_EVERY_S = 366 * 86_400;

export const When = Type.Union([
  Type.Object(
    { cron: Type.String({ minLength: 9, maxLength: 200, description: "5 fields (minute hour day month weekday) or 6 with seconds first" }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { at: Type.String({ minLength: 10, maxLength: 40, description: "one-shot: ISO 8601 date-time; without an offset it is read in the schedule's time zone" }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      every: Type.Integer({ minimum: MIN_EVERY_S, maximum: MAX_EVERY_S, description: "seconds between runs" }),
      from: Type.Optional(Type.String({ minLength: 10, maxLength: 40, description: "ISO 8601 anchor of the first run (default: when it was saved)" })),
    },
    { additionalProperties: false },
  ),
]);
export type When = Static<typeof When>;

/** A bad `when` or time zone: the message names what is wrong. */
export class TimingError extends Error {
  override name = "TimingError";
}

export function checkTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new TimingError(`timeZone: ${JSON.stringify(zone).slice(0, 60)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`);
  }
}

/** The machine's zone, when the owner named none. */
export const machineZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/**
 * A schedule's timing, ready to answer "next due time after t". Built from
 * stored (already checked) data or from a request (checked here).
 */
export class Timing {
  private cron?: Cron;
  private atMs?: number;
  private every?: { ms: number; from: number };

  constructor(
    readonly when: When,
    readonly timeZone: string,
    /** The anchor of an interval without `from`: when the schedule was saved. */
    anchor: number,
  ) {
    checkTimeZone(timeZone);
    try {
      if ("cron" in when) {
        const fields = when.cron.trim().split(/\s+/).length;
        if (fields !== 5 && fields !== 6) throw new TimingError(`when.cron: expected 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields}`);
        this.cron = new Cron(when.cron, { timezone: timeZone, mode: "5-or-6-parts" });
      } else if ("at" in when) {
        const c = new Cron(when.at, { timezone: timeZone });
        const d = c.nextRun(new Date(0));
        if (!d) throw new TimingError(`when.at: ${when.at} is not a date-time`);
        this.atMs = d.getTime();
      } else {
        const from = when.from === undefined ? anchor : new Cron(when.from, { timezone: timeZone }).nextRun(new Date(0))?.getTime();
        if (from === undefined || !Number.isFinite(from)) throw new TimingError(`when.from: ${when.from} is not a date-time`);
        this.every = { ms: when.every * 1000, from };
      }
    } catch (err) {
      if (err instanceof TimingError) throw err;
      const key = "cron" in when ? "when.cron" : "at" in when ? "when.at" : "when.from";
      throw new TimingError(`${key}: ${(err as Error).message.replace(/^Cron\w*: /, "")}`.slice(0, 300));
    }
  }

  /** The first due time strictly after `after` (ms), or undefined when there is none (a one-shot in the past). */
  next(after: number): number | undefined {
    if (this.cron) return this.cron.nextRun(new Date(after))?.getTime();
    if (this.atMs !== undefined) return this.atMs > after ? this.atMs : undefined;
    const { ms, from } = this.every!;
    if (after < from) return from;
    return from + (Math.floor((after - from) / ms) + 1) * ms;
  }

  /** Up to `n` due times after `after`. */
  upcoming(after: number, n: number): number[] {
    const out: number[] = [];
    let t = after;
    while (out.length < n) {
      const due = this.next(t);
      if (due === undefined) break;
      out.push(due);
      t = due;
    }
    return out;
  }

  /** The smallest gap between its next few due times (ms); Infinity for a one-shot. */
  shortestGap(after: number, sample = 24): number {
    if (this.every) return this.every.ms;
    const times = this.upcoming(after, sample);
    let gap = Number.POSITIVE_INFINITY;
    for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i]! - times[i - 1]!);
    return gap;
  }
}

/** How a due time reads in a zone: `2026-03-29 03:00:00 CEST`. */
export function localTime(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).formatToParts(new Date(ms));
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? "";
  return `${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")}:${p("second")} ${p("timeZoneName")}`;
}
