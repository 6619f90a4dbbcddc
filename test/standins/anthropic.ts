/**
 * A local server that speaks the Anthropic Messages API wire format, for the
 * real @anthropic-ai/sdk to talk to through its baseURL. Replies are scripted
 * per test; with no script it echoes the last user text.
 */
import type { Server } from "bun";

export interface ScriptedReply {
  /** Text of the reply; an array streams as separate deltas. */
  text?: string | string[];
  toolUses?: { id?: string; name: string; input: unknown }[];
  /** Respond with this HTTP error status instead (429, 500, 529...). */
  status?: number;
  errorType?: string;
  headers?: Record<string, string>;
  /** Streaming only: after this many text deltas, fail with an `event: error` frame. */
  failAfterDeltas?: number;
  /** Streaming only: after this many text deltas, cut the connection. */
  dropAfterDeltas?: number;
  delayMs?: number;
  usage?: { input: number; output: number };
  stopReason?: string;
}

export interface RecordedRequest {
  headers: Record<string, string>;
  body: {
    model: string;
    system?: string | { type: string; text: string }[];
    messages: { role: string; content: unknown }[];
    tools?: { name: string; description?: string; input_schema: unknown }[];
    tool_choice?: { type: string };
    stream?: boolean;
    max_tokens: number;
  };
}

export interface AnthropicStandIn {
  url: string;
  requests: RecordedRequest[];
  enqueue(...replies: ScriptedReply[]): void;
  /** Used when the queue is empty; default echoes. */
  setDefault(fn: (req: RecordedRequest) => ScriptedReply): void;
  models: string[];
  stop(): Promise<void>;
}

const enc = new TextEncoder();
const sse = (event: string, data: unknown) => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

function errorTypeFor(status: number): string {
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  if (status === 401) return "authentication_error";
  if (status === 400) return "invalid_request_error";
  if (status === 404) return "not_found_error";
  return "api_error";
}

function lastUserText(req: RecordedRequest): string {
  for (let i = req.body.messages.length - 1; i >= 0; i--) {
    const m = req.body.messages[i]!;
    if (m.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    for (const b of m.content as { type: string; text?: string }[]) if (b.type === "text" && b.text) return b.text;
  }
  return "";
}

export function echo(req: RecordedRequest): ScriptedReply {
  return { text: `echo: ${lastUserText(req)}` };
}

export function startAnthropicStandIn(opts: { port?: number } = {}): AnthropicStandIn {
  const queue: ScriptedReply[] = [];
  const requests: RecordedRequest[] = [];
  let fallback: (req: RecordedRequest) => ScriptedReply = echo;
  const models = ["claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5"];
  let counter = 0;

  const invalid = (message: string) =>
    Response.json({ type: "error", error: { type: "invalid_request_error", message } }, { status: 400 });

  const server: Server<unknown> = Bun.serve({
    port: opts.port ?? 0,
    hostname: "127.0.0.1",
    idleTimeout: 60,
    async fetch(request) {
      const url = new URL(request.url);
      const auth = request.headers.get("x-api-key") ?? request.headers.get("authorization");
      if (!auth) return Response.json({ type: "error", error: { type: "authentication_error", message: "missing key" } }, { status: 401 });
      if (request.method === "GET" && url.pathname === "/v1/models") {
        return Response.json({ data: models.map((id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" })), has_more: false, first_id: models[0], last_id: models.at(-1) });
      }
      if (request.method !== "POST" || url.pathname !== "/v1/messages") {
        return Response.json({ type: "error", error: { type: "not_found_error", message: `no route ${url.pathname}` } }, { status: 404 });
      }
      let body: RecordedRequest["body"];
      try {
        body = (await request.json()) as RecordedRequest["body"];
      } catch {
        return invalid("body is not JSON");
      }
      if (typeof body?.model !== "string") return invalid("model: field required");
      if (typeof body.max_tokens !== "number") return invalid("max_tokens: field required");
      if (!Array.isArray(body.messages) || body.messages.length === 0) return invalid("messages: at least one message is required");
      if (body.messages[0]!.role !== "user") return invalid("messages: first message must use the user role");
      const hasToolBlocks = JSON.stringify(body.messages).includes('"tool_use"');
      if (hasToolBlocks && !body.tools?.length) return invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.");
      const rec: RecordedRequest = { headers: Object.fromEntries(request.headers), body };
      requests.push(rec);
      const reply = queue.shift() ?? fallback(rec);
      if (reply.delayMs) await Bun.sleep(reply.delayMs);
      if (reply.status) {
        return Response.json(
          { type: "error", error: { type: reply.errorType ?? errorTypeFor(reply.status), message: `scripted ${reply.status}` } },
          { status: reply.status, headers: reply.headers },
        );
      }
      const id = `msg_${++counter}`;
      const chunks = reply.text === undefined ? [] : Array.isArray(reply.text) ? reply.text : [reply.text];
      const tools = (reply.toolUses ?? []).map((t, i) => ({ id: t.id ?? `toolu_${counter}_${i}`, name: t.name, input: t.input }));
      const usage = reply.usage ?? { input: 10, output: 5 };
      const stopReason = reply.stopReason ?? (tools.length ? "tool_use" : "end_turn");
      if (!body.stream) {
        const content = [...(chunks.length ? [{ type: "text", text: chunks.join("") }] : []), ...tools.map((t) => ({ type: "tool_use", ...t }))];
        return Response.json({
          id,
          type: "message",
          role: "assistant",
          model: body.model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage: { input_tokens: usage.input, output_tokens: usage.output },
        });
      }
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(
            sse("message_start", {
              type: "message_start",
              message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: 1 } },
            }),
          );
          let index = 0;
          if (chunks.length) {
            c.enqueue(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }));
            let sent = 0;
            for (const chunk of chunks) {
              if (reply.failAfterDeltas !== undefined && sent >= reply.failAfterDeltas) {
                c.enqueue(sse("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }));
                c.close();
                return;
              }
              if (reply.dropAfterDeltas !== undefined && sent >= reply.dropAfterDeltas) {
                c.error(new Error("connection dropped"));
                return;
              }
              c.enqueue(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: chunk } }));
              sent++;
            }
            c.enqueue(sse("content_block_stop", { type: "content_block_stop", index }));
            index++;
          }
          for (const t of tools) {
            c.enqueue(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: t.id, name: t.name, input: {} } }));
            const json = JSON.stringify(t.input);
            const half = Math.floor(json.length / 2);
            for (const part of [json.slice(0, half), json.slice(half)]) {
              c.enqueue(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: part } }));
            }
            c.enqueue(sse("content_block_stop", { type: "content_block_stop", index }));
            index++;
          }
          c.enqueue(sse("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } }));
          c.enqueue(sse("message_stop", { type: "message_stop" }));
          c.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": id } });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    models,
    enqueue: (...r) => queue.push(...r),
    setDefault: (fn) => (fallback = fn),
    stop: () => server.stop(true),
  };
}
