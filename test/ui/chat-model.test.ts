import { describe, expect, test } from "bun:test";
import { readEvents } from "../../ui/api/chat.ts";
import type { StoredMessage } from "../../ui/api/types.ts";
import { applyEvent, turnsFromMessages, type TurnView } from "../../ui/pages/chat/model.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe("the console's SSE reader", () => {
  test("reads events split across chunks, skips keep-alives and accepts CRLF", async () => {
    const got = [];
    const body = streamOf('id: 1\nevent: conversation\ndata: {"id":"c1","turnId":"t1"}\n\n: keep-alive\n\nid: 2\nev', 'ent: text\ndata: {"delta":"Hel', 'lo"}\n\nid: 3\r\nevent: done\r\ndata: {"conversationId":"c1","messageId":"m1","usage":{}}\r\n\r\n');
    for await (const e of readEvents(body)) got.push(e);
    expect(got.map((e) => [e.id, e.ev.event])).toEqual([
      [1, "conversation"],
      [2, "text"],
      [3, "done"],
    ]);
    expect(got[1]!.ev.data).toEqual({ delta: "Hello" });
  });
});

const msg = (m: Partial<StoredMessage> & Pick<StoredMessage, "turnId" | "role" | "content">): StoredMessage => ({ id: crypto.randomUUID(), seq: 0, model: null, error: null, createdAt: 0, ...m });

describe("chat turns", () => {
  test("a stored conversation becomes turns with tool results joined to their calls", () => {
    const turns = turnsFromMessages([
      msg({ turnId: "t1", role: "user", content: [{ type: "text", text: "time?" }] }),
      msg({ turnId: "t1", role: "assistant", content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "u1", name: "current_time", input: {} }] }),
      msg({ turnId: "t1", role: "tool", content: [{ type: "tool_result", tool_use_id: "u1", content: '{"iso":"x"}' }] }),
      msg({ turnId: "t1", role: "assistant", content: [{ type: "text", text: "Noon." }] }),
      msg({ turnId: "t2", role: "user", content: [{ type: "text", text: "again" }] }),
      msg({ turnId: "t2", role: "assistant", content: [], error: { code: "upstream", message: "boom" } }),
    ]);
    expect(turns).toHaveLength(2);
    expect(turns[0]!.user).toBe("time?");
    expect(turns[0]!.parts.map((p) => p.kind)).toEqual(["text", "tool", "text"]);
    const tool = turns[0]!.parts[1]!;
    expect(tool.kind === "tool" && tool.call.result).toEqual({ ok: true, summary: '{"iso":"x"}' });
    expect(turns[1]!.error).toEqual({ code: "upstream", message: "boom" });
  });

  test("a running turn keeps only its question; its stream replays the rest", () => {
    const turns = turnsFromMessages(
      [msg({ turnId: "t1", role: "user", content: [{ type: "text", text: "q" }] }), msg({ turnId: "t1", role: "assistant", content: [{ type: "text", text: "partial" }] })],
      "t1",
    );
    expect(turns[0]!.user).toBe("q");
    expect(turns[0]!.parts).toEqual([]);
  });

  test("stream events build the turn: text joins, tool results land on their card, job and task chips update", () => {
    const t: TurnView = { key: "k", user: "u", parts: [], streaming: true, jobs: {}, tasks: {} };
    applyEvent(t, { event: "text", data: { delta: "Hel" } });
    applyEvent(t, { event: "text", data: { delta: "lo" } });
    applyEvent(t, { event: "tool_use", data: { id: "u1", name: "run_job", input: { command: "date" } } });
    applyEvent(t, { event: "job", data: { id: "j1", status: "queued" } });
    applyEvent(t, { event: "tool_result", data: { id: "u1", ok: false, summary: "refused" } });
    applyEvent(t, { event: "job", data: { id: "j1", status: "running" } });
    applyEvent(t, { event: "task", data: { id: "t1", status: "queued" } });
    applyEvent(t, { event: "task", data: { id: "t1", status: "succeeded" } });
    applyEvent(t, { event: "text", data: { delta: "Done." } });
    applyEvent(t, { event: "done", data: { conversationId: "c", messageId: "m", usage: { inputTokens: 1, outputTokens: 2, costUsd: 0, modelCalls: 1, model: "x" } } });
    expect(t.parts.map((p) => (p.kind === "text" ? p.text : p.kind))).toEqual(["Hello", "tool", "Done."]);
    const tool = t.parts[1]!;
    expect(tool.kind === "tool" && tool.call.result).toEqual({ ok: false, summary: "refused" });
    expect(t.jobs).toEqual({ j1: "running" });
    expect(t.tasks).toEqual({ t1: { status: "succeeded", pending: false } });
    expect(t.streaming).toBe(false);
  });
});
