import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../core/telemetry/log.ts";
import { makeApp, readSse, TOKEN, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

const enc = new TextEncoder();
const frame = (event: string, data: unknown) => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

/**
 * An Anthropic-wire server that starts an answer, streams a few words, then
 * never finishes it: the moment a core gets killed mid-turn.
 */
function hangingModel() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(
            frame("message_start", {
              type: "message_start",
              message: { id: "m1", type: "message", role: "assistant", model: "claude-sonnet-5-5", content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 0 } },
            }),
          );
          c.enqueue(frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }));
          c.enqueue(frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "The disk on the NAS is " } }));
          c.enqueue(frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "82% full" } }));
          // ...and nothing more.
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
}

const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

describe("Turns survive a crash", () => {
  test("a core killed mid-answer keeps the text streamed so far, and after a restart the turn shows as interrupted", async () => {
    const model = hangingModel();
    servers.push(model);
    const dataDir = tempDir();
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "core", "main.ts"), "serve"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        BAKERST_DATA_DIR: dataDir,
        PORT: "0",
        HOST: "127.0.0.1",
        AUTH_TOKEN: TOKEN,
        ANTHROPIC_API_KEY: "sk-test",
        ANTHROPIC_BASE_URL: model.url.origin,
        LOG_LEVEL: "info",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    let log = "";
    void (async () => {
      for await (const chunk of proc.stderr) log += new TextDecoder().decode(chunk);
    })();
    const url = await waitFor("the server listening", () => /"msg":"bakerst listening","url":"(http:\/\/[^"]+)"/.exec(log)?.[1]);
    const res = await fetch(`${url}/api/chat/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: '{"message":"how full is the NAS?"}',
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("82% full")) seen += new TextDecoder().decode((await reader.read()).value);
    // The partial answer reaches the database within a save interval; then the process dies without a goodbye.
    const db = new Database(join(dataDir, "bakerst.db"), { readonly: true });
    await waitFor("the partial text saved", () => (db.query("SELECT content FROM messages WHERE partial = 1").get() as { content: string } | null)?.content.includes("82% full"));
    db.close();
    proc.kill("SIGKILL");
    await proc.exited;

    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url.origin }, { dataDir });
    try {
      const list = await (await h.request("/api/conversations")).json();
      const convo = await (await h.request(`/api/conversations/${list.conversations[0].id}`)).json();
      expect(convo.running).toBeNull();
      const answer = convo.messages.at(-1);
      expect(answer.role).toBe("assistant");
      expect(answer.content).toEqual([{ type: "text", text: "The disk on the NAS is 82% full" }]);
      expect(answer.error.code).toBe("interrupted");
      expect(answer.partial).toBe(false);
    } finally {
      await h.close();
    }
  }, 30_000);

  test("a provider that echoes the request in its error: the key appears nowhere, the text is cut short", async () => {
    const key = `sk-ant-api03-${"Z".repeat(90)}`;
    const echo = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const echoed = `${JSON.stringify(Object.fromEntries(req.headers))} ${await req.text()} ${"padding ".repeat(200)}`;
        return Response.json({ type: "error", error: { type: "invalid_request_error", message: `cannot parse request: ${echoed}` } }, { status: 400 });
      },
    });
    servers.push(echo);
    let logged = "";
    const h = await makeApp(
      { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: echo.url.origin },
      {
        log: createLogger("debug", {}, (line) => {
          logged += line;
          return true;
        }),
      },
    );
    try {
      const api = await (await h.request("/api/chat", { method: "POST", json: { message: "hello" } })).json();
      const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "again" } }));
      const stored = await (await h.request(`/api/conversations/${api.conversationId}`)).json();
      const models = await (await h.request("/api/models")).json();
      const everything = JSON.stringify([api, events, stored, models]) + logged;
      expect(everything).toContain("cannot parse request");
      expect(everything).not.toContain(key);
      expect(everything).not.toContain("ZZZZZZZZZZZZZZZZZZZZ");
      expect(api.error.code).toBe("model_unavailable");
      expect(api.error.message.length).toBeLessThan(600);
      expect(stored.messages.at(-1).error.message.length).toBeLessThan(600);
    } finally {
      await h.close();
    }
  });
});
