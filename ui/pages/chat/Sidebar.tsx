import { A, useNavigate } from "@solidjs/router";
import { createResource, createSignal, For, type JSX, Show } from "solid-js";
import { api, qs } from "../../api/client.ts";
import type { ConversationList, ConversationSummary } from "../../api/types.ts";
import { ago } from "../../components/format.ts";
import { ErrorBox } from "../../components/States.tsx";
import { forget, listVersion, refreshList, sessionFor } from "./session.ts";

export function Sidebar(props: { current?: string; onPick?: () => void }): JSX.Element {
  const navigate = useNavigate();
  const [q, setQ] = createSignal("");
  const [query, setQuery] = createSignal("");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const PAGE = 50;
  // Pages past the first, kept while the search stays the same; a refresh re-reads as many as were shown.
  const [shown, setShown] = createSignal(PAGE);
  const [list] = createResource(
    () => [query(), listVersion(), shown()] as const,
    async ([term, , count]) => {
      const out: ConversationSummary[] = [];
      let before: number | null | undefined;
      while (out.length < count) {
        const r = await api<ConversationList>(`/api/conversations${qs({ q: term, limit: Math.min(200, count - out.length), before })}`);
        out.push(...r.conversations);
        before = r.next;
        if (!before) break;
      }
      return { items: out, more: !!before };
    },
  );
  const [editing, setEditing] = createSignal<string>();

  const rename = async (c: ConversationSummary, title: string) => {
    setEditing(undefined);
    const t = title.trim();
    if (!t || t === c.title) return;
    await api(`/api/conversations/${encodeURIComponent(c.id)}`, { method: "PATCH", json: { title: t } });
    sessionFor(c.id).setTitle(t);
    refreshList();
  };
  const remove = async (c: ConversationSummary) => {
    if (!confirm(`Delete “${c.title}”? Its messages are removed for good.`)) return;
    await api(`/api/conversations/${encodeURIComponent(c.id)}`, { method: "DELETE" });
    forget(c.id);
    refreshList();
    if (props.current === c.id) navigate("/", { replace: true });
  };

  return (
    <aside class="convs" aria-label="Conversations">
      <div class="convs-head">
        <A class="btn primary new-chat" href="/" onClick={() => props.onPick?.()}>
          New conversation
        </A>
        <label class="sr-only" for="conv-search">
          Search conversations
        </label>
        <input
          id="conv-search"
          type="search"
          placeholder="Search by title"
          value={q()}
          onInput={(e) => {
            setQ(e.currentTarget.value);
            clearTimeout(timer);
            timer = setTimeout(() => (setShown(PAGE), setQuery(q().trim())), 200);
          }}
        />
      </div>
      <Show when={!list.error} fallback={<ErrorBox error={list.error} />}>
        <Show when={list.latest && list.latest.items.length === 0}>
          <p class="muted convs-empty">{query() ? "No conversation has that in its title." : "No conversations yet. Say hello."}</p>
        </Show>
        <ul class="conv-list">
          <For each={list.latest?.items}>
            {(c) => (
              <li classList={{ active: c.id === props.current }}>
                <Show
                  when={editing() === c.id}
                  fallback={
                    <A href={`/chat/${encodeURIComponent(c.id)}`} class="conv-link" onClick={() => props.onPick?.()} aria-current={c.id === props.current ? "page" : undefined}>
                      <span class="conv-title">{c.title}</span>
                      <span class="conv-meta">
                        {c.running ? <span class="dot-live" title="replying" /> : null}
                        {origin(c.channel) ? <span class="conv-origin">{origin(c.channel)} · </span> : null}
                        {ago(c.updatedAt)}
                      </span>
                    </A>
                  }
                >
                  <input
                    class="conv-rename"
                    aria-label="New title"
                    value={c.title}
                    ref={(el) => queueMicrotask(() => el.select())}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") void rename(c, e.currentTarget.value);
                      if (e.key === "Escape") setEditing(undefined);
                    }}
                    onBlur={(e) => void rename(c, e.currentTarget.value)}
                  />
                </Show>
                <div class="conv-actions">
                  <button type="button" class="icon-btn small" aria-label={`Rename ${c.title}`} title="Rename" onClick={() => setEditing(c.id)}>
                    ✎
                  </button>
                  <button type="button" class="icon-btn small" aria-label={`Delete ${c.title}`} title="Delete" onClick={() => void remove(c)}>
                    ✕
                  </button>
                </div>
              </li>
            )}
          </For>
        </ul>
        <Show when={list.latest?.more}>
          <button type="button" class="btn ghost small show-older" onClick={() => setShown(shown() + PAGE)} disabled={list.loading}>
            Show older
          </button>
        </Show>
      </Show>
    </aside>
  );
}

/** Where a conversation lives, when it is not the console: "Telegram", "Discord". */
function origin(channel: string): string | undefined {
  const platform = channel.split(":")[0];
  return platform === "telegram" ? "Telegram" : platform === "discord" ? "Discord" : undefined;
}
