import { useNavigate, useParams } from "@solidjs/router";
import { createEffect, createResource, createSignal, For, type JSX, on, onCleanup, Show } from "solid-js";
import { ApiError } from "../../api/client.ts";
import type { Task } from "../../api/types.ts";
import { createAction } from "../../components/action.ts";
import { ago, duration, when } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { approveTask, cancelTask, ENDED, followTask, getTask, listTasks, parseMounts, startTask, TASK_STATUSES } from "./api.ts";

const LIVE_MS = 2000;

export default function Tasks(): JSX.Element {
  const params = useParams<{ id?: string }>();
  const navigate = useNavigate();
  const [status, setStatus] = createSignal("");
  const [list, { refetch }] = createResource(() => ({ status: status() }), listTasks);
  const timer = setInterval(() => {
    if (document.visibilityState === "visible" && !list.error) void refetch();
  }, LIVE_MS);
  onCleanup(() => clearInterval(timer));

  return (
    <section class="page">
      <div class="page-head">
        <h1>Tasks</h1>
      </div>
      <Show when={!(list.error instanceof ApiError && list.error.missing)}>
        <NewTaskForm onStarted={(id) => (void refetch(), navigate(`/tasks/${encodeURIComponent(id)}`))} />
      </Show>
      <div class="toolbar" role="group" aria-label="Filter tasks">
        <label class="sr-only" for="task-status">
          Status
        </label>
        <select id="task-status" value={status()} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">All statuses</option>
          <For each={TASK_STATUSES}>{(s) => <option value={s}>{s}</option>}</For>
        </select>
      </div>
      <Show when={!list.error} fallback={<ErrorBox error={list.error} what="Tasks" retry={refetch} />}>
        <div class="split">
          <div class="card" style={{ padding: "0" }}>
            <Show when={list.latest} fallback={<Loading label="Loading tasks" />}>
              <Show when={list.latest!.length} fallback={<Empty title="No tasks yet">Start a script above, or ask the agent to run one.</Empty>}>
                <div class="table-scroll" style={{ margin: "0" }}>
                  <table class="rows" aria-label="Tasks">
                    <thead>
                      <tr>
                        <th>Task</th>
                        <th>Mode</th>
                        <th>Status</th>
                        <th>Took</th>
                        <th class="hide-phone">Created</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={list.latest}>
                        {(t) => (
                          <tr classList={{ selected: t.id === params.id }} data-task={t.id} onClick={() => navigate(`/tasks/${encodeURIComponent(t.id)}`)}>
                            <td class="mono">
                              <a href={`/tasks/${encodeURIComponent(t.id)}`} onClick={(e) => e.preventDefault()}>
                                {t.id.slice(0, 13)}
                              </a>
                            </td>
                            <td>{t.mode}</td>
                            <td>
                              <StatusChip task={t} />
                            </td>
                            <td>{duration(t.durationMs)}</td>
                            <td class="hide-phone">{ago(t.createdAt)}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            </Show>
          </div>
          <Show when={params.id} fallback={<p class="muted hide-phone">Pick a task to follow its output, approve it or cancel it.</p>}>
            {(id) => <TaskDetail id={id()} onChange={() => void refetch()} />}
          </Show>
        </div>
      </Show>
    </section>
  );
}

function StatusChip(props: { task: Task }): JSX.Element {
  const pending = () => props.task.approval?.state === "pending" && props.task.status === "queued";
  return <span class={`chip status-${pending() ? "refused" : props.task.status}`}>{pending() ? "awaiting approval" : props.task.status}</span>;
}

interface Line {
  text: string;
  kind: string;
  stream?: string;
}

function TaskDetail(props: { id: string; onChange: () => void }): JSX.Element {
  const [task, { refetch, mutate }] = createResource(() => props.id, getTask);
  const [lines, setLines] = createSignal<Line[]>([]);
  const { busy, error, run } = createAction();
  // Follow the event stream of whichever task is open; a new id starts over.
  createEffect(
    on(
      () => props.id,
      (id) => {
        setLines([]);
        const stop = followTask(
          id,
          (ev) => {
            if (ev.event !== "progress") return void (ev.event === "status" && refetch());
            const d = ev.data;
            const text = d.kind === "tool" ? `» ${d.name}: ${d.text}\n` : d.kind === "milestone" ? `— ${d.text}\n` : d.text;
            setLines((l) => [...l, { text, kind: d.kind, ...(d.stream ? { stream: d.stream } : {}) }]);
          },
          () => (void refetch(), props.onChange()),
        );
        onCleanup(stop);
      },
    ),
  );
  const act = (fn: (id: string) => Promise<Task>) =>
    run(async () => {
      mutate(await fn(props.id));
      props.onChange();
    });
  return (
    <div class="card task-detail" role="region" aria-label="Task detail">
      <Show when={!task.error} fallback={<ErrorBox error={task.error} />}>
        <Show when={task.latest} fallback={<Loading label="Loading the task" />}>
          {(t) => (
            <>
              <div class="health-head">
                <h2 class="mono" style={{ margin: "0" }}>
                  {t().id}
                </h2>
                <span class={`chip status-${t().status}`} data-testid="task-status">
                  {t().status}
                </span>
              </div>
              <Show when={t().approval?.state === "pending" && t().status === "queued"}>
                <div class="notice" role="status">
                  <p style={{ margin: "0 0 8px" }}>
                    This task waits for your approval of <strong>{t().approval!.scopes.join(", ")}</strong>.
                  </p>
                  <button type="button" class="btn primary small" disabled={busy()} onClick={() => act(approveTask)}>
                    Approve
                  </button>
                </div>
              </Show>
              <Show when={error()}>
                <ErrorBox error={error()} />
              </Show>
              <dl class="kv">
                <dt>Mode</dt>
                <dd>
                  {t().mode} on {t().target}
                </dd>
                <dt>Mounts</dt>
                <dd>
                  {t()
                    .mounts.map((m) => `${m.path}${m.writable ? " (writable)" : ""}`)
                    .join(", ") || "none"}
                </dd>
                <dt>Network</dt>
                <dd>{t().network === "none" ? "none" : (t().network as string[]).join(", ")}</dd>
                <dt>Created</dt>
                <dd>{when(t().createdAt)}</dd>
                <dt>Took</dt>
                <dd>{duration(t().durationMs)}</dd>
                <Show when={t().exitCode !== undefined}>
                  <dt>Exit code</dt>
                  <dd>{String(t().exitCode)}</dd>
                </Show>
              </dl>
              <p class="label">{t().mode === "script" ? "Script" : "Goal"}</p>
              <pre class="json">{t().script ?? t().goal}</pre>
              <p class="label">Output</p>
              <pre class="json task-output" aria-live="polite" data-testid="task-output">
                <For each={lines()}>{(l) => <span classList={{ stderr: l.stream === "stderr", note: l.kind !== "log" }}>{l.text}</span>}</For>
              </pre>
              <Show when={t().answer}>
                <p class="label">Answer</p>
                <pre class="json">{t().answer}</pre>
              </Show>
              <Show when={t().error}>
                <p class="label">Error</p>
                <div class="error-box">{t().error!.message}</div>
              </Show>
              <Show when={!ENDED.has(t().status)}>
                <div class="form-row" style={{ "margin-top": "12px" }}>
                  <button type="button" class="btn danger small" disabled={busy()} onClick={() => act(cancelTask)}>
                    Cancel task
                  </button>
                </div>
              </Show>
            </>
          )}
        </Show>
      </Show>
    </div>
  );
}

function NewTaskForm(props: { onStarted: (id: string) => void }): JSX.Element {
  const [script, setScript] = createSignal("");
  const [mounts, setMounts] = createSignal("");
  const [network, setNetwork] = createSignal("");
  const [timeout, setTimeoutS] = createSignal("");
  const { busy, error, run } = createAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!script().trim()) return;
    await run(async () => {
      const hosts = network()
        .split(/[\s,]+/)
        .filter(Boolean);
      const t = await startTask({
        mode: "script",
        script: script(),
        mounts: parseMounts(mounts()),
        ...(hosts.length ? { network: hosts } : {}),
        ...(Number(timeout()) > 0 ? { timeoutMs: Math.round(Number(timeout()) * 1000) } : {}),
      });
      setScript("");
      props.onStarted(t.id);
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Start a script task">
      <div class="form-row">
        <div class="grow">
          <label for="new-task-script">Script</label>
          <textarea id="new-task-script" rows={3} placeholder="df -h /data" value={script()} onInput={(e) => setScript(e.currentTarget.value)} />
        </div>
      </div>
      <div class="form-row">
        <div class="grow">
          <label for="new-task-mounts">Mounts (one path a line, :rw for writable)</label>
          <textarea id="new-task-mounts" rows={2} placeholder="/data" value={mounts()} onInput={(e) => setMounts(e.currentTarget.value)} />
        </div>
        <div class="grow">
          <label for="new-task-network">Hosts it may reach</label>
          <input id="new-task-network" placeholder="none" value={network()} onInput={(e) => setNetwork(e.currentTarget.value)} />
        </div>
        <div>
          <label for="new-task-timeout">Timeout (s)</label>
          <input id="new-task-timeout" inputmode="numeric" size={6} placeholder="600" value={timeout()} onInput={(e) => setTimeoutS(e.currentTarget.value)} />
        </div>
        <button class="btn primary" type="submit" disabled={busy() || !script().trim()}>
          Start
        </button>
      </div>
      <Show when={error()}>
        <ErrorBox error={error()} />
      </Show>
    </form>
  );
}
