/**
 * A core's life beside others: whether it starts as the only one, refuses to
 * start beside a running one, or takes over from it (blue-green), and the
 * handoff itself over `bakerst.brain.transfer.{ready,clear,ack,abort}`:
 *
 *   new: lease brain.handoff → healthy? → listen → ready ──▶ old
 *   old: check the new one's /readyz → stop taking traffic → turns finished → clear ──▶ new
 *   new: brain.active is mine (compare-and-set) → ack ──▶ old: hands over (exits, or stays unready in Kubernetes)
 *
 * Anything short of that within the window (the new core unhealthy, gone,
 * silent) ends in abort: the old core listens again if it had stopped, and
 * carries on. Nothing waits by sleeping: each side waits for the other's
 * message, a process exit, the turns ending, or a deadline.
 */
import { hostname } from "node:os";
import type { Subprocess } from "bun";
import type { KeyValues } from "../config/keys.ts";
import type { BrainTransfer, BrainTransferReply } from "../protocol/index.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/log.ts";
import { type ControlSocket, controlFetch, openControlSocket, runDirs, type ServerStatus } from "./control.ts";
import type { upgradeKeys } from "./keys.ts";
import { HandoffBusyError, Leases } from "./lease.ts";
import { NoPeerError, natsLink, refuse, SocketLink, type TransferLink } from "./link.ts";
import { checkBinary, startSuccessor } from "./spawn.ts";

export type UpgradeSettings = KeyValues<typeof upgradeKeys>;

/** The HTTP listener, which the lifecycle opens, closes and opens again (SO_REUSEPORT). */
export interface Listener {
  readonly host: string;
  /** The bound port (0 before the first listen). */
  readonly port: number;
  readonly listening: boolean;
  listen(): number;
  /**
   * Stops taking connections; resolves once the open ones have closed. Handing
   * over to a core on the same port, keep-alive clients are told to close first
   * (for up to `limitMs`), so none sends a request on a connection as it closes.
   */
  close(handover?: { limitMs: number }): Promise<void>;
}

/** A core that may not start: another runs on its data dir and it was not told to take over. */
export class StartRefusedError extends Error {
  override name = "StartRefusedError";
}

/** Checked before the database is even opened: a second bakerst on a data dir takes over, or does not start. */
export function refuseBeside(others: ServerStatus[], settings: UpgradeSettings, dataDir: string): void {
  if (!others.length || settings.UPGRADE_TAKEOVER) return;
  const o = others.find((x) => x.state === "active") ?? others[0]!;
  throw new StartRefusedError(
    `bakerst ${o.version} is already running on ${dataDir} (pid ${o.pid}${o.port ? `, port ${o.port}` : ""}). To replace it without dropping a request: bakerst upgrade NEW_BINARY; to start over, stop it first.`,
  );
}

export type UpgradeEvent =
  | { event: "started"; pid: number; binary: string; version: string }
  | { event: "ready"; instance: string; version: string }
  | { event: "draining"; turns: number }
  | { event: "upgraded"; instance: string; version: string; ms: number }
  | { event: "rolled-back"; reason: string; ms: number };

/** How this process ends, once the lifecycle says so. */
export interface Ending {
  code: number;
  reason: string;
}

/** The old core's side of one handoff. */
interface Handing {
  peer: string;
  version: string;
  socket?: string;
  /** The new core shares this host and port: stop listening. Otherwise (another pod) stop being ready. */
  sameListener: boolean;
  acked: PromiseWithResolvers<void>;
  aborted: PromiseWithResolvers<string>;
}

/** An upgrade this core started (`bakerst upgrade`): its child, and who hears how it goes. */
interface Upgrading {
  child: Subprocess;
  started: number;
  emit(e: UpgradeEvent): void;
  done: PromiseWithResolvers<UpgradeEvent>;
}

/** A handoff or step that failed: the old core carries on. */
class Rollback extends Error {
  override name = "Rollback";
}

const deadline = (ms: number) => {
  let timer: ReturnType<typeof setTimeout>;
  const p = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  return Object.assign(p, { cancel: () => clearTimeout(timer) });
};

