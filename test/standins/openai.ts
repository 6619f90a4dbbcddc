/**
 * A local server that speaks the OpenAI chat-completions wire format (what
 * Ollama, vLLM, llama.cpp and OpenRouter serve), for the real `openai` SDK.
 */
import type { Server } from "bun";

export interface OpenAIReply {
  text?: string | string[];
  toolCalls?: { id?: string; name: string; arguments: string | unknown }[];
  status?: number;
  headers?: Record<string, string>;
  delayMs?: number;
  usage?: { prompt: number; completion: number };
}

export interface OpenAIRequest {
  headers: Record<string, string>;
  body: {
    model: string;
    messages: { role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string; parameters: unknown } }[];
    tool_choice?: unknown;
    stream?: boolean;
  };
}

export interface OpenAIStandIn {
  url: string;
  requests: OpenAIRequest[];
  enqueue(...r: OpenAIReply[]): void;
  models: string[];
  stop(): Promise<void>;
}

const enc = new TextEncoder();

export function startOpenAIStandIn(): OpenAIStandIn {
  const queue: OpenAIReply[] = [];
  const requests: OpenAIRequest[] = [];
  const models = ["llama3.1:8b", "qwen2.5:7b"];
  let n = 0;
  const server: Server<unknown> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/v1/models") {
        return Response.json({ object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "local" })) });
      }
      if (request.method !== "POST" || url.pathname !== "/v1/chat/completions") {
        return Response.json({ error: { message: "not found", type: "invalid_request_error" } }, { status: 404 });
      }
      let body: OpenAIRequest["body"];
      try {
        body = (await request.json()) as OpenAIRequest["body"];
      } catch {
        return Response.json({ error: { message: "invalid JSON", type: "invalid_request_error" } }, { status: 400 });
      }
      if (typeof body?.model !== "string" || !Array.isArray(body.messages)) {
        return Response.json({ error: { message: "model and messages are required", type: "invalid_request_error" } }, { status: 400 });
      }
      requests.push({ headers: Object.fromEntries(request.headers), body });
      const last = [...body.messages].reverse().find((m) => m.role === "user");
      const reply = queue.shift() ?? { text: `echo: ${typeof last?.content === "string" ? last.content : ""}` };
      if (reply.delayMs) await Bun.sleep(reply.delayMs);
      if (reply.status) return Response.json({ error: { message: `scripted ${reply.status}`, type: "server_error" } }, { status: reply.status, headers: reply.headers });
      const id = `chatcmpl-${++n}`;
      const chunks = reply.text === undefined ? [] : Array.isArray(reply.text) ? reply.text : [reply.text];
      const calls = (reply.toolCalls ?? []).map((c, i) => ({
        id: c.id ?? `call_${n}_${i}`,
        type: "function",
        function: { name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments) },
      }));
      const usage = { prompt_tokens: reply.usage?.prompt ?? 12, completion_tokens: reply.usage?.completion ?? 6, total_tokens: 0 };
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      const finish = calls.length ? "tool_calls" : "stop";
      if (!body.stream) {
        return Response.json({
          id,
          object: "chat.completion",
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: chunks.join("") || null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: finish }],
          usage,
        });
      }
      const frame = (o: unknown) => enc.encode(`data: ${JSON.stringify(o)}\n\n`);
      const base = { id, object: "chat.completion.chunk", created: 0, model: body.model };
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(frame({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }));
          for (const t of chunks) c.enqueue(frame({ ...base, choices: [{ index: 0, delta: { content: t }, finish_reason: null }] }));
          calls.forEach((call, index) => {
            const args = call.function.arguments;
            const half = Math.floor(args.length / 2);
            c.enqueue(frame({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: args.slice(0, half) } }] }, finish_reason: null }] }));
            c.enqueue(frame({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, finish_reason: null }] }));
          });
          c.enqueue(frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] }));
          c.enqueue(frame({ ...base, choices: [], usage }));
          c.enqueue(enc.encode("data: [DONE]\n\n"));
          c.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1`, requests, models, enqueue: (...r) => queue.push(...r), stop: () => server.stop(true) };
}
