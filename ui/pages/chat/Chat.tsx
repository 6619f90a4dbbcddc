import { useNavigate, useParams } from "@solidjs/router";
import { createEffect, createMemo, createSignal, For, type JSX, Match, on, onCleanup, Show, Switch } from "solid-js";
import { ErrorBox, Loading } from "../../components/States.tsx";
import { Composer } from "./Composer.tsx";
import { Sidebar } from "./Sidebar.tsx";
import { sessionFor } from "./session.ts";
import { Turn } from "./Thread.tsx";

export function Chat(): JSX.Element {
  const params = useParams<{ id?: string }>();
  const navigate = useNavigate();
  const session = createMemo(() => sessionFor(params.id));
  const [drawer, setDrawer] = createSignal(false);
  const [compacted, setCompacted] = createSignal<string>();
  const onKey = (e: KeyboardEvent) => e.key === "Escape" && drawer() && setDrawer(false);
  document.addEventListener("keydown", onKey);
  onCleanup(() => document.removeEventListener("keydown", onKey));
  let scroller!: HTMLDivElement;
  let pinned = true;

  createEffect(
    on(session, (s) => {
      setCompacted(undefined);
      // Coming back to a conversation re-reads it: another channel (Telegram, a job) may have added to it.
      if (s.state() === "idle" || (s.state() === "ready" && s.id() && !s.busy())) void s.load();
      pinned = true;
      queueMicrotask(() => scroller && (scroller.scrollTop = scroller.scrollHeight));
    }),
  );
  createEffect(() => {
    document.title = params.id ? `${session().title()} · Baker Street` : "Baker Street";
  });

  // Follow the reply as it streams, unless the owner scrolled up to read.
  const observer = new MutationObserver(() => {
    if (pinned) scroller.scrollTop = scroller.scrollHeight;
  });
  const attach = (el: HTMLDivElement) => {
    scroller = el;
    observer.observe(el, { childList: true, subtree: true, characterData: true });
  };
  onCleanup(() => observer.disconnect());

  const send = (text: string) => {
    pinned = true;
    const s = session();
    void s.send(text, (id) => navigate(`/chat/${encodeURIComponent(id)}`, { replace: !params.id }));
  };

  return (
    <div class="chat" classList={{ "convs-open": drawer() }}>
      <Sidebar current={params.id} onPick={() => setDrawer(false)} />
      <div class="scrim convs-scrim" onClick={() => setDrawer(false)} aria-hidden="true" />
      <section class="thread-wrap" aria-label="Conversation">
        <div class="thread-head">
          <button type="button" class="btn ghost convs-toggle" onClick={() => setDrawer(!drawer())} aria-expanded={drawer()}>
            Conversations
          </button>
          <h1 class="thread-title">{params.id ? session().title() : "New conversation"}</h1>
          <Show when={params.id && session().turns.length > 1}>
            <button
              type="button"
              class="btn ghost small"
              disabled={session().busy()}
              title="Summarise the older turns for the model (the /compact command); every message stays here"
              onClick={async () => {
                const r = await session()
                  .compact()
                  .catch((err: Error) => ({ message: err.message }));
                if (r) setCompacted(r.message);
              }}
            >
              Compact
            </button>
          </Show>
        </div>
        <Show when={compacted()}>
          <p class="notice" role="status">
            {compacted()}
          </p>
        </Show>
        <div
          class="thread"
          ref={attach}
          onScroll={(e) => {
            const el = e.currentTarget;
            pinned = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
          }}
          aria-live="polite"
        >
          <Switch>
            <Match when={session().state() === "loading" || session().state() === "idle"}>
              <Loading label="Loading the conversation" />
            </Match>
            <Match when={session().state() === "error"}>
              <ErrorBox error={session().loadError()} retry={() => void session().load()} />
            </Match>
            <Match when={session().turns.length === 0}>
              <div class="welcome">
                <h2>What can I do for you?</h2>
                <p class="muted">Ask a question, have it run a job, or tell it something to remember.</p>
              </div>
            </Match>
            <Match when={true}>
              <For each={session().turns}>
                {(turn, i) => (
                  <Turn turn={turn} last={i() === session().turns.length - 1} onRetry={() => void session().retry(i())} onApprove={(id) => session().approveTask(i(), id)} />
                )}
              </For>
            </Match>
          </Switch>
        </div>
        <Composer busy={session().busy()} onSend={send} onStop={() => void session().stop()} />
      </section>
    </div>
  );
}