export class Lifecycle {
  state: ServerStatus["state"] = "starting";
  private control?: ControlSocket;
  private leases!: Leases;
  private link!: TransferLink;
  private handing?: Handing;
  private upgrading?: Upgrading;
  private checking = false;
  private handingOver?: Promise<void>;
  private settled?: Promise<void>;
  /** The core this one takes over from, and the active lease's revision read before the handoff. */
  private old?: { instance?: string; revision?: number };
  private cleared = Promise.withResolvers<BrainTransfer>();
  private unanswer: (() => Promise<void>)[] = [];
  private ending = Promise.withResolvers<Ending>();
  private readonly me: string;
  private readonly host = hostname();
  /** Resolves when this process should end (handed over, or a takeover that failed). */
  readonly ended = this.ending.promise;

  constructor(
    private s: Services,
    private listener: Listener,
    private settings: UpgradeSettings,
    /** The bakersts running on this data dir when this one started. */
    private others: ServerStatus[],
    private log: Logger,
  ) {
    this.me = s.instance;
  }

  status(): ServerStatus {
    return {
      instance: this.me,
      pid: process.pid,
      version: this.s.version,
      state: this.state,
      hostname: this.host,
      host: this.listener.host,
      port: this.listener.port,
      mode: this.s.bus.kind === "nats" ? "cluster" : "edge",
      socket: this.control?.path ?? "",
      startedAt: this.s.startedAt,
    };
  }

  /** True while this core takes traffic: /readyz answers 503 otherwise, so Kubernetes routes around it. */
  serving(): boolean {
    return this.listener.listening && (this.state === "active" || this.state === "candidate");
  }

  /**
   * Starts as the only core, or takes over from the running one. Returns once
   * this core listens; throws StartRefusedError when it may not start, or when
   * its takeover failed before it listened.
   */
  async start(): Promise<void> {
    const active = this.others.find((o) => o.state === "active");
    refuseBeside(this.others, this.settings, this.s.config.dataDir);
    if (this.s.bus.kind === "nats") this.link = natsLink(this.s.bus, this.me);
    else {
      const socketLink = new SocketLink(this.me);
      if (active) socketLink.know(active.instance, active.socket);
      this.link = socketLink;
    }
    this.s.health.register("upgrade", () => ({
      status: "ok",
      state: this.state,
      serving: this.serving(),
      instance: this.me,
      ...(this.handing ? { handingOverTo: this.handing.peer } : {}),
    }));
    // In cluster mode the old core may run elsewhere (another pod): only NATS can tell.
    const candidate = this.settings.UPGRADE_TAKEOVER && (!!active || this.s.bus.kind === "nats");
    if (!candidate) {
      // Alone: serving comes first; the socket and the lease follow at once, off the start-up path.
      this.listener.listen();
      this.state = "active";
      this.settled = this.openControl()
        .then(() => this.becomeActive(true))
        .catch((err) =>
          this.log.warn("could not open the control socket or take the active lease; bakerst upgrade and restore cannot see this server", { error: (err as Error).message }),
        );
      return;
    }
    await this.openControl();
    this.old = { ...(active ? { instance: active.instance } : {}) };
    await this.takeOver();
  }

  private async openControl(): Promise<void> {
    this.control = openControlSocket(this.s.config.dataDir, this.me.slice(-12), (req) => this.onControl(req));
    this.leases = await Leases.open(this.s.bus);
  }

  /** Answers as the active core; `claim`: write the active lease (a handoff claimed it with compare-and-set already). */
  private async becomeActive(claim: boolean): Promise<void> {
    if (claim) await this.leases.takeActive({ instance: this.me, version: this.s.version, since: Date.now() });
    this.state = "active";
    this.unanswer.push(this.link.serve(["ready", "abort", "ack"], (m) => this.onStep(m)));
  }

  // ---- the new core's side ----

