/**
 * Puts a companion together from its settings: its NATS identity (the seed
 * signs too), the core's public key, the spool in its state dir, the task
 * runner in the sandbox, and the signals that stop it.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { SatelliteConfig } from "../config.ts";
import type { WorkerLog } from "../worker/worker.ts";
import { backoff, Companion } from "./daemon.ts";
import { Spool } from "./spool.ts";

export async function runCompanion(cfg: SatelliteConfig, version: string, log: WorkerLog): Promise<number> {
  const c = cfg.companion;
  const { inboxPrefix, Signer, Verifier } = await import("../../core/protocol/index.ts");
  const { NatsBus } = await import("../../core/bus/nats.ts");
  const { natsAuthenticator } = await import("../../core/bus/nats-connect.ts");
  const { setUpSandbox } = await import("../sandbox/index.ts");
  const { LocalLauncher, binaryRunner, isCompiled, sourceRunner } = await import("../task/local.ts");
  const { workerModel } = await import("../model.ts");

  let seed: Buffer;
  let signer: InstanceType<typeof Signer>;
  let authenticator;
  try {
    seed = readFileSync(cfg.natsCreds!);
    authenticator = natsAuthenticator(seed, cfg.natsCreds!);
    signer = new Signer(seed.toString("utf8").trim());
  } catch (err) {
    process.stderr.write(`bakerst-satellite: NATS_CREDS: ${(err as Error).message}\n`);
    return 2;
  }
  const sandbox = setUpSandbox({ mode: "required", hide: [cfg.natsCreds!, c.stateDir] });
  if (!sandbox.status.ok) {
    log("warn", "NO SANDBOX: bubblewrap does not work on this host, so every task sent here is refused with this reason; install bubblewrap (and util-linux) to run tasks", {
      detail: sandbox.status.detail,
      fix: sandbox.status.fix,
    });
  } else log("info", "task sandbox ready", { sandbox: sandbox.status.detail });
  const model = await workerModel(cfg, (level, msg, fields) => log(level, msg, fields));
  // The runner is this binary (`--mode task`); from source, Bun with the sources bound read-only.
  const runner = isCompiled() ? binaryRunner(process.execPath) : sourceRunner();
  const launcher = new LocalLauncher({
    sandbox,
    runner,
    ...(model ? { model: { router: model.router, call: { role: "worker", background: true, origin: "task" } } } : {}),
    runDir: join(c.stateDir, "run"),
    log: (level, msg, fields) => log(level, msg, fields),
  });

  let attempt = 0;
  const reconnectListeners: (() => void)[] = [];
  let bus: Awaited<ReturnType<typeof NatsBus.open>>;
  try {
    bus = await NatsBus.open({
      url: cfg.natsUrl,
      authenticator,
      inboxPrefix: inboxPrefix({ role: "companion", id: c.id! }),
      name: `bakerst-companion-${c.id}`,
      waitOnFirstConnect: true,
      reconnectDelayMs: () => backoff(attempt++),
      log: (level, msg, fields) => log(level, msg, fields),
    });
  } catch (err) {
    process.stderr.write(`bakerst-satellite: cannot reach NATS at ${cfg.natsUrl}: ${(err as Error).message}\n`);
    return 1;
  }
  void (async () => {
    let refusedCount = 0;
    for await (const s of bus.nc.status()) {
      // A revoked or rotated identity: the server refuses every reconnect. Said once, then now and then.
      if (s.type === "error" && refusedCount++ % 20 === 0)
        log("error", "NATS refused this companion's connection (revoked, or credentials replaced?)", { error: String(s.error?.message ?? s.error) });
      if (s.type === "reconnect") {
        refusedCount = 0;
        attempt = 0;
        for (const l of reconnectListeners) l();
      }
    }
  })();
  const spool = new Spool(c.stateDir, c.spoolMax);
  const companion = new Companion({
    id: c.id!,
    version,
    bus,
    signer,
    verifier: new Verifier(),
    corePublicKey: c.corePublicKey!,
    spool,
    launcher,
    allowedPaths: c.allowedPaths.map((p) => (existsSync(p) ? realpathSync(p) : p)),
    concurrency: cfg.concurrency,
    heartbeatMs: cfg.heartbeatMs,
    sandbox: { ok: sandbox.status.ok, detail: sandbox.status.detail },
    modes: model ? ["script", "agent"] : ["script"],
    log,
    onReconnect: (l) => reconnectListeners.push(l),
  });
  await companion.start();
  log("info", "companion ready", { id: c.id, stateDir: c.stateDir, allowedPaths: c.allowedPaths, concurrency: cfg.concurrency, spool: spool.stats() });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log("info", "draining", { signal, running: companion.active });
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await companion.stop(cfg.drainTimeoutMs);
  await bus.close();
  spool.close();
  return 0;
}
