import type { NumberedEvent, Turn } from "../brain/turn.ts";

const enc = new TextEncoder();

export function frame(ev: NumberedEvent): Uint8Array {
  return enc.encode(`id: ${ev.id}\nevent: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`);
}

/**
 * Streams a turn as server-sent events. A client that goes away only stops
 * its own copy of the stream; the turn runs on and is stored.
 */
export function sseResponse(turn: Turn, afterId: number, headers: Record<string, string>): Response {
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
        for await (const ev of turn.follow(afterId, leave.signal)) controller.enqueue(frame(ev));
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
