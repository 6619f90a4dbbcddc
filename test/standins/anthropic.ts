/**
 * A local server that speaks the Anthropic Messages API wire format, for the
 * real @anthropic-ai/sdk to talk to through its baseURL. Replies are scripted
 * per request (script.ts); a request nothing matches gets a 400 naming it,
 * unless the test asked for another fallback (`echo`).
 *
 * It bills the prompt cache as the API does (prompt-cache.ts): unless a reply
 * fixes its token counts, `usage` reports the input read from and written to
 * the cache by the request's breakpoints and what earlier requests wrote.
 * It also refuses what the API refuses and our code could get wrong: more
 * than four breakpoints, a thinking block changed or missing where a tool
 * round needs it, a deferred tool called that no search found.
 */

import { createHmac } from "node:crypto";
import type { Server } from "bun";
import { type CacheOptions, PromptCache } from "./prompt-cache.ts";
import { type Hit, held, type Reply, reply, Script, streamReply } from "./script.ts";

export interface RecordedRequest {
  headers: Record<string, string>;
  body: {
    model: string;
    system?: string | { type: string; text: string; cache_control?: { type: string; ttl?: string } }[];
    messages: { role: string; content: unknown }[];
    tools?: { name: string; type?: string; description?: string; input_schema?: unknown; defer_loading?: boolean; cache_control?: { type: string; ttl?: string } }[];
    tool_choice?: { type: string };
    thinking?: { type: string; budget_tokens?: number };
    temperature?: number;
    stream?: boolean;
    max_tokens: number;
  };
}

export type AnthropicStandIn = Script<RecordedRequest> & {
  url: string;
  models: string[];
  /** The prompt cache this stand-in bills by; `clear()` forgets what it holds. */
  cache: PromptCache;
  /** What each request was billed (input, cache read, cache write), in request order. */
  billed: { input: number; cacheRead: number; cacheWrite: number; output: number }[];
  /** Requests the API would refuse (and this stand-in did, with a 400): `checkAndReset` fails the test when there are any. */
  refused: string[];
  stop(): Promise<void>;
};

type Block = {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
  thinking?: string;
  signature?: string;
  cache_control?: unknown;
};

const enc = new TextEncoder();
const sse = (event: string, data: unknown) => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
const blocks = (content: unknown): Block[] => (typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? (content as Block[]) : []);
const textOf = (content: unknown) =>
  typeof content === "string"
    ? content
    : blocks(content)
        .map((b) => (b.type === "text" ? (b.text ?? "") : ""))
        .join("");
const isContext = (b: Block) => b.type === "text" && (b.text ?? "").startsWith("<context>");

