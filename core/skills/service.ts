/**
 * The skills: what is stored, what is approved, what runs. A skill's tools
 * are registered while it is approved (its spec's hash is the approved one)
 * and enabled; a stdio or HTTP server is connected on first use (or at start
 * when it asks), stopped when idle and restarted with backoff after a crash.
 * Nothing of a pending skill ever starts: `open` checks the approval again
 * right before anything is spawned or connected.
 */
import type { AuditLog } from "../audit/service.ts";
import type { BrainTools, defineTool } from "../brain/tools.ts";
import { AppError, notFound } from "../errors.ts";
import type { RunnerCommand, SandboxSetup } from "../jobs/edge.ts";
import type { SecretStore } from "../secrets/service.ts";
import type { Logger } from "../telemetry/log.ts";
import { newId } from "../util/ids.ts";
import type { SkillsSettings } from "./keys.ts";
import { type ConnectionState, McpConnection } from "./mcp/connection.ts";
import { httpOpener, stdioOpener } from "./mcp/open.ts";
import { type ListedTool, registerServerTools, type ToolListing } from "./mcp/tools.ts";
import { type PathPolicy, skillMounts } from "./paths.ts";
import { parseSkillSpec, type SkillSpec, specHash, type WouldRun, wouldRun } from "./spec.ts";
import { isApproved, type SkillRow, type SkillSource, type SkillStore } from "./store.ts";

export interface Requester {
  actor: string;
  address?: string;
}

/** The public shape of a skill (GET /api/skills/:id). */
export interface SkillView {
  id: string;
  name: string;
  description: string;
  tier: 0 | 1 | 2;
  source: SkillSource;
  /** pending: never approved; changed: what it runs changed since its approval; approved. */
  status: "pending" | "changed" | "approved";
  enabled: boolean;
  /** Exactly what approving it lets run, with the hash approval pins. */
  wouldRun: WouldRun;
  tools: { name: string; description: string }[];
  /** Its server, for tiers 1 and 2. */
  server?: { state: ConnectionState; lastError?: string; pid?: number; failures: number };
  approvedBy?: string;
  approvedAt?: number;
  createdAt: number;
  updatedAt: number;
}

export interface SkillServiceOptions {
  store: SkillStore;
  tools: BrainTools;
  audit: AuditLog;
  log: Logger;
  settings: SkillsSettings;
  sandbox: () => SandboxSetup;
  paths: PathPolicy;
  /** The secrets area's store: values by name for the skills that name them (a changed one restarts the server); absent, a skill naming a secret does not start. */
  secrets?: Pick<SecretStore, "get" | "use" | "onChange">;
  /** How the satellite's network bridge starts in the sandbox (for stdio skills with hosts). */
  bridge?: () => RunnerCommand | { problem: string; fix: string };
  /** Built-in tools by skill name (the filesystem skill). */
  builtins?: Record<string, ReturnType<typeof defineTool>[]>;
  now?: () => number;
}

interface Active {
  /** Its tools' registrations. */
  tools: (() => void)[];
  /** Anything else to undo when it stops (secret listeners). */
  release: (() => void)[];
  connection?: McpConnection;
}

const state = (message: string) => new AppError("skill_state", message);

export class SkillService {
  private active = new Map<string, Active>();
  private now: () => number;

