/**
 * The model, for an agent task in the local sandbox: the runner inside has no
 * network and no keys, so its model calls go over a unix socket to the host,
 * where the core's router answers them (the worker role's chain, retries,
 * fallback, the daily budget, usage in the ledger). The host also holds the
 * task's token budget, so a runner cannot spend past it whatever it sends.
 */
import { chmodSync } from "node:fs";
import { Type } from "@sinclair/typebox";
import type { CallOptions, ModelRouter, RoutedEvent } from "../../core/agent/router.ts";
import type { ModelRequest } from "../../core/agent/types.ts";
import { AppError, check, isErrorCode, MAX_MESSAGE_BYTES, parseJson } from "../../core/protocol/index.ts";

const Text = Type.Object({ type: Type.Literal("text"), text: Type.String() }, { additionalProperties: false });
const ToolUse = Type.Object(
  { type: Type.Literal("tool_use"), id: Type.String({ maxLength: 256 }), name: Type.String({ maxLength: 64 }), input: Type.Unknown() },
  { additionalProperties: false },
);
const ToolResult = Type.Object(
  { type: Type.Literal("tool_result"), tool_use_id: Type.String({ maxLength: 256 }), content: Type.String(), is_error: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
// The worker's loop sends what the shared agent loop sends: the system prompt as blocks by how often they change, its cache hints, and thinking passed back with its signature.
const Thinking = Type.Object({ type: Type.Literal("thinking"), thinking: Type.String(), signature: Type.String({ maxLength: 100_000 }) }, { additionalProperties: false });
const RedactedThinking = Type.Object({ type: Type.Literal("redacted_thinking"), data: Type.String({ maxLength: 1_000_000 }) }, { additionalProperties: false });
const SystemBlock = Type.Object(
  { stability: Type.Union([Type.Literal("stable"), Type.Literal("long"), Type.Literal("turn")]), text: Type.String({ maxLength: 200_000 }) },
  { additionalProperties: false },
);
export const RelayRequest = Type.Object(
  {
    system: Type.Union([Type.String({ maxLength: 200_000 }), Type.Array(SystemBlock, { maxItems: 16 })]),
    messages: Type.Array(
      Type.Object({
        role: Type.Union([Type.Literal("user"), Type.Literal("assistant")]),
        content: Type.Array(Type.Union([Text, ToolUse, ToolResult, Thinking, RedactedThinking])),
      }),
      { maxItems: 200 },
    ),
    thinking: Type.Optional(Type.Object({ budgetTokens: Type.Integer({ minimum: 1024, maximum: 64_000 }) }, { additionalProperties: false })),
    tools: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ maxLength: 64 }), description: Type.String({ maxLength: 4000 }), inputSchema: Type.Record(Type.String(), Type.Unknown()) }), {
        maxItems: 32,
      }),
    ),
    maxTokens: Type.Integer({ minimum: 1, maximum: 64_000 }),
    toolChoice: Type.Optional(Type.Union([Type.Literal("auto"), Type.Literal("none")])),
    // The agent loop's cache layout (core/agent/cache.ts): where the turn begins, and that later rounds reuse the messages.
    turnStart: Type.Optional(Type.Integer({ minimum: 0, maximum: 200 })),
    cacheMessages: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export interface RelayOptions {
  socket: string;
  router: Pick<ModelRouter, "stream">;
  call: Omit<CallOptions, "signal">;
  /** Input plus output tokens the task may spend across its calls. */
  tokenBudget: number;
  /** Calls in flight end with the task. */
  signal: AbortSignal;
}

export interface ModelRelay {
  /** Tokens spent through it so far. */
  readonly spent: number;
  close(): void;
}

const line = (ev: unknown) => `${JSON.stringify(ev)}\n`;

/** Host side: answers the runner's model calls through the router, one NDJSON stream of routed events each. */
export function startModelRelay(o: RelayOptions): ModelRelay {
  let spent = 0;
  const server = Bun.serve({
    unix: o.socket,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/stream") return new Response("not found\n", { status: 404 });
      const raw = await req.text();
      if (raw.length > MAX_MESSAGE_BYTES * 4) return new Response(line({ type: "error", code: "invalid_request", message: "model request too large" }), { status: 413 });
      const parsed = parseJson(raw);
      const body = parsed.ok ? check(RelayRequest, parsed.value) : { ok: false as const, reason: parsed.reason };
      if (!body.ok) return new Response(line({ type: "error", code: "invalid_request", message: `model request: ${body.reason}` }), { status: 400 });
      if (spent >= o.tokenBudget)
        return new Response(line({ type: "error", code: "budget_exceeded", message: `the task's token budget of ${o.tokenBudget} is spent` }), { status: 402 });
      const request = { ...body.value, maxTokens: Math.min(body.value.maxTokens, Math.max(1, o.tokenBudget - spent)) } as Omit<ModelRequest, "model">;
      const signal = AbortSignal.any([o.signal, req.signal]);
      const enc = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          try {
            for await (const ev of o.router.stream(request, { ...o.call, signal })) {
              if (ev.type === "done") spent += ev.usage.inputTokens + ev.usage.outputTokens;
              controller.enqueue(enc.encode(line(ev)));
            }
          } catch (err) {
            const code = err instanceof AppError ? err.code : "model_unavailable";
            controller.enqueue(enc.encode(line({ type: "error", code, message: (err as Error).message })));
          }
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
    },
  });
  chmodSync(o.socket, 0o666);
  return {
    get spent() {
      return spent;
    },
    close: () => void server.stop(true),
  };
}

/** Runner side: a router whose calls go to the host's relay. */
export class RelayRouter {
  constructor(private socket: string) {}

  hasModel(role: string): boolean {
    return role === "worker";
  }

  async *stream(req: Omit<ModelRequest, "model">, opts: CallOptions): AsyncGenerator<RoutedEvent> {
    let res: Response;
    try {
      res = await fetch("http://relay/stream", {
        unix: this.socket,
        method: "POST",
        body: JSON.stringify(req),
        headers: { "content-type": "application/json" },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw new AppError("model_unavailable", `the host's model relay cannot be reached: ${(err as Error).message}`);
    }
    if (!res.body) throw new AppError("model_unavailable", `the model relay answered ${res.status} without a body`);
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!text.trim()) continue;
        const ev = JSON.parse(text) as RoutedEvent | { type: "error"; code: string; message: string };
        if (ev.type === "error") throw new AppError(isErrorCode(ev.code) ? ev.code : "model_unavailable", ev.message);
        yield ev;
      }
    }
  }
}
