#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { AREAS } from "./areas.ts";
import { formatChecks, runDoctor } from "./cli/doctor.ts";
import { helpText } from "./cli/help.ts";
import { tokenCommand } from "./cli/token.ts";
import { type Config, ConfigError, type ConfigSchema, loadConfig } from "./config/index.ts";
import { DatabaseGuardError } from "./db/guard.ts";
import { startServer } from "./server.ts";
import { upgradeKeys } from "./upgrade/keys.ts";
import { StartRefusedError } from "./upgrade/lifecycle.ts";
import { VERSION } from "./version.ts";
import { uiFallback } from "./web/serve.ts";
import { loadUiAssets } from "./web/source.ts";

// Everything bakerst writes (data dir, database, WAL, token, config) is for its owner's user only.
process.umask(0o077);

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

/** The settings every area brings, so the config check and --help see them all. */
const SCHEMAS: ConfigSchema[] = [{ name: "upgrade", keys: upgradeKeys }, ...AREAS.map((a) => ({ name: a.name, ...a.config }))];

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
  // These parse their own options (and answer their own --help) from the raw arguments.
  const own = (name: string) => argv.slice(argv.indexOf(name) + 1);
  if ((values.help && !["nats", "backup", "restore", "upgrade", "task", "skill", "mcp", "companion"].includes(command)) || command === "help") {
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
      // Handed over to a new core (bakerst upgrade), or a takeover that failed once it was listening.
      void server.ended.then(async (e) => {
        server.log.info("stopping", { reason: e.reason });
        await server.stop();
        process.exit(e.code);
      });
      return -1; // keep running
    }
    case "doctor": {
      const checks = await runDoctor(config(), AREAS);
      out(`${formatChecks(checks)}\n`);
      return checks.every((c) => c.ok) ? 0 : 1;
    }
    case "token":
      return tokenCommand(config(), values.rotate ? ["--rotate", ...rest] : rest, out);
    case "pair":
      return (await import("./gateway/cli.ts")).pairCommand(config(), rest, out, err);
    case "nats":
      return (await import("./cli/nats.ts")).natsCommand(config(), own("nats"), out, err);
    case "backup":
      return (await import("./cli/backup.ts")).backupCommand(config(), own("backup"), out, err);
    case "restore":
      return (await import("./cli/backup.ts")).restoreCommand(config(), own("restore"), out, err);
    case "login-link":
      return (await import("./cli/login-link.ts")).loginLinkCommand(config(), out, err);
    case "ready":
      return (await import("./cli/ready.ts")).readyCommand(config(), out);
    case "upgrade":
      return (await import("./cli/upgrade.ts")).upgradeCommand(config(), own("upgrade"), out, err);
    case "skill":
      return (await import("./skills/cli.ts")).skillCommand(own("skill"), config, { stdout: out, stderr: err });
    case "mcp":
      return (await import("./mcp/stdio.ts")).mcpCommand(config(), own("mcp"), { stdout: out, stderr: err });
    case "task":
      // `task runner` reads the satellite's settings, not these.
      return (await import("./tasks/cli.ts")).taskCommand(own("task"), config, { stdout: out, stderr: err });
    case "companion":
      return (await import("./companions/cli.ts")).companionCommand(own("companion"), config, { stdout: out, stderr: err });
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
  if (!(e instanceof ConfigError || e instanceof DatabaseGuardError || e instanceof StartRefusedError)) throw e;
  err(`bakerst: ${e.message}\n`);
  code = 2;
}
if (code >= 0) process.exit(code);
