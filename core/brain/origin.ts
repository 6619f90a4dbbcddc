/**
 * Where a turn came from. Chat origins are someone talking to the agent now; the rest runs unattended.
 * `mcp` is another program (an MCP client) asking through bakerst's MCP server: it may loop on its own, so it bills as background.
 */
export const TURN_ORIGINS = ["web", "api", "telegram", "discord", "schedule", "job", "task", "mcp"] as const;
export type TurnOrigin = (typeof TURN_ORIGINS)[number];

const BACKGROUND: ReadonlySet<TurnOrigin> = new Set(["schedule", "job", "task", "mcp"]);

/**
 * What a turn bills to. Chat turns always run (past the daily budget they get
 * a notice); background turns are refused past it and the owner is told.
 */
export function billing(origin: TurnOrigin): { role: "agent"; bills: "chat" | "background" } {
  return { role: "agent", bills: BACKGROUND.has(origin) ? "background" : "chat" };
}

export const isTurnOrigin = (v: unknown): v is TurnOrigin => typeof v === "string" && (TURN_ORIGINS as readonly string[]).includes(v);
