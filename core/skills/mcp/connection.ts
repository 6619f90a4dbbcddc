/**
 * One MCP server as the agent's tools: connected on first use (or at start),
 * closed when idle, restarted with backoff after a crash, its tool list kept
 * current (`notifications/tools/list_changed`). Stdio and HTTP servers differ
 * only in how `open` connects.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Tool as McpTool } from "@modelcontextprotocol/sdk/types.js";
import { VERSION } from "../../version.ts";
import { listTools, resultText, type ToolListing } from "./tools.ts";

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/** tools/list as the wire has it: each tool is checked by listTools, so one malformed tool is left out instead of failing the list. */
/**
 * The SDK's client (and the zod it brings, about 60 ms and 11 MB) is loaded by
 * the first MCP server a skill or extension connects to, not by every start.
 */
let sdk: Promise<{ Client: typeof Client; LooseToolList: ReturnType<typeof looseToolList> }> | undefined;
const looseToolList = (z: typeof import("zod").z) => z.looseObject({ tools: z.array(z.unknown()).max(1000), nextCursor: z.string().max(1024).optional() });
export const clientSdk = () =>
  (sdk ??= Promise.all([import("@modelcontextprotocol/sdk/client/index.js"), import("zod")]).then(([{ Client }, { z }]) => ({ Client, LooseToolList: looseToolList(z) })));

export type ConnectionState = "stopped" | "starting" | "ready" | "backoff";

export interface Opened {
  client: Client;
  transport: Transport;
}

export interface ConnectionOptions {
  skill: string;
  /** Connects a fresh client (made by `newClient`) to the server. */
  open(newClient: () => Client): Promise<Opened>;
  /** A call's timeout. */
  timeoutMs: number;
  /** Closed after this long without a call; undefined keeps it open. */
  idleMs?: number;
  /** The tools it lists, first and after each list_changed. */
  onTools(listing: ToolListing): void;
  /** Started, stopped, crashed: for the log and health. */
  onEvent?(event: "started" | "stopped" | "crashed", detail?: string): void;
  now?: () => number;
}

export class McpConnection {
  state: ConnectionState = "stopped";
  lastError: string | undefined;
  failures = 0;
  retryAt = 0;
  startedAt: number | undefined;
  private opened: Opened | undefined;
  private starting: Promise<Opened> | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private stopping = false;
  private inFlight = 0;
  private now: () => number;
  private sdk: Awaited<ReturnType<typeof clientSdk>> | undefined;

  constructor(private o: ConnectionOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The transport while connected (a stdio server's pid is on it). */
  get transport(): Transport | undefined {
    return this.opened?.transport;
  }

  private newClient = (): Client =>
    new this.sdk!.Client(
      { name: "bakerst", version: VERSION },
      {
        listChanged: {
          // Listed again by `list`, which checks each tool on its own (the SDK's refresh drops the whole list for one bad tool).
          tools: { autoRefresh: false, onChanged: () => void this.list().catch(() => undefined) },
        },
      },
    );

  /** Connected, starting it if needed; refused while it backs off after a crash. */
  async ensure(): Promise<Opened> {
    if (this.opened) return this.opened;
    if (this.starting) return this.starting;
    if (this.state === "backoff" && this.now() < this.retryAt) {
      throw new Error(`the ${this.o.skill} server stopped (${this.lastError ?? "unknown"}); it is started again in ${Math.ceil((this.retryAt - this.now()) / 1000)} s`);
    }
    this.state = "starting";
    this.stopping = false;
    this.starting = (async () => {
      try {
        this.sdk ??= await clientSdk();
        const opened = await this.o.open(this.newClient);
        opened.client.onclose = () => this.closed(opened);
        this.opened = opened;
        this.state = "ready";
        this.startedAt = this.now();
        this.o.onEvent?.("started");
        return opened;
      } catch (err) {
        this.fail((err as Error).message);
        throw err;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private fail(reason: string) {
    this.failures++;
    this.lastError = reason.slice(0, 500);
    this.retryAt = this.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - 1));
    this.state = "backoff";
  }

  private closed(opened: Opened) {
    if (this.opened !== opened) return;
    this.opened = undefined;
    this.clearIdle();
    if (this.stopping) {
      this.state = "stopped";
      this.o.onEvent?.("stopped");
      return;
    }
    const why =
      (opened.transport as { stopReason?: string; stderrTail?: string }).stopReason ??
      lastLine((opened.transport as { stderrTail?: string }).stderrTail) ??
      "the connection closed";
    this.fail(why);
    this.o.onEvent?.("crashed", why);
  }

  /** Lists the server's tools (connecting if needed). */
  async list(): Promise<ToolListing> {
    const { client } = await this.ensure();
    this.touch();
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await client.request({ method: "tools/list", params: cursor ? { cursor } : {} }, this.sdk!.LooseToolList, { timeout: Math.max(this.o.timeoutMs, 30_000) });
      tools.push(...(r.tools as McpTool[]));
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    const listing = listTools(this.o.skill, tools);
    this.o.onTools(listing);
    return listing;
  }

  /** Calls one of its tools by the server's own name; the result as text, an error result thrown. */
  async call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
    // Counted from before the start: an idle stop never closes a server a call is waiting for.
    this.inFlight++;
    this.clearIdle();
    try {
      const { client } = await this.ensure();
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: this.o.timeoutMs, ...(signal ? { signal } : {}) });
      this.failures = 0;
      return resultText(result as Parameters<typeof resultText>[0]);
    } finally {
      this.inFlight--;
      this.touch();
    }
  }

  private clearIdle() {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
  }

  private touch() {
    this.clearIdle();
    // Nothing to stop: a server that crashed or was never started keeps no timer that could close the next one.
    if (this.o.idleMs === undefined || this.inFlight > 0 || !this.opened) return;
    this.idle = setTimeout(() => {
      if (this.inFlight === 0) void this.stop();
    }, this.o.idleMs);
    this.idle.unref?.();
  }

  async stop(): Promise<void> {
    this.clearIdle();
    this.stopping = true;
    const starting = this.starting;
    if (starting) await starting.catch(() => undefined);
    const opened = this.opened;
    if (!opened) {
      if (this.state !== "backoff") this.state = "stopped";
      return;
    }
    // Forgotten before it closes: a call arriving meanwhile starts a fresh server instead of using this closing one.
    this.opened = undefined;
    this.state = "stopped";
    this.o.onEvent?.("stopped");
    await opened.client.close().catch(() => undefined);
  }
}

function lastLine(text: string | undefined): string | undefined {
  const line = text?.trim().split("\n").pop()?.trim();
  return line ? `it exited: ${line.slice(0, 300)}` : undefined;
}
