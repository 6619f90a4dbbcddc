import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config/index.ts";
import { NatsInitError, type NatsInitResult, natsInit } from "../nats/init.ts";
import { VERSION } from "../version.ts";

export const NATS_HELP = `Usage: bakerst nats init [options]

Writes a nats-server config with one identity per role (core, worker, each
companion, each extension), each allowed only the subjects its role needs, and
one nkey seed file per identity. Running it again adds identities and keeps the
existing ones; a running server started with that config is told to reload.

Options:
  --out DIR           where to write (default <BAKERST_DATA_DIR>/nats)
  --listen HOST:PORT  where nats-server listens (default 127.0.0.1:4222)
  --store-dir DIR     JetStream's files (default <out>/jetstream)
  --pid-file FILE     where the server writes its pid (default <out>/nats-server.pid)
  --companion NAME    add a companion identity (repeatable)
  --extension NAME    add an extension identity (repeatable)
  --rotate            replace every seed (clients need their new file)
`;

/** `bakerst nats init ...`: returns the exit code. */
export function natsCommand(config: Config, args: string[], out: (s: string) => void, err: (s: string) => void): number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        out: { type: "string" },
        listen: { type: "string" },
        "store-dir": { type: "string" },
        "pid-file": { type: "string" },
        companion: { type: "string", multiple: true },
        extension: { type: "string", multiple: true },
        rotate: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(`bakerst nats: ${(e as Error).message}\n\n${NATS_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(NATS_HELP);
    return 0;
  }
  if (positionals.join(" ") !== "init") {
    err(`bakerst nats: expected "init", got ${JSON.stringify(positionals.join(" "))}\n\n${NATS_HELP}`);
    return 2;
  }
  try {
    const result = natsInit({
      dir: values.out ?? join(config.dataDir, "nats"),
      companions: values.companion ?? [],
      extensions: values.extension ?? [],
      rotate: !!values.rotate,
      ...(values.listen ? { listen: values.listen } : {}),
      ...(values["store-dir"] ? { storeDir: values["store-dir"] } : {}),
      ...(values["pid-file"] ? { pidFile: values["pid-file"] } : {}),
      version: VERSION,
    });
    out(report(result));
    return 0;
  } catch (e) {
    if (!(e instanceof NatsInitError)) throw e;
    err(`bakerst nats: ${e.message}\n`);
    return 2;
  }
}

function report(r: NatsInitResult): string {
  const [host = "127.0.0.1", port = "4222"] = /^(.*):(\d+)$/.exec(r.settings.listen)?.slice(1) ?? [];
  const url = `nats://${host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host}:${port}`;
  const dir = join(r.configFile, "..");
  const creds = (name: string) => r.identities.find((i) => i.name === name)!.credsFile;
  const rows = r.identities.map((i) => `  ${i.name.padEnd(28)} ${relative(dir, i.credsFile).padEnd(36)} ${i.state}`).join("\n");
  return `Wrote ${r.configFile}
  listen ${r.settings.listen}, JetStream in ${r.settings.storeDir}; clients without credentials are refused.

Identities (nkey seeds, mode 600, in a mode 700 directory; give each process only its own):
${rows}

Start the server:
  nats-server -c ${r.configFile}
Run the core:
  NATS_URL=${url} NATS_CREDS=${creds("core")} bakerst serve
Run a worker (copy its seed file to that machine):
  NATS_URL=${url} NATS_CREDS=${creds("worker")} bakerst-satellite --mode worker
Task pods report with ${creds("task")} (a Secret the core names in the tasks: kubernetes section).
${
  r.reloaded
    ? `\nTold the running nats-server (pid ${r.reloaded}) to reload its config.\n`
    : `\nA server already running with this config picks up changes on reload: nats-server --signal reload=<pid> (or kill -HUP <pid>).\n`
}`;
}
