import type { Statement } from "bun:sqlite";
import type { Db } from "../db/client.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Counter, Histogram } from "../telemetry/metrics.ts";
import type { ChatAdapter } from "./adapter.ts";
import { FORMATS, LIMITS, parseChatKey } from "./chat-ref.ts";
import { type Format, render, toPlain } from "./format/render.ts";
import { splitMarkdown } from "./format/split.ts";
import type { Platform } from "./keys.ts";

export interface OutboxRow {
  id: number;
  lane: string;
  op: "send" | "edit";
  of: number | null;
  dedupeKey: string | null;
  source: string;
  text: string;
  format: Format;
  replyTo: string | null;
  status: "pending" | "sent" | "failed";
  attempts: number;
  nextAt: number;
  error: string | null;
  messageId: string | null;
  createdAt: number;
  sentAt: number | null;
}

export interface OutboxOptions {
  /** First wait after a 5xx or a network error; doubles up to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs?: number;
  /** A row still unsent this long after it was made is given up (failed). */
  maxAgeMs?: number;
  log?: Logger;
  metrics?: { sent: Counter; unrecorded: Histogram };
  now?: () => number;
}

const COLUMNS =
  "id, lane, op, of, dedupe_key AS dedupeKey, source, text, format, reply_to AS replyTo, status, attempts, next_at AS nextAt, error, message_id AS messageId, created_at AS createdAt, sent_at AS sentAt";
/** How often the outbox looks for rows it was not told about (written by `bakerst pair approve`, or due for a retry). */
const POLL_MS = 1_000;
/** Sent and failed rows are kept this long, then pruned. */
const KEEP_MS = 7 * 24 * 3600_000;

/**
 * The durable outbox: every message the gateway sends or edits is a row
 * first, and a platform call second. Rows of one chat go out one at a time in
 * order (and a platform that cannot recognise a resend gets one call at a time); 429 waits for the platform's `retry_after`, 5xx and network errors
 * back off; a row is marked sent with the platform's message id in the
 * commit right after the platform answers. A crash inside that gap (the
 * platform has the message, the row does not know) sends it once more after
 * the restart: the one window no client can close (docs/gateway.md).
 */
export class Outbox {
  private adapters = new Map<Platform, ChatAdapter>();
  private busyLanes = new Set<string>();
  private inFlight = new Set<number>();
  private running = 0;
  private runningOn = new Map<Platform, number>();
  private scheduled = false;
  private stopped = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPrune = 0;
  private idle: (() => void)[] = [];
  private q: Record<"heads" | "byId" | "byKey" | "lastEdit" | "insert" | "updatePending" | "markSent" | "setShown" | "retry" | "fail" | "plain" | "prune", Statement>;

