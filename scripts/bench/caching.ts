/**
 * `bun scripts/bench/caching.ts`: what prompt caching saves. The whole app
 * in-process runs a scripted conversation (20 turns of 3 tool rounds each:
 * the time, a memory search, today's spend, then an answer) against the
 * Anthropic stand-in, which bills the prompt cache as the Messages API does,
 * and reports the input billed with caching against the same requests
 * billed without it. The same script against the OpenAI-compatible stand-in
 * reports how much of each request repeats the one before, byte for byte,
 * as a server's prefix cache (vLLM, llama.cpp) would reuse it.
 * Prints markdown tables.
 */
import { makeApp } from "../../test/helpers/app.ts";
import { startAnthropicStandIn } from "../../test/standins/anthropic.ts";
import { render, sharedPrefix, startOpenAIStandIn } from "../../test/standins/openai.ts";
import type { Script } from "../../test/standins/script.ts";
import { afterTool, and, firstRound, prompt, reply } from "../../test/standins/script.ts";
import { table } from "./lib.ts";

const TURNS = 20;
/** Sonnet's list price per million tokens: input, output. */
const INPUT_USD = 3;
const OUTPUT_USD = 15;

const TOPICS = ["the NAS backups", "the garden watering", "the kids' school run", "the Proxmox upgrade", "the dentist", "the UPS battery", "the holiday flights", "the tax return"];
const question = (k: number) => `Turn ${k}: what should I do about ${TOPICS[k % TOPICS.length]} this week, given what you know?`;
const answer = (k: number) => `For ${TOPICS[k % TOPICS.length]}: ${"check what is due, write it down, and do the smallest next step first. ".repeat(8)}`;

/** The same 20 turns for either stand-in: three tool rounds, then the answer. */
function script(model: Script<never> | Script<unknown>, k: number) {
  const q = question(k);
  model.on(and(prompt(q), firstRound), reply().text("Let me look at the clock first.").tool("current_time", { timeZone: "Europe/London" }));
  model.on(
    and(prompt(q), afterTool("current_time")),
    reply()
      .text("Now what I remember.")
      .tool("memory_search", { query: TOPICS[k % TOPICS.length]!, limit: 5 }),
  );
  model.on(and(prompt(q), afterTool("memory_search")), reply().text("And what today has cost.").tool("usage_today", {}));
  model.on(and(prompt(q), afterTool("usage_today")), reply().text(answer(k)));
}

async function conversation(env: Record<string, string>, model: Script<never> | Script<unknown>) {
  const h = await makeApp({ ...env, OBSERVER_THRESHOLD_CHARS: "1000000" });
  try {
    // A memory with something in it, so searches and the turn's context carry what a real one would.
    for (let i = 0; i < 40; i++) {
      await h.request("/api/memories", {
        method: "POST",
        json: { text: `Note ${i}: ${TOPICS[i % TOPICS.length]} needs attention every ${2 + (i % 5)} weeks; last done in week ${i}.`, category: "general" },
      });
    }
    let id: string | undefined;
    for (let k = 1; k <= TURNS; k++) {
      script(model, k);
      const res = await h.request("/api/chat", { method: "POST", json: { message: question(k), ...(id ? { conversationId: id } : {}) } });
      if (res.status !== 200) throw new Error(`turn ${k}: ${res.status} ${await res.text()}`);
      id = ((await res.json()) as { conversationId: string }).conversationId;
    }
  } finally {
    await h.close();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const usd = (n: number) => `$${n.toFixed(4)}`;
const yes = (ok: boolean) => (ok ? "yes" : "**no**");

// Anthropic: with the model's minimum cacheable prefix of 1,024 tokens (Sonnet) and 4,096 (Opus 4.5, Haiku 4.5).
const rows: [string, string, string, string][] = [];
for (const minTokens of [1024, 4096]) {
  const claude = startAnthropicStandIn({ cache: { minTokens } });
  await conversation({ ANTHROPIC_API_KEY: "sk-bench", ANTHROPIC_BASE_URL: claude.url }, claude as never);
  const calls = claude.billed;
  const prompt = calls.reduce((n, b) => n + b.input + b.cacheRead + b.cacheWrite, 0);
  const billed = calls.reduce((n, b) => n + b.input + 1.25 * b.cacheWrite + 0.1 * b.cacheRead, 0);
  const read = calls.reduce((n, b) => n + b.cacheRead, 0);
  const output = calls.reduce((n, b) => n + b.output, 0);
  const less = 1 - billed / prompt;
  const label = `minimum cached prefix ${fmt(minTokens)} tokens`;
  rows.push(
    [`${label}: model calls; prompt tokens sent`, `${calls.length}; ${fmt(prompt)} (${fmt(prompt / calls.length)} a call)`, "", ""],
    [`${label}: input billed, as input-equivalent tokens, without caching → with`, `${fmt(prompt)} → ${fmt(billed)} (${fmt(read)} read from the cache)`, "", ""],
    [
      `${label}: input cost without caching → with`,
      `${usd((prompt * INPUT_USD) / 1e6)} → ${usd((billed * INPUT_USD) / 1e6)} (${(less * 100).toFixed(1)}% less)`,
      "≥ 70% less",
      yes(less >= 0.7),
    ],
    [
      `${label}: whole cost (output ${fmt(output)} tokens) without → with`,
      `${usd((prompt * INPUT_USD + output * OUTPUT_USD) / 1e6)} → ${usd((billed * INPUT_USD + output * OUTPUT_USD) / 1e6)}`,
      "",
      "",
    ],
  );
  await claude.stop();
}
console.log(table(`Prompt caching: ${TURNS} turns × 3 tool rounds against the Anthropic stand-in (billed as the API does, Sonnet prices)`, rows));

// OpenAI-compatible: how much of each request is the one before it, as a chat template renders them.
const local = startOpenAIStandIn();
await conversation({ OPENAI_BASE_URL: local.url, MODEL_AGENT: "openai:llama3.1:8b" }, local as never);
const prompts = local.requests.map((r) => ({ text: render(r.body), prompt: r.body.messages.findLast((m) => m.role === "user" && Array.isArray(m.content)) }));
let within = 0;
let withinAll = 0;
let across = 0;
let acrossAll = 0;
let sharedChars = 0;
let totalChars = 0;
for (let i = 1; i < prompts.length; i++) {
  const prev = prompts[i - 1]!.text;
  const cur = prompts[i]!.text;
  const shared = sharedPrefix(prev, cur);
  sharedChars += shared;
  totalChars += cur.length;
  // The turn's context opens with <context>; everything before it in the earlier request is what should repeat.
  const sameTurn = JSON.stringify(prompts[i - 1]!.prompt) === JSON.stringify(prompts[i]!.prompt);
  if (sameTurn) {
    within++;
    if (shared === prev.length) withinAll++;
  } else {
    across++;
    if (shared >= prev.indexOf("<context>")) acrossAll++;
  }
}
await local.stop();
console.log(
  table(`Prefix reuse: the same ${TURNS} turns against the OpenAI-compatible stand-in (${prompts.length} requests)`, [
    ["rounds of one turn that repeat all of the request before them", `${withinAll} of ${within}`, "all", yes(withinAll === within)],
    ["first rounds of a turn that repeat everything before the previous turn's context", `${acrossAll} of ${across}`, "all", yes(acrossAll === across)],
    ["share of all prompt characters a prefix cache could reuse", `${((sharedChars / totalChars) * 100).toFixed(1)}%`, "", ""],
  ]),
);
