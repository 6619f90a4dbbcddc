import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineTool } from "../../core/brain/tools.ts";
import { makeApp } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { type OpenAIStandIn, startOpenAIStandIn } from "../standins/openai.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

/** Many tools, as an MCP server brings them: 60 of them, each with a real description. */
const SKILLS = ["calendar", "mail", "music", "garden", "printer", "camera", "thermostat", "vacuum", "bank", "recipes"];
const VERBS = ["create", "delete", "list", "update", "find", "export"];
const many = SKILLS.flatMap((s) => VERBS.map((v) => `${s}_${v}`));

let claude: AnthropicStandIn;
let local: OpenAIStandIn;
const ran: { name: string; input: unknown }[] = [];

function registerMany(h: Awaited<ReturnType<typeof makeApp>>) {
  for (const name of many) {
    const [skill, verb] = name.split("_");
    h.s.tools.register(
      defineTool({
        name,
        description: `${verb} ${skill} items: ${"the owner's own, through their self-hosted service; ".repeat(3)}`,
        input: Type.Object({ title: Type.String({ maxLength: 200 }) }, { additionalProperties: false }),
        deferrable: true,
        run: (input) => {
          ran.push({ name, input });
          return { ok: true, [skill!]: input.title };
        },
      }),
    );
  }
}

beforeAll(() => {
  claude = startAnthropicStandIn();
  local = startOpenAIStandIn();
});
afterEach(() => {
  claude.checkAndReset();
  local.checkAndReset();
  ran.length = 0;
});
afterAll(async () => {
  await claude.stop();
  await local.stop();
});

describe("Many tools, few tokens", () => {
  test("on Anthropic: the core tools in full, the rest behind its tool search; a found tool runs and the tool list never changes", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: claude.url });
    try {
      registerMany(h);
      claude.on(
        and(prompt("Put the dentist in my calendar for Friday."), firstRound),
        reply().toolSearch("calendar event", ["calendar_create", "calendar_update"]).text("Adding it.").tool("calendar_create", { title: "Dentist, Friday" }),
      );
      claude.on(afterTool("calendar_create"), reply().text("Done: the dentist is on Friday."));
      const res = (await (await h.request("/api/chat", { method: "POST", json: { message: "Put the dentist in my calendar for Friday." } })).json()) as any;
      expect(res.text).toBe("Adding it.Done: the dentist is on Friday.");
      expect(ran).toEqual([{ name: "calendar_create", input: { title: "Dentist, Friday" } }]);
      const [first, second] = claude.requests;
      const tools = first!.body.tools!;
      expect(
        tools
          .filter((t) => t.defer_loading)
          .map((t) => t.name)
          .sort(),
      ).toEqual([...many].sort());
      expect(tools.filter((t) => !t.defer_loading).map((t) => t.name)).toContain("current_time");
      expect(tools.at(-1)).toEqual({ type: "tool_search_tool_bm25_20251119", name: "tool_search_tool_bm25" });
      expect(tools.some((t) => t.name === "find_tools")).toBe(false);
      // The search and what it found went back with the round, so the found tool stays callable (the stand-in checks).
      expect(JSON.stringify(second!.body.messages)).toContain('"tool_search_tool_result"');
      expect(second!.body.tools).toEqual(tools);
      // What the deferred schemas would have cost on every call: far more than what was sent in full.
      const sentInFull = JSON.stringify(tools.filter((t) => !t.defer_loading)).length;
      expect(JSON.stringify(tools.filter((t) => t.defer_loading)).length).toBeGreaterThan(sentInFull);
      expect(claude.billed[1]!.cacheRead).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  test("on an OpenAI-compatible server: find_tools answers with schemas and use_tool calls one; the tool list stays the same", async () => {
    const h = await makeApp({ OPENAI_BASE_URL: local.url, MODEL_AGENT: "openai:llama3.1:8b" });
    try {
      registerMany(h);
      local.on(and(prompt("Email the plumber."), firstRound), reply().tool("find_tools", { query: "create a mail" }));
      local.on(afterTool("find_tools"), reply().tool("use_tool", { name: "mail_create", input: { title: "Plumber: Tuesday?" } }));
      local.on(afterTool("use_tool"), reply().text("Sent."));
      const res = (await (await h.request("/api/chat", { method: "POST", json: { message: "Email the plumber." } })).json()) as any;
      expect(res.text).toBe("Sent.");
      expect(ran).toEqual([{ name: "mail_create", input: { title: "Plumber: Tuesday?" } }]);
      const found = local.requests[1]!.body.messages.at(-1)!;
      expect(found.role).toBe("tool");
      expect(String(found.content)).toContain('"name": "mail_create"');
      expect(String(found.content)).toContain("input_schema");
      const names = local.requests.map((r) => r.body.tools!.map((t) => t.function.name));
      expect(names[0]).toContain("find_tools");
      expect(names[0]).not.toContain("mail_create");
      expect(names[1]).toEqual(names[0]!);
      expect(names[2]).toEqual(names[0]!);
    } finally {
      await h.close();
    }
  });

  test("use_tool reaches only deferred tools, with their own input checks: nothing else runs", async () => {
    const h = await makeApp({ OPENAI_BASE_URL: local.url, MODEL_AGENT: "openai:llama3.1:8b" });
    try {
      registerMany(h);
      let budgetAsked = 0;
      h.s.tools.register(defineTool({ name: "spend_money", description: "core", input: Type.Object({}), run: () => budgetAsked++ }));
      local.on(
        and(prompt("Try the side doors."), firstRound),
        reply()
          .tool("use_tool", { name: "spend_money", input: {} }, "u1")
          .tool("use_tool", { name: "use_tool", input: { name: "bank_delete", input: { title: "x" } } }, "u2")
          .tool("use_tool", { name: "bank_delete", input: { title: 42 } }, "u3")
          .tool("use_tool", { name: "no_such_tool", input: {} }, "u4"),
      );
      local.on(afterTool("use_tool"), reply().text("None of that worked."));
      const res = (await (await h.request("/api/chat", { method: "POST", json: { message: "Try the side doors." } })).json()) as any;
      expect(budgetAsked).toBe(0);
      expect(ran).toEqual([]);
      expect(res.toolCalls.map((c: any) => c.ok)).toEqual([false, false, false, false]);
      expect(res.toolCalls[0].summary).toContain("no deferred tool is named");
      expect(res.toolCalls[2].summary).toContain("invalid input for bank_delete");
    } finally {
      await h.close();
    }
  });

  test("a few deferrable tools are simply sent in full", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: claude.url });
    try {
      h.s.tools.register(defineTool({ name: "garden_water", description: "waters the garden", input: Type.Object({}), deferrable: true, run: () => "wet" }));
      claude.on(prompt("water it"), reply().text("ok"));
      await h.request("/api/chat", { method: "POST", json: { message: "water it" } });
      const tools = claude.requests[0]!.body.tools!;
      expect(tools.find((t) => t.name === "garden_water")?.defer_loading).toBeUndefined();
      expect(tools.some((t) => t.name === "tool_search_tool_bm25")).toBe(false);
    } finally {
      await h.close();
    }
  });
});
