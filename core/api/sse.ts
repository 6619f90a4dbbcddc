import type { NumberedEvent, Turn } from "../brain/turn.ts";

const enc = new TextEncoder();

/** One server-sent event: its id (for resuming), name and JSON data. */
export interface SseEvent {
  id: number;
  event: string;
  data: unknown;
}

export function frame(ev: SseEvent | NumberedEvent): Uint8Array {
  return enc.encode(`id: ${ev.id}\nevent: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`);
}

/**
 * Streams events as server-sent events, with a keep-alive comment every 15 s.
 * A client that goes away only stops its own copy: `events` gets a signal
 * that aborts then, and whatever it follows runs on regardless.
 */
export function eventStream(events: (signal: AbortSignal) => AsyncIterable<SseEvent | NumberedEvent>, headers: Record<string, string>): Response {
  const leave = new AbortController();
  let ping: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      ping = setInterval(() => {
        try {
          controller.enqueue(enc.encode(": keep-alive\n\n"));
        } catch {
          leave.abort();
        }
      }, 15_000);
      try {
        for await (const ev of events(leave.signal)) controller.enqueue(frame(ev));
        controller.close();
      } catch {
        // the client left; nothing to tell it
      } finally {
        clearInterval(ping);
      }
    },
    cancel() {
      clearInterval(ping);
      leave.abort();
    },
  });
  return new Response(body, {
    headers: {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      connection: "keep-alive",
    },
  });
}

/** Streams a turn; the turn runs on and is stored when the client leaves. */
export function sseResponse(turn: Turn, afterId: number, headers: Record<string, string>): Response {
  return eventStream((signal) => turn.follow(afterId, signal), headers);
}

/** Reads one event block (the text between blank lines) as a client does; comments and empty blocks give undefined. */
export function parseSseBlock(block: string): { id?: number; event: string; data: unknown } | undefined {
  if (!block.trim() || block.startsWith(":")) return undefined;
  let id: number | undefined;
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = Number(line.slice(4));
    else if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  return { ...(id !== undefined && Number.isFinite(id) ? { id } : {}), event, data: data.length ? JSON.parse(data.join("\n")) : undefined };
}
