import { defineKeys } from "../config/keys.ts";

/** How a core hands over to a new one (docs/deploy.md, Upgrades). */
export const upgradeKeys = defineKeys({
  UPGRADE_TAKEOVER: {
    kind: "bool",
    default: "false",
    help: "take over from the core already running on this data dir or NATS (blue-green: start, get healthy, take the traffic, let it drain); false refuses to start beside it. bakerst upgrade and deploy/ set it",
  },
  UPGRADE_WINDOW_MS: {
    kind: "int",
    min: 1_000,
    max: 600_000,
    default: "20000",
    help: "how long a new core has to be healthy and listening; past it the handoff aborts and the old core carries on",
  },
  UPGRADE_DRAIN_MS: {
    kind: "int",
    min: 0,
    max: 3_600_000,
    default: "300000",
    help: "how long the old core waits for its running turns before it hands over anyway (they are marked interrupted)",
  },
});
