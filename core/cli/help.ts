import type { ConfigSchema } from "../config/index.ts";
import { KEYS, type KeySet } from "../config/keys.ts";
import { VERSION } from "../version.ts";

function keyLines(keys: KeySet): string {
  return Object.entries(keys)
    .map(([k, v]) => `  ${k.padEnd(28)} ${v.help}${v.default !== undefined ? ` (default ${v.default})` : ""}`)
    .join("\n");
}

/** `bakerst --help`: the commands, then every setting: the kernel's and each area's. */
export function helpText(areas: readonly ConfigSchema[] = []): string {
  const sections = areas
    .filter((a) => a.keys && Object.keys(a.keys).length)
    .map((a) => `Settings of the ${a.name} area:\n${keyLines(a.keys!)}`)
    .join("\n\n");
  return `bakerst ${VERSION}: a self-hosted personal AI agent

Usage: bakerst [command] [options]

Commands:
  serve              run the agent, API and web UI (default)
  doctor             check config, data dir, database, models, and what each area talks to
  token              print the API token
  token --rotate     replace the token with a new one (logs every browser out)
  pair list          chats paired with the bot, and chats waiting for approval
  pair approve CODE  let the chat that was given CODE talk to the agent
  pair revoke ID     end a chat's pairing (ID from pair list)
  nats init          write a nats-server config with one identity per role, and
                     their credentials (bakerst nats --help for its options)
  backup FILE        copy the database while bakerst runs (--into DIR --keep N
                     for rotated backups)
  restore FILE       put a backup in place (refused while bakerst runs here)
  login-link         a one-time link into the console, from the running server
  ready              exit 0 when the bakerst serving here is ready (a probe
                     that needs no token)
  upgrade NEW_BINARY hand over to a new binary on the same port and data
                     without dropping a request; rolls back if it is unhealthy
  task run --script CMD [--mount PATH[:rw]] [--timeout 60s] [--server URL] [--json]
                     run a script task in the sandbox, its output streamed here;
                     exits with its exit code (bakerst task --help for the rest)
  task approve ID    approve a task waiting for a writable mount or network
  skill approve ID   approve what a proposed skill would run (shown first); skill list
  mcp --stdio [--url URL]
                     bakerst's MCP tools on stdin/stdout for a local client,
                     relayed to the running bakerst's /mcp with the API token
  companion add|remove NAME
                     pair a companion (prints its one install command) or revoke it

Options:
  -h, --help         show this help
  -v, --version      print the version

Configuration comes from the environment, then from bakerst.json or
bakerst.yaml in the data dir (same names as keys). FEATURE_<NAME>=true|false
toggles features.

Settings:
${keyLines(KEYS)}

${sections}
`;
}
