import { useNavigate, useParams } from "@solidjs/router";
import { createResource, createSignal, For, type JSX, onCleanup, Show } from "solid-js";
import { ApiError } from "../../api/client.ts";
import type { Job } from "../../api/types.ts";
import { ago, duration, when } from "../../components/format.ts";
import { Json } from "../../components/Markdown.tsx";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { dispatchJob, getJob, JOB_STATUSES, JOB_TYPES, jobTimeline, listJobs, type NewJob } from "./api.ts";

const LIVE_MS = 2000;

export default function Jobs(): JSX.Element {
  const params = useParams<{ id?: string }>();
  const navigate = useNavigate();
  const [type, setType] = createSignal("");
  const [status, setStatus] = createSignal("");
  const [list, { refetch }] = createResource(() => ({ type: type(), status: status() }), listJobs);
  // Live status: poll while the page is open and visible.
  const timer = setInterval(() => {
    if (document.visibilityState === "visible" && !list.error) void refetch();
  }, LIVE_MS);
  onCleanup(() => clearInterval(timer));

  return (
    <section class="page">
      <div class="page-head">
        <h1>Jobs</h1>
      </div>
      <Show when={!(list.error instanceof ApiError && list.error.missing)}>
        <NewJobForm onDispatched={(id) => (void refetch(), navigate(`/jobs/${encodeURIComponent(id)}`))} />
      </Show>
      <div class="toolbar" role="group" aria-label="Filter jobs">
        <label class="sr-only" for="job-type">
          Type
        </label>
        <select id="job-type" value={type()} onChange={(e) => setType(e.currentTarget.value)}>
          <option value="">All types</option>
          <For each={JOB_TYPES}>{(t) => <option value={t}>{t}</option>}</For>
        </select>
        <label class="sr-only" for="job-status">
          Status
        </label>
        <select id="job-status" value={status()} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">All statuses</option>
          <For each={JOB_STATUSES}>{(s) => <option value={s}>{s}</option>}</For>
        </select>
      </div>
      <Show when={!list.error} fallback={<ErrorBox error={list.error} what="Jobs" retry={refetch} />}>
        <div class="split">
          <div class="card" style={{ padding: "0" }}>
            <Show when={list.latest} fallback={<Loading label="Loading jobs" />}>
              <Show when={list.latest!.length} fallback={<Empty title="No jobs yet">Dispatch one above, or ask the agent to run something.</Empty>}>
                <div class="table-scroll" style={{ margin: "0" }}>
                  <table class="rows" aria-label="Jobs">
                    <thead>
                      <tr>
                        <th>Job</th>
                        <th>Type</th>
                        <th>Status</th>
                        <th class="hide-phone">Created</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={list.latest}>
                        {(j) => (
                          <tr classList={{ selected: j.id === params.id }} data-job={j.id} onClick={() => navigate(`/jobs/${encodeURIComponent(j.id)}`)}>
                            <td class="mono">
                              <a href={`/jobs/${encodeURIComponent(j.id)}`} onClick={(e) => e.preventDefault()}>
                                {j.id.slice(0, 10)}
                              </a>
                            </td>
                            <td>{j.type}</td>
                            <td>
                              <span class={`chip status-${j.status}`}>{j.status}</span>
                            </td>
                            <td class="hide-phone">{ago(j.createdAt)}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            </Show>
          </div>
          <Show when={params.id} fallback={<p class="muted hide-phone">Pick a job to see its input, output and timing.</p>}>
            <JobDetail id={params.id!} tick={list.latest} />
          </Show>
        </div>
      </Show>
    </section>
  );
}

function JobDetail(props: { id: string; tick: unknown }): JSX.Element {
  const [job] = createResource(
    () => [props.id, props.tick] as const,
    ([id]) => getJob(id),
  );
  const took = (j: Job) => (j.status === "completed" || j.status === "failed" ? j.updatedAt - j.createdAt : undefined);
  return (
    <div class="card job-detail" role="region" aria-label="Job detail">
      <Show when={!job.error} fallback={<ErrorBox error={job.error} />}>
        <Show when={job.latest} fallback={<Loading label="Loading the job" />}>
          {(j) => (
            <>
              <div class="health-head">
                <h2 class="mono" style={{ margin: "0" }}>
                  {j().id}
                </h2>
                <span class={`chip status-${j().status}`} data-testid="job-status">
                  {j().status}
                </span>
              </div>
              <dl class="kv">
                <dt>Type</dt>
                <dd>{j().type}</dd>
                <dt>Created</dt>
                <dd>{when(j().createdAt)}</dd>
                <dt>Updated</dt>
                <dd>{when(j().updatedAt)}</dd>
                <dt>Took</dt>
                <dd>{duration(took(j()))}</dd>
                <Show when={j().attempts !== undefined}>
                  <dt>Attempts</dt>
                  <dd>{String(j().attempts)}</dd>
                </Show>
                <dt>Trace id</dt>
                <dd class="mono">{j().traceId ?? "—"}</dd>
              </dl>
              <Show when={jobTimeline(j()).length}>
                <p class="label">Timeline</p>
                <ol class="timeline">
                  <For each={jobTimeline(j())}>
                    {(e) => (
                      <li>
                        <span class={`chip status-${e.status}`}>{e.status}</span> {when(e.at)}
                      </li>
                    )}
                  </For>
                </ol>
              </Show>
              <p class="label">Input</p>
              <Json value={j().spec} />
              <p class="label">Output</p>
              <Json value={j().result} />
              <Show when={j().error}>
                <p class="label">Error</p>
                <div class="error-box">
                  <Json value={j().error} />
                </div>
              </Show>
            </>
          )}
        </Show>
      </Show>
    </div>
  );
}

function NewJobForm(props: { onDispatched: (id: string) => void }): JSX.Element {
  const [type, setType] = createSignal<NewJob["type"]>("command");
  const [value, setValue] = createSignal("");
  const [error, setError] = createSignal<unknown>();
  const [busy, setBusy] = createSignal(false);
  const field = () => (type() === "command" ? "Command" : type() === "http" ? "URL" : "Prompt");
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = value().trim();
    if (!v) return;
    setBusy(true);
    setError(undefined);
    try {
      const job: NewJob = type() === "command" ? { type: "command", command: v } : type() === "http" ? { type: "http", url: v } : { type: "agent", prompt: v };
      const r = await dispatchJob(job);
      setValue("");
      props.onDispatched(r.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Dispatch a job">
      <div class="form-row">
        <div>
          <label for="new-job-type" class="sr-only">
            Job type
          </label>
          <select id="new-job-type" value={type()} onChange={(e) => setType(e.currentTarget.value as NewJob["type"])}>
            <For each={JOB_TYPES}>{(t) => <option value={t}>{t}</option>}</For>
          </select>
        </div>
        <div class="grow">
          <label for="new-job-value" class="sr-only">
            {field()}
          </label>
          <input
            id="new-job-value"
            placeholder={type() === "command" ? "date -u" : type() === "http" ? "https://example.com/health" : "Summarise today's usage"}
            value={value()}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </div>
        <button class="btn primary" type="submit" disabled={busy() || !value().trim()}>
          Dispatch
        </button>
      </div>
      <Show when={error()}>
        <ErrorBox error={error()} what="Jobs" />
      </Show>
    </form>
  );
}
