import { A, useParams } from "@solidjs/router";
import { createResource, createSignal, For, type JSX, onCleanup, Show } from "solid-js";
import type { Companion, CompanionPairing } from "../../api/types.ts";
import { createAction } from "../../components/action.ts";
import { ago } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { getCompanion, getCompanions, pairCompanion, revokeCompanion, STATUS_NAMES } from "./api.ts";

const LIVE_MS = 5000;

/** Machines outside the cluster that run tasks: whether each is online, when it was last seen, its tasks; pairing and revoking. */
export default function Companions(): JSX.Element {
  const params = useParams();
  const [data, { refetch }] = createResource(getCompanions);
  const timer = setInterval(() => document.visibilityState === "visible" && !data.error && void refetch(), LIVE_MS);
  onCleanup(() => clearInterval(timer));
  const action = createAction();
  const actionError = action.error;
  const revoke = async (c: Companion) => {
    if (!confirm(`Revoke ${c.id}? Its identity leaves NATS, its waiting tasks are dropped and anything it sends is refused.`)) return;
    await action.run(async () => {
      await revokeCompanion(c.id);
      await refetch();
    });
  };
  return (
    <section class="page companions">
      <div class="page-head">
        <h1>Companions</h1>
      </div>
      <p class="muted">
        A companion is a NAS, a VM or a Raspberry Pi that runs tasks for the agent (<span class="mono">run_task</span> with its name as the target). Each is paired with its own
        signed identity; tasks sent while it is away wait for it, and its results are kept on it until they arrive here.
      </p>
      <Show when={!data.error || data.latest} fallback={<ErrorBox error={data.error} what="Companions" retry={refetch} />}>
        <Show when={data.latest} fallback={<Loading label="Loading companions" />}>
          {(d) => (
            <>
              <Show when={!d().available}>
                <p class="notice" role="status">
                  Companions are off: {d().detail}
                </p>
              </Show>
              <Show when={d().available}>
                <PairForm onPaired={() => void refetch()} />
              </Show>
              <Show when={actionError()}>
                <ErrorBox error={actionError()} />
              </Show>
              <div class="card" style={{ padding: "0" }}>
                <Show when={d().companions.length} fallback={<Empty title="No companions yet">Pair one above, then run the command it prints on that machine.</Empty>}>
                  <div class="table-scroll" style={{ margin: "0" }}>
                    <table aria-label="Companions">
                      <thead>
                        <tr>
                          <th>Name</th>
                          <th>Status</th>
                          <th class="hide-phone">Host</th>
                          <th>Last seen</th>
                          <th class="hide-phone">Tasks running</th>
                          <th>
                            <span class="sr-only">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={d().companions}>
                          {(c) => (
                            <tr data-companion={c.id}>
                              <td>
                                <A href={`/companions/${encodeURIComponent(c.id)}`}>{c.id}</A>
                              </td>
                              <td>
                                <span class={`chip status-${c.status}`}>{STATUS_NAMES[c.status]}</span>
                                <Show when={c.capabilities && !c.capabilities.sandbox && c.status !== "revoked"}>
                                  {" "}
                                  <span class="chip status-degraded" title={c.capabilities?.sandboxDetail}>
                                    no sandbox
                                  </span>
                                </Show>
                              </td>
                              <td class="hide-phone">
                                {c.hostname ?? "—"}
                                <Show when={c.platform}>
                                  <div class="muted note">
                                    {c.platform}/{c.arch} · {c.version}
                                  </div>
                                </Show>
                              </td>
                              <td>{c.lastSeenAt ? ago(c.lastSeenAt) : "never"}</td>
                              <td class="hide-phone">{c.activeTasks.length}</td>
                              <td>
                                <Show when={c.status !== "revoked"}>
                                  <button type="button" class="btn small" onClick={() => void revoke(c)}>
                                    Revoke
                                  </button>
                                </Show>
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>
              </div>
              <Show when={params.id}>{(id) => <Detail id={id()} />}</Show>
            </>
          )}
        </Show>
      </Show>
    </section>
  );
}

function Detail(props: { id: string }): JSX.Element {
  const [c] = createResource(() => props.id, getCompanion);
  return (
    <Show
      when={c.latest}
      fallback={
        <Show when={c.error} fallback={<Loading label="Loading the companion" />}>
          {<ErrorBox error={c.error} what="The companion" />}
        </Show>
      }
    >
      {(d) => (
        <section class="card" aria-label={`Companion ${d().id}`} style={{ "margin-top": "16px" }}>
          <h2 style={{ margin: "0 0 8px" }}>{d().id}</h2>
          <p class="muted" style={{ margin: "0 0 8px" }}>
            Allowed paths: <span class="mono">{d().allowedPaths.join(", ") || "none"}</span> · modes: {d().capabilities?.modes.join(", ") ?? "—"} · at most{" "}
            {d().maxConcurrency ?? "—"} at once
            <Show when={d().spool}>{(s) => ` · spool ${s().pending} of ${s().max}${s().full ? " (full: progress is being dropped)" : ""}`}</Show>
            <Show when={d().refused || d().refusedByCompanion}>
              {" "}
              · refused messages: {d().refused} here, {d().refusedByCompanion} there
            </Show>
          </p>
          <Show when={d().capabilities && !d().capabilities!.sandbox}>
            <p class="fix">
              <strong>No sandbox:</strong> {d().capabilities!.sandboxDetail}. Tasks sent to it are refused until bubblewrap works there.
            </p>
          </Show>
          <h3 class="section-title">Recent tasks</h3>
          <Show when={d().tasks.length} fallback={<p class="muted">No tasks yet.</p>}>
            <ul>
              <For each={d().tasks.slice(0, 20)}>
                {(t) => (
                  <li>
                    <A href={`/tasks/${t.id}`}>{t.script?.slice(0, 60) ?? t.goal?.slice(0, 60) ?? t.id}</A> <span class={`chip status-${t.status}`}>{t.status}</span>{" "}
                    <span class="muted">{ago(t.createdAt)}</span>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        </section>
      )}
    </Show>
  );
}

function PairForm(props: { onPaired: () => void }): JSX.Element {
  const [name, setName] = createSignal("");
  const { busy, error, run } = createAction();
  const [done, setDone] = createSignal<CompanionPairing>();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name().trim()) return;
    setDone(undefined);
    await run(async () => {
      setDone(await pairCompanion(name().trim()));
      setName("");
      props.onPaired();
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Pair a companion">
      <div class="form-row">
        <div class="grow">
          <label for="companion-name">New companion</label>
          <input id="companion-name" class="mono" autocomplete="off" placeholder="nas" maxLength={64} value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <button class="btn primary" type="submit" disabled={busy() || !name().trim()}>
          Pair
        </button>
      </div>
      <Show when={done()}>
        {(p) => (
          <div role="status">
            <p class="ok-text">Paired {p().companion.id}. On that machine, beside companion/install.sh and the bakerst-satellite binary, run:</p>
            <pre class="mono install-command" data-install-command>
              {p().installCommand}
            </pre>
            <p class="muted note">It holds the companion's secret key and is shown only now: keep it out of chats and tickets.</p>
          </div>
        )}
      </Show>
      <Show when={error()}>
        <p class="form-error" role="alert">
          {error() instanceof Error ? (error() as Error).message : String(error())}
        </p>
      </Show>
    </form>
  );
}
