import { describe, expect, test } from "bun:test";
import { PromptCache, type RequestBody } from "../standins/prompt-cache.ts";

/** The stand-in's cache is what the caching tests trust; these pin it to the API's documented rules. */

const cc = { type: "ephemeral" };
const long = (n: number, tag = "x") => `${tag} `.repeat(n * 2); // about n tokens
const body = (system: string, messages: RequestBody["messages"], mark: number[] = []): RequestBody => ({
  model: "claude-sonnet-5-5",
  system: [{ type: "text", text: system, cache_control: cc }],
  messages: messages.map((m, i) => (mark.includes(i) ? { ...m, content: [{ type: "text", text: m.content as string, cache_control: cc }] } : m)),
});

describe("The stand-in's prompt cache", () => {
  test("the first request writes up to its breakpoint, the same prefix is then read, and only what follows the last breakpoint is full price", () => {
    const cache = new PromptCache();
    const a = cache.account(body(long(2000), [{ role: "user", content: "hello there" }]));
    expect(a.cacheRead).toBe(0);
    expect(a.cacheWrite).toBeGreaterThan(2000);
    expect(a.input).toBeGreaterThan(0);
    const b = cache.account(body(long(2000), [{ role: "user", content: "something else" }]));
    expect(b).toEqual({ cacheRead: a.cacheWrite, cacheWrite: 0, input: b.input });
  });

  test("a prefix under the model's minimum is never cached", () => {
    const cache = new PromptCache({ minTokens: 1024 });
    const small = body(long(300), [{ role: "user", content: "hi" }]);
    expect(cache.account(small).cacheWrite).toBe(0);
    expect(cache.account(small).cacheRead).toBe(0);
  });

  test("one byte changed before a breakpoint is a miss", () => {
    const cache = new PromptCache();
    cache.account(body(long(2000), [{ role: "user", content: "hi" }]));
    expect(cache.account(body(`${long(2000)}!`, [{ role: "user", content: "hi" }])).cacheRead).toBe(0);
  });

  test("entries live five minutes from their last read", () => {
    let now = 0;
    const cache = new PromptCache({ now: () => now });
    const req = body(long(2000), [{ role: "user", content: "hi" }]);
    cache.account(req);
    now = 4 * 60_000;
    expect(cache.account(req).cacheRead).toBeGreaterThan(0);
    now += 4 * 60_000; // eight minutes after the write, four after the read
    expect(cache.account(req).cacheRead).toBeGreaterThan(0);
    now += 5 * 60_000 + 1;
    expect(cache.account(req).cacheRead).toBe(0);
  });

  test("a breakpoint finds an entry up to 20 blocks before it, not 21", () => {
    const turns = (n: number) => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}` }));
    const cache = new PromptCache();
    cache.account(body(long(2000), turns(1), [0]));
    // 20 blocks later: found.
    expect(cache.account(body(long(2000), turns(21), [20])).cacheRead).toBeGreaterThan(2000);
    const other = new PromptCache();
    other.account(body(long(2000), turns(1), [0]));
    // 21 blocks later: only the system prompt's own entry is in reach.
    const far = other.account(body(long(2000), turns(22), [21]));
    const system = new PromptCache().account(body(long(2000), [{ role: "user", content: "x" }])).cacheWrite;
    expect(far.cacheRead).toBe(system);
  });

  test("counts the breakpoints of tools, system and messages (the API refuses more than four)", () => {
    const req: RequestBody = {
      model: "m",
      tools: [{ name: "a", cache_control: cc }],
      system: [
        { type: "text", text: "s1", cache_control: cc },
        { type: "text", text: "s2", cache_control: cc },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "a", cache_control: cc },
            { type: "text", text: "b", cache_control: cc },
          ],
        },
      ],
    };
    expect(PromptCache.breakpoints(req)).toBe(5);
  });
});
