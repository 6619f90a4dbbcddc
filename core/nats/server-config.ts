/**
 * The nats-server configuration `bakerst nats init` writes: where it
 * listens, where JetStream keeps its files, and one nkey user per identity
 * with the permissions of its role (core/protocol/permissions.ts). There is
 * no `no_auth_user`, so a client without credentials is refused.
 */
import { identityName, type NatsIdentity, permissionsFor } from "../protocol/permissions.ts";

export interface ServerSettings {
  /** `HOST:PORT`. */
  listen: string;
  storeDir: string;
  /** Where the server writes its pid, so a later `nats init` can make it reload. */
  pidFile: string;
}

export interface ServerUser {
  identity: NatsIdentity;
  /** The nkey public key (`U...`). */
  publicKey: string;
}

const q = (s: string) => JSON.stringify(s);
const list = (xs: string[]) => `[${xs.map(q).join(", ")}]`;

export function renderServerConfig(settings: ServerSettings, users: ServerUser[], version: string): string {
  const entries = users.map(({ identity, publicKey }) => {
    const p = permissionsFor(identity);
    return [
      `    # ${identityName(identity)}`,
      "    {",
      `      nkey: ${q(publicKey)}`,
      "      permissions: {",
      `        publish: { allow: ${list(p.publish)} }`,
      `        subscribe: { allow: ${list(p.subscribe)} }`,
      ...(p.allowResponses ? ["        allow_responses: true"] : []),
      "      }",
      "    }",
    ].join("\n");
  });
  return `# nats-server configuration written by \`bakerst nats init\` (bakerst ${version}).
# Run it again to add identities (--companion NAME, --extension NAME); existing ones are kept.
# A client without credentials is refused: there is no no_auth_user.
listen: ${q(settings.listen)}
pid_file: ${q(settings.pidFile)}
jetstream {
  store_dir: ${q(settings.storeDir)}
}
authorization {
  users = [
${entries.join("\n")}
  ]
}
`;
}

/** The settings of a config this module wrote, to keep them when it is written again. */
export function readServerSettings(text: string): Partial<ServerSettings> {
  const value = (key: string) => {
    const m = new RegExp(`^\\s*${key}: ("(?:[^"\\\\]|\\\\.)*")\\s*$`, "m").exec(text);
    return m ? (JSON.parse(m[1]!) as string) : undefined;
  };
  const out: Partial<ServerSettings> = {};
  const listen = value("listen");
  const storeDir = value("store_dir");
  const pidFile = value("pid_file");
  if (listen) out.listen = listen;
  if (storeDir) out.storeDir = storeDir;
  if (pidFile) out.pidFile = pidFile;
  return out;
}