  private async takeOver(): Promise<void> {
    this.state = "candidate";
    const window = this.settings.UPGRADE_WINDOW_MS;
    const until = Date.now() + window;
    try {
      await this.leases.beginHandoff({ handoff: this.me, version: this.s.version, since: Date.now(), until: until + this.settings.UPGRADE_DRAIN_MS + 60_000 });
    } catch (err) {
      this.control?.stop();
      if (err instanceof HandoffBusyError) throw new StartRefusedError(`${err.message}; this one stops`);
      throw err;
    }
    this.old = { ...this.old, revision: (await this.leases.active()).revision };
    this.unanswer.push(
      this.link.serve(["clear"], (m) => this.onStep(m)),
      this.link.hear(["abort"], (m) => this.onStep(m)),
    );
    if (!(await this.healthyBefore(until))) {
      await this.abandon("it did not become healthy within the upgrade window (its /readyz was not 200)");
      throw new StartRefusedError(`this bakerst did not become healthy within ${window} ms; the running one carries on`);
    }
    this.listener.listen();
    let reply: BrainTransferReply;
    try {
      reply = await this.link.send(this.message("ready", { host: this.host, port: this.listener.port, ...(this.control ? { socket: this.control.path } : {}) }));
    } catch (err) {
      if (!(err instanceof NoPeerError)) throw err;
      // Nobody answers: the old core is gone; this one simply starts.
      this.log.info("no running core answered; starting as the active one", { reason: err.message });
      await this.leases.endHandoff(this.me);
      await this.stopAnswering();
      await this.becomeActive(true);
      return;
    }
    if (!reply.ok) {
      await this.listener.close();
      await this.abandon(`the running core refused: ${reply.reason}`);
      throw new StartRefusedError(`the running bakerst refused the handoff: ${reply.reason}`);
    }
    void this.awaitClear();
  }

  /** The health check the old core and Kubernetes will make, made first by the new core on itself. */
  private async healthyBefore(until: number): Promise<boolean> {
    for (;;) {
      const report = await this.s.health.report();
      if (report.components.database?.status === "ok") return true;
      if (Date.now() >= until) return false;
      // A component may still be coming up: look again shortly, never past the window.
      await Bun.sleep(Math.min(250, Math.max(0, until - Date.now())));
    }
  }

  /** The new core waits for clear; its own deadline covers the old one's drain. */
  private async awaitClear(): Promise<void> {
    const limit = deadline(this.settings.UPGRADE_WINDOW_MS + this.settings.UPGRADE_DRAIN_MS + 30_000);
    const clear = await Promise.race([this.cleared.promise, limit]);
    limit.cancel();
    if (clear === "timeout") {
      await this.abandon("the running core never cleared");
      return this.end(1, "the running core never cleared the handoff");
    }
    // It holds the active lease since it took clear; it answers as the active core once the old one stopped answering (ack).
    const ack = this.message("ack");
    this.state = "active";
    try {
      const reply = await this.link.send(ack);
      if (!reply.ok) this.log.warn("the old core did not take the ack", { reason: reply.reason });
    } catch (err) {
      this.log.warn("the old core did not answer the ack; it was gone already", { error: (err as Error).message });
    }
    await this.leases.endHandoff(this.me);
    await this.stopAnswering();
    await this.becomeActive(false);
    this.log.info("took over from the old core", { from: this.old?.instance });
  }

  /** The takeover is off: the old core is told (it listens again if it had stopped), then this one lets go. */
  private async abandon(reason: string): Promise<void> {
    this.log.warn("upgrade aborted; the running core carries on", { reason });
    try {
      await this.link.send(this.message("abort", { reason }));
    } catch {
      // Nobody to tell.
    }
    await this.leases.endHandoff(this.me).catch(() => {});
  }

  // ---- steps as they arrive ----

  private async onStep(m: BrainTransfer): Promise<BrainTransferReply> {
    switch (m.step) {
      case "ready":
        return this.onReady(m);
      case "clear": {
        if (this.state !== "candidate" || (this.old?.instance && m.from !== this.old.instance)) return refuse(`not expecting clear from ${m.from}`);
        this.old = { ...this.old, instance: m.from };
        try {
          await this.leases.claimActive({ instance: this.me, version: this.s.version, since: Date.now() }, this.old?.revision);
        } catch (err) {
          return refuse(`could not take the active lease: ${(err as Error).message}`);
        }
        this.cleared.resolve(m);
        return { v: 1, ok: true };
      }
      case "ack":
        if (!this.handing || m.from !== this.handing.peer) return refuse(`not expecting ack from ${m.from}`);
        this.handing.acked.resolve();
        return { v: 1, ok: true };
      case "abort":
        return this.onAbort(m);
    }
  }

