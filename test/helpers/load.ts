/**
 * A load generator of streaming chats: `clients` loops, each posting to
 * /api/chat/stream and reading the stream to its end, one after another,
 * until stopped. Every chat's outcome is kept, so a test can count failed
 * requests and then look each conversation up.
 */
import { parseSse } from "./app.ts";

export interface ChatOutcome {
  message: string;
  ok: boolean;
  /** Why it failed: a refused connection, a status, an `error` event, a stream without `done`. */
  error?: string;
  conversationId?: string;
  text: string;
}

export interface ChatLoad {
  /** Chats finished so far. */
  readonly done: ChatOutcome[];
  /** Stops starting chats, waits for the ones in flight, returns every outcome. */
  stop(): Promise<ChatOutcome[]>;
}

/** One streaming chat, to its end. */
export async function streamChat(url: string, token: string, message: string): Promise<ChatOutcome> {
  try {
    const res = await fetch(`${url}/api/chat/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ message }),
    });
    const body = await res.text();
    if (res.status !== 200) return { message, ok: false, error: `HTTP ${res.status}: ${body.slice(0, 200)}`, text: "" };
    const events = parseSse(body);
    const text = events.flatMap((e) => (e.event === "text" ? [e.data.delta as string] : [])).join("");
    const conversationId = events.find((e) => e.event === "conversation")?.data.id as string | undefined;
    const failed = events.find((e) => e.event === "error");
    if (failed) return { message, ok: false, error: `error event: ${JSON.stringify(failed.data)}`, text, ...(conversationId ? { conversationId } : {}) };
    if (!events.some((e) => e.event === "done")) return { message, ok: false, error: "the stream ended without done", text, ...(conversationId ? { conversationId } : {}) };
    return { message, ok: true, text, ...(conversationId ? { conversationId } : {}) };
  } catch (err) {
    return { message, ok: false, error: `request failed: ${(err as Error).message}`, text: "" };
  }
}

export function chatLoad(url: string, token: string, opts: { clients: number; prefix?: string }): ChatLoad {
  const done: ChatOutcome[] = [];
  let running = true;
  const prefix = opts.prefix ?? "load";
  const clients = Array.from({ length: opts.clients }, async (_, c) => {
    for (let i = 0; running; i++) done.push(await streamChat(url, token, `${prefix} ${c}-${i}`));
  });
  return {
    done,
    async stop() {
      running = false;
      await Promise.all(clients);
      return done;
    },
  };
}
