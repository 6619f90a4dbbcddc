import { Lexer, type Token, type Tokens } from "marked";
import { createMemo, createSignal, Index, type JSX, Show } from "solid-js";

/**
 * Markdown from the model, built as DOM nodes from marked's tokens. Nothing
 * is ever parsed as HTML: raw HTML in the text shows as text, links are kept
 * only for http(s) and open in a new tab without an opener or referrer.
 */
export function Markdown(props: { text: string }): JSX.Element {
  const tokens = createMemo(() => Lexer.lex(props.text, { gfm: true, breaks: true }));
  return (
    <div class="md">
      <Index each={tokens()}>
        {(tok) => {
          // While streaming only the last block changes; earlier blocks keep their nodes (and any text selection).
          const stable = createMemo(tok, undefined, { equals: (a, b) => a.raw === b.raw && a.type === b.type });
          return <>{block(stable())}</>;
        }}
      </Index>
    </div>
  );
}

export function safeHref(href: string): string | undefined {
  try {
    const u = new URL(href, "https://invalid.example/");
    if (u.origin === "https://invalid.example") return undefined; // relative links have no meaning in a chat
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

function block(t: Token): JSX.Element {
  switch (t.type) {
    case "space":
    case "def":
      return null;
    case "heading": {
      const h = t as Tokens.Heading;
      const level = Math.min(6, Math.max(3, h.depth + 2)); // page and section titles own h1-h2
      const kids = inline(h.tokens);
      return level === 3 ? <h3>{kids}</h3> : level === 4 ? <h4>{kids}</h4> : level === 5 ? <h5>{kids}</h5> : <h6>{kids}</h6>;
    }
    case "paragraph":
      return <p>{inline((t as Tokens.Paragraph).tokens)}</p>;
    case "code":
      return <CodeBlock code={(t as Tokens.Code).text} lang={(t as Tokens.Code).lang} />;
    case "blockquote":
      return <blockquote>{(t as Tokens.Blockquote).tokens.map(block)}</blockquote>;
    case "hr":
      return <hr />;
    case "list": {
      const l = t as Tokens.List;
      const items = l.items.map((it) => (
        <li>
          {it.task ? <input type="checkbox" checked={!!it.checked} disabled aria-label={it.checked ? "done" : "not done"} /> : null}
          {it.tokens.map((c) => (c.type === "text" ? inline((c as Tokens.Text).tokens ?? [c]) : block(c)))}
        </li>
      ));
      return l.ordered ? <ol start={typeof l.start === "number" ? l.start : undefined}>{items}</ol> : <ul>{items}</ul>;
    }
    case "table": {
      const tb = t as Tokens.Table;
      const align = (i: number) => tb.align[i] ?? undefined;
      return (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                {tb.header.map((c, i) => (
                  <th style={{ "text-align": align(i) }}>{inline(c.tokens)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {tb.rows.map((row) => (
                <tr>
                  {row.map((c, i) => (
                    <td style={{ "text-align": align(i) }}>{inline(c.tokens)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case "html":
      return <p class="raw-html">{(t as Tokens.HTML).text}</p>;
    case "text": {
      const tx = t as Tokens.Text;
      return <p>{tx.tokens ? inline(tx.tokens) : tx.text}</p>;
    }
    default:
      return <p>{t.raw}</p>;
  }
}

function inline(tokens: Token[] | undefined): JSX.Element {
  return (tokens ?? []).map(inlineOne);
}

function inlineOne(t: Token): JSX.Element {
  switch (t.type) {
    case "text": {
      const tx = t as Tokens.Text;
      return tx.tokens ? inline(tx.tokens) : tx.text;
    }
    case "escape":
      return (t as Tokens.Escape).text;
    case "strong":
      return <strong>{inline((t as Tokens.Strong).tokens)}</strong>;
    case "em":
      return <em>{inline((t as Tokens.Em).tokens)}</em>;
    case "del":
      return <del>{inline((t as Tokens.Del).tokens)}</del>;
    case "codespan":
      return <code>{(t as Tokens.Codespan).text}</code>;
    case "br":
      return <br />;
    case "link": {
      const l = t as Tokens.Link;
      const href = safeHref(l.href);
      if (!href) return <span class="unsafe-link">{inline(l.tokens)}</span>;
      return (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow" title={href}>
          {inline(l.tokens)}
        </a>
      );
    }
    case "image": {
      // Remote images would leak the owner's address to whoever the model names; offer the link instead.
      const im = t as Tokens.Image;
      const href = safeHref(im.href);
      const label = `image: ${im.text || im.href}`;
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow">
          {label}
        </a>
      ) : (
        label
      );
    }
    case "html":
      return (t as Tokens.HTML).text;
    default:
      return t.raw;
  }
}

function CodeBlock(props: { code: string; lang?: string }): JSX.Element {
  const [copied, setCopied] = createSignal(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.code);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div class="code">
      <div class="code-head">
        <span>{props.lang || "text"}</span>
        <button class="link-btn" type="button" onClick={copy} aria-label="Copy code">
          {copied() ? "Copied" : "Copy"}
        </button>
      </div>
      <pre>
        <code>{props.code}</code>
      </pre>
    </div>
  );
}

export function Json(props: { value: unknown }): JSX.Element {
  const text = () => (typeof props.value === "string" ? props.value : JSON.stringify(props.value, null, 2));
  return (
    <Show when={props.value !== undefined && props.value !== null} fallback={<span class="muted">—</span>}>
      <pre class="json">{text()}</pre>
    </Show>
  );
}
