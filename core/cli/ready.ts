import { hostname } from "node:os";
import type { Config } from "../config/index.ts";
import { controlFetch, runningServers } from "../upgrade/control.ts";

/**
 * `bakerst ready`: exit 0 when the bakerst serving on this machine (pod)
 * from this data dir is ready, else 1. Kubernetes' readiness probe: it asks
 * /readyz over the control socket, so the probe needs no API token.
 */
export async function readyCommand(config: Config, out: (s: string) => void): Promise<number> {
  const here = (await runningServers(config.dataDir)).filter((s) => s.hostname === hostname());
  if (!here.length) return (out(`no bakerst is running on ${hostname()} with ${config.dataDir}\n`), 1);
  for (const s of here) {
    const res = await controlFetch(s.socket, "/readyz").catch(() => undefined);
    if (res?.status === 200) return (out("ready\n"), 0);
  }
  out(`not ready (${here.map((s) => s.state).join(", ")})\n`);
  return 1;
}
