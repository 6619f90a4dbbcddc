/** `bakerst skill approve ID` (and `list`): the owner's yes, against the server on this machine (PORT) or --server URL. */
import { parseArgs } from "node:util";
import { resolveToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";

export const SKILL_HELP = `Usage: bakerst skill list [--server URL] [--token TOKEN]
       bakerst skill approve ID|NAME [--server URL] [--token TOKEN]

list: every skill with its tier and status.
approve: approve exactly what a pending skill would run (shown first).
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

export async function skillCommand(args: string[], loadConfig: () => Config, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "approve" && sub !== "list") {
    const help = sub === undefined || sub === "--help" || sub === "-h";
    (help ? out.stdout : out.stderr)(SKILL_HELP);
    return help ? 0 : 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { server: { type: "string" }, token: { type: "string" } }, allowPositionals: true, strict: true });
  } catch (e) {
    out.stderr(`bakerst skill ${sub}: ${(e as Error).message}\n\n${SKILL_HELP}`);
    return 2;
  }
  const config = loadConfig();
  const server = (parsed.values.server ?? `http://127.0.0.1:${config.port}`).replace(/\/$/, "");
  const headers = { authorization: `Bearer ${parsed.values.token ?? resolveToken(config.dataDir, config.authToken).token}`, "content-type": "application/json" };
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${server}${path}`, { ...init, headers }).catch((e: Error) => e);
    if (res instanceof Error) throw new Error(`cannot reach ${server} (${res.message}); is bakerst running there? (--server URL)`);
    // biome-ignore lint/suspicious/noExplicitAny: the server's JSON, read field by field below
    const body = (await res.json().catch(() => ({}))) as any;
    if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    return body;
  };
  try {
    if (sub === "list") {
      const { skills } = await call("/api/skills");
      for (const s of skills) out.stdout(`${s.id}  ${s.name}  tier ${s.tier}  ${s.status}${s.enabled ? "" : " (disabled)"}  ${s.tools.length} tools\n`);
      return 0;
    }
    const id = parsed.positionals[0];
    if (!id) {
      out.stderr(`bakerst skill approve: which skill? give its id or name\n\n${SKILL_HELP}`);
      return 2;
    }
    const skill = await call(`/api/skills/${encodeURIComponent(id)}`);
    const w = skill.wouldRun;
    out.stdout(
      `${[
        `${skill.name} (tier ${skill.tier}, ${skill.source}): ${skill.description}`,
        w.command ? `  runs: ${w.command.map((a: string) => JSON.stringify(a)).join(" ")}` : "",
        w.package ? `  package: ${w.package.registry} ${w.package.name}@${w.package.version}` : "",
        w.url ? `  url: ${w.url}` : "",
        w.env ? `  env: ${w.env.join(", ")}` : "",
        w.secrets ? `  secrets: ${w.secrets.join(", ")}` : "",
        `  network: ${w.network === "none" ? "none" : w.network.join(", ")}`,
        w.paths.length ? `  paths: ${w.paths.map((p: { path: string; writable: boolean }) => `${p.path}${p.writable ? " (writable)" : ""}`).join(", ")}` : "",
        `  hash: ${w.hash}`,
      ]
        .filter(Boolean)
        .join("\n")}\n`,
    );
    const approved = await call(`/api/skills/${encodeURIComponent(skill.id)}/approve`, { method: "POST", body: JSON.stringify({ hash: w.hash }) });
    out.stdout(`approved ${approved.name}\n`);
    return 0;
  } catch (e) {
    out.stderr(`bakerst skill ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}
