import { createResource, createSignal, For, type JSX, Match, Show, Switch } from "solid-js";
import { ApiError } from "../../api/client.ts";
import { MEMORY_CATEGORIES, type Memory as MemoryItem } from "../../api/types.ts";
import { when } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { addMemory, browseMemories, deleteMemory, listNotes, recategorise, searchMemories } from "./api.ts";

type Tab = "memories" | "observations" | "reflections";

export default function Memory(): JSX.Element {
  const [tab, setTab] = createSignal<Tab>("memories");
  return (
    <section class="page">
      <div class="page-head">
        <h1>Memory</h1>
      </div>
      <div class="tabs" role="tablist" aria-label="Memory views">
        <For each={["memories", "observations", "reflections"] as Tab[]}>
          {(t) => (
            <button type="button" role="tab" aria-selected={tab() === t} onClick={() => setTab(t)}>
              {t[0]!.toUpperCase() + t.slice(1)}
            </button>
          )}
        </For>
      </div>
      <Switch>
        <Match when={tab() === "memories"}>
          <Memories />
        </Match>
        <Match when={tab() !== "memories"}>
          <Notes kind={tab() as "observations" | "reflections"} />
        </Match>
      </Switch>
    </section>
  );
}

function Memories(): JSX.Element {
  const [q, setQ] = createSignal("");
  const [query, setQuery] = createSignal("");
  const [category, setCategory] = createSignal("");
  const [version, setVersion] = createSignal(0);
  const [list, { mutate }] = createResource(
    () => [query(), category(), version()] as const,
    ([term, cat]) => (term ? searchMemories(term, cat || undefined) : browseMemories(cat || undefined)),
  );
  const [actionError, setActionError] = createSignal<unknown>();
  const reload = () => setVersion((v) => v + 1);
  const act = async (fn: () => Promise<unknown>) => {
    setActionError(undefined);
    try {
      await fn();
      reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const missing = () => list.error instanceof ApiError && list.error.missing;
  return (
    <Show when={!missing()} fallback={<ErrorBox error={list.error} what="Memory" />}>
      <AddMemory onAdded={reload} />
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(q().trim());
        }}
      >
        <label class="sr-only" for="mem-search">
          Search memories
        </label>
        <input id="mem-search" type="search" placeholder="Search memories (words or meaning)" value={q()} onInput={(e) => setQ(e.currentTarget.value)} />
        <label class="sr-only" for="mem-category">
          Category
        </label>
        <select id="mem-category" value={category()} onChange={(e) => setCategory(e.currentTarget.value)}>
          <option value="">All categories</option>
          <For each={MEMORY_CATEGORIES}>{(c) => <option value={c}>{c}</option>}</For>
        </select>
        <button class="btn" type="submit">
          Search
        </button>
        <Show when={query()}>
          <button class="btn ghost" type="button" onClick={() => (setQ(""), setQuery(""))}>
            Clear
          </button>
        </Show>
      </form>
      <Show when={query() && (list.latest as { mode?: string } | undefined)?.mode === "keywords"}>
        <p class="muted" role="note">
          Matching words only: search by meaning is unavailable (no embedder is configured, or it is down; System shows which).
        </p>
      </Show>
      <Show when={actionError()}>
        <ErrorBox error={actionError()} what="Memory" />
      </Show>
      <Show when={!list.error} fallback={<ErrorBox error={list.error} what="Memory" retry={reload} />}>
        <Show when={list.latest} fallback={<Loading label="Loading memories" />}>
          <Show
            when={list.latest!.length}
            fallback={
              <Empty title={query() ? "Nothing matches" : "No memories yet"}>
                {query() ? "Try other words, or another category." : "Add one above, or tell the agent something worth remembering."}
              </Empty>
            }
          >
            <ul class="mem-list" aria-label="Memories">
              <For each={list.latest}>
                {(m) => (
                  <MemoryRow
                    m={m}
                    onCategory={(c) => {
                      mutate((l) => l?.map((x) => (x.id === m.id ? { ...x, category: c } : x)));
                      void act(() => recategorise(m, c));
                    }}
                    onDelete={() => {
                      if (confirm(`Delete this memory?\n\n“${m.text.slice(0, 140)}”`)) void act(() => deleteMemory(m.id));
                    }}
                  />
                )}
              </For>
            </ul>
          </Show>
        </Show>
      </Show>
    </Show>
  );
}

