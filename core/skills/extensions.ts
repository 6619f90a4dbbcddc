/**
 * Tier 3: extensions are MCP servers in their own pods that announce
 * themselves on `bakerst.extensions.announce` (their URL and tools) and beat
 * on `bakerst.extensions.<id>.heartbeat` every 30 s, each message a signed
 * envelope (core/protocol/signed.ts) from the key EXTENSION_KEYS trusts for
 * that id. Their tools appear as soon as an announce is verified and vanish
 * when the beats stop (EXTENSION_OFFLINE_MS) or the owner revokes them; a
 * forged, replayed or unknown announce is refused and audited.
 */

import { Type } from "@sinclair/typebox";
import { eq } from "drizzle-orm";
import type { AuditLog } from "../audit/service.ts";
import type { BrainTools } from "../brain/tools.ts";
import type { Bus, Subscription } from "../bus/types.ts";
import type { Db } from "../db/client.ts";
import { settings } from "../db/settings.sql.ts";
import { AppError, notFound } from "../errors.ts";
import { check, subjects, Verifier } from "../protocol/index.ts";
import type { Logger } from "../telemetry/log.ts";
import { McpConnection } from "./mcp/connection.ts";
import { httpOpener } from "./mcp/open.ts";
import { type ListedTool, listTools, registerServerTools } from "./mcp/tools.ts";

