import { KEYS } from "../config/keys.ts";
import { VERSION } from "../version.ts";

export function helpText(): string {
  const keys = Object.entries(KEYS)
    .map(([k, v]) => `  ${k.padEnd(28)} ${v.help}${"default" in v ? ` (default ${v.default})` : ""}`)
    .join("\n");
  return `bakerst ${VERSION}: a self-hosted personal AI agent

Usage: bakerst [command] [options]

Commands:
  serve              run the agent, API and web UI (default)
  doctor             check config, data dir, database and model reachability
  token              print the API token
  token --rotate     replace the token with a new one (logs every browser out)
  nats init          write a nats-server config with one identity per role, and
                     their credentials (bakerst nats --help for its options)

Options:
  -h, --help         show this help
  -v, --version      print the version

Configuration comes from the environment, then from bakerst.json or
bakerst.yaml in the data dir (same names as keys). FEATURE_<NAME>=true|false
toggles features.

${keys}
`;
}
