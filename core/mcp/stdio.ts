import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { isJSONRPCRequest, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { TOKEN_FILE } from "../auth/token.ts";
import type { Config } from "../config/index.ts";
import { runningServers } from "../upgrade/control.ts";

const USAGE = `bakerst mcp --stdio [--url URL]

Serves bakerst's MCP tools on stdin/stdout for a client that starts a command
(Claude Desktop, Claude Code, editors). It relays to the running bakerst's
/mcp with the API token: the running core does the work, so its budget,
queue, redaction and audit apply, and nothing opens the database twice.

  --url URL   the bakerst to talk to (default: the one running on BAKERST_DATA_DIR)
`;

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** The API token the running core checks: AUTH_TOKEN, or the one its first start wrote into the data dir. */
function tokenFor(config: Config): string | undefined {
  if (config.authToken) return config.authToken;
  const path = join(config.dataDir, TOKEN_FILE);
  return existsSync(path) ? readFileSync(path, "utf8").trim() || undefined : undefined;
}

async function coreUrl(config: Config, given: string | undefined): Promise<string | undefined> {
  if (given) return given;
  const active = (await runningServers(config.dataDir)).find((s) => s.state === "active" && s.port > 0);
  if (!active) return undefined;
  const host = !active.host || active.host === "0.0.0.0" || active.host === "::" ? "127.0.0.1" : active.host.includes(":") ? `[${active.host}]` : active.host;
  return `http://${host}:${active.port}`;
}

/**
 * `bakerst mcp --stdio`: a relay between a stdio MCP client and the running
 * core's /mcp. Messages pass through as they are (the SDK's two transports,
 * no second server), so the tools, their schemas and their errors are the
 * core's; a request the core cannot be reached for is answered with an error
 * instead of leaving the client waiting.
 */
export async function mcpCommand(config: Config, argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { stdio: { type: "boolean" }, url: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: false });
  if (values.help) return (io.stdout(USAGE), 0);
  if (!values.stdio) return (io.stderr(`bakerst mcp: say --stdio (the only transport; HTTP clients use /mcp on the server)\n\n${USAGE}`), 2);
  const token = tokenFor(config);
  if (!token) return (io.stderr(`bakerst mcp: no API token: set AUTH_TOKEN, or start bakerst once so it writes one into ${config.dataDir}\n`), 1);
  const base = await coreUrl(config, typeof values.url === "string" ? values.url : undefined);
  if (!base) return (io.stderr(`bakerst mcp: no bakerst is running on ${config.dataDir}; start it (bakerst serve), or pass --url\n`), 1);
  if (!URL.canParse(base)) return (io.stderr(`bakerst mcp: --url ${JSON.stringify(base)} is not a URL\n`), 2);

  const upstream = new StreamableHTTPClientTransport(new URL("/mcp", base), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const local = new StdioServerTransport();
  const done = new Promise<number>((resolve) => {
    local.onclose = () => void upstream.close().finally(() => resolve(0));
  });
  const fail = (message: JSONRPCMessage, err: unknown) => {
    const why = (err as Error)?.message ?? String(err);
    io.stderr(`bakerst mcp: ${base}/mcp: ${why}\n`);
    if (isJSONRPCRequest(message))
      void local.send({ jsonrpc: "2.0", id: message.id, error: { code: -32603, message: `bakerst at ${base} could not be reached or refused the call: ${why}` } });
  };
  local.onmessage = (message) => void upstream.send(message).catch((err) => fail(message, err));
  upstream.onmessage = (message) => void local.send(message);
  upstream.onerror = (err) => io.stderr(`bakerst mcp: ${err.message}\n`);
  await upstream.start();
  await local.start();
  // The SDK's stdio server does not end when its client goes: without this the relay outlives a closed client, polling a stdin at its end.
  const hangUp = () => void local.close();
  process.stdin.once("end", hangUp);
  process.stdin.once("close", hangUp);
  return done;
}