  constructor(private o: SkillServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Registers the tools of every approved, enabled skill; servers that ask to start at boot are connected in the background. */
  start(): void {
    for (const row of this.o.store.all()) this.activate(row);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.active.keys()].map((id) => this.deactivate(id)));
  }

  view(row: SkillRow): SkillView {
    const spec = row.spec as SkillSpec;
    const conn = this.active.get(row.id)?.connection;
    const builtin = this.o.builtins?.[row.name];
    const tools = builtin
      ? builtin.map((t) => ({ name: t.name, description: t.description }))
      : ((row.tools as ListedTool[] | null) ?? []).map((t) => ({ name: t.qualified, description: t.description }));
    const pid = (conn?.transport as { pid?: number } | undefined)?.pid;
    return {
      id: row.id,
      name: row.name,
      description: spec.description,
      tier: spec.tier,
      source: row.source,
      status: isApproved(row) ? "approved" : row.approvedHash ? "changed" : "pending",
      enabled: row.enabled,
      wouldRun: wouldRun(spec),
      tools,
      ...(conn ? { server: { state: conn.state, failures: conn.failures, ...(conn.lastError ? { lastError: conn.lastError } : {}), ...(pid ? { pid } : {}) } } : {}),
      ...(row.approvedBy ? { approvedBy: row.approvedBy, approvedAt: row.approvedAt! } : {}),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  list(): SkillView[] {
    return this.o.store.all().map((r) => this.view(r));
  }

  get(id: string): SkillView {
    return this.view(this.row(id));
  }

  private row(idOrName: string): SkillRow {
    const row = this.o.store.get(idOrName) ?? this.o.store.byName(idOrName);
    if (!row) throw notFound("skill", idOrName);
    return row;
  }

  /** The approved, enabled tier 0 skills: what the system prompt lists. */
  instructions(): { name: string; description: string }[] {
    return this.o.store
      .all()
      .filter((r) => r.tier === 0 && r.enabled && isApproved(r))
      .map((r) => ({ name: r.name, description: (r.spec as SkillSpec).description }));
  }

  /** A tier 0 skill's body, for load_skill; only an approved, enabled one. */
  body(name: string): SkillSpec {
    const row = this.o.store.byName(name);
    if (row?.tier !== 0 || !row.enabled || !isApproved(row))
      throw new Error(`no skill named ${JSON.stringify(name.slice(0, 64))} is available; the skills are listed in the system prompt`);
    return row.spec as SkillSpec;
  }

  /** Checks a spec the way adding it would (the paths against SKILL_ALLOWED_PATHS), without storing it. */
  check(raw: unknown): SkillSpec {
    const spec = parseSkillSpec(raw);
    if (spec.tier === 1) skillMounts(spec.paths ?? [], this.o.paths);
    return spec;
  }

  /**
   * Stores a skill. The owner's (the API, an upload, the data dir) is approved
   * as it is added; the agent's and a registry result's wait for the owner.
   */
  add(raw: unknown, source: SkillSource, by: Requester): SkillView {
    const spec = this.check(raw);
    if (this.o.store.byName(spec.name)) throw state(`a skill named ${spec.name} exists already; change it with PUT /api/skills/:id or pick another name`);
    const owner = source === "owner" || source === "upload" || source === "dir" || source === "builtin";
    const row = this.o.store.insert({ id: newId(), spec, source, now: this.now(), ...(owner ? { approvedBy: by.actor } : {}) });
    // What ships with bakerst (the filesystem skill) is nobody's action.
    if (source !== "builtin")
      this.o.audit.record({
        action: owner ? "skill.added" : "skill.proposed",
        outcome: "ok",
        actor: by.actor,
        target: spec.name,
        detail: { id: row.id, tier: spec.tier, source, hash: row.hash.slice(0, 16) },
        ...(by.address ? { address: by.address } : {}),
      });
    if (owner) this.activate(row);
    return this.view(row);
  }

  /** A skill placed by the owner (the data dir, a built-in) as it is now: added, or updated and approved again when its content changed. */
  sync(spec: SkillSpec, source: SkillSource): void {
    const row = this.o.store.byName(spec.name);
    if (!row) {
      this.add(spec, source, { actor: "system" });
      return;
    }
    if (row.source !== source || specHash(spec) === row.approvedHash) return;
    this.o.store.replaceSpec(row.id, spec, this.now(), "system");
    if (source !== "builtin") this.o.audit.record({ action: "skill.changed", outcome: "ok", actor: "system", target: spec.name, detail: { id: row.id, source, approved: true } });
    void this.deactivate(row.id).then(() => this.activate(this.o.store.get(row.id)!));
  }

  /** PUT: a new spec (waits for a new approval when what it runs changed), or enabled on or off. */
  async update(id: string, body: { spec?: unknown; enabled?: boolean }, by: Requester): Promise<SkillView> {
    const row = this.row(id);
    if (row.source === "builtin" && body.spec !== undefined) throw state(`${row.name} is built in: it can be enabled or disabled, not changed`);
    if (body.spec !== undefined) {
      const spec = this.check(body.spec);
      if (spec.name !== row.name) throw new AppError("invalid_skill", `name: a skill keeps its name (${row.name}); add a new one instead`);
      const changed = specHash(spec) !== row.hash;
      if (changed) {
        await this.deactivate(row.id);
        this.o.store.replaceSpec(row.id, spec, this.now());
        this.o.audit.record({
          action: "skill.changed",
          outcome: "ok",
          actor: by.actor,
          target: row.name,
          detail: { id: row.id, hash: specHash(spec).slice(0, 16), approved: false },
        });
      }
    }
    if (body.enabled !== undefined && body.enabled !== row.enabled) {
      this.o.store.setEnabled(row.id, body.enabled, this.now());
      this.o.audit.record({ action: "skill.removed", outcome: "ok", actor: by.actor, target: row.name, detail: { id: row.id, enabled: body.enabled } });
      if (!body.enabled) await this.deactivate(row.id);
    }
    const now = this.o.store.get(row.id)!;
    if (!this.active.has(now.id)) this.activate(now);
    return this.view(now);
  }

  async remove(id: string, by: Requester): Promise<void> {
    const row = this.row(id);
    if (row.source === "builtin") throw state(`${row.name} is built in: disable it instead`);
    await this.deactivate(row.id);
    this.o.store.remove(row.id);
    this.o.audit.record({ action: "skill.removed", outcome: "ok", actor: by.actor, target: row.name, detail: { id: row.id, deleted: true } });
  }

  /** The owner's approval of exactly what the skill would run now (its hash). */
  approve(id: string, by: Requester, expectedHash?: string): SkillView {
    const row = this.row(id);
    if (isApproved(row)) throw state(`${row.name} is approved already`);
    const spec = this.check(row.spec);
    const hash = specHash(spec);
    if (expectedHash && expectedHash !== hash)
      throw state(`${row.name} changed since it was shown (hash ${hash.slice(0, 16)}, not ${expectedHash.slice(0, 16)}); look at it again`);
    this.o.store.approve(row.id, hash, by.actor, this.now());
    this.o.audit.record({
      action: "skill.approved",
      outcome: "ok",
      actor: by.actor,
      target: row.name,
      detail: { id: row.id, tier: spec.tier, hash },
      ...(by.address ? { address: by.address } : {}),
    });
    const now = this.o.store.get(row.id)!;
    this.activate(now);
    return this.view(now);
  }

  /** Connects to the skill's server and lists its tools (POST /api/skills/:id/test); never for a skill that is not approved. */
  async test(id: string): Promise<{ tools: { name: string; description: string }[]; dropped: string[] }> {
    const row = this.row(id);
    if (!isApproved(row)) throw state(`${row.name} waits for approval; nothing of it runs until the owner approves it`);
    if (!row.enabled) throw state(`${row.name} is disabled`);
    if (row.tier === 0) return { tools: this.view(row).tools, dropped: [] };
    const conn = this.active.get(row.id)?.connection;
    if (!conn) throw state(`${row.name} has no server running`);
    try {
      const listing = await conn.list();
      return { tools: listing.tools.map((t) => ({ name: t.qualified, description: t.description })), dropped: listing.dropped };
    } catch (err) {
      throw new AppError("skill_unavailable", `${row.name}: ${(err as Error).message}`);
    }
  }

  /** What a skill's server process is now (tests and the bench look at it). */
  connection(id: string): McpConnection | undefined {
    return this.active.get(this.row(id).id)?.connection;
  }

  private activate(row: SkillRow): void {
    if (this.active.has(row.id) || !row.enabled || !isApproved(row)) return;
    const active: Active = { tools: [], release: [] };
    this.active.set(row.id, active);
    const builtin = this.o.builtins?.[row.name];
    if (builtin) {
      for (const tool of builtin) active.tools.push(this.o.tools.register(tool));
      return;
    }
    const spec = row.spec as SkillSpec;
    if (spec.tier === 0) return;
    const timeoutMs = spec.timeoutMs ?? this.o.settings.SKILL_CALL_TIMEOUT_MS;
    const connection = new McpConnection({
      skill: spec.name,
      timeoutMs,
      ...(spec.tier === 1 ? { idleMs: this.o.settings.SKILL_IDLE_MS } : {}),
      open: (newClient) => this.opener(row.id)(newClient),
      onTools: (listing) => this.setTools(row.id, listing),
      onEvent: (event, detail) => {
        this.o.log[event === "crashed" ? "warn" : "debug"](`skill server ${event}`, { skill: spec.name, ...(detail ? { detail } : {}) });
        if (event === "crashed" && detail?.includes("larger than its cap")) {
          this.o.audit.record({ action: "skill.refused", outcome: "refused", actor: `skill:${spec.name}`, target: spec.name, detail: { reason: "output past its cap" } });
        }
      },
    });
    active.connection = connection;
    // A changed secret takes effect at the next call: the server is stopped and started again with the new value.
    for (const name of [...(spec.secrets ?? []), ...Object.values(spec.headerSecrets ?? {}), ...(spec.bearerSecret ? [spec.bearerSecret] : [])]) {
      if (!this.o.secrets) break;
      active.release.push(
        this.o.secrets.use(name, `skill:${spec.name}`),
        this.o.secrets.onChange(name, () => void connection.stop()),
      );
    }
    this.registerTools(row.id, (row.tools as ListedTool[] | null) ?? []);
    if (spec.startAtBoot || !row.tools) {
      void connection.list().catch((err: Error) => this.o.log.warn("skill server did not list its tools", { skill: spec.name, error: err.message }));
    }
  }

  /** Right before anything starts: still approved, paths still allowed, secrets there. */
  private opener(id: string) {
    const row = this.o.store.get(id);
    if (!row?.enabled || !isApproved(row)) {
      if (row) this.o.audit.record({ action: "skill.refused", outcome: "refused", actor: "system", target: row.name, detail: { reason: "not approved as it is now" } });
      throw state(`${row?.name ?? id} is not approved as it is now; nothing was started`);
    }
    const spec = row.spec as SkillSpec;
    const secret = (name: string) => {
      const v = this.o.secrets?.get(name);
      if (v === undefined)
        throw new AppError(
          "skill_unavailable",
          `${spec.name} needs the secret ${name}, which is not set${this.o.secrets ? ` (PUT /api/secrets/${name})` : " (no secrets store in this bakerst)"}`,
        );
      return v;
    };
    const timeoutMs = spec.timeoutMs ?? this.o.settings.SKILL_CALL_TIMEOUT_MS;
    if (spec.tier === 2) {
      const headers: Record<string, string> = { ...spec.headers };
      for (const [h, name] of Object.entries(spec.headerSecrets ?? {})) headers[h] = secret(name);
      if (spec.bearerSecret) headers.Authorization = `Bearer ${secret(spec.bearerSecret)}`;
      return httpOpener({ spec, headers, timeoutMs });
    }
    const sandbox = this.o.sandbox().sandbox;
    if (!sandbox) throw new AppError("skill_unavailable", `${spec.name} runs in the sandbox, which does not work here: ${this.o.sandbox().status.detail}`);
    const mounts = skillMounts(spec.paths ?? [], this.o.paths);
    const secrets = Object.fromEntries((spec.secrets ?? []).map((n) => [n, secret(n)]));
    return stdioOpener({
      sandbox,
      spec,
      mounts,
      secrets,
      maxMessageBytes: spec.outputMaxBytes ?? this.o.settings.SKILL_OUTPUT_MAX_BYTES,
      timeoutMs,
      ...(this.o.bridge ? { bridge: this.o.bridge() } : {}),
      onEgress: (e) => {
        if (!e.allowed)
          this.o.audit.record({
            action: "skill.egress_refused",
            outcome: "refused",
            actor: `skill:${spec.name}`,
            target: spec.name,
            detail: { host: e.host.slice(0, 200), port: e.port },
          });
      },
    });
  }

  private setTools(id: string, listing: ToolListing) {
    const row = this.o.store.get(id);
    if (!row) return;
    if (listing.dropped.length) this.o.log.warn("skill tools left out", { skill: row.name, dropped: listing.dropped.slice(0, 10) });
    this.o.store.setTools(id, listing.tools);
    this.registerTools(id, listing.tools);
  }

  private registerTools(id: string, tools: ListedTool[]) {
    const active = this.active.get(id);
    const connection = active?.connection;
    if (!active || !connection) return;
    for (const u of active.tools.splice(0)) u();
    const row = this.o.store.get(id)!;
    const spec = row.spec as SkillSpec;
    const timeoutMs = (spec.timeoutMs ?? this.o.settings.SKILL_CALL_TIMEOUT_MS) + 5_000;
    active.tools.push(...registerServerTools(this.o.tools, connection, tools, timeoutMs));
  }

  private async deactivate(id: string): Promise<void> {
    const active = this.active.get(id);
    if (!active) return;
    this.active.delete(id);
    for (const u of [...active.tools, ...active.release]) u();
    await active.connection?.stop();
  }
}
