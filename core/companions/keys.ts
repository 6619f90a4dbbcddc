import { defineKeys, type KeyValues } from "../config/keys.ts";

/** The companions area's settings. */
export const companionsKeys = defineKeys({
  COMPANION_OFFLINE_MS: { kind: "int", min: 100, max: 86_400_000, default: "90000", help: "a companion with no heartbeat for this long is shown offline (it beats every 30 s)" },
  COMPANION_TASK_WAIT_MS: {
    kind: "int",
    min: 1000,
    max: 7 * 86_400_000,
    default: "3600000",
    help: "how long a task sent to a companion waits in its queue while the companion is away; past it the task is dropped from the queue and fails",
  },
  COMPANION_NATS_DIR: { kind: "path", help: "where bakerst nats init wrote the server config and creds (default: the directory above NATS_CREDS's creds/, else <data dir>/nats)" },
  COMPANION_NATS_URL: {
    kind: "string",
    help: "the NATS URL a companion is given in its enrollment bundle (default NATS_URL); a companion elsewhere on the network needs the address it can reach",
  },
  COMPANION_BINARY: { kind: "path", help: "the bakerst-satellite binary companions install; its sha256 goes in the bundle (default: beside bakerst, else dist/bakerst-satellite)" },
});

export type CompanionsSettings = KeyValues<typeof companionsKeys>;
