import type { Config } from "../config/index.ts";
import { controlFetch, runningServers } from "../upgrade/control.ts";

/**
 * `bakerst login-link`: a one-time link into the console (15 minutes, once),
 * issued by the running server over its control socket, so only the owner's
 * user on that machine (or `kubectl exec` into its pod) can ask for one.
 */
export async function loginLinkCommand(config: Config, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const active = (await runningServers(config.dataDir)).find((s) => s.state === "active");
  if (!active) return (err(`bakerst login-link: no bakerst is running on ${config.dataDir}\n`), 1);
  const res = await controlFetch(active.socket, "/login-link", { method: "POST" });
  if (!res.ok) return (err(`bakerst login-link: the server answered ${res.status}\n`), 1);
  out(`${((await res.json()) as { url: string }).url}\n`);
  return 0;
}
