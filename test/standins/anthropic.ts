/**
 * A local server that speaks the Anthropic Messages API wire format, for the
 * real @anthropic-ai/sdk to talk to through its baseURL. Replies are scripted
 * per request (script.ts); a request nothing matches gets a 400 naming it,
 * unless the test asked for another fallback (`echo`).
 */
import type { Server } from "bun";
import { type Hit, held, type Reply, reply, Script, streamReply } from "./script.ts";

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

export type AnthropicStandIn = Script<RecordedRequest> & {
  url: string;
  models: string[];
  stop(): Promise<void>;
};

type Block = { type: string; text?: string; id?: string; name?: string; tool_use_id?: string; content?: unknown; is_error?: boolean };

const enc = new TextEncoder();
const sse = (event: string, data: unknown) => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
const blocks = (content: unknown): Block[] => (typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? (content as Block[]) : []);
const textOf = (content: unknown) =>
  typeof content === "string"
    ? content
    : blocks(content)
        .map((b) => (b.type === "text" ? (b.text ?? "") : ""))
        .join("");

function lastUserText(req: RecordedRequest): string {
  for (let i = req.body.messages.length - 1; i >= 0; i--) {
    const m = req.body.messages[i]!;
    if (m.role !== "user") continue;
    const text = blocks(m.content).find((b) => b.type === "text" && b.text)?.text;
    if (text) return text;
  }
  return "";
}

/** The request as predicates see it. */
export function hitOf(req: RecordedRequest): Hit {
  const { body } = req;
  const names = new Map<string, string>();
  for (const m of body.messages) for (const b of blocks(m.content)) if (b.type === "tool_use" && b.id) names.set(b.id, b.name ?? "");
  const last = body.messages.at(-1);
  const results = last?.role === "user" ? blocks(last.content).filter((b) => b.type === "tool_result") : [];
  return {
    model: body.model,
    system: typeof body.system === "string" ? body.system : (body.system ?? []).map((b) => b.text).join("\n"),
    prompt: lastUserText(req),
    tools: (body.tools ?? []).map((t) => t.name),
    toolChoice: body.tool_choice?.type,
    toolResults: results.map((b) => ({ id: b.tool_use_id ?? "", name: names.get(b.tool_use_id ?? ""), content: textOf(b.content), isError: b.is_error === true })),
    stream: body.stream === true,
  };
}

/** Answers "echo: " and the user's last text: for `always` or `fallback` where a test wants any answer. */
export const echo = (req: RecordedRequest): Reply => reply().text(`echo: ${lastUserText(req)}`);

function errorTypeFor(status: number): string {
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  if (status === 401) return "authentication_error";
  if (status === 400) return "invalid_request_error";
  if (status === 404) return "not_found_error";
  return "api_error";
}

const parsed = (json: string): unknown => {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
};
const errorBody = (type: string, message: string) => ({ type: "error", error: { type, message } });
const invalid = (message: string) => Response.json(errorBody("invalid_request_error", message), { status: 400 });

function respond(r: Reply, body: RecordedRequest["body"], id: string): Response {
  if (r.status) {
    return Response.json(errorBody(r.errorType ?? errorTypeFor(r.status), r.errorMessage ?? `scripted ${r.status}`), { status: r.status, headers: r.headers });
  }
  const tools = r.tools.map((t, i) => ({ id: t.id ?? `toolu_${id}_${i}`, name: t.name, json: t.json }));
  const usage = r.tokens ?? { input: 10, output: 5 };
  const stopReason = r.stop ?? (tools.length ? "tool_use" : "end_turn");
  if (!body.stream) {
    const content = [
      ...(r.chunks.length ? [{ type: "text", text: r.chunks.join("") }] : []),
      ...tools.map((t) => ({ type: "tool_use", id: t.id, name: t.name, input: parsed(t.json) })),
    ];
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
  const text = r.chunks.length > 0;
  const head = [
    sse("message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model: body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: 1 },
      },
    }),
    ...(text ? [sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })] : []),
  ];
  const tail = text ? [sse("content_block_stop", { type: "content_block_stop", index: 0 })] : [];
  tools.forEach((t, i) => {
    const index = i + (text ? 1 : 0);
    const half = Math.floor(t.json.length / 2);
    tail.push(
      sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: t.id, name: t.name, input: {} } }),
      ...[t.json.slice(0, half), t.json.slice(half)].map((part) =>
        sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: part } }),
      ),
      sse("content_block_stop", { type: "content_block_stop", index }),
    );
  });
  tail.push(
    sse("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } }),
    sse("message_stop", { type: "message_stop" }),
  );
  const stream = streamReply(r, {
    head,
    delta: (t) => [sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } })],
    error: () => [sse("error", errorBody("overloaded_error", "Overloaded"))],
    tail,
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": id } });
}

export function startAnthropicStandIn(opts: { port?: number } = {}): AnthropicStandIn {
  const script = new Script<RecordedRequest>(hitOf);
  const models = ["claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5"];
  let counter = 0;

  const server: Server<unknown> = Bun.serve({
    port: opts.port ?? 0,
    hostname: "127.0.0.1",
    idleTimeout: 60,
    async fetch(request) {
      const url = new URL(request.url);
      const auth = request.headers.get("x-api-key") ?? request.headers.get("authorization");
      if (!auth) return Response.json(errorBody("authentication_error", "missing key"), { status: 401 });
      if (request.method === "GET" && url.pathname === "/v1/models") {
        return Response.json({
          data: models.map((id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" })),
          has_more: false,
          first_id: models[0],
          last_id: models.at(-1),
        });
      }
      if (request.method !== "POST" || url.pathname !== "/v1/messages") {
        return Response.json(errorBody("not_found_error", `no route ${url.pathname}`), { status: 404 });
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
      const r = script.take({ headers: Object.fromEntries(request.headers), body });
      await held(r, body.stream === true);
      return respond(r, body, `msg_${++counter}`);
    },
  });
  return Object.assign(script, { url: `http://127.0.0.1:${server.port}`, models, stop: () => server.stop(true) });
}
