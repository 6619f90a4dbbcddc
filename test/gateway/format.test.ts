import { describe, expect, test } from "bun:test";
import { escapeMarkdown, toPlain, toTelegramHtml } from "../../core/gateway/format/render.ts";
import { splitMarkdown } from "../../core/gateway/format/split.ts";
import { parseTelegramHtml } from "../standins/telegram.ts";

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const words = ["Holmes", "Watson", "the", "fog", "`code`", "**bold**", "_it_", "<tag>", "a&b", "[link](https://example.com/x)", "🕵️", "\\", "~~gone~~", "#7"];
function randomMarkdown(r: () => number, size: number): string {
  const out: string[] = [];
  let n = 0;
  while (n < size) {
    let block: string;
    const kind = r();
    if (kind < 0.15) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 80) }, (_, i) => `  line ${i} <${"x".repeat(Math.floor(r() * 60))}> & "q"`);
      block = `\`\`\`${r() < 0.5 ? "ts" : ""}\n${lines.join("\n")}\n\`\`\``;
    } else if (kind < 0.25) {
      block = Array.from({ length: 1 + Math.floor(r() * 6) }, () => `- ${words[Math.floor(r() * words.length)]} item`).join("\n");
    } else {
      block = Array.from({ length: 5 + Math.floor(r() * 120) }, () => words[Math.floor(r() * words.length)]).join(" ");
    }
    out.push(block);
    n += block.length + 2;
  }
  return out.join("\n\n");
}

describe("splitting a long answer", () => {
  test("a short answer is one message, unchanged", () => {
    expect(splitMarkdown("Elementary.", 4096)).toEqual(["Elementary."]);
  });

  test("cuts between paragraphs, never past the limit", () => {
    const para = (c: string) => `${c.repeat(1500)}.`;
    const parts = splitMarkdown([para("a"), para("b"), para("c"), para("d")].join("\n\n"), 4096);
    expect(parts).toEqual([`${para("a")}\n\n${para("b")}`, `${para("c")}\n\n${para("d")}`]);
  });

  test("a code block cut in two is closed and opened again with its language", () => {
    const code = Array.from({ length: 300 }, (_, i) => `console.log(${i}); // some padding here`).join("\n");
    const parts = splitMarkdown(`Here it is:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`, 2000);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(2000);
      // Every part has balanced fences, so each renders on its own.
      expect((p.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    expect(parts[1]!.startsWith("```ts\n")).toBe(true);
    // Nothing is lost: the lines of code all arrive, in order, once.
    const lines = parts
      .join("\n")
      .split("\n")
      .filter((l) => l.startsWith("console.log"));
    expect(lines).toEqual(code.split("\n"));
    expect(parts.at(-1)!.endsWith("Done.")).toBe(true);
  });

  test("random Markdown: every part fits, renders as valid Telegram HTML, and the words survive in order", () => {
    const r = rng(42);
    for (let round = 0; round < 60; round++) {
      const md = randomMarkdown(r, 2000 + Math.floor(r() * 20_000));
      for (const limit of [4096, 2000]) {
        const parts = splitMarkdown(md, limit);
        for (const p of parts) {
          expect(p.length).toBeLessThanOrEqual(limit);
          const html = toTelegramHtml(p);
          const parsed = parseTelegramHtml(html);
          if ("error" in parsed) throw new Error(`${parsed.error} in ${html.slice(0, 300)}`);
          expect(parsed.text.length).toBeLessThanOrEqual(4096);
        }
        const squash = (s: string) => s.replace(/```\w*/g, "").replace(/\s+/g, "");
        expect(squash(parts.join("\n"))).toBe(squash(md));
      }
    }
  });

  test("parts already cut stay the same as the answer grows (what streaming relies on)", () => {
    const md = randomMarkdown(rng(7), 30_000);
    const final = splitMarkdown(md, 4096);
    for (let cut = 4096; cut < md.length; cut += 1733) {
      const partial = splitMarkdown(md.slice(0, cut), 4096);
      expect(partial.slice(0, -1)).toEqual(final.slice(0, partial.length - 1));
    }
  });
});

describe("Markdown for Telegram", () => {
  test("formatting becomes Telegram's HTML tags", () => {
    expect(toTelegramHtml("**bold** _it_ ~~gone~~ `x<y`")).toBe("<b>bold</b> <i>it</i> <s>gone</s> <code>x&lt;y</code>");
    expect(toTelegramHtml("# Title\n\ntext")).toBe("<b>Title</b>\n\ntext");
    expect(toTelegramHtml("```py\nif a < b and c > d: print('&')\n```")).toBe("<pre><code class=\"language-py\">if a &lt; b and c &gt; d: print('&amp;')</code></pre>");
    expect(toTelegramHtml("> quoted")).toBe("<blockquote>quoted</blockquote>");
    expect(toTelegramHtml("- one\n- two\n  - nested")).toBe("• one\n• two\n  • nested");
    expect(toTelegramHtml("1. first\n2. second")).toBe("1. first\n2. second");
  });

  test("whatever the model writes is escaped: raw HTML shows as text, and only web links survive", () => {
    expect(toTelegramHtml('<b onclick="x">hi</b> & <script>alert(1)</script>')).toBe("&lt;b onclick=&quot;x&quot;&gt;hi&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(toTelegramHtml('[site](https://example.com/?a=1&b="2")')).toBe('<a href="https://example.com/?a=1&amp;b=&quot;2&quot;">site</a>');
    expect(toTelegramHtml("[click](javascript:alert(1))")).toBe("click");
    expect(toTelegramHtml("5 > 3 && 2 < 4")).toBe("5 &gt; 3 &amp;&amp; 2 &lt; 4");
  });

  test("an answer cut off mid-stream (unclosed bold, unclosed fence) still renders", () => {
    for (const md of ["**half bold", "```ts\nconst a = 1 <", "[link](https://exa", "> quote\n\n- item **x"]) {
      const parsed = parseTelegramHtml(toTelegramHtml(md));
      expect("error" in parsed).toBe(false);
    }
  });

  test("plain text keeps the words and drops the markup", () => {
    expect(toPlain("**Bold** and [a link](https://example.com)")).toBe("Bold and a link (https://example.com)");
  });

  test("literal values are escaped for Markdown, and come out as written", () => {
    const title = "*Holmes* [221b] <home> #1 `x` _y_";
    expect(parseTelegramHtml(toTelegramHtml(`Chat: ${escapeMarkdown(title)}`))).toEqual({ text: `Chat: ${title}` });
  });
});
