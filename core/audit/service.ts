import type { Statement } from "bun:sqlite";
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import type { Logger } from "../telemetry/log.ts";
import type { AuditAction, AuditOutcome } from "./actions.ts";
import { auditLog } from "./audit.sql.ts";

export interface AuditEvent {
  action: AuditAction;
  outcome: AuditOutcome;
  /** Who: `web` (the console), `api` (a bearer token), `cli`, `agent` (a tool call in a turn), `worker:<id>`, `system`. */
  actor: string;
  /** The client's address, when the event came over HTTP (`addressOf(request)` in `./http.ts`). */
  address?: string;
  target?: string;
  /** A few short facts; never a body, header, prompt, token or code. */
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditEntry {
  id: number;
  at: number;
  action: string;
  outcome: AuditOutcome;
  actor: string;
  address: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  limit: number;
  /** Entries older than this id (the `next` of the page before). */
  before?: number;
  action?: string;
  outcome?: AuditOutcome;
}

type Row = [at: number, action: string, outcome: string, actor: string, address: string | null, target: string | null, detail: AuditEvent["detail"] | null];

/** Refused and failed events of one action kept per window; the rest are counted in one `audit.suppressed` row. */
export const REFUSALS_PER_MINUTE = 60;
const WINDOW_MS = 60_000;
const FIELD_MAX = 200;

interface Window {
  action: AuditAction;
  outcome: AuditOutcome;
  start: number;
  written: number;
  suppressed: number;
  first: number;
  last: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The audit log: security-relevant events in an append-only table. `record`
 * only queues the row; rows are written in one transaction per event-loop
 * turn (chat and jobs do not wait on a commit of their own), secrets are
 * replaced before anything is written, and refused or failed events are
 * capped per action and minute so nobody can grow the table faster than that.
 */
export class AuditLog {
  private pending: Row[] = [];
  private insert: Statement;
  private windows = new Map<string, Window>();
  private closed = false;

  constructor(
    private db: Db,
    private opts: {
      /** Values that must never be written (the API token, provider keys...). */
      secrets: () => string[];
      log?: Logger;
      now?: () => number;
      refusalsPerMinute?: number;
      /** The window the cap counts in (a minute; shorter in tests). */
      windowMs?: number;
    },
  ) {
    this.insert = db.$client.prepare("INSERT INTO audit_log (at, action, outcome, actor, address, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)");
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private windowMs(): number {
    return this.opts.windowMs ?? WINDOW_MS;
  }

  record(e: AuditEvent): void {
    if (this.closed) return;
    const at = this.now();
    if (e.outcome !== "ok" && !this.admit(e, at)) return;
    this.push(at, e);
  }

  private push(at: number, e: AuditEvent): void {
    this.pending.push([at, e.action, e.outcome, e.actor, e.address ?? null, e.target ?? null, e.detail ?? null]);
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  /** Whether a refused or failed event still fits its action's window; counts it when not. */
  private admit(e: AuditEvent, at: number): boolean {
    const key = `${e.action} ${e.outcome}`;
    let w = this.windows.get(key);
    if (w && at - w.start >= this.windowMs()) {
      this.summarise(w);
      w = undefined;
    }
    if (!w) {
      w = { action: e.action, outcome: e.outcome, start: at, written: 0, suppressed: 0, first: 0, last: 0 };
      this.windows.set(key, w);
    }
    if (w.written < (this.opts.refusalsPerMinute ?? REFUSALS_PER_MINUTE)) {
      w.written++;
      return true;
    }
    if (!w.suppressed++) {
      w.first = at;
      const window = w;
      // Written when the window ends, even if nothing else of this action comes.
      window.timer = setTimeout(
        () => {
          if (this.windows.get(key) !== window) return;
          this.windows.delete(key);
          this.summarise(window);
        },
        Math.max(0, w.start + this.windowMs() - at),
      );
      window.timer.unref?.();
    }
    w.last = at;
    return false;
  }

  private summarise(w: Window): void {
    clearTimeout(w.timer);
    if (!w.suppressed) return;
    this.push(w.last, { action: "audit.suppressed", outcome: w.outcome, actor: "system", target: w.action, detail: { count: w.suppressed, from: w.first, to: w.last } });
    w.suppressed = 0;
  }

  /** Writes what is queued, secrets replaced, in one transaction. */
  flush(): void {
    const rows = this.pending.splice(0);
    if (!rows.length) return;
    const secrets = [...new Set(this.opts.secrets().filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
    const clean = (v: string) => {
      let out = v;
      for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
      return out.length > FIELD_MAX ? `${out.slice(0, FIELD_MAX - 1)}…` : out;
    };
    const orNull = (v: string | null) => (v === null ? null : clean(v));
    // Each value is cleaned before it is encoded: in JSON a secret with a quote or backslash would no longer match.
    const json = (d: Row[6]) => (d ? JSON.stringify(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === "string" ? clean(v) : v]))) : null);
    try {
      this.db.$client.transaction(() => {
        for (const [at, action, outcome, actor, address, target, detail] of rows) {
          this.insert.run(at, action, outcome, clean(actor), orNull(address), orNull(target), json(detail));
        }
      })();
    } catch (err) {
      // The event that was audited already happened; losing its record is logged, not thrown at it.
      this.opts.log?.error("could not write the audit log", { count: rows.length, error: (err as Error).message });
    }
  }

  list(q: AuditQuery): AuditEntry[] {
    this.flush();
    const where = and(
      q.before !== undefined ? lt(auditLog.id, q.before) : undefined,
      q.action ? eq(auditLog.action, q.action) : undefined,
      q.outcome ? eq(auditLog.outcome, q.outcome) : undefined,
    );
    return this.db
      .select()
      .from(auditLog)
      .where(where)
      .orderBy(desc(auditLog.id))
      .limit(q.limit)
      .all()
      .map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }

  /** Writes the counts of what was suppressed and everything queued; later events are dropped. */
  close(): void {
    for (const w of this.windows.values()) this.summarise(w);
    this.windows.clear();
    this.flush();
    this.closed = true;
  }
}
