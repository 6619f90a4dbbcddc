import { createApi, serveFetch, type ApiOptions } from "./api/app.ts";
import { startAreas } from "./area/start.ts";
import type { Area } from "./area/types.ts";
import { AREAS } from "./areas.ts";
import type { Config } from "./config/index.ts";
import { createServices, type ServiceOptions, type Services } from "./services.ts";
import type { Logger } from "./telemetry/log.ts";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  log: Logger;
  stop(): Promise<void>;
}

export type AssembleOptions = ServiceOptions & ApiOptions & { areas?: Area[] };

/** Kernel, areas and the API, wired but not listening; tests drive it with `app.handle`. */
export async function assemble(config: Config, opts: AssembleOptions = {}) {
  const services = await createServices(config, opts);
  let started: { routes: ApiOptions["routes"] & {} };
  try {
    started = await startAreas(services, opts.areas ?? AREAS);
  } catch (err) {
    await services.close();
    throw err;
  }
  const app = createApi(services, { ...opts, routes: [...(opts.routes ?? []), ...started.routes] });
  return { services, app };
}

/** Wires everything, starts the HTTP server and prints how to log in. */
export async function startServer(config: Config, opts: AssembleOptions & { quiet?: boolean } = {}): Promise<RunningServer> {
  const { services, app } = await assemble(config, opts);
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    // Bun's own limit sits above ours so oversized bodies get our JSON 413.
    maxRequestBodySize: config.maxBodyBytes + 64 * 1024,
    // SSE streams send a keep-alive every 15 s; this only ends dead sockets.
    idleTimeout: 60,
    // Never Bun's development error page, which shows source lines.
    development: false,
    fetch: serveFetch(app, services),
  });
  const port = server.port ?? config.port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = config.publicUrl ?? `http://${shownHost}:${port}`;
  const log = services.log;
  log.info("bakerst listening", {
    url,
    version: services.version,
    mode: config.nats.url ? "cluster" : "edge",
    dataDir: config.dataDir,
    models: services.models.settings.roles().agent,
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
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop taking connections, let running turns finish (and be stored), then close.
      const closing = server.stop();
      await services.close();
      await Promise.race([closing, Bun.sleep(2_000)]);
      await server.stop(true);
    },
  };
}
