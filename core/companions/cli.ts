/**
 * `bakerst companion add|remove NAME`: asks the running server (this
 * machine's on PORT, or --server URL), which holds the list, the NATS
 * identities and the signing key. `add` prints the one command that installs
 * the companion; the bundle in it holds the companion's secret seed, so it is
 * shown once and never logged.
 */
import { parseArgs } from "node:util";
import { resolveToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";

export const COMPANION_HELP = `Usage: bakerst companion add NAME [--server URL] [--token TOKEN] [--json]
       bakerst companion remove NAME [--server URL] [--token TOKEN]
       bakerst companion list [--server URL] [--token TOKEN]

add:    pairs a companion (a NAS, a VM, a Raspberry Pi): a NATS identity allowed only
        its own subjects, and an enrollment bundle, printed as the one command to run
        on that machine beside companion/install.sh and the bakerst-satellite binary.
remove: revokes it: its identity leaves the NATS config, its waiting tasks are dropped
        and anything it still sends is refused.
`;

export async function companionCommand(args: string[], loadConfig: () => Config, out: { stdout(s: string): void; stderr(s: string): void }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { server: { type: "string" }, token: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    out.stderr(`bakerst companion: ${(e as Error).message}\n\n${COMPANION_HELP}`);
    return 2;
  }
  const [sub, name] = parsed.positionals;
  if (parsed.values.help || !sub) {
    out.stdout(COMPANION_HELP);
    return 0;
  }
  if (!["add", "remove", "list"].includes(sub) || (sub !== "list" && !name)) {
    out.stderr(
      `bakerst companion: ${sub !== "list" && ["add", "remove"].includes(sub) ? `${sub} needs a NAME` : `unknown subcommand ${JSON.stringify(sub)}`}\n\n${COMPANION_HELP}`,
    );
    return 2;
  }
  const config = loadConfig();
  const server = (parsed.values.server ?? `http://127.0.0.1:${config.port}`).replace(/\/$/, "");
  const token = parsed.values.token ?? resolveToken(config.dataDir, config.authToken).token;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const req =
    sub === "add"
      ? fetch(`${server}/api/companions`, { method: "POST", headers, body: JSON.stringify({ name }) })
      : sub === "remove"
        ? fetch(`${server}/api/companions/${encodeURIComponent(name!)}`, { method: "DELETE", headers })
        : fetch(`${server}/api/companions`, { headers });
  const res = await req.catch((e: Error) => e);
  if (res instanceof Error) {
    out.stderr(`bakerst companion ${sub}: cannot reach ${server} (${res.message}); is bakerst running there? (--server URL)\n`);
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown> & { error?: { message: string } };
  if (!res.ok) {
    out.stderr(`bakerst companion ${sub}: ${body.error?.message ?? `HTTP ${res.status}`}\n`);
    return 1;
  }
  if (parsed.values.json) {
    out.stdout(`${JSON.stringify(body)}\n`);
    return 0;
  }
  if (sub === "add") {
    out.stdout(
      `Paired ${name}. On that machine, beside companion/install.sh and the bakerst-satellite binary, run:\n\n  ${body.installCommand as string}\n\n` +
        "The bundle holds the companion's secret key: keep it off chats and tickets. It works once per pairing; bakerst companion remove revokes it.\n",
    );
  } else if (sub === "remove") out.stdout(`Revoked ${name}: its messages are refused from now on.\n`);
  else
    for (const c of (body.companions ?? []) as { id: string; status: string; lastSeenAt: number | null; hostname: string | null }[])
      out.stdout(`${c.id}\t${c.status}\t${c.hostname ?? "-"}\t${c.lastSeenAt ? new Date(c.lastSeenAt).toISOString() : "never"}\n`);
  return 0;
}