/** The owner's last words: the first text of the last user message that is not a tool round's results. */
function lastUserText(req: RecordedRequest): string {
  for (let i = req.body.messages.length - 1; i >= 0; i--) {
    const m = req.body.messages[i]!;
    const bs = blocks(m.content);
    if (m.role !== "user" || bs.some((b) => b.type === "tool_result")) continue;
    const text = bs.find((b) => b.type === "text" && b.text && !isContext(b))?.text;
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
    context:
      body.messages
        .flatMap((m) =>
          blocks(m.content)
            .filter(isContext)
            .map((b) => b.text ?? ""),
        )
        .at(-1) ?? "",
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

/** Signs thinking the way the API does in spirit: only this server can make a signature its check accepts. */
const SIGNING_KEY = crypto.getRandomValues(new Uint8Array(32));
const sign = (thinking: string) => createHmac("sha256", SIGNING_KEY).update(thinking).digest("base64");

/** What the API refuses that our code could get wrong; undefined when the request is fine. */
function refusal(body: RecordedRequest["body"]): string | undefined {
  const n = PromptCache.breakpoints(body);
  if (n > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${n}.`;
  for (const m of body.messages) {
    for (const b of blocks(m.content)) {
      if (b.cache_control && (b.type === "thinking" || b.type === "redacted_thinking")) return "messages: thinking blocks cannot be marked with cache_control";
      if (b.cache_control && b.type === "text" && !b.text) return "messages: cache_control cannot be set for empty text blocks";
      if (b.type === "text" && b.text === "") return "messages: text content blocks must be non-empty";
      if (b.type === "thinking" && b.signature !== sign(b.thinking ?? "")) return "messages: Invalid `signature` in `thinking` block";
    }
  }
  const thinking = body.thinking?.type === "enabled";
  if (thinking) {
    const budget = body.thinking?.budget_tokens ?? 0;
    if (budget < 1024) return "thinking.budget_tokens: Input should be greater than or equal to 1024";
    if (body.max_tokens <= budget) return "`max_tokens` must be greater than `thinking.budget_tokens`";
    if (body.temperature !== undefined && body.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled";
    if (body.tool_choice && body.tool_choice.type !== "auto" && body.tool_choice.type !== "none") return "Thinking may not be enabled when tool_choice forces tool use.";
    // In a tool round (or a paused answer carried on), the assistant message being continued must open with its thinking.
    const last = body.messages.at(-1);
    const continuing = last?.role === "assistant" ? last : blocks(last?.content).some((b) => b.type === "tool_result") ? body.messages.at(-2) : undefined;
    const first = continuing ? blocks(continuing.content)[0] : undefined;
    if (continuing && first?.type !== "thinking" && first?.type !== "redacted_thinking") {
      return `messages: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`;
    }
  }
  // A deferred tool becomes callable where a search result names it, not before.
  const deferred = new Set((body.tools ?? []).filter((t) => t.defer_loading).map((t) => t.name));
  const found = new Set<string>();
  for (const m of body.messages) {
    for (const b of blocks(m.content)) {
      if (b.type === "tool_search_tool_result") for (const r of (b.content as { tool_references?: { tool_name: string }[] })?.tool_references ?? []) found.add(r.tool_name);
      if (b.type === "tool_use" && deferred.has(b.name ?? "") && !found.has(b.name ?? ""))
        return `messages: tool_use of ${b.name}, a deferred tool no tool_search_tool_result has referenced`;
    }
  }
  return undefined;
}

function respond(r: Reply, req: RecordedRequest, id: string, bill: (out: number) => AnthropicStandIn["billed"][number]): Response {
  const { body } = req;
  if (r.status) {
    return Response.json(errorBody(r.errorType ?? errorTypeFor(r.status), r.errorMessage ?? `scripted ${r.status}`), { status: r.status, headers: r.headers });
  }
  const thinkingOn = body.thinking?.type === "enabled";
  if (r.thinkingText !== undefined && !thinkingOn) return invalid("stand-in: the reply scripts thinking but the request did not enable it");
  const search = body.tools?.find((t) => t.name === "tool_search_tool_bm25");
  for (const s of r.searches) {
    const missing = s.found.find((name) => !body.tools?.some((t) => t.name === name && t.defer_loading));
    if (!search || missing) return invalid(`stand-in: the reply searches tools but the request has ${search ? `no deferred tool ${missing}` : "no tool search"}`);
  }
  const tools = r.tools.map((t, i) => ({ id: t.id ?? `toolu_${id}_${i}`, name: t.name, json: t.json }));
  const searches = r.searches.map((s, i) => ({ id: s.id ?? `srvtoolu_${id}_${i}`, query: s.query, found: s.found }));
  const stopReason = r.stop ?? (tools.length ? "tool_use" : "end_turn");
  const outChars = (r.thinkingText ?? "").length + r.chunks.join("").length + tools.reduce((n, t) => n + t.json.length, 0);
  const usage = bill(Math.max(1, Math.ceil(outChars / 4)));
  const usageFields = { input_tokens: usage.input, cache_creation_input_tokens: usage.cacheWrite, cache_read_input_tokens: usage.cacheRead };
  const thinking = r.thinkingText !== undefined ? { type: "thinking", thinking: r.thinkingText, signature: sign(r.thinkingText) } : undefined;
  const serverBlocks = searches.flatMap((s) => [
    { type: "server_tool_use", id: s.id, name: "tool_search_tool_bm25", input: { query: s.query } },
    {
      type: "tool_search_tool_result",
      tool_use_id: s.id,
      content: { type: "tool_search_tool_search_result", tool_references: s.found.map((tool_name) => ({ type: "tool_reference", tool_name })) },
    },
  ]);
  if (!body.stream) {
    const content = [
      ...(thinking ? [thinking] : []),
      ...serverBlocks,
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
      usage: { ...usageFields, output_tokens: usage.output },
    });
  }
  const head = [
    sse("message_start", {
      type: "message_start",
      message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usageFields, output_tokens: 1 } },
    }),
  ];
  let index = 0;
  if (thinking) {
    const half = Math.floor(thinking.thinking.length / 2);
    head.push(
      sse("content_block_start", { type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } }),
      ...[thinking.thinking.slice(0, half), thinking.thinking.slice(half)].map((part) =>
        sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: part } }),
      ),
      sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "signature_delta", signature: thinking.signature } }),
      sse("content_block_stop", { type: "content_block_stop", index }),
    );
    index++;
  }
  for (const b of serverBlocks) {
    if (b.type === "server_tool_use") {
      head.push(
        sse("content_block_start", { type: "content_block_start", index, content_block: { ...b, input: {} } }),
        sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) } }),
      );
    } else {
      head.push(sse("content_block_start", { type: "content_block_start", index, content_block: b }));
    }
    head.push(sse("content_block_stop", { type: "content_block_stop", index }));
    index++;
  }
  const text = r.chunks.length > 0;
  const textIndex = index;
  if (text) {
    head.push(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }));
    index++;
  }
  const tail = text ? [sse("content_block_stop", { type: "content_block_stop", index: textIndex })] : [];
  for (const t of tools) {
    const half = Math.floor(t.json.length / 2);
    tail.push(
      sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: t.id, name: t.name, input: {} } }),
      ...[t.json.slice(0, half), t.json.slice(half)].map((part) =>
        sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: part } }),
      ),
      sse("content_block_stop", { type: "content_block_stop", index }),
    );
    index++;
  }
  tail.push(
    sse("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { ...usageFields, output_tokens: usage.output } }),
    sse("message_stop", { type: "message_stop" }),
  );
  const stream = streamReply(r, {
    head,
    delta: (t) => [sse("content_block_delta", { type: "content_block_delta", index: textIndex, delta: { type: "text_delta", text: t } })],
    error: () => [sse("error", errorBody("overloaded_error", "Overloaded"))],
    tail,
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": id } });
}

export function startAnthropicStandIn(opts: { port?: number; cache?: CacheOptions } = {}): AnthropicStandIn {
  const script = new Script<RecordedRequest>(hitOf);
  const models = ["claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5"];
  const cache = new PromptCache(opts.cache);
  const billed: AnthropicStandIn["billed"] = [];
  const refusals: string[] = [];
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
      const refused = refusal(body);
      if (refused) {
        refusals.push(refused);
        return invalid(refused);
      }
      const req = { headers: Object.fromEntries(request.headers), body };
      const r = script.take(req);
      await held(r, body.stream === true);
      const bill = (output: number) => {
        const b = r.tokens ? { input: r.tokens.input, cacheRead: 0, cacheWrite: 0, output: r.tokens.output } : { ...cache.account(body), output };
        billed.push(b);
        return b;
      };
      return respond(r, req, `msg_${++counter}`, bill);
    },
  });
  const reset = script.reset.bind(script);
  const checkAndReset = script.checkAndReset.bind(script);
  return Object.assign(script, {
    url: `http://127.0.0.1:${server.port}`,
    models,
    cache,
    billed,
    refused: refusals,
    // A test's requests and bills go together; the cache outlives them, as the API's does, until cleared.
    reset: () => {
      reset();
      billed.length = 0;
      refusals.length = 0;
    },
    checkAndReset: () => {
      const refused = refusals.splice(0);
      checkAndReset();
      if (refused.length) throw new Error(`model stand-in refused ${refused.length} requests as the API would:\n${refused.join("\n")}`);
    },
    stop: () => server.stop(true),
  });
}
