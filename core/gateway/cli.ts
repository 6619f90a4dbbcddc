import { AuditLog } from "../audit/service.ts";
import type { Config } from "../config/index.ts";
import { openStore } from "../db/client.ts";
import { AppError } from "../errors.ts";
import { gatewayKeys } from "./keys.ts";
import { Outbox } from "./outbox.ts";
import { Pairings, type PairingView } from "./pairing.ts";

export const PAIR_USAGE = `Usage: bakerst pair list
       bakerst pair approve CODE     approve the chat that was given CODE (ABCD-2345)
       bakerst pair revoke ID        end a pairing (or turn down a waiting chat); ID from pair list
`;

const line = (p: PairingView) => `${p.id}  ${p.status.padEnd(8)} ${p.platform.padEnd(9)} ${p.kind.padEnd(8)} ${p.title}${p.notify ? "  (notifications)" : ""}`;

/**
 * `bakerst pair ...`: works beside a running server (or without one) on the
 * same database; a running server sends the "paired" message from its outbox
 * within a second.
 */
export function pairCommand(config: Config, args: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [verb, arg] = args;
  if (!verb || verb === "help" || (verb !== "list" && !arg)) {
    (verb && verb !== "help" ? err : out)(PAIR_USAGE);
    return verb && verb !== "help" ? 2 : 0;
  }
  const store = openStore(config.dataDir);
  const audit = new AuditLog(store.db, { secrets: () => config.secrets() });
  try {
    const outbox = new Outbox(store.db, { retryMinMs: config.read(gatewayKeys).GATEWAY_RETRY_MIN_MS });
    const pairings = new Pairings(store.db, { outbox, audit, maxPending: config.read(gatewayKeys).GATEWAY_MAX_PENDING_PAIRINGS });
    switch (verb) {
      case "list": {
        const { paired, pending } = pairings.list();
        out(paired.length || pending.length ? `${[...paired, ...pending].map(line).join("\n")}\n` : "No paired chats and no chat waiting.\n");
        return 0;
      }
      case "approve": {
        const p = pairings.approve(arg!, { actor: "cli" });
        out(`Paired ${p.platform} ${p.kind} ${p.title}. It is told so now (by the running server, or at its next start).\n`);
        return 0;
      }
      case "revoke": {
        const p = pairings.revoke(arg!, { actor: "cli" });
        out(`Revoked ${p.platform} ${p.kind} ${p.title}.\n`);
        return 0;
      }
      default:
        err(`bakerst pair: unknown action ${JSON.stringify(verb)}\n\n${PAIR_USAGE}`);
        return 2;
    }
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    err(`bakerst pair ${verb}: ${e.message}\n`);
    return 1;
  } finally {
    audit.close();
    store.close();
  }
}
