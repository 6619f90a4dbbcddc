/**
 * A local server that speaks the OpenAI chat-completions wire format (what
 * Ollama, vLLM, llama.cpp and OpenRouter serve), for the real `openai` SDK.
 * Replies are scripted per request (script.ts); a request nothing matches gets
 * a 400 naming it, unless the test asked for another fallback.
 *
 * Like vLLM's prefix cache or llama.cpp's slot, it reports as cached
 * (`prompt_tokens_details.cached_tokens`) the prompt it shares with the
 * request before, rendered the way a chat template does (`render`), unless a
 * reply fixes its token counts.
 */
import type { Server } from "bun";
import { type Hit, held, type Reply, Script, streamReply } from "./script.ts";

export interface OpenAIRequest {
  headers: Record<string, string>;
  body: {
    model: string;
    messages: { role: string; content: unknown; tool_calls?: { id: string; function: { name: string } }[]; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string; parameters: unknown } }[];
    tool_choice?: unknown;
    stream?: boolean;
  };
}

export type OpenAIStandIn = Script<OpenAIRequest> & {
  url: string;
  models: string[];
  stop(): Promise<void>;
};

type Message = OpenAIRequest["body"]["messages"][number];
const parts = (content: unknown): { type?: string; text?: string }[] => (typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : []);
const isContext = (p: { text?: string }) => (p.text ?? "").startsWith("<context>");

/**
 * The prompt as a chat template renders it (Qwen's, say): the system message,
 * then the tools, then each message with its role. A server's prefix cache
 * reuses what two requests share from the first character.
 */
export function render(body: OpenAIRequest["body"]): string {
  const msg = (m: Message) =>
    `<|${m.role}|>\n${parts(m.content)
      .map((p) => p.text ?? "")
      .join("\n")}${m.tool_calls ? JSON.stringify(m.tool_calls) : ""}${m.tool_call_id ? `#${m.tool_call_id}` : ""}\n`;
  const tools = body.tools?.length ? `<|tools|>\n${JSON.stringify(body.tools)}\n` : "";
  const [first, ...rest] = body.messages;
  if (first?.role === "system") return msg(first) + tools + rest.map(msg).join("");
  return tools + body.messages.map(msg).join("");
}

/** How many characters two strings share from their start. */
export function sharedPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

const enc = new TextEncoder();
const textOf = (content: unknown): string =>
  typeof content === "string" ? content : Array.isArray(content) ? content.map((p: { type?: string; text?: string }) => (p.type === "text" ? (p.text ?? "") : "")).join("") : "";

export function hitOf(req: OpenAIRequest): Hit {
  const { messages } = req.body;
  const names = new Map<string, string>();
  for (const m of messages) for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  const results: OpenAIRequest["body"]["messages"] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === "tool"; i--) results.unshift(messages[i]!);
  const choice = req.body.tool_choice;
  return {
    model: req.body.model,
    system: messages
      .filter((m) => m.role === "system")
      .map((m) => textOf(m.content))
      .join("\n"),
    prompt: parts([...messages].reverse().find((m) => m.role === "user" && textOf(m.content))?.content).find((p) => p.type === "text" && !isContext(p))?.text ?? "",
    tools: (req.body.tools ?? []).map((t) => t.function.name),
    toolChoice: typeof choice === "string" ? choice : (choice as { type?: string } | undefined)?.type,
    toolResults: results.map((m) => ({ id: m.tool_call_id ?? "", name: names.get(m.tool_call_id ?? ""), content: textOf(m.content), isError: false })),
    context:
      messages
        .flatMap((m) =>
          parts(m.content)
            .filter(isContext)
            .map((p) => p.text ?? ""),
        )
        .at(-1) ?? "",
    stream: req.body.stream === true,
  };
}

const error = (status: number, message: string, type = "invalid_request_error") => Response.json({ error: { message, type } }, { status });

function respond(r: Reply, body: OpenAIRequest["body"], id: string, cached: { prompt: number; cached: number }): Response {
  if (r.status)
    return Response.json({ error: { message: r.errorMessage ?? `scripted ${r.status}`, type: r.errorType ?? "server_error" } }, { status: r.status, headers: r.headers });
  const calls = r.tools.map((t, i) => ({ id: t.id ?? `call_${id}_${i}`, type: "function", function: { name: t.name, arguments: t.json } }));
  const usage = {
    prompt_tokens: r.tokens?.input ?? cached.prompt,
    completion_tokens: r.tokens?.output ?? Math.max(1, Math.ceil((r.chunks.join("").length + calls.reduce((n, c) => n + c.function.arguments.length, 0)) / 4)),
    total_tokens: 0,
    ...(r.tokens ? {} : { prompt_tokens_details: { cached_tokens: cached.cached } }),
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const finish = r.stop ?? (calls.length ? "tool_calls" : "stop");
  if (!body.stream) {
    return Response.json({
      id,
      object: "chat.completion",
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: r.chunks.join("") || null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: finish }],
      usage,
    });
  }
  const base = { id, object: "chat.completion.chunk", created: 0, model: body.model };
  const frame = (o: unknown) => enc.encode(`data: ${JSON.stringify(o)}\n\n`);
  const choice = (delta: unknown, finish_reason: string | null = null) => frame({ ...base, choices: [{ index: 0, delta, finish_reason }] });
  const tail = calls.flatMap((call, index) => {
    const args = call.function.arguments;
    const half = Math.floor(args.length / 2);
    return [
      choice({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: args.slice(0, half) } }] }),
      choice({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] }),
    ];
  });
  tail.push(choice({}, finish), frame({ ...base, choices: [], usage }), enc.encode("data: [DONE]\n\n"));
  const stream = streamReply(r, {
    head: [choice({ role: "assistant", content: "" })],
    delta: (t) => [choice({ content: t })],
    error: () => [frame({ error: { message: "The server had an error while processing your request.", type: "server_error" } })],
    tail,
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

export function startOpenAIStandIn(): OpenAIStandIn {
  const script = new Script<OpenAIRequest>(hitOf);
  const models = ["llama3.1:8b", "qwen2.5:7b"];
  let n = 0;
  let previous = "";
  const server: Server<unknown> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 60,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/v1/models") {
        return Response.json({ object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "local" })) });
      }
      if (request.method !== "POST" || url.pathname !== "/v1/chat/completions") return error(404, "not found");
      let body: OpenAIRequest["body"];
      try {
        body = (await request.json()) as OpenAIRequest["body"];
      } catch {
        return error(400, "invalid JSON");
      }
      if (typeof body?.model !== "string" || !Array.isArray(body.messages)) return error(400, "model and messages are required");
      const r = script.take({ headers: Object.fromEntries(request.headers), body });
      await held(r, body.stream === true);
      const prompt = render(body);
      const cached = { prompt: Math.ceil(prompt.length / 4), cached: Math.floor(sharedPrefix(previous, prompt) / 4) };
      previous = prompt;
      return respond(r, body, `chatcmpl-${++n}`, cached);
    },
  });
  return Object.assign(script, { url: `http://127.0.0.1:${server.port}/v1`, models, stop: () => server.stop(true) });
}
