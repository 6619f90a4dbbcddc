import { Lexer, type Token, type Tokens } from "marked";

/**
 * Markdown from the model as each platform shows it. Telegram gets its HTML
 * subset (only `<`, `>`, `&` and `"` need escaping there, where MarkdownV2
 * needs 18 characters escaped by context); Discord speaks Markdown itself.
 * Anything the renderer does not know (raw HTML, tables) becomes literal text.
 */
export type Format = "html" | "markdown" | "plain";

const escHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Markdown's own escaping, for literal values (names, titles, codes) placed in a message. */
export const escapeMarkdown = (s: string) => s.replace(/[\\`*_~|[\]()<>#!]/g, (c) => `\\${c}`);

const LINK_SCHEMES = new Set(["http:", "https:", "mailto:", "tg:"]);
function safeHref(href: string): string | undefined {
  try {
    return LINK_SCHEMES.has(new URL(href).protocol) ? href : undefined;
  } catch {
    return undefined;
  }
}

interface Marks {
  tag(name: "b" | "i" | "s" | "code" | "blockquote", inner: string): string;
  pre(code: string, lang: string | undefined): string;
  link(href: string, inner: string): string;
  text(s: string): string;
}

const HTML: Marks = {
  tag: (name, inner) => (inner ? `<${name}>${inner}</${name}>` : ""),
  pre: (code, lang) => `<pre>${lang ? `<code class="language-${lang}">` : "<code>"}${escHtml(code)}</code></pre>`,
  link: (href, inner) => `<a href="${escHtml(href)}">${inner}</a>`,
  text: escHtml,
};

const PLAIN: Marks = {
  tag: (_, inner) => inner,
  pre: (code) => code,
  link: (href, inner) => (inner === href ? href : `${inner} (${href})`),
  text: (s) => s,
};

function inline(tokens: Token[] | undefined, m: Marks): string {
  return (tokens ?? []).map((t) => inlineToken(t, m)).join("");
}

function inlineToken(t: Token, m: Marks): string {
  switch (t.type) {
    case "text": {
      const tt = t as Tokens.Text;
      return tt.tokens?.length ? inline(tt.tokens, m) : m.text(tt.text);
    }
    case "escape":
      return m.text((t as Tokens.Escape).text);
    case "strong":
      return m.tag("b", inline((t as Tokens.Strong).tokens, m));
    case "em":
      return m.tag("i", inline((t as Tokens.Em).tokens, m));
    case "del":
      return m.tag("s", inline((t as Tokens.Del).tokens, m));
    case "codespan":
      return m.tag("code", m.text((t as Tokens.Codespan).text));
    case "br":
      return "\n";
    case "link": {
      const l = t as Tokens.Link;
      const inner = inline(l.tokens, m);
      const href = safeHref(l.href);
      return href ? m.link(href, inner || m.text(href)) : inner;
    }
    case "image": {
      const i = t as Tokens.Image;
      const href = safeHref(i.href);
      const alt = m.text(i.text || "image");
      return href ? m.link(href, alt) : alt;
    }
    default:
      return m.text(t.raw);
  }
}

function blocks(tokens: Token[], m: Marks, indent = ""): string {
  const out: string[] = [];
  for (const t of tokens) {
    const b = block(t, m, indent);
    if (b !== "") out.push(b);
  }
  return out.join("\n\n");
}

function block(t: Token, m: Marks, indent: string): string {
  switch (t.type) {
    case "space":
    case "def":
      return "";
    case "paragraph":
      return inline((t as Tokens.Paragraph).tokens, m);
    case "heading":
      return m.tag("b", inline((t as Tokens.Heading).tokens, m));
    case "code": {
      const c = t as Tokens.Code;
      const lang = c.lang && /^[\w+#.-]{1,32}$/.test(c.lang) ? c.lang : undefined;
      return m.pre(c.text, lang);
    }
    case "blockquote":
      return m.tag("blockquote", blocks((t as Tokens.Blockquote).tokens, m));
    case "list": {
      const l = t as Tokens.List;
      const start = typeof l.start === "number" ? l.start : 1;
      return l.items
        .map((item, i) => {
          const bullet = item.task ? (item.checked ? "☑" : "☐") : l.ordered ? `${start + i}.` : "•";
          const body = item.tokens
            .map((c) => (c.type === "text" ? inlineToken(c, m) : c.type === "list" ? `\n${block(c, m, `${indent}  `)}` : block(c, m, `${indent}  `)))
            .filter((s) => s !== "")
            .join("\n")
            .replace(/\n\n+/g, "\n");
          return `${indent}${bullet} ${body}`;
        })
        .join("\n");
    }
    case "hr":
      return "──────────";
    case "table":
      // Neither platform lays out a table; its source keeps the columns readable in monospace.
      return m.pre(t.raw.replace(/\n+$/, ""), undefined);
    case "text": {
      const tt = t as Tokens.Text;
      return tt.tokens?.length ? inline(tt.tokens, m) : m.text(tt.text);
    }
    default:
      return m.text(t.raw.replace(/\n+$/, ""));
  }
}

const lex = (md: string) => new Lexer({ gfm: true, breaks: false }).lex(md);

/** Telegram's HTML parse mode: every tag closed, every literal escaped. */
export const toTelegramHtml = (md: string): string => blocks(lex(md), HTML).trim();

/** Text without any formatting, for when a platform refuses a rendering. */
export const toPlain = (md: string): string => blocks(lex(md), PLAIN).trim();

/** What a platform gets for a Markdown chunk. */
export function render(md: string, format: Format): string {
  if (format === "html") return toTelegramHtml(md);
  if (format === "plain") return toPlain(md);
  return md;
}