  constructor(
    private db: Db,
    private opts: OutboxOptions,
  ) {
    const c = db.$client;
    this.q = {
      heads: c.query(`SELECT ${COLUMNS} FROM gateway_outbox WHERE id IN (SELECT min(id) FROM gateway_outbox WHERE status = 'pending' GROUP BY lane) ORDER BY next_at, id`),
      byId: c.query(`SELECT ${COLUMNS} FROM gateway_outbox WHERE id = ?`),
      byKey: c.query(`SELECT ${COLUMNS} FROM gateway_outbox WHERE dedupe_key = ?`),
      lastEdit: c.query(`SELECT ${COLUMNS} FROM gateway_outbox WHERE of = ? AND status != 'failed' ORDER BY id DESC LIMIT 1`),
      insert: c.query(
        "INSERT INTO gateway_outbox (lane, op, of, dedupe_key, source, text, format, reply_to, status, attempts, next_at, created_at) VALUES ($lane, $op, $of, $key, $source, $text, $format, $replyTo, 'pending', 0, $now, $now) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
      ),
      updatePending: c.query("UPDATE gateway_outbox SET source = $source, text = $text, format = $format WHERE id = $id AND status = 'pending'"),
      markSent: c.query("UPDATE gateway_outbox SET status = 'sent', message_id = $messageId, sent_at = $now, error = NULL WHERE id = $id"),
      setShown: c.query("UPDATE gateway_outbox SET source = $source, text = $text, format = $format WHERE id = $id"),
      retry: c.query("UPDATE gateway_outbox SET attempts = attempts + 1, next_at = $nextAt, error = $error WHERE id = $id"),
      fail: c.query("UPDATE gateway_outbox SET status = 'failed', error = $error, attempts = attempts + 1 WHERE id = $id"),
      plain: c.query("UPDATE gateway_outbox SET format = 'plain', text = $text WHERE id = $id"),
      prune: c.query("DELETE FROM gateway_outbox WHERE status != 'pending' AND created_at < ?"),
    };
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The platform is connected: its rows go out from now on. */
  attach(adapter: ChatAdapter): void {
    this.adapters.set(adapter.platform, adapter);
    this.kick();
  }

  detach(platform: Platform): void {
    this.adapters.delete(platform);
  }

  adapter(platform: Platform): ChatAdapter | undefined {
    return this.adapters.get(platform);
  }

  /**
   * A message to a chat, split as its platform needs. With a key it is made
   * once: the same key again (a retried delivery, a restart) adds nothing.
   */
  enqueue(lane: string, markdown: string, opts: { key?: string; replyTo?: string } = {}): number[] {
    const { platform } = parseChatKey(lane);
    const parts = splitMarkdown(markdown, LIMITS[platform]);
    const ids = this.db.$client.transaction(() =>
      parts.flatMap((part, i) => {
        const id = this.insertSend(lane, platform, part, opts.key ? `${opts.key}:${i}` : null, i === 0 ? opts.replyTo : undefined);
        return id === undefined ? [] : [id];
      }),
    )();
    if (ids.length) this.kick();
    return ids;
  }

  /**
   * Makes a chat show the reply `key` as `parts`: a message per part, sent
   * once; a part that has changed since is edited, with at most one edit
   * waiting per message (a newer text replaces the waiting one). Streaming,
   * the final answer and recovery after a crash all call this with what they
   * have, so none of them can send a part twice.
   */
  show(lane: string, key: string, parts: string[], replyTo?: string): void {
    const { platform } = parseChatKey(lane);
    let changed = false;
    this.db.$client.transaction(() => {
      parts.forEach((part, i) => {
        const rowKey = `${key}:${i}`;
        const row = this.q.byKey.get(rowKey) as OutboxRow | null;
        if (!row) {
          changed = this.insertSend(lane, platform, part, rowKey, i === 0 ? replyTo : undefined) !== undefined || changed;
          return;
        }
        if (row.status === "failed") return;
        if (row.status === "pending" && !this.inFlight.has(row.id)) {
          if (row.source !== part) this.q.updatePending.run(this.rendered(row.id, platform, part));
          return;
        }
        const last = this.q.lastEdit.get(row.id) as OutboxRow | null;
        if (last && last.status === "pending" && !this.inFlight.has(last.id)) {
          if (last.source !== part) this.q.updatePending.run(this.rendered(last.id, platform, part));
          return;
        }
        if ((last ?? row).source === part) return;
        const r = this.rendered(0, platform, part);
        this.q.insert.run({ lane, op: "edit", of: row.id, key: null, source: part, text: r.text, format: r.format, replyTo: null, now: this.now() });
        changed = true;
      });
    })();
    if (changed) this.kick();
  }

  private rendered(id: number, platform: Platform, source: string) {
    const format = FORMATS[platform];
    return { id, source, text: render(source, format), format };
  }

  private insertSend(lane: string, platform: Platform, source: string, key: string | null, replyTo: string | undefined): number | undefined {
    const r = this.rendered(0, platform, source);
    const row = this.q.insert.get({ lane, op: "send", of: null, key, source, text: r.text, format: r.format, replyTo: replyTo ?? null, now: this.now() }) as { id: number } | null;
    return row?.id;
  }

  row(id: number): OutboxRow | undefined {
    return (this.q.byId.get(id) as OutboxRow | null) ?? undefined;
  }

  /** Starts sending (pending rows from before a restart first). */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Stops taking rows; waits up to `graceMs` for calls in flight (whatever is unsent stays pending). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.running === 0) return;
    await Promise.race([new Promise<void>((r) => this.idle.push(r)), Bun.sleep(graceMs)]);
  }

  /** Looks for work soon (after the current event-loop turn, so a transaction that enqueued has committed). */
  kick(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Waits (at most `timeoutMs`) until nothing is in flight and no row is due
   * on a connected platform: a graceful stop gives the last answers a moment
   * to go out. Rows waiting out a retry or for a platform that is down stay
   * for the next start.
   */
  async drained(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    const due = () => (this.q.heads.all() as OutboxRow[]).some((r) => r.nextAt <= this.now() && this.adapters.has(parseChatKey(r.lane).platform));
    while (this.running > 0 || due()) {
      if (Date.now() >= until) return false;
      await new Promise<void>((r) => (this.running > 0 ? this.idle.push(r) : setTimeout(r, 10)));
    }
    return true;
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    let wake = now + POLL_MS;
    for (const row of this.q.heads.all() as OutboxRow[]) {
      if (this.busyLanes.has(row.lane)) continue;
      if (row.nextAt > now) {
        wake = Math.min(wake, row.nextAt);
        continue;
      }
      let platform: Platform;
      try {
        platform = parseChatKey(row.lane).platform;
      } catch (err) {
        this.q.fail.run({ id: row.id, error: (err as Error).message });
        continue;
      }
      const adapter = this.adapters.get(platform);
      if (adapter && (this.runningOn.get(platform) ?? 0) < adapter.maxInFlight) void this.deliver(row, adapter);
    }
    if (now - this.lastPrune > 3600_000) {
      this.lastPrune = now;
      this.q.prune.run(now - KEEP_MS);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, wake - now));
    this.timer.unref?.();
  }

  private async deliver(row: OutboxRow, adapter: ChatAdapter): Promise<void> {
    this.running++;
    this.runningOn.set(adapter.platform, (this.runningOn.get(adapter.platform) ?? 0) + 1);
    this.busyLanes.add(row.lane);
    this.inFlight.add(row.id);
    const to = parseChatKey(row.lane);
    const count = (outcome: string) => this.opts.metrics?.sent.inc({ platform: adapter.platform, op: row.op, outcome });
    let target: OutboxRow | undefined;
    try {
      if (row.op === "send") {
        const messageId = await adapter.send(to, { text: row.text, format: row.format, ...(row.replyTo ? { replyTo: row.replyTo } : {}), nonce: `bakerst-${row.id}` });
        const answered = performance.now();
        this.q.markSent.run({ id: row.id, messageId, now: this.now() });
        this.opts.metrics?.unrecorded.observe({ platform: adapter.platform }, (performance.now() - answered) / 1000);
      } else {
        target = row.of === null ? undefined : this.row(row.of);
        if (!target?.messageId) {
          this.q.fail.run({ id: row.id, error: "the message it edits was never sent" });
          count("failed");
          return;
        }
        await adapter.edit(to, target.messageId, { text: row.text, format: row.format });
        this.edited(row, target);
      }
      count("sent");
    } catch (err) {
      const f = adapter.failure(err);
      if (f.notModified && row.op === "edit" && target) {
        this.edited(row, target);
        count("sent");
      } else if (f.badFormat && row.format !== "plain") {
        // Our rendering was refused; the same words without formatting go next.
        this.opts.log?.warn("platform refused a message's formatting; sending it as plain text", { platform: adapter.platform, id: row.id, error: f.message });
        this.q.plain.run({ id: row.id, text: toPlain(row.source) });
        count("plain");
      } else if (f.permanent || this.now() - row.createdAt > (this.opts.maxAgeMs ?? 24 * 3600_000)) {
        this.opts.log?.warn("message given up", { platform: adapter.platform, id: row.id, attempts: row.attempts + 1, error: f.message });
        this.q.fail.run({ id: row.id, error: f.message.slice(0, 500) });
        count("failed");
      } else {
        const backoff = Math.min(this.opts.retryMaxMs ?? 60_000, this.opts.retryMinMs * 2 ** Math.min(row.attempts, 16));
        this.q.retry.run({ id: row.id, nextAt: this.now() + (f.retryAfterMs ?? backoff), error: f.message.slice(0, 500) });
        count(f.retryAfterMs !== undefined ? "rate_limited" : "retry");
      }
    } finally {
      this.running--;
      this.runningOn.set(adapter.platform, this.runningOn.get(adapter.platform)! - 1);
      this.busyLanes.delete(row.lane);
      this.inFlight.delete(row.id);
      if (this.running === 0) for (const r of this.idle.splice(0)) r();
      this.kick();
    }
  }

  private edited(row: OutboxRow, target: OutboxRow): void {
    this.db.$client.transaction(() => {
      this.q.markSent.run({ id: row.id, messageId: target.messageId, now: this.now() });
      this.q.setShown.run({ id: target.id, source: row.source, text: row.text, format: row.format });
    })();
  }

  /** For health and the console: rows waiting, rows given up in the last day, the oldest wait. */
  counts(): { pending: number; failedToday: number; oldestPendingMs: number | null } {
    const now = this.now();
    const c = this.db.$client;
    const p = c.query("SELECT count(*) AS n, min(created_at) AS oldest FROM gateway_outbox WHERE status = 'pending'").get() as { n: number; oldest: number | null };
    const f = c.query("SELECT count(*) AS n FROM gateway_outbox WHERE status = 'failed' AND created_at > ?").get(now - 24 * 3600_000) as { n: number };
    return { pending: p.n, failedToday: f.n, oldestPendingMs: p.oldest === null ? null : now - p.oldest };
  }
}
