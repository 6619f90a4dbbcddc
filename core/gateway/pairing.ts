import type { Statement } from "bun:sqlite";
import type { AuditLog } from "../audit/service.ts";
import type { Db } from "../db/client.ts";
import { AppError, notFound } from "../errors.ts";
import { newId } from "../util/ids.ts";
import type { Inbound } from "./adapter.ts";
import type { Outbox } from "./outbox.ts";

export interface Pairing {
  id: string;
  pairKey: string;
  platform: "telegram" | "discord";
  status: "pending" | "paired" | "revoked";
  kind: "private" | "group" | "channel";
  title: string;
  requestedBy: string | null;
  code: string | null;
  codeExpiresAt: number | null;
  codeSentAt: number | null;
  notify: boolean;
  createdAt: number;
  pairedAt: number | null;
  revokedAt: number | null;
}

/** A pairing as the console and the API show it: never the code. */
export type PairingView = Omit<Pairing, "code" | "codeSentAt">;

const COLUMNS =
  "id, pair_key AS pairKey, platform, status, kind, title, requested_by AS requestedBy, code, code_expires_at AS codeExpiresAt, code_sent_at AS codeSentAt, notify, created_at AS createdAt, paired_at AS pairedAt, revoked_at AS revokedAt";

/** Crockford's base32 without the look-alikes: 8 characters, 40 bits, read aloud or typed from a phone. */
const ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789";
export const CODE_TTL_MS = 3600_000;
/** A stranger who keeps writing is told the code again at most this often. */
export const CODE_RESEND_MS = 10 * 60_000;
/** Wrong codes the owner may enter in a window before approvals are refused for the rest of it. */
const APPROVE_FAILURES = 10;
const APPROVE_WINDOW_MS = 10 * 60_000;

export function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let s = "";
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/** `abcd-2345`, `ABCD 2345` and `abcd2345` are the same code. */
export const normalizeCode = (raw: string) => raw.toUpperCase().replace(/[^A-Z0-9]/g, "");
export const showCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

const parse = (r: (Omit<Pairing, "notify"> & { notify: number }) | null): Pairing | undefined => (r ? { ...r, notify: r.notify === 1 } : undefined);
export const view = ({ code: _, codeSentAt: __, ...p }: Pairing): PairingView => p;

/**
 * Which chats may talk to the agent: none until the owner approves. A
 * stranger is given a short code (and nothing else); the owner approves the
 * code in the console or with `bakerst pair approve`; a paired chat can be
 * revoked. Codes expire after an hour, at most `maxPending` wait at once, and
 * a chat is told its code again only every ten minutes, so a flood of
 * strangers costs one indexed lookup per message.
 */
export class Pairings {
  private q: Record<"byKey" | "byId" | "byCode" | "pendingCount" | "prune", Statement>;
  private failures: number[] = [];
  private lastPrune = 0;

  constructor(
    private db: Db,
    private deps: { outbox: Outbox; audit: AuditLog; maxPending: number; now?: () => number },
  ) {
    const c = db.$client;
    this.q = {
      byKey: c.query(`SELECT ${COLUMNS} FROM gateway_pairings WHERE pair_key = ?`),
      byId: c.query(`SELECT ${COLUMNS} FROM gateway_pairings WHERE id = ?`),
      byCode: c.query(`SELECT ${COLUMNS} FROM gateway_pairings WHERE code = ? AND status = 'pending'`),
      pendingCount: c.query("SELECT count(*) AS n FROM gateway_pairings WHERE status = 'pending' AND code_expires_at > ?"),
      prune: c.query("DELETE FROM gateway_pairings WHERE status = 'pending' AND code_expires_at <= ?"),
    };
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  find(pairKey: string): Pairing | undefined {
    return parse(this.q.byKey.get(pairKey) as never);
  }

  get(id: string): Pairing {
    const p = parse(this.q.byId.get(id) as never);
    if (!p) throw notFound("pairing", id);
    return p;
  }

  isPaired(pairKey: string): boolean {
    return this.find(pairKey)?.status === "paired";
  }

  /**
   * Someone the agent does not know wrote. Returns the code to tell them, or
   * nothing when they should hear nothing (told recently, or too many codes
   * waiting). What they wrote is never looked at, let alone kept.
   */
  stranger(m: Pick<Inbound, "platform" | "pairKey" | "kind" | "title" | "sender">): string | undefined {
    const now = this.now();
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      this.q.prune.run(now);
    }
    const row = this.find(m.pairKey);
    if (row?.status === "paired") return undefined;
    if (row?.status === "pending" && row.code && (row.codeExpiresAt ?? 0) > now) {
      if (now - (row.codeSentAt ?? 0) < CODE_RESEND_MS) return undefined;
      this.db.$client.query("UPDATE gateway_pairings SET code_sent_at = ? WHERE id = ?").run(now, row.id);
      return row.code;
    }
    if (row?.status === "revoked" && now - (row.revokedAt ?? 0) < CODE_RESEND_MS) return undefined;
    const waiting = (this.q.pendingCount.get(now) as { n: number }).n;
    if (waiting >= this.deps.maxPending) {
      this.deps.audit.record({
        action: "gateway.pairing_refused",
        outcome: "refused",
        actor: "system",
        target: m.pairKey,
        detail: { reason: "too_many_pending", pending: waiting },
      });
      return undefined;
    }
    const code = this.uniqueCode();
    const requestedBy = `${m.sender.name} (${m.sender.id})`.slice(0, 200);
    const title = m.title.slice(0, 200);
    this.db.$client
      .query(
        `INSERT INTO gateway_pairings (id, pair_key, platform, status, kind, title, requested_by, code, code_expires_at, code_sent_at, notify, created_at)
         VALUES ($id, $pairKey, $platform, 'pending', $kind, $title, $requestedBy, $code, $expires, $now, 0, $now)
         ON CONFLICT (pair_key) DO UPDATE SET status = 'pending', kind = $kind, title = $title, requested_by = $requestedBy, code = $code, code_expires_at = $expires, code_sent_at = $now, revoked_at = NULL`,
      )
      .run({ id: newId(), pairKey: m.pairKey, platform: m.platform, kind: m.kind, title, requestedBy, code, expires: now + CODE_TTL_MS, now });
    this.deps.audit.record({ action: "gateway.pairing_requested", outcome: "ok", actor: "system", target: m.pairKey, detail: { platform: m.platform, kind: m.kind } });
    return code;
  }

