import { createEffect, createResource, createSignal, For, Index, type JSX, on, Show } from "solid-js";
import { api } from "../../api/client.ts";
import type { ModelsConfig, ModelsList, UsageReport } from "../../api/types.ts";
import { int, usd } from "../../components/format.ts";
import { ErrorBox, Loading } from "../../components/States.tsx";
import { UsageChart } from "./UsageChart.tsx";

const ROLE_HELP: Record<string, string> = {
  agent: "Chat replies and tool use.",
  observer: "Turns conversations into observations.",
  reflector: "Condenses observations into reflections.",
  worker: "Agent jobs in the background.",
};

export default function Models(): JSX.Element {
  const [config, { refetch: refetchConfig, mutate }] = createResource(() => api<ModelsConfig>("/api/models/config"));
  const [models] = createResource(() => api<ModelsList>("/api/models").catch(() => undefined));
  const [days, setDays] = createSignal(30);
  const [usage, { refetch: refetchUsage }] = createResource(days, (d) => api<UsageReport>(`/api/usage?days=${d}`));
  const choices = () => (models()?.providers ?? []).flatMap((p) => p.models.map((m) => `${p.name}:${m}`));

  const save = async (body: Record<string, unknown>) => {
    const next = await api<ModelsConfig>("/api/models/config", { method: "PUT", json: body });
    mutate(next);
    void refetchUsage();
  };

  return (
    <section class="page">
      <div class="page-head">
        <h1>Models &amp; usage</h1>
      </div>
      <datalist id="model-choices">
        <For each={choices()}>{(c) => <option value={c} />}</For>
      </datalist>
      <Show when={!usage.error} fallback={<ErrorBox error={usage.error} retry={refetchUsage} />}>
        <Show when={usage.latest} fallback={<Loading label="Loading usage" />}>
          {(u) => <Budget report={u()} onSave={(v) => save({ dailyBudgetUsd: v })} />}
        </Show>
      </Show>
      <h2>Roles</h2>
      <p class="muted">Each role tries its models in order; the next one takes over when one fails. A role with no chain of its own uses the agent's.</p>
      <Show when={!config.error} fallback={<ErrorBox error={config.error} retry={refetchConfig} />}>
        <Show when={config.latest} fallback={<Loading label="Loading models" />}>
          {(c) => (
            <div class="grid-2">
              <For each={Object.keys(c().roles)}>
                {(role) => (
                  <RoleEditor
                    role={role}
                    chain={c().roles[role] ?? []}
                    overridden={!!c().overrides.roles?.[role]}
                    providers={c().providers}
                    thinking={c().thinking[role] ?? 0}
                    onSave={(chain) => save({ roles: { [role]: chain } })}
                    onThinking={(budget) => save({ thinking: { [role]: budget } })}
                  />
                )}
              </For>
            </div>
          )}
        </Show>
      </Show>
      <Show when={models()?.providers.length}>
        <h2>Providers</h2>
        <div class="grid-2">
          <For each={models()!.providers}>
            {(p) => (
              <div class="card">
                <div class="health-head">
                  <strong>{p.name}</strong>
                  <span class={`chip status-${p.circuit?.state === "closed" || !p.circuit ? "ok" : "degraded"}`}>
                    {p.circuit?.state === "closed" || !p.circuit ? "ok" : `circuit ${p.circuit.state}`}
                  </span>
                </div>
                <Show
                  when={p.error}
                  fallback={
                    <p class="muted" style={{ margin: "0" }}>
                      {p.models.length} models available
                    </p>
                  }
                >
                  <p class="form-error">{p.error}</p>
                </Show>
              </div>
            )}
          </For>
        </div>
      </Show>
      <div class="page-head" style={{ "margin-top": "20px" }}>
        <h2 style={{ margin: "0" }}>Usage</h2>
        <label>
          <span class="sr-only">Window</span>
          <select value={days()} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            <option value="7">Last 7 days</option>
            <option value="30">Last 30 days</option>
            <option value="90">Last 90 days</option>
          </select>
        </label>
      </div>
      <Show when={usage.latest}>
        {(u) => (
          <>
            <div class="card">
              <UsageChart report={u()} days={days()} />
            </div>
            <div class="card" style={{ "margin-top": "12px", padding: "0" }}>
              <div class="table-scroll" style={{ margin: "0" }}>
                <table aria-label="Usage by day and model">
                  <thead>
                    <tr>
                      <th>Day</th>
                      <th>Model</th>
                      <th>Calls</th>
                      <th>Tokens in / out</th>
                      <th title="Input read from the provider's prompt cache (billed at a tenth on Anthropic) and written to it (1.25×)">Cache read / written</th>
                      <th>Cost</th>
                      <th title="What the same calls would have cost with every input token at the full price, minus what they cost">Saved by caching</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For
                      each={u().rows}
                      fallback={
                        <tr>
                          <td colspan="7" class="muted">
                            No model calls in this window.
                          </td>
                        </tr>
                      }
                    >
                      {(r) => (
                        <tr>
                          <td>{r.day}</td>
                          <td class="mono">{r.model}</td>
                          <td>{int(r.calls)}</td>
                          <td>
                            {int(r.inputTokens)} / {int(r.outputTokens)}
                          </td>
                          <td>
                            {int(r.cacheReadTokens)} / {int(r.cacheWriteTokens)}
                          </td>
                          <td>{usd(r.costUsd)}</td>
                          <td>{usd(r.savedUsd)}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                  <Show when={u().rows.length}>
                    <tfoot>
                      <tr>
                        <th colspan="2">Total</th>
                        <th>{int(u().totals.calls)}</th>
                        <th>
                          {int(u().totals.inputTokens)} / {int(u().totals.outputTokens)}
                        </th>
                        <th>
                          {int(u().totals.cacheReadTokens)} / {int(u().totals.cacheWriteTokens)}
                        </th>
                        <th>{usd(u().totals.costUsd)}</th>
                        <th>{usd(u().totals.savedUsd)}</th>
                      </tr>
                    </tfoot>
                  </Show>
                </table>
              </div>
            </div>
          </>
        )}
      </Show>
    </section>
  );
}

function Budget(props: { report: UsageReport; onSave: (v: number | null) => Promise<void> }): JSX.Element {
  const b = () => props.report.budget;
  const [value, setValue] = createSignal(b().dailyUsd === null ? "" : String(b().dailyUsd));
  const [error, setError] = createSignal<unknown>();
  const [saved, setSaved] = createSignal(false);
  const pct = () => (b().dailyUsd ? Math.min(100, (b().spentUsd / b().dailyUsd!) * 100) : 0);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    const v = value().trim();
    const n = v === "" ? null : Number(v);
    if (n !== null && (!Number.isFinite(n) || n < 0)) return setError(new Error("daily budget: enter a number of dollars, 0 or more, or leave it empty for none"));
    try {
      await props.onSave(n);
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="card" role="region" aria-label="Budget">
      <div class="grid-2">
        <div>
          <p class="label" style={{ "margin-top": "0" }}>
            Spent today (UTC)
          </p>
          <p class="stat">{usd(b().spentUsd)}</p>
          <Show when={b().dailyUsd !== null} fallback={<p class="muted">No daily budget set.</p>}>
            <div class={`meter${b().exceeded ? " over" : ""}`} role="meter" aria-valuemin="0" aria-valuemax={b().dailyUsd!} aria-valuenow={b().spentUsd} aria-label="Budget used">
              <span style={{ width: `${pct()}%` }} />
            </div>
            <p class="muted" style={{ margin: "0" }}>
              {b().exceeded ? "Budget reached: background work is paused until tomorrow." : `${usd(b().remainingUsd)} left of ${usd(b().dailyUsd)}`}
            </p>
          </Show>
          <Show when={props.report.totals.savedUsd > 0}>
            <p class="muted" style={{ margin: "4px 0 0" }}>
              Prompt caching saved {usd(props.report.totals.savedUsd)} in this window ({savedShare(props.report)}% of what the input would have cost).
            </p>
          </Show>
        </div>
        <form onSubmit={submit}>
          <label for="budget">Daily budget (USD)</label>
          <div class="form-row" style={{ "margin-top": "4px" }}>
            <input
              id="budget"
              inputmode="decimal"
              placeholder="none"
              value={value()}
              onInput={(e) => (setValue(e.currentTarget.value), setSaved(false))}
              style={{ width: "120px" }}
            />
            <button class="btn" type="submit">
              Save
            </button>
            <Show when={saved()}>
              <span class="muted" role="status">
                Saved
              </span>
            </Show>
          </div>
          <Show when={error()}>
            <ErrorBox error={error()} />
          </Show>
        </form>
      </div>
    </div>
  );
}

/** What caching saved, as a share of what the same calls would have cost without it. */
function savedShare(r: UsageReport): number {
  const without = r.totals.costUsd + r.totals.savedUsd;
  return without > 0 ? Math.round((r.totals.savedUsd / without) * 100) : 0;
}

function RoleEditor(props: {
  role: string;
  chain: string[];
  overridden: boolean;
  providers: string[];
  thinking: number;
  onSave: (chain: string[]) => Promise<void>;
  onThinking: (budget: number) => Promise<void>;
}): JSX.Element {
  const [chain, setChain] = createSignal([...props.chain]);
  createEffect(
    on(
      () => props.chain,
      (c) => setChain([...c]),
      { defer: true },
    ),
  );
  const [error, setError] = createSignal<unknown>();
  const [busy, setBusy] = createSignal(false);
  const dirty = () => JSON.stringify(chain()) !== JSON.stringify(props.chain);
  const move = (i: number, d: number) => {
    const c = [...chain()];
    const j = i + d;
    if (j < 0 || j >= c.length) return;
    [c[i], c[j]] = [c[j]!, c[i]!];
    setChain(c);
  };
  // An empty chain clears the override, so the role goes back to the config file or environment.
  const run = async (next: string[]) => {
    setBusy(true);
    setError(undefined);
    try {
      await props.onSave(next);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="card"
      aria-label={`${props.role} models`}
      onSubmit={(e) => {
        e.preventDefault();
        void run(
          chain()
            .map((s) => s.trim())
            .filter(Boolean),
        );
      }}
    >
      <div class="health-head">
        <strong style={{ "text-transform": "capitalize" }}>{props.role}</strong>
        <span class="chip">{props.overridden ? "set here" : "from config"}</span>
      </div>
      <p class="muted" style={{ margin: "0 0 8px" }}>
        {ROLE_HELP[props.role] ?? ""}
      </p>
      <div class="chain">
        <Index each={chain()} fallback={<p class="muted">No model: {props.providers.length ? "add one" : "set ANTHROPIC_API_KEY or OPENAI_BASE_URL first"}.</p>}>
          {(ref, i) => (
            <div class="chain-item">
              <span class="muted mono" aria-hidden="true">
                {i + 1}.
              </span>
              <input
                list="model-choices"
                aria-label={`${props.role} model ${i + 1}${i === 0 ? " (primary)" : " (fallback)"}`}
                value={ref()}
                placeholder="anthropic:claude-sonnet-5-5"
                onInput={(e) => setChain(chain().map((v, k) => (k === i ? e.currentTarget.value : v)))}
              />
              <button type="button" class="icon-btn small" aria-label="Move up" disabled={i === 0} onClick={() => move(i, -1)}>
                ↑
              </button>
              <button type="button" class="icon-btn small" aria-label="Move down" disabled={i === chain().length - 1} onClick={() => move(i, 1)}>
                ↓
              </button>
              <button type="button" class="icon-btn small" aria-label="Remove" onClick={() => setChain(chain().filter((_, k) => k !== i))}>
                ✕
              </button>
            </div>
          )}
        </Index>
      </div>
      <div class="form-row" style={{ "margin-top": "8px" }}>
        <button type="button" class="btn small" onClick={() => setChain([...chain(), ""])} disabled={chain().length >= 8}>
          Add fallback
        </button>
        <button type="submit" class="btn small primary" disabled={busy() || !dirty()}>
          Save
        </button>
        <Show when={props.overridden}>
          <button type="button" class="btn small ghost" disabled={busy()} onClick={() => void run([])}>
            Use config
          </button>
        </Show>
      </div>
      <ThinkingBudget role={props.role} value={props.thinking} onSave={props.onThinking} />
      <Show when={error()}>
        <ErrorBox error={error()} />
      </Show>
    </form>
  );
}

/** A role's extended-thinking budget: 0 is off; Anthropic takes 1024 tokens and up. */
function ThinkingBudget(props: { role: string; value: number; onSave: (budget: number) => Promise<void> }): JSX.Element {
  const [value, setValue] = createSignal(String(props.value));
  createEffect(
    on(
      () => props.value,
      (v) => setValue(String(v)),
      { defer: true },
    ),
  );
  const [error, setError] = createSignal<unknown>();
  const save = async () => {
    setError(undefined);
    const n = Number(value().trim() || "0");
    if (!Number.isInteger(n) || n < 0 || (n > 0 && n < 1024)) return setError(new Error("thinking budget: 0 for off, or 1024 tokens and more"));
    try {
      await props.onSave(n);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="form-row" style={{ "margin-top": "8px" }}>
      <label for={`thinking-${props.role}`} class="muted">
        Thinking budget (tokens, 0 = off)
      </label>
      <input id={`thinking-${props.role}`} inputmode="numeric" value={value()} onInput={(e) => setValue(e.currentTarget.value)} style={{ width: "90px" }} />
      <button type="button" class="btn small" disabled={value().trim() === String(props.value)} onClick={() => void save()}>
        Set
      </button>
      <Show when={error()}>
        <ErrorBox error={error()} />
      </Show>
    </div>
  );
}
