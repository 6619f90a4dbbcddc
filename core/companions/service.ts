/**
 * The core's list of companions: pairing (a NATS identity limited to the
 * companion's own subjects, and an enrollment bundle), revoking, and what is
 * known of each (online, last seen, what it announced, its last heartbeat).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { AuditLog } from "../audit/service.ts";
import type { Db } from "../db/client.ts";
import { AppError, notFound } from "../errors.ts";
import { natsInit } from "../nats/init.ts";
import { type CompanionAnnounce, type CompanionHeartbeat, type EnrollmentBundle, isBuiltinTarget, isSubjectToken } from "../protocol/index.ts";
import { companions } from "./companions.sql.ts";

export interface CompanionView {
  id: string;
  status: "online" | "offline" | "never_seen" | "revoked";
  publicKey: string;
  createdAt: number;
  revokedAt: number | null;
  lastSeenAt: number | null;
  hostname: string | null;
  version: string | null;
  platform: string | null;
  arch: string | null;
  capabilities: CompanionAnnounce["capabilities"] | null;
  allowedPaths: string[];
  maxConcurrency: number | null;
  /** Tasks it said it runs in its last heartbeat. */
  activeTasks: string[];
  load: number[] | null;
  memory: CompanionHeartbeat["memory"] | null;
  spool: CompanionHeartbeat["spool"] | null;
  /** Messages that claimed to be from it and were refused here (bad signature, replay, revoked...). */
  refused: number;
  /** Task messages it refused (not signed by this core), from its last heartbeat. */
  refusedByCompanion: number;
}

export interface Pairing {
  companion: CompanionView;
  bundle: string;
  /** One command for the companion's host. */
  installCommand: string;
}

export interface CompanionServiceDeps {
  db: Db;
  audit: AuditLog;
  natsDir: string;
  natsUrl: string;
  binary: string | undefined;
  corePublicKey: string;
  offlineMs: number;
  version: string;
  now: () => number;
  /** Called after pairing and revoking, so the rest (tasks, the bus) follow. */
  onPaired(id: string): void;
  onRevoked(id: string): Promise<void>;
}

type Row = typeof companions.$inferSelect;

interface Live {
  lastSeenAt: number | null;
  online: boolean;
  refused: number;
}

export class CompanionService {
  private live = new Map<string, Live>();
  /** public key → companion id, for every paired (not revoked) companion. */
  private byKey = new Map<string, string>();
  private revokedKeys = new Map<string, string>();
  private shaCache: { path: string; mtime: number; sha: string } | undefined;

  constructor(private d: CompanionServiceDeps) {
    for (const r of this.rows()) this.index(r);
  }

  private rows(): Row[] {
    return this.d.db.select().from(companions).all();
  }

  private row(id: string): Row | undefined {
    return this.d.db.select().from(companions).where(eq(companions.id, id)).get();
  }

  private index(r: Row): void {
    if (r.revokedAt) {
      this.revokedKeys.set(r.publicKey, r.id);
      return;
    }
    this.byKey.set(r.publicKey, r.id);
    if (!this.live.has(r.id)) this.live.set(r.id, { lastSeenAt: r.lastSeenAt, online: false, refused: 0 });
  }

  /** The paired companion that holds this key, if any. */
  idOfKey(publicKey: string): string | undefined {
    return this.byKey.get(publicKey);
  }

  keyOf(id: string): string | undefined {
    const r = this.row(id);
    return r && !r.revokedAt ? r.publicKey : undefined;
  }

  isRevokedKey(publicKey: string): boolean {
    return this.revokedKeys.has(publicKey);
  }

  paired(): string[] {
    return [...this.byKey.values()];
  }

  isOnline(id: string): boolean {
    return this.live.get(id)?.online ?? false;
  }

  lastSeen(id: string): number | null {
    return this.live.get(id)?.lastSeenAt ?? null;
  }

  /** Creates the identity and the bundle. The name must be new (or revoked) and may not be a built-in task target. */
  pair(name: string, actor: string): Pairing {
    if (!isSubjectToken(name) || name.length > 64) throw new AppError("invalid_request", `name: ${JSON.stringify(name.slice(0, 80))} must be 1-64 letters, digits, "_" or "-"`);
    if (isBuiltinTarget(name)) throw new AppError("invalid_request", `name: ${name} is a built-in task target; choose another`);
    const existing = this.row(name);
    if (existing && !existing.revokedAt) throw new AppError("companion_exists", `companion ${name} is already paired; remove it first to pair it again with new credentials`);
    const init = natsInit({ dir: this.d.natsDir, companions: [name], version: this.d.version });
    const identity = init.identities.find((i) => i.identity.role === "companion" && i.identity.id === name)!;
    const seed = readFileSync(identity.credsFile, "utf8").trim();
    const now = this.d.now();
    if (existing) {
      this.revokedKeys.delete(existing.publicKey);
      this.d.db
        .update(companions)
        .set({ publicKey: identity.publicKey, createdAt: now, revokedAt: null, lastSeenAt: null, info: null, heartbeat: null })
        .where(eq(companions.id, name))
        .run();
    } else {
      this.d.db.insert(companions).values({ id: name, publicKey: identity.publicKey, createdAt: now }).run();
    }
    this.live.set(name, { lastSeenAt: null, online: false, refused: 0 });
    this.byKey.set(identity.publicKey, name);
    const sha = this.binarySha256();
    const bundle: EnrollmentBundle = { v: 1, id: name, natsUrl: this.d.natsUrl, seed, corePublicKey: this.d.corePublicKey, ...(sha ? { binarySha256: sha } : {}) };
    const encoded = Buffer.from(JSON.stringify(bundle)).toString("base64url");
    this.d.audit.record({ action: "companion.paired", outcome: "ok", actor, target: name, detail: { publicKey: identity.publicKey, reloaded: init.reloaded !== undefined } });
    this.d.onPaired(name);
    return { companion: this.view(name)!, bundle: encoded, installCommand: `sudo sh install.sh --binary ./bakerst-satellite --bundle ${encoded}` };
  }

