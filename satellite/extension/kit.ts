/**
 * For extension authors: serve an MCP server over Streamable HTTP, announce it
 * on `bakerst.extensions.announce` (its URL and tools) and beat every 30 s,
 * each message signed with the extension's nkey (the seed `bakerst nats init
 * --extension ID` writes, also its NATS identity). The core trusts the
 * matching public key in EXTENSION_KEYS; its tools appear at once and go when
 * the beats stop. See deploy/extensions/example/.
 *
 *     const ext = await startExtension({ id: "weather", seed, natsUrl, server: () => buildMyServer(), publicUrl: "http://weather.bakerst.svc:8080/mcp" });
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { connect, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node";
import { Signer, subjects } from "../../core/protocol/index.ts";

export const HEARTBEAT_MS = 30_000;

export interface ExtensionOptions {
  /** Its id: lower-case, as in EXTENSION_KEYS and its NATS identity. */
  id: string;
  /** Its nkey seed (SU...). */
  seed: string;
  natsUrl: string;
  /** Makes a fresh MCP server (one per HTTP request: the transport is stateless). */
  server: () => McpServer;
  /** Where it listens (default 0.0.0.0:8080). */
  listen?: { hostname?: string; port?: number };
  /** The URL the core reaches it at; default http://<hostname>:<port>/mcp. */
  publicUrl?: string;
  description?: string;
  /** Header the core must send (a shared bearer), checked on every request. */
  bearer?: string;
  heartbeatMs?: number;
}

export interface RunningExtension {
  url: string;
  /** Announces again (after its tools changed). */
  announce(): Promise<void>;
  stop(): Promise<void>;
}

/** The tools a server lists, asked in memory. */
async function toolsOf(make: () => McpServer) {
  const [a, b] = InMemoryTransport.createLinkedPair();
  const server = make();
  await server.connect(a);
  const client = new Client({ name: "extension-kit", version: "1" });
  await client.connect(b);
  const { tools } = await client.listTools();
  await client.close();
  await server.close();
  return tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), inputSchema: t.inputSchema }));
}

export async function startExtension(o: ExtensionOptions): Promise<RunningExtension> {
  const signer = new Signer(o.seed);
  const http = Bun.serve({
    hostname: o.listen?.hostname ?? "0.0.0.0",
    port: o.listen?.port ?? 8080,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/mcp") return new Response("not found", { status: 404 });
      if (o.bearer && req.headers.get("authorization") !== `Bearer ${o.bearer}`) return new Response("unauthorized", { status: 401 });
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await o.server().connect(transport);
      return transport.handleRequest(req);
    },
  });
  const url = o.publicUrl ?? `http://${http.hostname}:${http.port}/mcp`;
  const nc: NatsConnection = await connect({ servers: o.natsUrl, authenticator: nkeyAuthenticator(new TextEncoder().encode(o.seed.trim())), name: `extension-${o.id}` });
  const announce = async () => {
    const body = { v: 1, id: o.id, url, ...(o.description ? { description: o.description } : {}), tools: await toolsOf(o.server) };
    nc.publish(subjects.extensionAnnounce(), signer.sealBytes(subjects.extensionAnnounce(), body));
    await nc.flush();
  };
  // The announce goes out again with each beat: a core that started after this extension learns of it within one period.
  const beat = () => {
    const subject = subjects.extensionHeartbeat(o.id);
    nc.publish(subject, signer.sealBytes(subject, { v: 1, id: o.id }));
    void announce().catch(() => undefined);
  };
  await announce();
  const timer = setInterval(beat, o.heartbeatMs ?? HEARTBEAT_MS);
  return {
    url,
    announce,
    async stop() {
      clearInterval(timer);
      await nc.drain().catch(() => undefined);
      http.stop(true);
    },
  };
}
