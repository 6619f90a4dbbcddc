import { describe, expect, test } from "bun:test";
import { readEvents } from "../../ui/api/chat.ts";
import type { StoredMessage } from "../../ui/api/types.ts";
import { applyEvent, cacheShare, type TurnView, turnsFromConversation, turnsFromMessages } from "../../ui/pages/chat/model.ts";

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
    const body = streamOf(
      'id: 1\nevent: conversation\ndata: {"id":"c1","turnId":"t1"}\n\n: keep-alive\n\nid: 2\nev',
      'ent: text\ndata: {"delta":"Hel',
      'lo"}\n\nid: 3\r\nevent: done\r\ndata: {"conversationId":"c1","messageId":"m1","usage":{}}\r\n\r\n',
    );
    for await (const e of readEvents(body)) got.push(e);
    expect(got.map((e) => [e.id, e.ev.event])).toEqual([
      [1, "conversation"],
      [2, "text"],
      [3, "done"],
    ]);
    expect(got[1]!.ev.data).toEqual({ delta: "Hello" });
  });
});

const msg = (m: Partial<StoredMessage> & Pick<StoredMessage, "turnId" | "role" | "content">): StoredMessage => ({
  id: crypto.randomUUID(),
  seq: 0,
  model: null,
  error: null,
  createdAt: 0,
  ...m,
});

describe("chat turns", () => {
  test("a stored conversation becomes turns with tool results joined to their calls", () => {
    const turns = turnsFromMessages([
      msg({ turnId: "t1", role: "user", content: [{ type: "text", text: "time?" }] }),
      msg({
        turnId: "t1",
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "u1", name: "current_time", input: {} },
        ],
      }),
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
    applyEvent(t, {
      event: "done",
      data: { conversationId: "c", messageId: "m", usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, modelCalls: 1, model: "x" } },
    });
    expect(t.parts.map((p) => (p.kind === "text" ? p.text : p.kind))).toEqual(["Hello", "tool", "Done."]);
    const tool = t.parts[1]!;
    expect(tool.kind === "tool" && tool.call.result).toEqual({ ok: false, summary: "refused" });
    expect(t.jobs).toEqual({ j1: "running" });
    expect(t.tasks).toEqual({ t1: { status: "succeeded", pending: false } });
    expect(t.streaming).toBe(false);
  });
});

describe("thinking, tool searches and compaction in the thread", () => {
  test("thinking deltas gather in their own part, apart from the text", () => {
    const t: TurnView = { key: "k", user: "u", parts: [], streaming: true, jobs: {}, tasks: {} };
    applyEvent(t, { event: "thinking", data: { delta: "Hm, " } });
    applyEvent(t, { event: "thinking", data: { delta: "the clock." } });
    applyEvent(t, { event: "text", data: { delta: "Noon." } });
    expect(t.parts).toEqual([
      { kind: "thinking", text: "Hm, the clock." },
      { kind: "text", text: "Noon." },
    ]);
  });

  test("a stored conversation shows thinking, the tool search with what it found, each turn's cost, and where the summary stands in", () => {
    const messages = [
      msg({ turnId: "t1", seq: 1, role: "user", content: [{ type: "text", text: "old" }] }),
      msg({ turnId: "t1", seq: 2, role: "assistant", model: "anthropic:m", content: [{ type: "text", text: "old answer" }] }),
      msg({ turnId: "t2", seq: 3, role: "user", content: [{ type: "text", text: "new" }] }),
      msg({
        turnId: "t2",
        seq: 4,
        role: "assistant",
        model: "anthropic:m",
        content: [
          { type: "thinking", thinking: "Which tool?", signature: "s" },
          { type: "server_tool_use", id: "s1", name: "tool_search_tool_bm25", input: { query: "calendar" } },
          {
            type: "tool_search_tool_result",
            tool_use_id: "s1",
            content: { type: "tool_search_tool_search_result", tool_references: [{ type: "tool_reference", tool_name: "calendar_create" }] },
          },
          { type: "redacted_thinking", data: "xx" },
          { type: "text", text: "Booked." },
        ],
      }),
    ];
    const usage = { t2: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 70, cacheWriteTokens: 20, costUsd: 0.01, modelCalls: 1 } };
    const turns = turnsFromConversation({ messages, usage, compaction: { throughSeq: 2, at: 1, summary: "- (Fact) old." } });
    expect(turns[0]!.summary).toBeUndefined();
    expect(turns[1]!.summary).toBe("- (Fact) old.");
    expect(turns[1]!.parts).toEqual([
      { kind: "thinking", text: "Which tool?" },
      { kind: "search", query: "calendar", found: ["calendar_create"] },
      { kind: "thinking", text: "", redacted: true },
      { kind: "text", text: "Booked." },
    ]);
    expect(turns[1]!.usage).toMatchObject({ model: "anthropic:m", costUsd: 0.01 });
    expect(cacheShare(turns[1]!.usage!)).toBe(0.7);
  });
});
