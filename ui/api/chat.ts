import { raw, toApiError } from "./client.ts";
import type { ChatEvent } from "./types.ts";

export interface NumberedChatEvent {
  id: number;
  ev: ChatEvent;
}

/** Splits a text/event-stream body into events as the bytes arrive. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<NumberedChatEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + (buf[cut] === "\r" ? 4 : 2));
        let id = 0;
        let event = "message";
        const data: string[] = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "id") id = Number(value);
          else if (field === "event") event = value;
          else if (field === "data") data.push(value);
        }
        if (!data.length) continue;
        yield { id, ev: { event, data: JSON.parse(data.join("\n")) } as ChatEvent };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Runs one chat turn and hands every event to `onEvent`. A connection that
 * drops before `done` is resumed from the last event id, so a flaky network
 * loses no text. Throws ApiError when the turn cannot start (no model: 503).
 */
export async function streamChat(body: { message: string; conversationId?: string }, onEvent: (ev: ChatEvent) => void, signal?: AbortSignal): Promise<void> {
  const res = await raw("/api/chat/stream", { json: body, signal });
  if (!res.ok || !res.body) throw await toApiError(res);
  let turnId: string | undefined;
  let last = 0;
  const follow = async (stream: ReadableStream<Uint8Array>) => {
    for await (const { id, ev } of readEvents(stream)) {
      if (id) last = id;
      if (ev.event === "conversation") turnId = ev.data.turnId;
      onEvent(ev);
      if (ev.event === "done") return true;
    }
    return false;
  };
  let finished = false;
  try {
    finished = await follow(res.body);
  } catch (err) {
    if (signal?.aborted) throw err;
  }
  for (let attempt = 0; !finished && turnId && attempt < 5 && !signal?.aborted; attempt++) {
    await new Promise((r) => setTimeout(r, 300 * 2 ** attempt));
    finished = await resumeChat(
      turnId,
      last,
      (ev) => onEvent(ev),
      signal,
      (id) => (last = id),
    ).catch(() => false);
  }
}

/** Follows a running turn from after `afterId` (a reload mid-turn, or a dropped connection). Resolves true once `done` arrived. */
export async function resumeChat(turnId: string, afterId: number, onEvent: (ev: ChatEvent) => void, signal?: AbortSignal, onId?: (id: number) => void): Promise<boolean> {
  const res = await fetch(`/api/chat/stream/${encodeURIComponent(turnId)}`, {
    headers: { accept: "text/event-stream", ...(afterId ? { "last-event-id": String(afterId) } : {}) },
    credentials: "same-origin",
    signal,
  });
  if (res.status === 404) return true; // the turn finished and was forgotten; the stored conversation has it
  if (!res.ok || !res.body) throw await toApiError(res);
  for await (const { id, ev } of readEvents(res.body)) {
    if (id) onId?.(id);
    onEvent(ev);
    if (ev.event === "done") return true;
  }
  return false;
}