  /** Revokes: its messages are refused from now on, its NATS identity leaves the server config (reloaded), its waiting tasks are dropped. */
  async revoke(name: string, actor: string): Promise<CompanionView> {
    const r = this.row(name);
    if (!r) throw notFound("companion", name);
    if (r.revokedAt) throw new AppError("companion_exists", `companion ${name} is already revoked`);
    const now = this.d.now();
    this.d.db.update(companions).set({ revokedAt: now }).where(eq(companions.id, name)).run();
    this.byKey.delete(r.publicKey);
    this.revokedKeys.set(r.publicKey, name);
    this.live.delete(name);
    const seedFile = join(this.d.natsDir, "creds", `companion-${name}.nk`);
    if (existsSync(seedFile)) rmSync(seedFile);
    const init = natsInit({ dir: this.d.natsDir, version: this.d.version });
    this.d.audit.record({ action: "companion.revoked", outcome: "ok", actor, target: name, detail: { publicKey: r.publicKey, reloaded: init.reloaded !== undefined } });
    await this.d.onRevoked(name);
    return this.view(name)!;
  }

  /** A verified announcement or heartbeat: it is online. */
  seen(id: string, what: { info?: CompanionAnnounce; heartbeat?: CompanionHeartbeat }): boolean {
    const live = this.live.get(id);
    if (!live) return false;
    const now = this.d.now();
    const wasOnline = live.online;
    live.online = true;
    live.lastSeenAt = now;
    this.d.db
      .update(companions)
      .set({ lastSeenAt: now, ...(what.info ? { info: what.info } : {}), ...(what.heartbeat ? { heartbeat: what.heartbeat } : {}) })
      .where(eq(companions.id, id))
      .run();
    return !wasOnline;
  }

  refused(id: string | undefined): void {
    const live = id ? this.live.get(id) : undefined;
    if (live) live.refused++;
  }

  /** Marks offline every companion silent for longer than the offline time; returns those that just went. */
  sweep(): string[] {
    const limit = this.d.now() - this.d.offlineMs;
    const gone: string[] = [];
    for (const [id, l] of this.live) {
      if (l.online && (l.lastSeenAt ?? 0) < limit) {
        l.online = false;
        gone.push(id);
      }
    }
    return gone;
  }

  list(): CompanionView[] {
    return this.rows()
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => this.toView(r));
  }

  view(id: string): CompanionView | undefined {
    const r = this.row(id);
    return r ? this.toView(r) : undefined;
  }

  private toView(r: Row): CompanionView {
    const live = this.live.get(r.id);
    const info = r.info as CompanionAnnounce | null;
    const hb = r.heartbeat as CompanionHeartbeat | null;
    const lastSeenAt = live?.lastSeenAt ?? r.lastSeenAt;
    return {
      id: r.id,
      status: r.revokedAt ? "revoked" : live?.online ? "online" : lastSeenAt ? "offline" : "never_seen",
      publicKey: r.publicKey,
      createdAt: r.createdAt,
      revokedAt: r.revokedAt,
      lastSeenAt,
      hostname: info?.hostname ?? null,
      version: info?.version ?? null,
      platform: info?.platform ?? null,
      arch: info?.arch ?? null,
      capabilities: info?.capabilities ?? null,
      allowedPaths: info?.allowedPaths ?? [],
      maxConcurrency: info?.maxConcurrency ?? null,
      activeTasks: hb?.active ?? [],
      load: hb?.load ?? null,
      memory: hb?.memory ?? null,
      spool: hb?.spool ?? null,
      refused: live?.refused ?? 0,
      refusedByCompanion: hb?.refused ?? 0,
    };
  }

  /** The binary companions install, hashed once per change, so install.sh can refuse any other. */
  private binarySha256(): string | undefined {
    const path = this.d.binary;
    if (!path || !existsSync(path)) return undefined;
    const mtime = Bun.file(path).lastModified;
    if (this.shaCache?.path === path && this.shaCache.mtime === mtime) return this.shaCache.sha;
    const sha = createHash("sha256").update(readFileSync(path)).digest("hex");
    this.shaCache = { path, mtime, sha };
    return sha;
  }
}
