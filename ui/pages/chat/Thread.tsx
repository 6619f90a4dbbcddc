import { createSignal, For, type JSX, Match, Show, Switch } from "solid-js";
import { usd } from "../../components/format.ts";
import { Json, Markdown } from "../../components/Markdown.tsx";
import { cacheShare, type ToolCall, type TurnView } from "./model.ts";

export function Turn(props: { turn: TurnView; last: boolean; onRetry: () => void; onApprove: (taskId: string) => Promise<void> }): JSX.Element {
  const t = () => props.turn;
  const jobs = () => Object.entries(t().jobs);
  const tasks = () => Object.entries(t().tasks);
  return (
    <article class="turn" aria-busy={t().streaming}>
      <Show when={t().summary !== undefined}>
        <details class="compaction">
          <summary>Earlier turns are summarised for the model</summary>
          <p class="muted">They stay here as they were; the model sees these observations instead:</p>
          <pre class="summary">{t().summary || "(nothing worth keeping)"}</pre>
        </details>
      </Show>
      <div class="msg user">
        <div class="bubble">{t().user}</div>
      </div>
      <div class="msg assistant">
        <For each={t().parts}>
          {(part) => (
            <Switch>
              <Match when={part.kind === "text" && part}>{(p) => <Markdown text={p().text} />}</Match>
              <Match when={part.kind === "tool" && part}>{(p) => <ToolCard call={p().call} />}</Match>
              <Match when={part.kind === "thinking" && part}>
                {(p) => (
                  <details class="thinking">
                    <summary>{p().redacted ? "Thinking (hidden by the provider)" : "Thinking"}</summary>
                    <Show when={!p().redacted}>
                      <p class="thinking-text">{p().text}</p>
                    </Show>
                  </details>
                )}
              </Match>
              <Match when={part.kind === "search" && part}>
                {(p) => (
                  <p class="search muted">
                    Looked for tools: “{p().query}”{p().found.length ? ` → ${p().found.join(", ")}` : ""}
                  </p>
                )}
              </Match>
              <Match when={part.kind === "notice" && part}>
                {(p) => (
                  <p class="notice" role="status">
                    {p().message}
                  </p>
                )}
              </Match>
            </Switch>
          )}
        </For>
        <Show when={jobs().length}>
          <div class="chips" role="group" aria-label="Jobs started in this turn">
            <For each={jobs()}>
              {([id, status]) => (
                <a class={`chip status-${status}`} href={`/jobs/${encodeURIComponent(id)}`}>
                  job {id.slice(0, 8)} · {status}
                </a>
              )}
            </For>
          </div>
        </Show>
        <Show when={tasks().length}>
          <div class="chips" role="group" aria-label="Tasks started in this turn">
            <For each={tasks()}>{([id, task]) => <TaskCard id={id} status={task.status} pending={task.pending} onApprove={() => props.onApprove(id)} />}</For>
          </div>
        </Show>
        <Show when={t().streaming && !t().parts.length}>
          <p class="typing" role="status" aria-label="Thinking">
            <span />
            <span />
            <span />
          </p>
        </Show>
        <Show when={t().error}>
          {(e) => (
            <div class="error-box turn-error" role="alert">
              <strong>{e().code === "no_model" ? "No model configured" : e().code === "stopped" ? "Stopped" : "This turn failed"}</strong>
              <p>{e().message}</p>
              <Show when={e().code === "no_model" || e().code === "budget_exceeded"}>
                <p class="muted">
                  <a href={e().code === "no_model" ? "/system" : "/models"}>{e().code === "no_model" ? "See what the server reports" : "See usage and the budget"}</a>
                </p>
              </Show>
              <Show when={props.last && !t().streaming && e().code !== "stopped"}>
                <button type="button" class="btn" onClick={() => props.onRetry()}>
                  Retry
                </button>
              </Show>
            </div>
          )}
        </Show>
        <Show when={t().usage && t().usage!.modelCalls > 0}>
          <p class="usage muted">
            {t().usage!.model ?? "model"} · {(t().usage!.inputTokens + t().usage!.cacheReadTokens + t().usage!.cacheWriteTokens).toLocaleString()} in
            {t().usage!.cacheReadTokens ? ` (${Math.round(cacheShare(t().usage!) * 100)}% from cache)` : ""} / {t().usage!.outputTokens.toLocaleString()} out ·{" "}
            {usd(t().usage!.costUsd)}
          </p>
        </Show>
      </div>
    </article>
  );
}

export function ToolCard(props: { call: ToolCall }): JSX.Element {
  const state = () => (props.call.result ? (props.call.result.ok ? "ok" : "failed") : "running");
  return (
    <details class={`tool-card tool-${state()}`}>
      <summary>
        <span class="tool-icon" aria-hidden="true">
          ⚙
        </span>
        <span class="tool-name">{props.call.name}</span>
        <span class={`chip status-${state()}`}>{state() === "running" ? "running…" : state()}</span>
      </summary>
      <div class="tool-body">
        <p class="label">Input</p>
        <Json value={props.call.input} />
        <p class="label">Result</p>
        <Show when={props.call.result} fallback={<p class="muted">Waiting for the result…</p>}>
          <pre class="json">{props.call.result!.summary}</pre>
        </Show>
      </div>
    </details>
  );
}

/** A task the agent started: its status, a link to its live output, and the owner's Approve when it waits for one. */
function TaskCard(props: { id: string; status: string; pending: boolean; onApprove: () => Promise<void> }): JSX.Element {
  const [busy, setBusy] = createSignal(false);
  const [failed, setFailed] = createSignal("");
  const approve = async () => {
    setBusy(true);
    setFailed("");
    try {
      await props.onApprove();
    } catch (err) {
      setFailed((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="task-card" data-task={props.id}>
      <a class={`chip status-${props.pending ? "refused" : props.status}`} href={`/tasks/${encodeURIComponent(props.id)}`}>
        task {props.id.slice(0, 8)} · {props.pending ? "awaiting approval" : props.status}
      </a>
      <Show when={props.pending}>
        <button type="button" class="btn small primary" disabled={busy()} onClick={() => void approve()}>
          Approve
        </button>
      </Show>
      <Show when={failed()}>
        <span class="muted" role="alert">
          {failed()}
        </span>
      </Show>
    </span>
  );
}
