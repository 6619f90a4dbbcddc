import { createResource, createSignal, For, type JSX, onCleanup, Show } from "solid-js";
import type { ChannelAdapter, Pairing } from "../../api/types.ts";
import { createAction } from "../../components/action.ts";
import { ago, duration } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { approveCode, getChannels, KIND_NAMES, PLATFORM_NAMES, revokePairing, setNotify } from "./api.ts";

const LIVE_MS = 5000;

/** Telegram and Discord: whether each is connected, the chats that may talk to the agent, and the ones asking to. */
export default function Channels(): JSX.Element {
  const [data, { refetch }] = createResource(getChannels);
  const timer = setInterval(() => document.visibilityState === "visible" && !data.error && void refetch(), LIVE_MS);
  onCleanup(() => clearInterval(timer));
  const action = createAction();
  const actionError = action.error;
  const act = (fn: () => Promise<unknown>) =>
    action.run(async () => {
      await fn();
      await refetch();
    });
  return (
    <section class="page channels">
      <div class="page-head">
        <h1>Channels</h1>
      </div>
      <p class="muted">
        Telegram and Discord chats talk to the agent only once you approve them: a chat that writes to the bot is given a code, and you enter that code here (or run{" "}
        <span class="mono">bakerst pair approve CODE</span>).
      </p>
      <Show when={!data.error || data.latest} fallback={<ErrorBox error={data.error} what="Channels" retry={refetch} />}>
        <Show when={data.latest} fallback={<Loading label="Loading channels" />}>
          {(d) => (
            <>
              <div class="health" role="group" aria-label="Platforms">
                <For each={d().adapters}>{(a) => <Platform a={a} />}</For>
              </div>
              <Show when={d().outbox.pending || d().outbox.failedToday}>
                <p class="notice" role="status">
                  {d().outbox.pending} {d().outbox.pending === 1 ? "reply waits" : "replies wait"} to be sent
                  {d().outbox.oldestPendingMs !== null ? ` (the oldest for ${duration(d().outbox.oldestPendingMs!)})` : ""}; {d().outbox.failedToday} given up today.
                </p>
              </Show>
              <ApproveForm onApproved={() => void refetch()} />
              <Show when={actionError()}>
                <ErrorBox error={actionError()} />
              </Show>
              <h2 class="section-title">Waiting for approval</h2>
              <ChatTable
                label="Waiting for approval"
                rows={d().pending}
                empty={<Empty title="Nobody is waiting">A chat that writes to the bot appears here with the time its code expires.</Empty>}
                columns={["Asked by", "Code expires"]}
                cells={(p) => (
                  <>
                    <td class="hide-phone">{p.requestedBy ?? "—"}</td>
                    <td>{p.codeExpiresAt ? `in ${duration(Math.max(0, p.codeExpiresAt - Date.now()))}` : "—"}</td>
                    <td>
                      <button type="button" class="btn small" onClick={() => void act(() => revokePairing(p.id))}>
                        Turn down
                      </button>
                    </td>
                  </>
                )}
              />
              <h2 class="section-title">Paired chats</h2>
              <p class="muted">Owner notifications (budget reached, a schedule failing, a job finished) always appear in the console; ticked chats get them too.</p>
              <ChatTable
                label="Paired chats"
                rows={d().paired}
                empty={<Empty title="No paired chats">Write to your bot on Telegram or Discord to get a pairing code.</Empty>}
                columns={["Paired", "Notifications"]}
                cells={(p) => (
                  <>
                    <td class="hide-phone">{ago(p.pairedAt)}</td>
                    <td>
                      <label class="check">
                        <input type="checkbox" checked={p.notify} onChange={(e) => void act(() => setNotify(p.id, e.currentTarget.checked))} />
                        <span class="sr-only">Notifications to {p.title}</span>
                      </label>
                    </td>
                    <td>
                      <button
                        type="button"
                        class="btn small"
                        onClick={() => confirm(`Revoke ${p.title}? It will be treated as a stranger again.`) && void act(() => revokePairing(p.id))}
                      >
                        Revoke
                      </button>
                    </td>
                  </>
                )}
              />
            </>
          )}
        </Show>
      </Show>
    </section>
  );
}

/** Chats in a table: the chat first, then `columns` (the first hidden on a phone), then an action. */
function ChatTable(props: { label: string; rows: Pairing[]; empty: JSX.Element; columns: [string, string]; cells: (p: Pairing) => JSX.Element }): JSX.Element {
  return (
    <div class="card" style={{ padding: "0" }}>
      <Show when={props.rows.length} fallback={props.empty}>
        <div class="table-scroll" style={{ margin: "0" }}>
          <table class="channels-table" aria-label={props.label}>
            <thead>
              <tr>
                <th>Chat</th>
                <th class="hide-phone">{props.columns[0]}</th>
                <th>{props.columns[1]}</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={props.rows}>
                {(p) => (
                  <tr data-pairing={p.pairKey}>
                    <td>
                      <ChatName p={p} />
                    </td>
                    {props.cells(p)}
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
    </div>
  );
}

function ChatName(props: { p: Pairing }): JSX.Element {
  return (
    <>
      {props.p.title}
      <div class="muted note">
        {PLATFORM_NAMES[props.p.platform]} {KIND_NAMES[props.p.kind]}
      </div>
    </>
  );
}

function Platform(props: { a: ChannelAdapter }): JSX.Element {
  const name = PLATFORM_NAMES[props.a.platform];
  return (
    <div class="card" data-platform={props.a.platform}>
      <div class="health-head">
        <h2>{name}</h2>
        <span class={`chip status-${props.a.status}`}>{props.a.status === "disabled" ? "off" : props.a.status}</span>
      </div>
      <Show when={typeof props.a.bot === "string"}>
        <p style={{ margin: "0 0 4px" }}>
          <span class="mono">{String(props.a.bot)}</span>
          <Show when={typeof props.a.mode === "string"}> · {String(props.a.mode)}</Show>
        </p>
      </Show>
      <Show when={props.a.detail}>
        <p class="muted" style={{ margin: "0", "overflow-wrap": "anywhere" }}>
          {props.a.detail}
        </p>
      </Show>
      <Show when={props.a.fix && props.a.status !== "ok" && props.a.status !== "disabled"}>
        <p class="fix">
          <strong>What to do:</strong> {props.a.fix}
        </p>
      </Show>
    </div>
  );
}

function ApproveForm(props: { onApproved: () => void }): JSX.Element {
  const [code, setCode] = createSignal("");
  const { busy, error, run } = createAction();
  const [done, setDone] = createSignal<Pairing>();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!code().trim()) return;
    setDone(undefined);
    await run(async () => {
      setDone(await approveCode(code().trim()));
      setCode("");
      props.onApproved();
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Approve a chat">
      <div class="form-row">
        <div class="grow">
          <label for="pairing-code">Pairing code</label>
          <input id="pairing-code" class="mono" autocomplete="off" placeholder="ABCD-2345" maxLength={32} value={code()} onInput={(e) => setCode(e.currentTarget.value)} />
        </div>
        <button class="btn primary" type="submit" disabled={busy() || !code().trim()}>
          Approve
        </button>
      </div>
      <Show when={done()}>
        {(p) => (
          <p class="ok-text" role="status">
            Paired {p().title} ({PLATFORM_NAMES[p().platform]}). The chat has been told.
          </p>
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
