#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { formatChecks, runDoctor } from "./cli/doctor.ts";
import { helpText } from "./cli/help.ts";
import { tokenCommand } from "./cli/token.ts";
import { AREAS } from "./areas.ts";
import { ConfigError, loadConfig, type Config, type ConfigSchema } from "./config/index.ts";
import { DatabaseGuardError } from "./db/guard.ts";
import { startServer } from "./server.ts";
import { VERSION } from "./version.ts";
import { loadUiAssets } from "./web/source.ts";
import { uiFallback } from "./web/serve.ts";

// Everything bakerst writes (data dir, database, WAL, token, config) is for its owner's user only.
process.umask(0o077);

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

/** The settings every area brings, so the config check and --help see them all. */
const SCHEMAS: ConfigSchema[] = AREAS.map((a) => ({ name: a.name, ...a.config }));

function config(): Config {
  try {
    return loadConfig({ schemas: SCHEMAS });
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`bakerst: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" }, rotate: { type: "boolean" } },
    allowPositionals: true,
    strict: false,
  });
  if (values.version) {
    out(`bakerst ${VERSION}\n`);
    return 0;
  }
  const [command = "serve", ...rest] = positionals;
  if ((values.help && command !== "nats" && command !== "task") || command === "help") {
    out(helpText(SCHEMAS));
    return 0;
  }
  switch (command) {
    case "serve": {
      const server = await startServer(config(), { fallback: uiFallback(loadUiAssets) });
      const stop = async (signal: string) => {
        server.log.info("shutting down", { signal });
        await server.stop();
        process.exit(0);
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
      return -1; // keep running
    }
    case "doctor": {
      const checks = await runDoctor(config(), AREAS);
      out(`${formatChecks(checks)}\n`);
      return checks.every((c) => c.ok) ? 0 : 1;
    }
    case "token":
      return tokenCommand(config(), values.rotate ? ["--rotate", ...rest] : rest, out);
    case "nats":
      // Its own options (--companion NAME ...) are parsed from the raw arguments.
      return (await import("./cli/nats.ts")).natsCommand(config(), argv.slice(argv.indexOf("nats") + 1), out, err);
    case "task":
      // Its own options (--script, --mount ...) are parsed from the raw arguments; `task runner` reads the satellite's settings, not these.
      return (await import("./tasks/cli.ts")).taskCommand(argv.slice(argv.indexOf("task") + 1), config, { stdout: out, stderr: err });
    default:
      err(`bakerst: unknown command ${JSON.stringify(command)}\n\n${helpText(SCHEMAS)}`);
      return 2;
  }
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (e) {
  // Settings name their key; a database that is not what the data dir had says what to restore.
  if (!(e instanceof ConfigError || e instanceof DatabaseGuardError)) throw e;
  err(`bakerst: ${e.message}\n`);
  code = 2;
}
if (code >= 0) process.exit(code);