  private async onAbort(m: BrainTransfer): Promise<BrainTransferReply> {
    const reason = m.reason ?? "no reason given";
    if (this.state === "candidate") {
      if (this.old?.instance && m.from !== this.old.instance) return refuse(`abort from ${m.from}, not from the core this one takes over from`);
      this.log.warn("the old core aborted the handoff; stopping", { reason });
      await this.leases.endHandoff(this.me).catch(() => {});
      this.end(1, `the running core aborted the handoff: ${reason}`);
      return { v: 1, ok: true };
    }
    if (this.handing && m.from === this.handing.peer) {
      // The new core lets go once this answers: take the traffic back first.
      if (!this.listener.listening) this.listener.listen();
      this.handing.aborted.resolve(reason);
    } else if (this.upgrading && !this.handing) void this.rollBack(`the new bakerst gave up: ${reason}`);
    return { v: 1, ok: true };
  }

  // ---- the old core's side ----

  private async onReady(m: BrainTransfer): Promise<BrainTransferReply> {
    if (this.state !== "active") return refuse(`this core is ${this.state}`);
    if (this.handing) return refuse(`a handoff to ${this.handing.peer} is under way`);
    const lease = await this.leases.handoff();
    if (lease?.handoff !== m.handoff || m.handoff !== m.from) return refuse("the sender does not hold the handoff lease");
    let socket: string | undefined;
    if (m.socket) {
      // Only a socket of this data dir: the message must not send this core to ask anyone else.
      const dirs = runDirs(this.s.config.dataDir);
      if (!dirs.some((d) => m.socket!.startsWith(`${d}/`)) || !/^[A-Za-z0-9_-]+\.sock$/.test(m.socket.slice(m.socket.lastIndexOf("/") + 1))) {
        return refuse("its control socket is not in this data dir");
      }
      socket = m.socket;
      if (this.link instanceof SocketLink) this.link.know(m.from, socket);
    }
    this.handing = {
      peer: m.from,
      version: m.version,
      ...(socket ? { socket } : {}),
      sameListener: m.host === this.host && m.port === this.listener.port,
      acked: Promise.withResolvers(),
      aborted: Promise.withResolvers(),
    };
    this.upgrading?.emit({ event: "ready", instance: m.from, version: m.version });
    this.handingOver = this.handOver(this.handing);
    return { v: 1, ok: true };
  }

  private async handOver(h: Handing): Promise<void> {
    const aborted = h.aborted.promise.then((reason) => Promise.reject(new Rollback(`the new core aborted: ${reason}`)));
    aborted.catch(() => {});
    try {
      if (h.socket) {
        const res = await Promise.race([controlFetch(h.socket, "/readyz", { timeoutMs: 5_000 }).catch((err: Error) => new Response(err.message, { status: 599 })), aborted]);
        if (res.status !== 200) throw new Rollback(`the new core failed its health check (/readyz answered ${res.status})`);
      }
      this.state = "draining";
      const turns = this.s.brain.running;
      this.upgrading?.emit({ event: "draining", turns });
      // New connections go to the new core (same port) or, in Kubernetes, away from this unready pod; what is running here finishes.
      const closing = h.sameListener ? this.listener.close({ limitMs: this.settings.UPGRADE_DRAIN_MS }) : Promise.resolve();
      const drain = deadline(this.settings.UPGRADE_DRAIN_MS);
      const drained = await Promise.race([Promise.all([closing, this.s.brain.whenIdle()]).then(() => "drained" as const), drain, aborted]);
      drain.cancel();
      if (drained === "timeout") this.log.warn("handing over with turns still running; they end when this process stops", { running: this.s.brain.running });
      const reply = await Promise.race([this.link.send(this.message("clear", { to: h.peer, turns })), aborted]);
      if (!reply.ok) throw new Rollback(`the new core refused clear: ${reply.reason}`);
      const limit = deadline(this.settings.UPGRADE_WINDOW_MS);
      const acked = await Promise.race([h.acked.promise, limit, aborted]);
      limit.cancel();
      // It took the active lease when it took clear; a lost ack does not undo that.
      if (acked === "timeout" && (await this.leases.active()).lease?.instance !== h.peer) throw new Rollback("the new core never acknowledged");
      this.handedOver(h);
    } catch (err) {
      const reason = err instanceof Rollback || err instanceof NoPeerError ? err.message : `handoff failed: ${(err as Error).message}`;
      await this.rollBack(reason, h);
    }
  }

