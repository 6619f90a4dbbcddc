/**
 * The MCP stdio transport over a child this process started itself: the
 * SDK's StdioClientTransport spawns its own (unsandboxed) process, so a stdio
 * skill's server is started by the sandbox (Sandbox.spawn) and spoken to here
 * with the SDK's own line framing (ReadBuffer, serializeMessage). A message
 * longer than the skill's cap stops the server instead of filling memory.
 */
import type { ChildProcess } from "node:child_process";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

const STDERR_TAIL = 4096;

export class SandboxedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child: ChildProcess | undefined;
  private buffer: ReadBuffer;
  private closed = false;
  /** The last few KiB the server wrote on stderr: why it died, when it did. */
  stderrTail = "";
  /** Why the transport stopped the server, when it did. */
  stopReason: string | undefined;

  constructor(
    private spawnChild: () => ChildProcess,
    maxMessageBytes: number,
    /** Runs once the server has exited (its egress proxy is closed). */
    private cleanup?: () => void,
  ) {
    this.buffer = new ReadBuffer({ maxBufferSize: maxMessageBytes });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    let child: ChildProcess;
    try {
      child = this.spawnChild();
    } catch (err) {
      this.cleanup?.();
      throw err;
    }
    this.child = child;
    // No pid: the spawn failed, and "error" says why (Bun does not always emit "spawn" for one that worked).
    if (!child.pid) {
      this.cleanup?.();
      await new Promise<never>((_, reject) => child.once("error", reject));
    }
    child.on("error", (err) => this.onerror?.(err));
    child.stdin!.on("error", (err) => this.onerror?.(err));
    child.stderr!.on("data", (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString("utf8")).slice(-STDERR_TAIL);
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch (err) {
        this.stopReason = `the server sent a message larger than its cap (${(err as Error).message})`;
        this.onerror?.(new Error(this.stopReason));
        this.kill();
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          // A line that is not JSON-RPC is dropped; the next one is read.
          this.onerror?.(new Error(`the server wrote a line that is not JSON-RPC: ${(err as Error).message.slice(0, 200)}`));
          continue;
        }
        if (!message) break;
        this.onmessage?.(message);
      }
    });
    child.once("close", () => {
      this.cleanup?.();
      this.buffer.clear();
      this.child = undefined;
      if (!this.closed) {
        this.closed = true;
        this.onclose?.();
      }
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed) return Promise.reject(new Error("the server is not running"));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once("drain", resolve);
    });
  }

  private kill(signal: NodeJS.Signals = "SIGKILL") {
    try {
      // The sandbox leads its own process group: the whole server goes.
      if (this.child?.pid) process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.stdin?.end();
    this.kill("SIGTERM");
    const hard = setTimeout(() => this.kill("SIGKILL"), 1000);
    await gone;
    clearTimeout(hard);
  }
}