  private uniqueCode(): string {
    for (;;) {
      const code = newCode();
      if (!this.q.byCode.get(code)) return code;
    }
  }

  /** The owner approves a code they were shown in the chat. Wrong codes are counted; too many refuse approvals for a while. */
  approve(raw: string, who: { actor: string; address?: string }): PairingView {
    const now = this.now();
    this.failures = this.failures.filter((t) => now - t < APPROVE_WINDOW_MS);
    if (this.failures.length >= APPROVE_FAILURES) {
      const retry = Math.ceil((this.failures[0]! + APPROVE_WINDOW_MS - now) / 1000);
      this.deps.audit.record({ action: "gateway.pairing_refused", outcome: "refused", ...who, detail: { reason: "rate_limited" } });
      throw new AppError("rate_limited", `too many wrong pairing codes; try again in ${retry} s`, { "retry-after": String(retry) });
    }
    const code = normalizeCode(raw);
    const row = code.length === 8 ? parse(this.q.byCode.get(code) as never) : undefined;
    if (!row || (row.codeExpiresAt ?? 0) <= now) {
      this.failures.push(now);
      this.deps.audit.record({ action: "gateway.pairing_refused", outcome: "refused", ...who, detail: { reason: row ? "expired" : "unknown_code" } });
      throw new AppError("not_found", "no chat is waiting with that pairing code (codes expire after an hour; write to the bot again for a new one)");
    }
    const notify = row.kind === "private";
    this.db.$client.transaction(() => {
      this.db.$client
        .query("UPDATE gateway_pairings SET status = 'paired', code = NULL, code_expires_at = NULL, paired_at = ?, notify = ? WHERE id = ?")
        .run(now, notify ? 1 : 0, row.id);
      this.deps.outbox.enqueue(row.pairKey, "Paired with Baker Street. Send a message to start; /help lists the commands.", { key: `paired:${row.id}:${now}` });
    })();
    this.deps.audit.record({ action: "gateway.pairing_approved", outcome: "ok", ...who, target: row.pairKey, detail: { platform: row.platform, kind: row.kind } });
    return view(this.get(row.id));
  }

  /**
   * Ends a pairing (or turns down a request that waits): the chat is a
   * stranger again, its waiting messages are dropped and its unsent replies
   * given up.
   */
  revoke(id: string, who: { actor: string; address?: string }): PairingView {
    const row = this.get(id);
    const now = this.now();
    this.db.$client.transaction(() => {
      const c = this.db.$client;
      c.query("UPDATE gateway_pairings SET status = 'revoked', code = NULL, code_expires_at = NULL, revoked_at = ?, notify = 0 WHERE id = ?").run(now, id);
      c.query("UPDATE gateway_inbox SET status = 'dropped', text = NULL, done_at = ? WHERE pair_key = ? AND status = 'received'").run(now, row.pairKey);
      c.query(
        "UPDATE gateway_outbox SET status = 'failed', error = 'the chat was revoked' WHERE status = 'pending' AND (lane = ?1 OR lane IN (SELECT chat_key FROM gateway_chats WHERE pair_key = ?1))",
      ).run(row.pairKey);
    })();
    this.deps.audit.record({ action: "gateway.pairing_revoked", outcome: "ok", ...who, target: row.pairKey, detail: { platform: row.platform, was: row.status } });
    return view(this.get(id));
  }

  setNotify(id: string, notify: boolean): PairingView {
    const row = this.get(id);
    if (row.status !== "paired") throw new AppError("invalid_request", "notify: only a paired chat can receive notifications");
    this.db.$client.query("UPDATE gateway_pairings SET notify = ? WHERE id = ?").run(notify ? 1 : 0, id);
    return view(this.get(id));
  }

  /** Paired chats, and requests still waiting (without their codes). */
  list(): { paired: PairingView[]; pending: PairingView[] } {
    const now = this.now();
    const rows = (this.db.$client.query(`SELECT ${COLUMNS} FROM gateway_pairings WHERE status != 'revoked' ORDER BY created_at`).all() as never[]).map((r) => parse(r)!);
    return {
      paired: rows.filter((r) => r.status === "paired").map(view),
      pending: rows.filter((r) => r.status === "pending" && (r.codeExpiresAt ?? 0) > now).map(view),
    };
  }

  /** Chats the owner chose for notifications. */
  notifyTargets(): Pairing[] {
    return (this.db.$client.query(`SELECT ${COLUMNS} FROM gateway_pairings WHERE status = 'paired' AND notify = 1`).all() as never[]).map((r) => parse(r)!);
  }
}
