#!/usr/bin/env bun
/**
 * bakerst-satellite: one binary, role chosen by flag. `--mode worker` pulls
 * jobs from NATS JetStream and runs them; `--mode task` runs one task.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { currentSpan, startTracing, stopTracing } from "../core/telemetry/tracing.ts";
import { loadSatelliteConfig, processEnv, type SatelliteConfig, SatelliteConfigError, satelliteHelp } from "./config.ts";
import type { WorkerLog } from "./worker/worker.ts";

export const SATELLITE_VERSION = "0.1.0";
const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

function logger(level: SatelliteConfig["logLevel"], base: Record<string, unknown>): WorkerLog {
  return (lvl, msg, fields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const traceId = currentSpan()?.traceId;
    process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, ...base, ...fields, ...(traceId ? { traceId } : {}) })}\n`);
  };
}

async function runWorker(cfg: SatelliteConfig): Promise<number> {
  // Loaded here: a task runner (--mode task) starts without the worker's grammars and policies, which it never uses.
  const { inboxPrefix } = await import("../core/protocol/permissions.ts");
  const { QUEUES } = await import("../core/protocol/queues.ts");
  const { credsSecrets, Redactor } = await import("../core/agent/redact.ts");
  const { workerModel } = await import("./model.ts");
  const { setUpSandbox } = await import("./sandbox/index.ts");
  const { GrammarError } = await import("./worker/commands/index.ts");
  const { buildPolicies, kubernetesEnv } = await import("./worker/policy.ts");
  const { Worker } = await import("./worker/worker.ts");
  const log = logger(cfg.logLevel, { role: "worker", worker: cfg.workerId });
  const passEnv = kubernetesEnv(processEnv());
  const sandbox = setUpSandbox({ mode: cfg.commandSandbox, hide: [cfg.natsCreds, passEnv.KUBECONFIG].filter((p): p is string => !!p) });
  let policies;
  try {
    policies = buildPolicies({ ...cfg, sandbox, passEnv });
  } catch (err) {
    const message = err instanceof GrammarError ? `COMMAND_GRAMMARS_FILE: ${cfg.commandGrammarsFile ?? "(defaults)"}: ${err.message}` : (err as Error).message;
    process.stderr.write(`bakerst-satellite: ${message}\n`);
    return 2;
  }
  if (sandbox.mode === "off") log("warn", "COMMAND_SANDBOX=off: command jobs run without a sandbox", { sandbox: sandbox.status.detail });
  else if (!sandbox.status.ok) log("error", "the command sandbox does not work here; command jobs will be refused", { detail: sandbox.status.detail, fix: sandbox.status.fix });
  else log("info", "command sandbox ready", { sandbox: sandbox.status.detail });
  // For Kubernetes probes: alive from the start; ready once the worker pulls jobs and while NATS is connected. Says nothing else.
  let ready = () => false;
  const health = cfg.health
    ? Bun.serve({
        port: cfg.health.port,
        hostname: cfg.health.host,
        development: false,
        fetch(req) {
          const path = new URL(req.url).pathname;
          if (req.method === "GET" && path === "/ping") return new Response("pong");
          if (req.method === "GET" && path === "/readyz") return new Response(null, { status: ready() ? 200 : 503 });
          return new Response(null, { status: 404 });
        },
      })
    : undefined;
  if (health) log("info", "health listening", { url: `http://${cfg.health!.host}:${health.port}` });
  // Loaded here, not at the top: --help and config errors answer without the NATS client and the SDK.
  const { NatsBus } = await import("../core/bus/nats.ts");
  const { natsAuthenticator } = await import("../core/bus/nats-connect.ts");
  let authenticator;
  let creds: Buffer | undefined;
  if (cfg.natsCreds) {
    try {
      creds = readFileSync(cfg.natsCreds);
      authenticator = natsAuthenticator(creds, cfg.natsCreds);
    } catch (err) {
      process.stderr.write(`bakerst-satellite: NATS_CREDS: ${(err as Error).message}\n`);
      return 2;
    }
  } else log("warn", "NATS_CREDS is not set: connecting without an identity, which only an open (insecure) NATS accepts");
  let bus;
  let ackWaitMs: number;
  try {
    bus = await NatsBus.open({
      url: cfg.natsUrl,
      ...(authenticator ? { authenticator } : {}),
      inboxPrefix: inboxPrefix({ role: "worker" }),
      name: `bakerst-worker-${cfg.workerId}`,
      waitOnFirstConnect: true,
      log,
    });
    // The core makes the streams and the consumer; a worker may not, and waits for them (taking the core's ack wait).
    ackWaitMs = await bus.ackWaitOf(QUEUES.jobs);
  } catch (err) {
    process.stderr.write(`bakerst-satellite: cannot use NATS at ${cfg.natsUrl}: ${(err as Error).message} (check NATS_URL and NATS_CREDS)\n`);
    void health?.stop();
    return 1;
  }
  const model = await workerModel(cfg, log);
  const redactor = new Redactor([...cfg.redactValues, ...(creds ? credsSecrets(creds.toString("utf8")) : [])]);
  if (cfg.otelEndpoint) {
    await startTracing({ endpoint: cfg.otelEndpoint, service: "bakerst-satellite", version: SATELLITE_VERSION, instance: cfg.workerId, redact: (t) => redactor.redact(t) });
  }
  const worker = new Worker({
    bus,
    ackWaitMs,
    id: cfg.workerId,
    concurrency: cfg.concurrency,
    version: SATELLITE_VERSION,
    heartbeatMs: cfg.heartbeatMs,
    host: hostname(),
    log,
    executors: {
      ...policies,
      redactor,
      ...(model ? { model } : {}),
    },
  });
  worker.start();
  ready = () => bus.health().status === "ok";
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log("info", "draining", { signal, running: worker.active });
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  void health?.stop();
  await worker.stop(cfg.drainTimeoutMs);
  await bus.close();
  // What is buffered goes to the collector before the process ends.
  await stopTracing();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let cfg: SatelliteConfig;
  try {
    cfg = loadSatelliteConfig(argv, processEnv());
  } catch (err) {
    const msg = err instanceof SatelliteConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? (err as Error).message : String(err);
    process.stderr.write(`bakerst-satellite: ${msg}\n\n${satelliteHelp(SATELLITE_VERSION)}`);
    return 2;
  }
  if (cfg.help) {
    process.stdout.write(satelliteHelp(SATELLITE_VERSION));
    return 0;
  }
  if (cfg.version) {
    process.stdout.write(`bakerst-satellite ${SATELLITE_VERSION}\n`);
    return 0;
  }
  if (cfg.mode === "task") return runTask(cfg);
  if (cfg.mode === "companion") {
    const { runCompanion } = await import("./companion/index.ts");
    return runCompanion(cfg, SATELLITE_VERSION, logger(cfg.logLevel, { role: "companion", companion: cfg.companion.id }));
  }
  if (cfg.mode === "bridge") return (await import("./sandbox/bridge-exec.ts")).runBridged(cfg.command, processEnv());
  return runWorker(cfg);
}

/** One task, then exit with its exit code (satellite/task/runner.ts). */
async function runTask(cfg: SatelliteConfig): Promise<number> {
  const { runTaskProcess } = await import("./task/entry.ts");
  return runTaskProcess(cfg);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
