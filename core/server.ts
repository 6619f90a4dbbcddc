import { type ApiOptions, createApi, serveFetch } from "./api/app.ts";
import { Connections } from "./api/connections.ts";
import { startAreas } from "./area/start.ts";
import type { Area } from "./area/types.ts";
import { AREAS } from "./areas.ts";
import type { Config } from "./config/index.ts";
import { createServices, type ServiceOptions, type Services } from "./services.ts";
import type { Logger } from "./telemetry/log.ts";
import { runningServers } from "./upgrade/control.ts";
import { upgradeKeys } from "./upgrade/keys.ts";
import { type Ending, Lifecycle, type Listener, refuseBeside } from "./upgrade/lifecycle.ts";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  log: Logger;
  /** Resolves when the process should end on its own: it handed over to a new core, or its takeover failed. */
  ended: Promise<Ending>;
  stop(): Promise<void>;
}

export type AssembleOptions = ServiceOptions & ApiOptions & { areas?: Area[] };

/** Kernel, areas and the API, wired but not listening; tests drive it with `app.handle`. */
export async function assemble(config: Config, opts: AssembleOptions = {}) {
  const services = await createServices(config, opts);
  let started: Awaited<ReturnType<typeof startAreas>>;
  try {
    started = await startAreas(services, opts.areas ?? AREAS);
  } catch (err) {
    await services.close();
    throw err;
  }
  const app = createApi(services, { ...opts, routes: [...(opts.routes ?? []), ...started.routes] });
  /** What the areas provide each other, for tests that reach a service directly. */
  return { services, app, provided: started.provided };
}

/**
 * The HTTP server, which an upgrade closes and opens again. Always bound with
 * SO_REUSEPORT so a new core can bind the same port beside it (Linux lets
 * only the same user do that); a first bind checks the port is not another
 * program's, which sharing it would hide.
 */
function httpListener(config: Config, app: Parameters<typeof serveFetch>[0], services: Services, checkFree: boolean): Listener & { forceClose(): void } {
  const connections = new Connections();
  const fetch = serveFetch(app, services, connections);
  let server: ReturnType<typeof Bun.serve> | undefined;
  let last: ReturnType<typeof Bun.serve> | undefined;
  let port = 0;
  return {
    host: config.host,
    get port() {
      return port;
    },
    get listening() {
      return !!server;
    },
    listen() {
      if (server) return port;
      connections.reopen();
      const wanted = port || config.port;
      if (checkFree && !port && wanted) Bun.serve({ port: wanted, hostname: config.host, fetch: () => new Response() }).stop(true);
      server = last = Bun.serve({
        port: wanted,
        hostname: config.host,
        reusePort: true,
        // Bun's own limit sits above ours so oversized bodies get our JSON 413.
        maxRequestBodySize: config.maxBodyBytes + 64 * 1024,
        // SSE streams send a keep-alive every 15 s; this only ends dead sockets.
        idleTimeout: 60,
        // Never Bun's development error page, which shows source lines.
        development: false,
        fetch,
      });
      port = server.port ?? wanted;
      return port;
    },
    async close(handover) {
      if (!server) return;
      // Handing the port over, keep-alive clients are told to close first, so none sends a request on a connection as it closes.
      if (handover) await connections.closeAll(1_000, handover.limitMs);
      const s = server;
      server = undefined;
      await s?.stop();
    },
    forceClose() {
      server = undefined;
      void last?.stop(true);
    },
  };
}

/**
 * Wires everything, starts the HTTP server and prints how to log in. Beside a
 * bakerst already running on the data dir it takes over (UPGRADE_TAKEOVER) or
 * refuses to start, before opening the database.
 */
export async function startServer(config: Config, opts: AssembleOptions & { quiet?: boolean } = {}): Promise<RunningServer> {
  const settings = config.read(upgradeKeys);
  const others = await runningServers(config.dataDir);
  refuseBeside(others, settings, config.dataDir);
  const { services, app } = await assemble(config, { ...opts, sharing: others.length > 0 });
  const listener = httpListener(config, app, services, others.length === 0);
  const lifecycle = new Lifecycle(services, listener, settings, others, services.log.child({ area: "upgrade" }));
  try {
    await lifecycle.start();
  } catch (err) {
    listener.forceClose();
    await lifecycle.stop();
    await services.close();
    throw err;
  }
  const port = listener.port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = config.publicUrl ?? `http://${shownHost}:${port}`;
  const log = services.log;
  log.info("bakerst listening", {
    url,
    version: services.version,
    mode: config.nats.url ? "cluster" : "edge",
    dataDir: config.dataDir,
    models: services.models.settings.roles().agent,
    ...(lifecycle.state === "candidate" ? { takingOver: true } : {}),
  });
  if (!services.models.router.hasModel("agent")) {
    log.warn("no model configured: chat answers 503 until ANTHROPIC_API_KEY or OPENAI_BASE_URL (+ MODEL_AGENT) is set");
  }
  if (services.token.generated && !opts.quiet) {
    process.stdout.write(
      `\n  Baker Street is up. Your API token (kept in ${services.token.from}, shown only now):\n\n    ${services.token.token}\n\n` +
        `  Open ${url}/login#code=${services.sessions.loginCodes.issue()} to log in (the link works once, for 15 minutes).\n\n`,
    );
  }
  let stopped = false;
  return {
    url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`,
    port,
    services,
    log,
    ended: lifecycle.ended,
    async stop() {
      if (stopped) return;
      stopped = true;
      // A handoff under way ends first; then stop taking connections, let running turns finish (and be stored), close.
      await lifecycle.settle();
      const closing = listener.close();
      await services.close();
      await Promise.race([closing, Bun.sleep(2_000)]);
      listener.forceClose();
      await lifecycle.stop();
    },
  };
}
