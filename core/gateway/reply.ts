import type { StoredMessage } from "../conversations/store.ts";
import { escapeMarkdown } from "./format/render.ts";

type Part = { kind: "text"; text: string } | { kind: "tools"; tools: { id: string; name: string; ok?: boolean }[] } | { kind: "note"; text: string };

/**
 * A reply as the chat shows it, in Markdown: the answer's text, each round's
 * tool calls on one compact line (`⚙ get_job ✓ · dispatch_job …`), and any
 * notice or error at the end. Only text and tool calls go in: never a
 * thinking block, never a tool's input or output.
 */
export class ReplyDoc {
  private parts: Part[] = [];

  text(delta: string): void {
    const last = this.parts.at(-1);
    if (last?.kind === "text") last.text += delta;
    else this.parts.push({ kind: "text", text: delta });
  }

  toolUse(id: string, name: string): void {
    const last = this.parts.at(-1);
    if (last?.kind === "tools") last.tools.push({ id, name });
    else this.parts.push({ kind: "tools", tools: [{ id, name }] });
  }

  toolResult(id: string, ok: boolean): void {
    for (const p of this.parts) if (p.kind === "tools") for (const t of p.tools) if (t.id === id) t.ok = ok;
  }

  note(text: string): void {
    this.parts.push({ kind: "note", text });
  }

  get hasText(): boolean {
    return this.parts.some((p) => p.kind === "text" && p.text.trim());
  }

  markdown(): string {
    const out: string[] = [];
    for (const p of this.parts) {
      if (p.kind === "text") {
        if (p.text.trim()) out.push(p.text.trim());
      } else if (p.kind === "tools") {
        out.push(`⚙ ${p.tools.map((t) => `${escapeMarkdown(t.name)} ${t.ok === undefined ? "…" : t.ok ? "✓" : "✗"}`).join(" · ")}`);
      } else {
        out.push(`⚠️ ${escapeMarkdown(p.text)}`);
      }
    }
    return out.join("\n\n");
  }

  /** The reply of a turn from what the conversation stored: how a restart answers a turn it did not see end. */
  static fromStored(messages: StoredMessage[]): ReplyDoc {
    const doc = new ReplyDoc();
    for (const m of messages) {
      if (m.role === "user") continue;
      for (const b of m.content) {
        if (b.type === "text" && m.role === "assistant") doc.text(b.text);
        else if (b.type === "tool_use") doc.toolUse(b.id, b.name);
        else if (b.type === "tool_result") doc.toolResult(b.tool_use_id, !b.is_error);
      }
      if (m.error) doc.note(m.error.message);
    }
    return doc;
  }
}
