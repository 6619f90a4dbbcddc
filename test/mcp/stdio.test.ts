import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { serveApp, TOKEN, tempDir } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";

const MAIN = join(import.meta.dir, "..", "..", "core", "main.ts");

let model: AnthropicStandIn;
let srv: Awaited<ReturnType<typeof serveApp>>;

/** `bakerst mcp --stdio` started the way Claude Desktop starts it, talking to the SDK's stdio client. */
async function stdioClient(env: Record<string, string>, args: string[] = []): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN, "mcp", "--stdio", ...args],
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env },
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "stdio-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err };
}

beforeAll(async () => {
  model = startAnthropicStandIn();
  srv = await serveApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await srv.stop();
  await model.stop();
});

describe("bakerst mcp --stdio", () => {
  test("finds the bakerst running on its data dir and serves its tools: list, memory, ask", async () => {
    const { client } = await stdioClient({ BAKERST_DATA_DIR: srv.dataDir, AUTH_TOKEN: TOKEN });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("memory_search");
      await client.callTool({ name: "memory_store", arguments: { text: "Mrs Hudson's birthday is on the fourth of May", category: "personal" } });
      const found = await client.callTool({ name: "memory_search", arguments: { query: "Hudson birthday" } });
      expect(JSON.stringify(found.content)).toContain("fourth of May");
      model.on(prompt("when is her birthday?"), reply().text("On the fourth of May."));
      const asked = await client.callTool({ name: "ask", arguments: { message: "when is her birthday?" } });
      expect(asked.structuredContent).toMatchObject({ answer: "On the fourth of May." });
    } finally {
      await client.close();
    }
  });

  test("reads the token the first start wrote into the data dir when AUTH_TOKEN is not set", async () => {
    const dir = tempDir();
    const own = await serveApp({ AUTH_TOKEN: undefined }, { dataDir: dir });
    try {
      const { client } = await stdioClient({ BAKERST_DATA_DIR: dir });
      try {
        expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    } finally {
      await own.stop();
    }
  });

  test("with a wrong token every request is answered with an error naming the refusal, never left hanging", async () => {
    const { client, stderr } = await stdioClient({ BAKERST_DATA_DIR: tempDir(), AUTH_TOKEN: "wrong-token-0123456789abc" }, ["--url", srv.url]).catch((e) => ({
      client: undefined,
      stderr: () => String(e),
    }));
    // The SDK client sends initialize first; its refusal fails the connect.
    expect(client).toBeUndefined();
    expect(stderr()).toMatch(/401|unauthorized|not valid/i);
  });

  test("ends when its client closes stdin, as a client that quits does", async () => {
    const p = Bun.spawn([process.execPath, MAIN, "mcp", "--stdio"], {
      env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", BAKERST_DATA_DIR: srv.dataDir, AUTH_TOKEN: TOKEN },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    p.stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`,
    );
    p.stdin.flush();
    // Answered first: the relay is up and talking to the core before its client goes.
    const reader = p.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(first.split("\n")[0]!)).toMatchObject({ id: 1, result: { serverInfo: { name: expect.any(String) } } });
    reader.releaseLock();
    p.stdin.end();
    expect(await p.exited).toBe(0);
  });

  test("without a running bakerst or a token it says what to do and exits", async () => {
    const run = (env: Record<string, string>) => {
      const p = Bun.spawnSync([process.execPath, MAIN, "mcp", "--stdio"], { env: { PATH: process.env.PATH ?? "", ...env }, stdin: "ignore" });
      return { code: p.exitCode, err: p.stderr.toString(), out: p.stdout.toString() };
    };
    const none = run({ BAKERST_DATA_DIR: tempDir(), AUTH_TOKEN: TOKEN });
    expect(none).toMatchObject({ code: 1, out: "" });
    expect(none.err).toContain("no bakerst is running on");
    const noToken = run({ BAKERST_DATA_DIR: tempDir() });
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain("no API token");
    const noMode = Bun.spawnSync([process.execPath, MAIN, "mcp"], { env: { PATH: process.env.PATH ?? "", BAKERST_DATA_DIR: tempDir() } });
    expect(noMode.exitCode).toBe(2);
  });
});
