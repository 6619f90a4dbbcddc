import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config/index.ts";
import { controlFetch, runningServers } from "../upgrade/control.ts";
import type { UpgradeEvent } from "../upgrade/lifecycle.ts";

export const UPGRADE_HELP = `Usage: bakerst upgrade NEW_BINARY [--window SECONDS]

Replaces the bakerst running on this data dir with NEW_BINARY without
dropping a request. The running one starts NEW_BINARY with its own settings
on the same port (SO_REUSEPORT) and data; the new one migrates, checks its
health and starts listening; the old one stops taking connections, lets its
running turns finish, and hands over. If the new one is not healthy and
listening within the window (default 20 s), or exits, the old one carries on.

Exit status: 0 upgraded, 1 rolled back, 2 nothing to upgrade or a bad file.
`;

type Out = (s: string) => void;

function describe(e: UpgradeEvent): string {
  switch (e.event) {
    case "started":
      return `started ${e.binary} (bakerst ${e.version}) as pid ${e.pid}`;
    case "ready":
      return `the new core ${e.instance} is healthy and listening`;
    case "draining":
      return `the old core is handing its connections over; waiting for ${e.turns} running turn${e.turns === 1 ? "" : "s"}`;
    case "upgraded":
      return `upgraded to bakerst ${e.version} in ${(e.ms / 1000).toFixed(1)} s`;
    case "rolled-back":
      return `rolled back after ${(e.ms / 1000).toFixed(1)} s: ${e.reason}; the old core carries on`;
  }
}

/** `bakerst upgrade NEW_BINARY`: asks the running core to hand over; returns the exit code. */
export async function upgradeCommand(config: Config, args: string[], out: Out, err: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { window: { type: "string" }, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (e) {
    err(`bakerst upgrade: ${(e as Error).message}\n\n${UPGRADE_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) return (out(UPGRADE_HELP), 0);
  if (positionals.length !== 1) return (err(`bakerst upgrade: give the new binary\n\n${UPGRADE_HELP}`), 2);
  const seconds = values.window === undefined ? undefined : Number(values.window);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds >= 1 && seconds <= 600))
    return (err(`bakerst upgrade: --window must be 1 to 600 seconds, got ${JSON.stringify(values.window)}\n`), 2);
  const active = (await runningServers(config.dataDir)).filter((s) => s.state === "active");
  if (active.length !== 1) {
    err(
      active.length
        ? `bakerst upgrade: ${active.length} cores claim to be active on ${config.dataDir}; stop all but one first\n`
        : `bakerst upgrade: no bakerst is running on ${config.dataDir}; start the new binary with bakerst serve instead\n`,
    );
    return 2;
  }
  const res = await controlFetch(active[0]!.socket, "/upgrade", {
    method: "POST",
    body: { binary: resolve(positionals[0]!), ...(seconds !== undefined ? { windowMs: Math.round(seconds * 1000) } : {}) },
    // The old core's drain may take minutes; every step has its own deadline there.
    timeoutMs: 3_600_000,
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    err(`bakerst upgrade: ${body.error?.message ?? `the running core answered ${res.status}`}\n`);
    return 2;
  }
  let last: UpgradeEvent | undefined;
  let buffer = "";
  const dec = new TextDecoder();
  for await (const chunk of res.body!) {
    buffer += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      last = JSON.parse(line) as UpgradeEvent;
      out(`${describe(last)}\n`);
    }
  }
  if (last?.event === "upgraded") return 0;
  if (last?.event !== "rolled-back") err("bakerst upgrade: the running core stopped answering before the upgrade ended; check its log\n");
  return 1;
}