/** What an extension announces, inside its signed envelope. */
export const ExtensionAnnounceV1 = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({ pattern: "^[a-z][a-z0-9-]{0,23}$" }),
    url: Type.String({ pattern: "^https?://", maxLength: 2048 }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    tools: Type.Array(Type.Object({ name: Type.String({ maxLength: 128 }), description: Type.Optional(Type.String({ maxLength: 4096 })), inputSchema: Type.Unknown() }), {
      maxItems: 256,
    }),
  },
  { additionalProperties: false },
);
export const ExtensionHeartbeatV1 = Type.Object({ v: Type.Literal(1), id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

export interface ExtensionView {
  id: string;
  url: string;
  description?: string;
  status: "online" | "offline" | "revoked";
  tools: { name: string; description: string }[];
  lastSeen: number;
  announcedAt: number;
  /** Tools its announce listed that were left out, and why. */
  dropped: string[];
}

interface Live {
  view: ExtensionView;
  /** Its URL and tools as announced: an announce that differs replaces them. */
  fingerprint: string;
  unregister: (() => void)[];
  connection: McpConnection;
}

const REVOKED_KEY = "extensions.revoked";

export interface ExtensionsOptions {
  bus: Bus;
  tools: BrainTools;
  audit: AuditLog;
  log: Logger;
  db: Db;
  /** EXTENSION_KEYS: id → trusted public key. */
  keys: Record<string, string>;
  offlineMs: number;
  callTimeoutMs: number;
  now?: () => number;
}

export function parseExtensionKeys(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of list) {
    const m = /^([a-z][a-z0-9-]{0,23})=([A-Z2-7]{56})$/.exec(entry.trim());
    if (!m) throw new Error(`EXTENSION_KEYS: ${JSON.stringify(entry.slice(0, 80))} is not id=PUBLICKEY (the U... key bakerst nats init --extension ID prints)`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

export class Extensions {
  private live = new Map<string, Live>();
  private verifier: Verifier;
  private revoked: Set<string>;
  private now: () => number;
  private subs: Subscription[] = [];
  private sweep: ReturnType<typeof setInterval> | undefined;

  constructor(private o: ExtensionsOptions) {
    this.now = o.now ?? Date.now;
    this.verifier = new Verifier({ now: this.now });
    const row = o.db.select().from(settings).where(eq(settings.key, REVOKED_KEY)).get();
    this.revoked = new Set(Array.isArray(row?.value) ? (row.value as string[]) : []);
  }

  start(): void {
    const announce = subjects.extensionAnnounce();
    this.subs.push(this.o.bus.subscribe(announce, (data) => this.onAnnounce(data)));
    this.subs.push(this.o.bus.subscribe(subjects.extensionHeartbeatAll(), (data, subject) => this.onHeartbeat(data, subject)));
    this.sweep = setInterval(() => this.expire(), Math.min(5_000, this.o.offlineMs / 3));
    this.sweep.unref?.();
  }

  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    for (const s of this.subs) await s.stop();
    await Promise.all([...this.live.keys()].map((id) => this.withdraw(id, "offline")));
  }

  list(): ExtensionView[] {
    const out = [...this.live.values()].map((l) => l.view);
    for (const id of this.revoked) if (!this.live.has(id)) out.push({ id, url: "", status: "revoked", tools: [], lastSeen: 0, announcedAt: 0, dropped: [] });
    return out;
  }

  /** Who may sign for `id`: its key in EXTENSION_KEYS, unless revoked. */
  private trusted(id: string) {
    const key = this.o.keys[id];
    return (signer: string) => !!key && key === signer && !this.revoked.has(id);
  }

  private refuse(reason: string, detail: string, id?: string) {
    this.o.log.warn("extension message refused", { reason, detail: detail.slice(0, 200), ...(id ? { extension: id } : {}) });
    this.o.audit.record({ action: "extension.refused", outcome: "refused", actor: id ? `extension:${id}` : "extension", ...(id ? { target: id } : {}), detail: { reason } });
  }

  /** Which id an envelope claims, read before it is verified only to pick the key to verify it with. */
  private claimedId(data: Uint8Array): string | undefined {
    try {
      const env = JSON.parse(new TextDecoder().decode(data)) as { body?: unknown };
      const body = typeof env.body === "string" ? (JSON.parse(env.body) as { id?: unknown }) : undefined;
      return typeof body?.id === "string" ? body.id.slice(0, 64) : undefined;
    } catch {
      return undefined;
    }
  }

  private onAnnounce(data: Uint8Array) {
    const id = this.claimedId(data);
    if (!id) return this.refuse("malformed", "no extension id");
    if (this.revoked.has(id)) return this.refuse("revoked", "announce from a revoked extension", id);
    const opened = this.verifier.open(data, subjects.extensionAnnounce(), this.trusted(id));
    if (!opened.ok) return this.refuse(opened.reason, opened.detail, id);
    const body = check(ExtensionAnnounceV1, opened.body);
    if (!body.ok) return this.refuse("malformed", body.reason, id);
    void this.admit(body.value);
  }

  private onHeartbeat(data: Uint8Array, subject: string) {
    const id = /^bakerst\.extensions\.([^.]+)\.heartbeat$/.exec(subject)?.[1];
    const live = id ? this.live.get(id) : undefined;
    if (!id || !live) return;
    const opened = this.verifier.open(data, subject, this.trusted(id));
    if (!opened.ok) return this.refuse(opened.reason, opened.detail, id);
    const body = check(ExtensionHeartbeatV1, opened.body);
    if (!body.ok || body.value.id !== id) return this.refuse("malformed", "heartbeat body", id);
    live.view.lastSeen = this.now();
  }

  private async admit(a: { id: string; url: string; description?: string; tools: { name: string; description?: string; inputSchema: unknown }[] }) {
    const existing = this.live.get(a.id);
    const fingerprint = JSON.stringify([a.url, a.tools]);
    if (existing && existing.fingerprint === fingerprint) {
      existing.view.lastSeen = this.now();
      return;
    }
    if (existing) await this.withdraw(a.id, "offline");
    const listing = listTools(a.id, a.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })) as Parameters<typeof listTools>[1]);
    const connection = new McpConnection({
      skill: a.id,
      timeoutMs: this.o.callTimeoutMs,
      open: httpOpener({ spec: { name: a.id, description: a.description ?? a.id, tier: 2, url: a.url }, headers: {}, timeoutMs: this.o.callTimeoutMs }),
      onTools: () => {},
    });
    const at = this.now();
    const live: Live = {
      view: {
        id: a.id,
        url: a.url,
        ...(a.description ? { description: a.description } : {}),
        status: "online",
        tools: listing.tools.map((t) => ({ name: t.qualified, description: t.description })),
        lastSeen: at,
        announcedAt: at,
        dropped: listing.dropped,
      },
      fingerprint,
      unregister: [],
      connection,
    };
    this.live.set(a.id, live);
    this.register(live, listing.tools);
    this.o.audit.record({
      action: "extension.announced",
      outcome: "ok",
      actor: `extension:${a.id}`,
      target: a.id,
      detail: { host: new URL(a.url).host, tools: listing.tools.length },
    });
  }

  private register(live: Live, tools: ListedTool[]) {
    live.unregister.push(...registerServerTools(this.o.tools, live.connection, tools, this.o.callTimeoutMs + 5_000));
  }

  private async withdraw(id: string, status: "offline" | "revoked") {
    const live = this.live.get(id);
    if (!live) return;
    this.live.delete(id);
    live.view.status = status;
    for (const u of live.unregister) u();
    await live.connection.stop();
  }

  /** Extensions whose beats stopped: their tools go. */
  expire(): void {
    const cutoff = this.now() - this.o.offlineMs;
    for (const [id, l] of this.live) if (l.view.lastSeen < cutoff) void this.withdraw(id, "offline");
  }

  async revoke(id: string, actor: string): Promise<{ id: string; status: "revoked" }> {
    if (!this.live.has(id) && !this.o.keys[id]) throw notFound("extension", id);
    if (this.revoked.has(id)) throw new AppError("skill_state", `extension ${id} is revoked already`);
    this.revoked.add(id);
    const value = [...this.revoked];
    this.o.db
      .insert(settings)
      .values({ key: REVOKED_KEY, value, updatedAt: this.now() })
      .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: this.now() } })
      .run();
    await this.withdraw(id, "revoked");
    this.o.audit.record({ action: "extension.revoked", outcome: "ok", actor, target: id });
    return { id, status: "revoked" };
  }
}