  private async stopAnswering(): Promise<void> {
    for (const stop of this.unanswer.splice(0)) await stop();
  }

  private handedOver(h: Handing): void {
    this.state = "passive";
    this.handing = undefined;
    void this.stopAnswering();
    this.log.info("handed over to the new core", { to: h.peer, version: h.version });
    const u = this.upgrading;
    if (u) u.done.resolve({ event: "upgraded", instance: h.peer, version: h.version, ms: Date.now() - u.started });
    // Sharing the port, this process has nothing left to do; in Kubernetes it stays, unready, until it is told to stop.
    if (h.sameListener) void (u ? u.done.promise.then(() => this.end(0, "handed over")) : this.end(0, "handed over"));
  }

  /** The handoff is off: listen again if this core had stopped, tell the new one, stop a child this core started. */
  private async rollBack(reason: string, h?: Handing): Promise<void> {
    const u = this.upgrading;
    this.upgrading = undefined;
    if (!h && !u) return;
    if (!this.listener.listening) this.listener.listen();
    this.state = "active";
    this.handing = undefined;
    this.log.warn("upgrade rolled back; this core carries on", { reason });
    if (h) await this.link.notify(this.message("abort", { to: h.peer, reason }));
    const lease = await this.leases.handoff().catch(() => undefined);
    if (lease && lease.handoff === (h?.peer ?? lease.handoff)) await this.leases.endHandoff(lease.handoff).catch(() => {});
    if (!u) return;
    if (u.child.exitCode === null) {
      u.child.kill("SIGTERM");
      const kill = setTimeout(() => u.child.exitCode === null && u.child.kill("SIGKILL"), 10_000);
      kill.unref();
      await u.child.exited;
      clearTimeout(kill);
    }
    u.done.resolve({ event: "rolled-back", reason, ms: Date.now() - u.started });
  }

  // ---- bakerst upgrade ----

