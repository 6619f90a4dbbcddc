/**
 * How a skill's server is reached. Tier 1: the program runs inside the
 * bubblewrap sandbox tasks use (own PID and network namespaces, no network,
 * only the skill's paths, an unprivileged user, limits, a clean environment
 * with only its own values and the secrets it names), spoken to over its
 * stdio. Tier 2: Streamable HTTP, or the older SSE transport for a server
 * that only has that, with its headers and bearer token.
 */

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type EgressEvent, parseAllowlist, type RunnerCommand, type Sandbox, type SandboxProfile, SYSTEM_PATH, startEgressProxy } from "../../jobs/edge.ts";
import type { SkillSpec } from "../spec.ts";
import type { Opened } from "./connection.ts";

/** A long-lived server's limits: room for a Node or Bun program, CPU seconds for a day of use. */
/** Longest a server may take to start and answer initialize, whatever its per-call timeout (a Node or Bun server takes a few hundred ms). */
export const START_TIMEOUT_MS = 30_000;
const startTimeout = (callTimeoutMs: number) => Math.max(callTimeoutMs, START_TIMEOUT_MS);

export const SKILL_LIMITS = { cpuSeconds: 86_400, memoryMiB: 2048, fileSizeMiB: 64, processes: 64, openFiles: 1024 } as const;

export interface StdioLaunch {
  sandbox: Sandbox;
  spec: SkillSpec;
  /** The skill's paths, checked and resolved (paths.ts). */
  mounts: { source: string; target: string; writable: boolean }[];
  /** The values of the secrets it names. */
  secrets: Record<string, string>;
  maxMessageBytes: number;
  timeoutMs: number;
  /** With a network allowlist: how the satellite's bridge starts inside (it runs the server behind the egress proxy), or why it cannot. */
  bridge?: RunnerCommand | { problem: string; fix: string };
  /** Every connection the egress proxy let through or refused. */
  onEgress?(e: EgressEvent): void;
}

/** Where the egress proxy's socket appears inside, and where each skill's private socket directory is made. */
const EGRESS_INSIDE = "/run/bakerst/egress.sock";
const RUN_DIR = join(tmpdir(), `bakerst-skills-${process.pid}`);

/**
 * With hosts, the server's only way out is the same egress proxy tasks use:
 * a unix socket bound in, reached through the satellite's bridge (which runs
 * the server with HTTP(S)_PROXY at it). Without, it has no network at all.
 */
async function egressFor(l: StdioLaunch, command: string[], env: Record<string, string>, profile: SandboxProfile) {
  if (l.spec.network === undefined || l.spec.network === "none") return { command, cleanup: undefined };
  const bridge = l.bridge;
  if (!bridge || "problem" in bridge)
    throw new Error(`${l.spec.name} needs the network bridge, which cannot start here: ${bridge && "problem" in bridge ? `${bridge.problem} (${bridge.fix})` : "no runner"}`);
  mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(RUN_DIR, `${l.spec.name}-`));
  const proxy = await startEgressProxy({ listen: { socket: join(dir, "egress.sock") }, allow: parseAllowlist(l.spec.network), onEvent: (e) => l.onEgress?.(e) });
  profile.mounts = [...(profile.mounts ?? []), ...bridge.files.map((f) => ({ ...f, writable: false }))];
  profile.sockets = [{ source: proxy.address, target: EGRESS_INSIDE }];
  Object.assign(env, bridge.env, { TASK_EGRESS_SOCKET: EGRESS_INSIDE });
  const cleanup = () => void proxy.close().finally(() => rmSync(dir, { recursive: true, force: true }));
  return { command: [...bridge.argv, "--mode", "bridge", "--", ...command], cleanup };
}

export function stdioOpener(l: StdioLaunch) {
  return async (newClient: () => Client): Promise<Opened> => {
    const profile: SandboxProfile = { mounts: l.mounts, limits: SKILL_LIMITS };
    // Only what the skill declared: no variable of bakerst's own reaches the server.
    const env: Record<string, string> = { PATH: SYSTEM_PATH, LANG: "C.UTF-8", HOME: "/tmp", ...l.spec.env, ...l.secrets };
    const { command, cleanup } = await egressFor(l, l.spec.command!, env, profile);
    // Loaded with the first server (the SDK's stdio helpers bring its zod schemas).
    const { SandboxedStdioTransport } = await import("./stdio.ts");
    const transport = new SandboxedStdioTransport(() => l.sandbox.spawn(command, profile, env, { stdin: "pipe" }), l.maxMessageBytes, cleanup);
    const client = newClient();
    try {
      await client.connect(transport, { timeout: startTimeout(l.timeoutMs) });
    } catch (err) {
      await transport.close().catch(() => undefined);
      const why = transport.stopReason ?? transport.stderrTail.trim().split("\n").pop()?.slice(0, 300);
      throw new Error(`${(err as Error).message}${why ? ` (${why})` : ""}`);
    }
    return { client, transport };
  };
}

export interface HttpLaunch {
  spec: SkillSpec;
  /** Header values, secrets resolved. */
  headers: Record<string, string>;
  timeoutMs: number;
}

export function httpOpener(l: HttpLaunch) {
  return async (newClient: () => Client): Promise<Opened> => {
    const url = new URL(l.spec.url!);
    const init: RequestInit = { headers: l.headers };
    const mode = l.spec.transport ?? "auto";
    const [{ StreamableHTTPClientTransport }, { SSEClientTransport }] = await Promise.all([
      import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
      import("@modelcontextprotocol/sdk/client/sse.js"),
    ]);
    if (mode !== "sse") {
      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: init,
        reconnectionOptions: { initialReconnectionDelay: 1000, maxReconnectionDelay: 30_000, reconnectionDelayGrowFactor: 2, maxRetries: 5 },
      });
      const client = newClient();
      try {
        await client.connect(transport, { timeout: startTimeout(l.timeoutMs) });
        return { client, transport };
      } catch (err) {
        await client.close().catch(() => undefined);
        if (mode === "streamable-http") throw err;
      }
    }
    // The older HTTP+SSE transport, for a server that only speaks that.
    const transport = new SSEClientTransport(url, {
      requestInit: init,
      eventSourceInit: { fetch: (u, i) => fetch(u, { ...i, headers: { ...l.headers, ...(i?.headers as Record<string, string>) } }) },
    });
    const client = newClient();
    await client.connect(transport, { timeout: startTimeout(l.timeoutMs) });
    return { client, transport };
  };
}
