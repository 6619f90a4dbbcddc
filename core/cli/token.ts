import { openStore } from "../db/client.ts";
import { SessionStore } from "../auth/sessions.ts";
import { resolveToken, rotateToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";

export function tokenCommand(config: Config, args: string[], out: (s: string) => void): number {
  if (args.includes("--rotate")) {
    if (config.authToken) {
      out("AUTH_TOKEN is set in the environment or config file; change it there to rotate.\n");
      return 1;
    }
    const token = rotateToken(config.dataDir);
    const store = openStore(config.dataDir);
    new SessionStore(store.db).revokeAll();
    store.close();
    out(`${token}\n`);
    out("The old token no longer works and every browser session was ended. A running bakerst picks up the new token within a second.\n");
    return 0;
  }
  const t = resolveToken(config.dataDir, config.authToken);
  out(`${t.token}\n`);
  return 0;
}
