import { useLocation } from "@solidjs/router";
import { createMemo, createResource, For, Show, type JSX } from "solid-js";
import { api } from "../api/client.ts";
import { ago } from "../components/format.ts";
import { Empty, ErrorBox, Loading } from "../components/States.tsx";
import { items } from "./memory/api.ts";
import { RESOURCES } from "./resources.ts";

/** A read-only list for parts added later (tasks, companions, skills, schedules, secrets). */
export default function Resource(): JSX.Element {
  const location = useLocation();
  const spec = createMemo(() => RESOURCES.find((r) => location.pathname === `/${r.slug}`) ?? RESOURCES[0]!);
  const [list, { refetch }] = createResource(spec, async (s) => items<Record<string, unknown>>(await api(s.api), s.slug));
  const cell = (k: string, v: unknown) => (v === undefined || v === null ? "—" : /At$|Run$|Seen$/.test(k) ? ago(v as number) : typeof v === "object" ? JSON.stringify(v) : String(v));
  return (
    <section class="page">
      <div class="page-head">
        <h1>{spec().label}</h1>
      </div>
      <p class="muted">{spec().blurb}</p>
      <Show when={!list.error} fallback={<ErrorBox error={list.error} what={spec().label} retry={refetch} />}>
        <Show when={list.latest} fallback={<Loading />}>
          <Show when={list.latest!.length} fallback={<Empty title={`No ${spec().label.toLowerCase()} yet`} />}>
            <div class="card" style={{ padding: "0" }}>
              <div class="table-scroll" style={{ margin: "0" }}>
                <table>
                  <thead>
                    <tr>
                      <For each={spec().columns}>{(c) => <th>{c}</th>}</For>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list.latest}>
                      {(row) => (
                        <tr>
                          <For each={spec().columns}>{(c) => <td class={c === "id" ? "mono" : ""}>{cell(c, row[c])}</td>}</For>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </div>
          </Show>
        </Show>
      </Show>
    </section>
  );
}
