import { createEffect, createResource, createSignal, For, type JSX, on, Show } from "solid-js";
import { when } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { type AuditEvent, detailText, listActions, listAudit, OUTCOMES } from "./api.ts";

/** The audit log: logins, refusals, jobs and the rest, newest first, filtered and paged. */
export default function Audit(): JSX.Element {
  const [action, setAction] = createSignal("");
  const [outcome, setOutcome] = createSignal("");
  const [actions] = createResource(listActions);
  const [first, { refetch }] = createResource(() => ({ action: action(), outcome: outcome() }), listAudit);
  // Older pages, appended by "Load more"; a new first page (filter, refresh) starts over.
  const [older, setOlder] = createSignal<AuditEvent[]>([]);
  const [next, setNext] = createSignal<number | null>(null);
  const [busy, setBusy] = createSignal(false);
  const [moreError, setMoreError] = createSignal<unknown>();
  createEffect(
    on(
      () => first.latest,
      (page) => {
        setOlder([]);
        setNext(page?.next ?? null);
        setMoreError(undefined);
      },
    ),
  );
  const rows = () => [...(first.latest?.events ?? []), ...older()];
  const loadMore = async () => {
    setBusy(true);
    setMoreError(undefined);
    const shown = first.latest;
    try {
      const page = await listAudit({ action: action(), outcome: outcome(), before: next() });
      // The filters changed (or the list was refreshed) meanwhile: this page belongs to the old list.
      if (first.latest !== shown) return;
      setOlder([...older(), ...page.events]);
      setNext(page.next);
    } catch (err) {
      setMoreError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="page">
      <div class="page-head">
        <h1>Audit log</h1>
        <button type="button" class="btn small" onClick={() => void refetch()} disabled={first.loading}>
          Refresh
        </button>
      </div>
      <p class="muted">Logins, refusals, jobs and other security-relevant events. Nothing here can be changed or deleted.</p>
      <div class="toolbar" role="group" aria-label="Filter the audit log">
        <label class="sr-only" for="audit-action">
          Action
        </label>
        <select id="audit-action" value={action()} onChange={(e) => setAction(e.currentTarget.value)}>
          <option value="">All actions</option>
          <For each={actions.latest ?? []}>
            {(a) => (
              <option value={a.name} title={a.description}>
                {a.name}
              </option>
            )}
          </For>
        </select>
        <label class="sr-only" for="audit-outcome">
          Outcome
        </label>
        <select id="audit-outcome" value={outcome()} onChange={(e) => setOutcome(e.currentTarget.value)}>
          <option value="">All outcomes</option>
          <For each={OUTCOMES}>{(o) => <option value={o}>{o}</option>}</For>
        </select>
      </div>
      <Show when={!first.error} fallback={<ErrorBox error={first.error} what="Audit log" retry={refetch} />}>
        <div class="card" style={{ padding: "0" }}>
          <Show when={first.latest} fallback={<Loading label="Loading the audit log" />}>
            <Show
              when={rows().length}
              fallback={<Empty title="Nothing recorded">{action() || outcome() ? "No event matches these filters." : "Events appear here as they happen."}</Empty>}
            >
              <div class="table-scroll" style={{ margin: "0" }}>
                <table class="audit-log" aria-label="Audit log">
                  <thead>
                    <tr>
                      <th>When</th>
                      <th>Event</th>
                      <th>Outcome</th>
                      <th class="hide-phone">Who</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={rows()}>
                      {(e) => (
                        <tr data-id={e.id} data-action={e.action} data-outcome={e.outcome}>
                          <td>{when(e.at)}</td>
                          <td>
                            <span class="mono">{e.action}</span>
                            <Show when={detailText(e)}>
                              <div class="muted note">{detailText(e)}</div>
                            </Show>
                            <div class="muted note who-phone">
                              {e.actor} {e.address ?? ""}
                            </div>
                          </td>
                          <td>
                            <span class={`chip status-${e.outcome}`}>{e.outcome}</span>
                          </td>
                          <td class="hide-phone">
                            {e.actor}
                            <Show when={e.address}>
                              <div class="muted note mono">{e.address}</div>
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          </Show>
        </div>
        <Show when={moreError()}>
          <ErrorBox error={moreError()} retry={loadMore} />
        </Show>
        <Show when={next() !== null}>
          <button type="button" class="btn show-more" onClick={loadMore} disabled={busy()}>
            {busy() ? "Loading…" : "Load more"}
          </button>
        </Show>
      </Show>
    </section>
  );
}
