import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { serveApp, TOKEN } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";

const SECRET = "mcp-hidden-Vb7Qx2Lm9Pz4Kt8Rw3Jn";

let model: AnthropicStandIn;
let srv: Awaited<ReturnType<typeof serveApp>>;
let client: Client;

async function connect(headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Client> {
  const c = new Client({ name: "bakerst-test", version: "1.0.0" });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers } }));
  return c;
}

const textOf = (r: Awaited<ReturnType<Client["callTool"]>>) => (r.content as { type: string; text: string }[]).map((c) => c.text).join("");

beforeAll(async () => {
  model = startAnthropicStandIn();
  srv = await serveApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, DAILY_BUDGET_USD: "0.5" });
  client = await connect();
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await client.close();
  await srv.stop();
  await model.stop();
});

describe("MCP server over Streamable HTTP (the SDK's own client)", () => {
  test("tools/list names the owner's tools with their input schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["ask", "memory_search", "memory_store", "run_job", "get_job", "list_jobs", "run_task", "get_task"]);
    const search = tools.find((t) => t.name === "memory_search")!;
    expect(search.inputSchema).toMatchObject({ type: "object", required: ["query"], properties: { query: { type: "string" } } });
    expect(tools.find((t) => t.name === "ask")!.outputSchema).toMatchObject({ type: "object", required: ["answer", "conversationId"] });
    expect(client.getServerVersion()).toMatchObject({ name: "bakerst" });
  });

  test("memory_store then memory_search finds it", async () => {
    const stored = await client.callTool({ name: "memory_store", arguments: { text: "The NAS in the cellar runs TrueNAS Scale", category: "homelab" } });
    expect(stored.isError).toBeFalsy();
    expect(JSON.parse(textOf(stored))).toMatchObject({ updated: false });
    const found = await client.callTool({ name: "memory_search", arguments: { query: "cellar NAS" } });
    expect(textOf(found)).toContain("TrueNAS Scale");
  });

  test("ask runs a turn of the agent with origin mcp and returns its answer and conversation", async () => {
    model.on(prompt("what runs in the cellar?"), reply().text("A NAS with TrueNAS Scale."));
    const r = await client.callTool({ name: "ask", arguments: { message: "what runs in the cellar?" } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ answer: "A NAS with TrueNAS Scale." });
    const id = (r.structuredContent as { conversationId: string }).conversationId;
    const convo = (await (await fetch(`${srv.url}/api/conversations/${id}`, { headers: srv.auth })).json()) as any;
    expect(convo.messages.length).toBe(2);
    const usage = srv.services.store.sqlite.query("SELECT origin FROM usage ORDER BY id DESC LIMIT 1").get() as { origin: string };
    expect(usage.origin).toBe("mcp");
  });

  test("run_job and list_jobs run a command job and list it; a refused command fails its job, a malformed one is a tool error", async () => {
    const r = await client.callTool({ name: "run_job", arguments: { type: "command", argv: ["date", "+%Y"] } });
    expect(r.isError).toBeFalsy();
    expect(JSON.parse(textOf(r))).toMatchObject({ type: "command", status: "completed", result: { exitCode: 0 } });
    const listed = JSON.parse(textOf(await client.callTool({ name: "list_jobs", arguments: { limit: 5 } })));
    expect(listed[0]).toMatchObject({ type: "command", status: "completed" });
    const refused = await client.callTool({ name: "run_job", arguments: { type: "command", command: "rm -rf /" } });
    expect(JSON.parse(textOf(refused))).toMatchObject({ status: "failed", error: { code: "refused" } });
    const invalid = await client.callTool({ name: "run_job", arguments: { type: "command" } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/command/);
  });

  test("bad arguments and unknown tools are errors the client can read", async () => {
    const bad = await client.callTool({ name: "memory_search", arguments: { query: 5 } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain("query");
    const badAsk = await client.callTool({ name: "ask", arguments: { message: "" } });
    expect(badAsk.isError).toBe(true);
    expect(textOf(badAsk)).toMatch(/^invalid_request: \/message/);
    await expect(client.callTool({ name: "format_disk", arguments: {} })).rejects.toThrow(/unknown tool/);
  });

  test("a stored secret is redacted from what the tools return", async () => {
    expect(
      (await fetch(`${srv.url}/api/secrets/LOCKER_CODE`, { method: "PUT", headers: { ...srv.auth, "content-type": "application/json" }, body: JSON.stringify({ value: SECRET }) }))
        .status,
    ).toBe(200);
    await client.callTool({ name: "memory_store", arguments: { text: `The locker code is ${SECRET} at the station`, category: "personal" } });
    const found = textOf(await client.callTool({ name: "memory_search", arguments: { query: "locker code station" } }));
    expect(found).toContain("[REDACTED]");
    expect(found).not.toContain(SECRET);
    model.on(prompt("say the code"), reply().text(`It is ${SECRET}.`));
    const asked = await client.callTool({ name: "ask", arguments: { message: "say the code" } });
    expect(textOf(asked)).toBe("It is [REDACTED].");
    expect(JSON.stringify(asked.structuredContent)).not.toContain(SECRET);
  });

  test("past the daily budget ask is refused with budget_exceeded as a tool error", async () => {
    // The other tests of this file spend a few cents (the stand-in bills the prompt by its size, tools included); this one alone goes past the budget.
    model.on(prompt("spend"), reply().text("expensive").usage({ input: 200_000, output: 0 }));
    expect((await client.callTool({ name: "ask", arguments: { message: "spend" } })).isError).toBeFalsy();
    const r = await client.callTool({ name: "ask", arguments: { message: "anything" } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^budget_exceeded: /);
  });
});