function MemoryRow(props: { m: MemoryItem; onCategory: (c: string) => void; onDelete: () => void }): JSX.Element {
  return (
    <li class="card mem" data-memory={props.m.id}>
      <p class="mem-text">{props.m.text}</p>
      <div class="mem-side">
        <Show when={props.m.score !== undefined}>
          <span class="chip" title="relevance">
            {Math.round(props.m.score! * 100)}%
          </span>
        </Show>
        <label class="sr-only" for={`cat-${props.m.id}`}>
          Category
        </label>
        <select id={`cat-${props.m.id}`} value={props.m.category} onChange={(e) => props.onCategory(e.currentTarget.value)}>
          <For each={MEMORY_CATEGORIES}>{(c) => <option value={c}>{c}</option>}</For>
        </select>
        <button type="button" class="icon-btn small" aria-label="Delete memory" title="Delete" onClick={() => props.onDelete()}>
          ✕
        </button>
      </div>
    </li>
  );
}

function AddMemory(props: { onAdded: () => void }): JSX.Element {
  const [text, setText] = createSignal("");
  const [category, setCategory] = createSignal<string>("general");
  const [error, setError] = createSignal<unknown>();
  const [note, setNote] = createSignal("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = text().trim();
    if (!t) return;
    setError(undefined);
    try {
      const r = await addMemory(t, category());
      setText("");
      setNote(r.updated ? "Merged into a memory that said nearly the same." : "Saved.");
      props.onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Add a memory">
      <div class="form-row">
        <div class="grow">
          <label for="mem-new">Remember</label>
          <input id="mem-new" placeholder="My NAS is a Synology DS920+" value={text()} onInput={(e) => (setText(e.currentTarget.value), setNote(""))} />
        </div>
        <div>
          <label for="mem-new-cat" class="sr-only">
            Category
          </label>
          <select id="mem-new-cat" value={category()} onChange={(e) => setCategory(e.currentTarget.value)}>
            <For each={MEMORY_CATEGORIES}>{(c) => <option value={c}>{c}</option>}</For>
          </select>
        </div>
        <button class="btn primary" type="submit" disabled={!text().trim()}>
          Add
        </button>
      </div>
      <Show when={note()}>
        <p class="muted" role="status" style={{ margin: "6px 0 0" }}>
          {note()}
        </p>
      </Show>
      <Show when={error()}>
        <ErrorBox error={error()} what="Memory" />
      </Show>
    </form>
  );
}

function Notes(props: { kind: "observations" | "reflections" }): JSX.Element {
  const [list, { refetch }] = createResource(() => props.kind, listNotes);
  return (
    <Show when={!list.error} fallback={<ErrorBox error={list.error} what={props.kind[0]!.toUpperCase() + props.kind.slice(1)} retry={refetch} />}>
      <Show when={list.latest} fallback={<Loading label={`Loading ${props.kind}`} />}>
        <Show
          when={list.latest!.length}
          fallback={
            <Empty title={`No ${props.kind} yet`}>
              {props.kind === "observations" ? "The observer writes these as conversations grow." : "The reflector condenses observations into these."}
            </Empty>
          }
        >
          <ul class="mem-list">
            <For each={list.latest}>
              {(n) => (
                <li class="card">
                  <p class="mem-text">{n.text}</p>
                  <p class="muted" style={{ margin: "6px 0 0", "font-size": "13px" }}>
                    {when(n.createdAt)}
                  </p>
                </li>
              )}
            </For>
          </ul>
        </Show>
      </Show>
    </Show>
  );
}