  /** Starts `binary` as this core's successor; yields what happens until it took over or the upgrade was rolled back. */
  async *upgrade(binary: string, windowMs: number): AsyncGenerator<UpgradeEvent> {
    if (this.state !== "active" || this.handing || this.upgrading || this.checking)
      throw new Rollback(`this core is ${this.state === "active" ? "already upgrading" : this.state}`);
    this.checking = true;
    let checked: Awaited<ReturnType<typeof checkBinary>>;
    try {
      checked = await checkBinary(binary);
    } finally {
      this.checking = false;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.s.config.environment)) if (v !== undefined) env[k] = v;
    Object.assign(env, { PORT: String(this.listener.port), HOST: this.listener.host, UPGRADE_TAKEOVER: "true", UPGRADE_WINDOW_MS: String(windowMs) });
    const queue: UpgradeEvent[] = [];
    let wake: (() => void) | undefined;
    const emit = (e: UpgradeEvent) => {
      queue.push(e);
      wake?.();
    };
    const child = startSuccessor(checked.path, env);
    const u: Upgrading = { child, started: Date.now(), emit, done: Promise.withResolvers() };
    this.upgrading = u;
    emit({ event: "started", pid: child.pid, binary: checked.path, version: checked.version });
    void child.exited.then((code) => {
      if (this.upgrading !== u || this.state === "passive") return;
      const why = `the new bakerst exited (code ${code}) before it took over`;
      if (this.handing) this.handing.aborted.resolve(why);
      else void this.rollBack(why);
    });
    const limit = deadline(windowMs + 5_000);
    void limit.then(() => {
      if (this.upgrading === u && !this.handing) void this.rollBack(`the new bakerst was not ready within ${windowMs} ms`);
    });
    void u.done.promise.then((e) => {
      limit.cancel();
      const detail = { binary: checked.path, version: checked.version, ms: Date.now() - u.started, ...(e.event === "rolled-back" ? { reason: e.reason } : {}) };
      this.s.audit.record({ action: "upgrade", outcome: e.event === "upgraded" ? "ok" : "failed", actor: "cli", detail });
      emit(e);
    });
    for (;;) {
      while (queue.length) {
        const e = queue.shift()!;
        yield e;
        if (e.event === "upgraded" || e.event === "rolled-back") return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  private async onControl(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/status") return Response.json(this.status());
    if (req.method === "GET" && path === "/readyz") {
      const report = await this.s.health.report();
      const ready = report.components.database?.status === "ok" && this.serving();
      return Response.json({ ready, state: this.state, version: this.s.version }, { status: ready ? 200 : 503 });
    }
    if (req.method === "POST" && path.startsWith("/transfer/") && this.link instanceof SocketLink) return this.link.receive(path.slice("/transfer/".length), req);
    if (req.method === "POST" && path === "/upgrade") return this.upgradeResponse(req);
    if (req.method === "POST" && path === "/login-link") {
      // The owner's user, on this machine, asking for a way into the console (bakerst login-link).
      this.s.audit.record({ action: "auth.login_link", outcome: "ok", actor: "cli" });
      const base = this.s.config.publicUrl ?? `http://localhost:${this.listener.port}`;
      return Response.json({ url: `${base}/login#code=${this.s.sessions.loginCodes.issue()}` });
    }
    return Response.json({ error: { code: "not_found", message: `nothing at ${req.method} ${path}` } }, { status: 404 });
  }

  /** `POST /upgrade {binary, windowMs?}`: JSON lines, one per event, the last saying how it ended. */
  private async upgradeResponse(req: Request): Promise<Response> {
    let body: { binary?: unknown; windowMs?: unknown };
    try {
      body = (await req.json()) as typeof body;
    } catch {
      return Response.json({ error: { code: "invalid_json", message: "the body is not JSON" } }, { status: 400 });
    }
    const windowMs = body.windowMs ?? this.settings.UPGRADE_WINDOW_MS;
    if (typeof body.binary !== "string" || !Number.isInteger(windowMs) || (windowMs as number) < 1_000 || (windowMs as number) > 600_000) {
      return Response.json({ error: { code: "invalid_request", message: "expected {binary: absolute path, windowMs?: 1000..600000}" } }, { status: 400 });
    }
    const events = this.upgrade(body.binary, windowMs as number);
    let first: IteratorResult<UpgradeEvent>;
    try {
      first = await events.next();
    } catch (err) {
      return Response.json({ error: { code: "invalid_request", message: (err as Error).message } }, { status: 409 });
    }
    const enc = new TextEncoder();
    return new Response(
      new ReadableStream<Uint8Array>({
        async start(controller) {
          // An empty line now and then: the socket's idle timeout (10 s) must not end a stream that waits for the new core.
          const alive = setInterval(() => controller.enqueue(enc.encode("\n")), 5_000);
          try {
            if (!first.done) controller.enqueue(enc.encode(`${JSON.stringify(first.value)}\n`));
            for await (const e of events) controller.enqueue(enc.encode(`${JSON.stringify(e)}\n`));
          } finally {
            clearInterval(alive);
          }
          controller.close();
        },
      }),
      { headers: { "content-type": "application/x-ndjson" } },
    );
  }

  /** A step from this core: the new one's handoff is its own id; the old one's is the new core's. */
  private message(step: BrainTransfer["step"], extra: Partial<BrainTransfer> = {}): BrainTransfer {
    const mine = this.state === "candidate";
    const to = mine ? this.old?.instance : extra.to;
    return { v: 1, step, handoff: mine ? this.me : (extra.to ?? this.me), from: this.me, version: this.s.version, at: Date.now(), ...extra, ...(to ? { to } : {}) };
  }

  private end(code: number, reason: string): void {
    this.ending.resolve({ code, reason });
  }

  /** The start finished and a handoff under way ended (Kubernetes may stop the old pod while it hands over). */
  async settle(): Promise<void> {
    await this.settled;
    await this.handingOver;
  }

  /** Last thing on shutdown: stop answering, give a handoff lease back, close the socket. */
  async stop(): Promise<void> {
    await this.stopAnswering();
    if (this.state === "candidate") await this.leases?.endHandoff(this.me).catch(() => {});
    this.control?.stop();
  }
}
