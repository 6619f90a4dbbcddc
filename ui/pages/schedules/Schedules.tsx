import { useNavigate, useParams } from "@solidjs/router";
import { createEffect, createResource, createSignal, For, type JSX, on, onCleanup, Show } from "solid-js";
import type { NewSchedule, Schedule, ScheduleDetail, SchedulePreview } from "../../api/types.ts";
import { createAction } from "../../components/action.ts";
import { ago, duration, usd, when } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import {
  createSchedule,
  deleteSchedule,
  describeWhen,
  getSchedule,
  inViewerZone,
  listSchedules,
  pauseSchedule,
  previewSchedule,
  runSchedule,
  saveSchedule,
  viewerZone,
  whenFrom,
  whenMode,
  whenText,
} from "./api.ts";

const LIVE_MS = 5000;

const failing = (s: Schedule) => !!s.alert || s.consecutiveFailures > 0 || s.lastRun?.status === "failed";

export default function Schedules(): JSX.Element {
  const params = useParams<{ id?: string }>();
  const navigate = useNavigate();
  const [list, { refetch }] = createResource(listSchedules);
  const [editing, setEditing] = createSignal<Schedule | "new" | undefined>();
  const timer = setInterval(() => {
    if (document.visibilityState === "visible" && !list.error) void refetch();
  }, LIVE_MS);
  onCleanup(() => clearInterval(timer));

  return (
    <section class="page">
      <div class="page-head">
        <h1>Schedules</h1>
        <button type="button" class="btn primary small" onClick={() => setEditing("new")}>
          New schedule
        </button>
      </div>
      <Show when={editing()}>
        {(e) => (
          <ScheduleForm
            schedule={e() === "new" ? undefined : (e() as Schedule)}
            zone={list.latest?.timeZone ?? "UTC"}
            onDone={(id) => (setEditing(undefined), void refetch(), id && navigate(`/schedules/${encodeURIComponent(id)}`))}
          />
        )}
      </Show>
      <Show when={!list.error} fallback={<ErrorBox error={list.error} what="Schedules" retry={refetch} />}>
        <div class="split">
          <div class="card" style={{ padding: "0" }}>
            <Show when={list.latest} fallback={<Loading label="Loading schedules" />}>
              <Show when={list.latest!.schedules.length} fallback={<Empty title="No schedules yet">Make one above, or ask the agent for a morning briefing.</Empty>}>
                <div class="table-scroll" style={{ margin: "0" }}>
                  <table class="rows" aria-label="Schedules">
                    <thead>
                      <tr>
                        <th>Schedule</th>
                        <th>Next run</th>
                        <th>Last run</th>
                        <th class="hide-phone">By</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={list.latest!.schedules}>
                        {(s) => (
                          <tr
                            classList={{ selected: s.id === params.id, failing: failing(s) }}
                            data-schedule={s.id}
                            onClick={() => navigate(`/schedules/${encodeURIComponent(s.id)}`)}
                          >
                            <td>
                              <a href={`/schedules/${encodeURIComponent(s.id)}`} onClick={(e) => e.preventDefault()}>
                                {s.name}
                              </a>
                              <div class="muted small">
                                {s.kind} · {describeWhen(s.when)}
                              </div>
                              <Show when={s.alert}>
                                <div class="schedule-alert" role="alert">
                                  {s.alert!.message}
                                </div>
                              </Show>
                            </td>
                            <td>
                              <Show when={!s.paused} fallback={<span class="chip status-paused">paused</span>}>
                                <div>{s.nextRunLocal ?? "—"}</div>
                                <div class="muted small">{s.nextRunAt === null ? "" : `${inViewerZone(s.nextRunAt)} (${viewerZone()})`}</div>
                              </Show>
                            </td>
                            <td>
                              <Show when={s.lastRun} fallback={<span class="muted">never</span>}>
                                <span class={`chip status-${s.lastRun!.status}`}>{s.lastRun!.status}</span> <span class="muted small">{ago(s.lastRun!.dueAt)}</span>
                              </Show>
                            </td>
                            <td class="hide-phone">{s.createdBy === "agent" ? <span class="chip status-refused">agent</span> : "owner"}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            </Show>
          </div>
          <Show when={params.id} fallback={<p class="muted hide-phone">Pick a schedule to see its runs, run it now, pause or edit it.</p>}>
            {(id) => <ScheduleDetailCard id={id()} onChange={() => void refetch()} onEdit={setEditing} onDeleted={() => (void refetch(), navigate("/schedules"))} />}
          </Show>
        </div>
      </Show>
    </section>
  );
}

function ScheduleDetailCard(props: { id: string; onChange: () => void; onEdit: (s: Schedule) => void; onDeleted: () => void }): JSX.Element {
  const [detail, { refetch }] = createResource(() => props.id, getSchedule);
  const { busy, error, run } = createAction();
  const timer = setInterval(() => document.visibilityState === "visible" && void refetch(), LIVE_MS);
  onCleanup(() => clearInterval(timer));
  const act = (fn: () => Promise<unknown>, after: () => void = props.onChange) =>
    run(async () => {
      await fn();
      void refetch();
      after();
    });
  return (
    <div class="card" role="region" aria-label="Schedule detail">
      <Show when={!detail.error} fallback={<ErrorBox error={detail.error} />}>
        <Show when={detail.latest} fallback={<Loading label="Loading the schedule" />}>
          {(d) => (
            <>
              <div class="health-head">
                <h2 style={{ margin: "0" }}>{d().name}</h2>
                <span class={`chip status-${d().paused ? "paused" : failing(d()) ? "failed" : "ok"}`} data-testid="schedule-state">
                  {d().paused ? "paused" : failing(d()) ? "failing" : "ok"}
                </span>
              </div>
              <Show when={d().alert}>
                <div class="error-box" role="alert">
                  {d().alert!.message}
                </div>
              </Show>
              <Show when={error()}>
                <ErrorBox error={error()} />
              </Show>
              <dl class="kv">
                <dt>When</dt>
                <dd>
                  {describeWhen(d().when)} ({d().timeZone})
                </dd>
                <dt>Next run</dt>
                <dd data-testid="next-run">{d().paused ? "paused" : d().nextRunLocal ? `${d().nextRunLocal} · ${inViewerZone(d().nextRunAt)} (${viewerZone()})` : "none"}</dd>
                <dt>Runs</dt>
                <dd>
                  {d().kind}
                  {d().prompt ? `: ${d().prompt}` : ""}
                </dd>
                <dt>Policies</dt>
                <dd>
                  overlap {d().overlap}, catch-up {d().catchUp}
                </dd>
                <dt>Made by</dt>
                <dd>{d().createdBy}</dd>
                <Show when={d().consecutiveFailures}>
                  <dt>Failed in a row</dt>
                  <dd class="schedule-alert">{d().consecutiveFailures}</dd>
                </Show>
              </dl>
              <div class="form-row">
                <button type="button" class="btn primary small" disabled={busy()} onClick={() => act(() => runSchedule(props.id))}>
                  Run now
                </button>
                <button type="button" class="btn small" disabled={busy()} onClick={() => act(() => pauseSchedule(props.id, !d().paused))}>
                  {d().paused ? "Resume" : "Pause"}
                </button>
                <button type="button" class="btn small" disabled={busy()} onClick={() => props.onEdit(d())}>
                  Edit
                </button>
                <button
                  type="button"
                  class="btn danger small"
                  disabled={busy()}
                  onClick={() => confirm(`Delete the schedule "${d().name}"?`) && act(() => deleteSchedule(props.id), props.onDeleted)}
                >
                  Delete
                </button>
              </div>
              <p class="label">History</p>
              <RunTable detail={d()} />
            </>
          )}
        </Show>
      </Show>
    </div>
  );
}

function RunTable(props: { detail: ScheduleDetail }): JSX.Element {
  return (
    <Show when={props.detail.runs.length} fallback={<p class="muted">No runs yet.</p>}>
      <div class="table-scroll">
        <table class="rows" aria-label="Runs">
          <thead>
            <tr>
              <th>Due</th>
              <th>Outcome</th>
              <th>Took</th>
              <th class="hide-phone">Cost</th>
              <th class="hide-phone">Link</th>
            </tr>
          </thead>
          <tbody>
            <For each={props.detail.runs}>
              {(r) => (
                <tr classList={{ failing: r.status === "failed" }} data-run={r.id}>
                  <td>
                    {when(r.dueAt)}
                    <Show when={r.trigger === "manual"}>
                      <span class="muted small"> (by hand)</span>
                    </Show>
                    <Show when={r.caughtUp}>
                      <span class="chip">caught up</span>
                    </Show>
                  </td>
                  <td>
                    <span class={`chip status-${r.status}`}>{r.status}</span>
                    <Show when={r.reason}>
                      <div class="muted small">{r.reason}</div>
                    </Show>
                  </td>
                  <td>{r.startedAt !== undefined && r.endedAt !== undefined ? duration(r.endedAt - r.startedAt) : "—"}</td>
                  <td class="hide-phone">{usd(r.costUsd)}</td>
                  <td class="hide-phone">
                    <Show when={r.link?.conversationId}>
                      <a href={`/chat/${encodeURIComponent(r.link!.conversationId!)}`}>conversation</a>
                    </Show>
                    <Show when={r.link?.jobId}>
                      <a href={`/jobs/${encodeURIComponent(r.link!.jobId!)}`}>job</a>
                    </Show>
                    <Show when={r.link?.taskId}>
                      <a href={`/tasks/${encodeURIComponent(r.link!.taskId!)}`}>task</a>
                    </Show>
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}

/** Make or edit a schedule, with the next due times previewed as the timing is typed. */
function ScheduleForm(props: { schedule?: Schedule; zone: string; onDone: (id?: string) => void }): JSX.Element {
  const s = props.schedule;
  const [name, setName] = createSignal(s?.name ?? "");
  const [mode, setMode] = createSignal(s ? whenMode(s.when) : "cron");
  const [timing, setTiming] = createSignal(s ? whenText(s.when) : "0 8 * * *");
  const [zone, setZone] = createSignal(s?.timeZone ?? props.zone);
  const [kind, setKind] = createSignal<NewSchedule["kind"]>(s?.kind ?? "agent");
  const [body, setBody] = createSignal(s ? (s.prompt ?? JSON.stringify(s.job ?? s.task ?? {}, null, 2)) : "");
  const [overlap, setOverlap] = createSignal(s?.overlap ?? "skip");
  const [catchUp, setCatchUp] = createSignal(s?.catchUp ?? "once");
  const [preview, setPreview] = createSignal<SchedulePreview | undefined>();
  const [previewError, setPreviewError] = createSignal<unknown>();
  const { busy, error, run } = createAction();

  createEffect(
    on([mode, timing, zone], async ([m, t, z]) => {
      const w = whenFrom(m, t);
      if (!w) return void setPreview(undefined);
      try {
        setPreview(await previewSchedule(w, z));
        setPreviewError(undefined);
      } catch (err) {
        setPreview(undefined);
        setPreviewError(err);
      }
    }),
  );

  const request = (): NewSchedule => {
    const w = whenFrom(mode(), timing());
    if (!w) throw new Error("Give the timing: a cron expression, a date-time, or seconds between runs.");
    const base = {
      name: name().trim(),
      when: w,
      timeZone: zone().trim(),
      kind: kind(),
      overlap: overlap() as NewSchedule["overlap"],
      catchUp: catchUp() as NewSchedule["catchUp"],
    };
    if (kind() === "agent") return { ...base, prompt: body() };
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body());
    } catch {
      throw new Error(`The ${kind()} must be JSON, e.g. ${kind() === "job" ? '{"type":"command","command":"df -h"}' : '{"mode":"script","script":"df -h"}'}`);
    }
    return kind() === "job" ? { ...base, job: parsed } : { ...base, task: parsed };
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      const saved = s ? await saveSchedule(s.id, request()) : await createSchedule(request());
      props.onDone(saved.id);
    });
  };

  return (
    <form class="card" onSubmit={submit} aria-label={s ? "Edit the schedule" : "New schedule"}>
      <div class="form-row">
        <div class="grow">
          <label for="schedule-name">Name</label>
          <input id="schedule-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} placeholder="Morning briefing" />
        </div>
        <div>
          <label for="schedule-mode">Timing</label>
          <select id="schedule-mode" value={mode()} onChange={(e) => setMode(e.currentTarget.value)}>
            <option value="cron">cron</option>
            <option value="at">once at</option>
            <option value="every">every (seconds)</option>
          </select>
        </div>
        <div class="grow">
          <label for="schedule-timing">{mode() === "cron" ? "Expression (5 fields, or 6 with seconds)" : mode() === "at" ? "Date-time" : "Seconds"}</label>
          <input id="schedule-timing" class="mono" value={timing()} onInput={(e) => setTiming(e.currentTarget.value)} />
        </div>
        <div>
          <label for="schedule-zone">Time zone</label>
          <input id="schedule-zone" value={zone()} onInput={(e) => setZone(e.currentTarget.value)} />
        </div>
      </div>
      <div class="form-row">
        <div>
          <label for="schedule-kind">Runs</label>
          <select id="schedule-kind" value={kind()} onChange={(e) => setKind(e.currentTarget.value as NewSchedule["kind"])}>
            <option value="agent">an agent prompt</option>
            <option value="job">a job</option>
            <option value="task">a task</option>
          </select>
        </div>
        <div class="grow">
          <label for="schedule-body">{kind() === "agent" ? "Prompt" : `The ${kind()} (JSON)`}</label>
          <textarea id="schedule-body" rows={2} class={kind() === "agent" ? "" : "mono"} value={body()} onInput={(e) => setBody(e.currentTarget.value)} />
        </div>
        <div>
          <label for="schedule-overlap">While one runs</label>
          <select id="schedule-overlap" value={overlap()} onChange={(e) => setOverlap(e.currentTarget.value as "skip" | "queue")}>
            <option value="skip">skip</option>
            <option value="queue">queue one</option>
          </select>
        </div>
        <div>
          <label for="schedule-catchup">After downtime</label>
          <select id="schedule-catchup" value={catchUp()} onChange={(e) => setCatchUp(e.currentTarget.value as "skip" | "once" | "each")}>
            <option value="skip">skip</option>
            <option value="once">run once</option>
            <option value="each">run each (capped)</option>
          </select>
        </div>
      </div>
      <div aria-live="polite" data-testid="schedule-preview">
        <Show when={preview()}>
          {(p) => (
            <p class="muted small">
              Next: <For each={p().next}>{(n, i) => <span>{`${i() ? " · " : ""}${n.local}`}</span>}</For>
            </p>
          )}
        </Show>
        <Show when={previewError()}>
          <ErrorBox error={previewError()} />
        </Show>
      </div>
      <Show when={error()}>
        <ErrorBox error={error()} />
      </Show>
      <div class="form-row">
        <button class="btn primary" type="submit" disabled={busy() || !name().trim()}>
          {s ? "Save" : "Create"}
        </button>
        <button class="btn" type="button" onClick={() => props.onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}
