import { createResource, For, type JSX, onCleanup, Show } from "solid-js";
import { api } from "../api/client.ts";
import type { ComponentHealth, Health } from "../api/types.ts";
import { ago, duration, usd } from "../components/format.ts";

/** "spentUsd" → "spent", "lastHeartbeatAt" → "last heartbeat at". */
const label = (key: string) =>
  key
    .replace(/(Usd|Ms)$/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase();

import { ErrorBox, Loading } from "../components/States.tsx";

const SHOWN = new Set(["status", "detail", "fix"]);

/** Heartbeats and similar times arrive as epoch ms or ISO strings; show them as "12 s ago". */
function show(key: string, v: unknown): string {
  if (/Usd$/.test(key) && typeof v === "number") return usd(v);
  // "lastSeenMs" is an age in milliseconds, "retryInMs" a duration: neither is a point in time.
  if (/Ms$/.test(key) && typeof v === "number") return /^last/i.test(key) ? `${duration(v)} ago` : duration(v);
  if ((/(At|heartbeat|seen)$/i.test(key) || /^last/i.test(key)) && (typeof v === "number" || typeof v === "string")) return ago(v);
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export default function System(): JSX.Element {
  const [health, { refetch }] = createResource(() => api<Health>("/api/system/health"));
  const timer = setInterval(() => document.visibilityState === "visible" && void refetch(), 5000);
  onCleanup(() => clearInterval(timer));
  return (
    <section class="page">
      <div class="page-head">
        <h1>System</h1>
        <Show when={health.latest}>
          {(h) => (
            <span class={`chip status-${h().status}`} role="status" aria-label={`Overall ${h().status}`}>
              {h().status}
            </span>
          )}
        </Show>
      </div>
      <Show when={!health.error || health.latest} fallback={<ErrorBox error={health.error} retry={refetch} />}>
        <Show when={health.latest} fallback={<Loading label="Checking components" />}>
          {(h) => (
            <>
              <dl class="kv card" style={{ "margin-bottom": "14px" }}>
                <dt>Version</dt>
                <dd class="mono">{h().version}</dd>
                <dt>Mode</dt>
                <dd>{h().mode === "cluster" ? "cluster (NATS)" : "edge (single process)"}</dd>
                <dt>Up for</dt>
                <dd>{duration(h().uptimeSec * 1000)}</dd>
              </dl>
              <div class="health">
                <For each={Object.entries(h().components)}>{([name, c]) => <Component name={name} c={c} />}</For>
              </div>
            </>
          )}
        </Show>
      </Show>
    </section>
  );
}

function Component(props: { name: string; c: ComponentHealth }): JSX.Element {
  const extra = () => Object.entries(props.c).filter(([k, v]) => !SHOWN.has(k) && v !== undefined && v !== null && typeof v !== "object");
  const nested = () => Object.entries(props.c).filter(([k, v]) => !SHOWN.has(k) && v && typeof v === "object");
  return (
    <div class="card" data-component={props.name}>
      <div class="health-head">
        <h2>{props.name}</h2>
        <span class={`chip status-${props.c.status}`}>{props.c.status}</span>
      </div>
      <Show when={props.c.detail}>
        <p style={{ margin: "0 0 6px", "overflow-wrap": "anywhere" }}>{props.c.detail}</p>
      </Show>
      <Show when={extra().length}>
        <dl class="kv">
          <For each={extra()}>
            {([k, v]) => (
              <>
                <dt>{label(k)}</dt>
                <dd>{show(k, v)}</dd>
              </>
            )}
          </For>
        </dl>
      </Show>
      <Show when={nested().length}>
        <details>
          <summary class="muted">Details</summary>
          <pre class="json">{JSON.stringify(Object.fromEntries(nested()), null, 2)}</pre>
        </details>
      </Show>
      <Show when={props.c.fix && props.c.status !== "ok"}>
        <p class="fix">
          <strong>What to do:</strong> {props.c.fix}
        </p>
      </Show>
    </div>
  );
}
