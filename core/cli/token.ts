import { AuditLog } from "../audit/service.ts";
import { SessionStore } from "../auth/sessions.ts";
import { resolveToken, rotateToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";
import { openStore } from "../db/client.ts";

/** `bakerst token --rotate` runs beside (or without) the server, so it writes its audit row into the store itself. */
function withAudit(config: Config, secrets: string[], fn: (store: ReturnType<typeof openStore>, audit: AuditLog) => void): void {
  const store = openStore(config.dataDir);
  const audit = new AuditLog(store.db, { secrets: () => [...config.secrets(), ...secrets] });
  try {
    fn(store, audit);
  } finally {
    audit.close();
    store.close();
  }
}

export function tokenCommand(config: Config, args: string[], out: (s: string) => void): number {
  if (args.includes("--rotate")) {
    if (config.authToken) {
      withAudit(config, [], (_, audit) => audit.record({ action: "auth.token_rotated", outcome: "refused", actor: "cli", detail: { reason: "AUTH_TOKEN is set" } }));
      out("AUTH_TOKEN is set in the environment or config file; change it there to rotate.\n");
      return 1;
    }
    const token = rotateToken(config.dataDir);
    withAudit(config, [token], (store, audit) => {
      new SessionStore(store.db).revokeAll();
      audit.record({ action: "auth.token_rotated", outcome: "ok", actor: "cli" });
    });
    out(`${token}\n`);
    out("The old token no longer works and every browser session was ended. A running bakerst picks up the new token within a second.\n");
    return 0;
  }
  const t = resolveToken(config.dataDir, config.authToken);
  out(`${t.token}\n`);
  return 0;
}
