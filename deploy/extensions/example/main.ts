/**
 * An example extension: a tiny MCP server in its own pod that announces
 * itself to bakerst over NATS. Its identity: `bakerst nats init --extension
 * dice` writes creds/extension-dice.nk (the seed, mounted from a Secret) and
 * prints its public key, which the core trusts with EXTENSION_KEYS=dice=U....
 */
import { readFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { startExtension } from "../../../satellite/extension/kit.ts";

const env = (name: string, fallback?: string) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

function dice() {
  const server = new McpServer({ name: "dice", version: "1.0.0" });
  server.registerTool(
    "roll",
    { description: "Roll dice, e.g. 2 dice with 6 sides", inputSchema: { count: z.number().int().min(1).max(20), sides: z.number().int().min(2).max(1000) } },
    async ({ count, sides }) => {
      const rolls = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * sides));
      return { content: [{ type: "text", text: `${rolls.join(" + ")} = ${rolls.reduce((a, b) => a + b, 0)}` }] };
    },
  );
  return server;
}

const ext = await startExtension({
  id: "dice",
  seed: readFileSync(env("EXTENSION_SEED_FILE", "/var/run/bakerst/extension.nk"), "utf8"),
  natsUrl: env("NATS_URL"),
  server: dice,
  listen: { port: Number(env("PORT", "8080")) },
  publicUrl: env("EXTENSION_URL", "http://bakerst-ext-dice.bakerst.svc:8080/mcp"),
  description: "Rolls dice",
});
console.log(JSON.stringify({ msg: "extension announced", url: ext.url }));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void ext.stop().then(() => process.exit(0)));
