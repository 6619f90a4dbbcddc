import { createResource, createSignal, For, type JSX, Show } from "solid-js";
import type { Skill } from "../../api/types.ts";
import { ago } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import {
  addSkill,
  approveSkill,
  deleteSkill,
  listExtensions,
  listSkills,
  proposeSkill,
  revokeExtension,
  searchRegistry,
  setEnabled,
  TIERS,
  testSkill,
  uploadSkill,
} from "./api.ts";

/** What approving a skill lets run: the command, package, env and secret names, network, paths, URL, and the hash the approval pins. */
function WouldRun(props: { skill: Skill }): JSX.Element {
  const w = () => props.skill.wouldRun;
  return (
    <dl class="would-run" data-testid="would-run">
      <Show when={w().command}>
        <dt>Command</dt>
        <dd class="mono">{w().command!.join(" ")}</dd>
      </Show>
      <Show when={w().package}>
        <dt>Package</dt>
        <dd class="mono">
          {w().package!.registry} {w().package!.name}@{w().package!.version}
        </dd>
      </Show>
      <Show when={w().url}>
        <dt>URL</dt>
        <dd class="mono">{w().url}</dd>
      </Show>
      <Show when={w().instructionsChars !== undefined}>
        <dt>Instructions</dt>
        <dd>{w().instructionsChars} characters</dd>
      </Show>
      <Show when={w().env?.length}>
        <dt>Environment</dt>
        <dd class="mono">{w().env!.join(", ")}</dd>
      </Show>
      <Show when={w().secrets?.length}>
        <dt>Secrets</dt>
        <dd class="mono">{w().secrets!.join(", ")}</dd>
      </Show>
      <Show when={w().headers?.length}>
        <dt>Headers</dt>
        <dd class="mono">{w().headers!.join(", ")}</dd>
      </Show>
      <dt>Network</dt>
      <dd>{w().network === "none" ? "none" : (w().network as string[]).join(", ")}</dd>
      <dt>Paths</dt>
      <dd class="mono">
        {w().paths.length
          ? w()
              .paths.map((p) => `${p.path}${p.writable ? " (writable)" : ""}`)
              .join(", ")
          : "none"}
      </dd>
      <dt>Hash</dt>
      <dd class="mono muted">{w().hash.slice(0, 16)}</dd>
    </dl>
  );
}

function statusChip(s: Skill): JSX.Element {
  if (s.status !== "approved") return <span class="chip status-refused">{s.status === "pending" ? "awaiting approval" : "changed: approve again"}</span>;
  if (!s.enabled) return <span class="chip">disabled</span>;
  return <span class={`chip status-${s.server?.state === "backoff" ? "failed" : "succeeded"}`}>{s.server ? s.server.state : "ready"}</span>;
}

/** Skills by tier, pending approvals first with what they would run, extensions, and the MCP registry. */
export default function Skills(): JSX.Element {
  const [skills, { refetch }] = createResource(listSkills);
  const [extensions, ext] = createResource(listExtensions);
  const [error, setError] = createSignal<unknown>();
  const [note, setNote] = createSignal("");
  const act = async (fn: () => Promise<unknown>, done?: string) => {
    setError(undefined);
    setNote("");
    try {
      await fn();
      if (done) setNote(done);
      await refetch();
      await ext.refetch();
    } catch (err) {
      setError(err);
    }
  };
  const pending = () => (skills.latest ?? []).filter((s) => s.status !== "approved");
  const tier = (n: number) => (skills.latest ?? []).filter((s) => s.status === "approved" && s.tier === n);
  return (
    <section class="page skills">
      <div class="page-head">
        <h1>Skills</h1>
      </div>
      <p class="muted">
        What the agent can do beyond its own tools: instructions it reads when relevant, MCP servers it runs in the sandbox or reaches over HTTP, and extensions that announce
        themselves. Anything the agent proposes waits here until you approve exactly what it would run.
      </p>
      <Show when={error()}>
        <ErrorBox error={error()} />
      </Show>
      <Show when={note()}>
        <p class="muted" role="status">
          {note()}
        </p>
      </Show>
      <Show when={!skills.error || skills.latest} fallback={<ErrorBox error={skills.error} what="Skills" retry={refetch} />}>
        <Show when={skills.latest} fallback={<Loading label="Loading skills" />}>
          <Show when={pending().length}>
            <h2>Waiting for approval</h2>
            <For each={pending()}>
              {(s) => (
                <div class="card skill pending" data-skill={s.name}>
                  <div class="row">
                    <strong>{s.name}</strong> <span class="chip">tier {s.tier}</span> {statusChip(s)} <span class="muted">from {s.source}</span>
                  </div>
                  <p>{s.description}</p>
                  <WouldRun skill={s} />
                  <div class="row">
                    <button type="button" class="btn primary small" onClick={() => void act(() => approveSkill(s), `Approved ${s.name}`)}>
                      Approve
                    </button>
                    <button type="button" class="btn small" onClick={() => confirm(`Delete ${s.name}?`) && void act(() => deleteSkill(s.id))}>
                      Turn down
                    </button>
                  </div>
                </div>
              )}
            </For>
          </Show>
          <For each={[0, 1, 2]}>
            {(n) => (
              <>
                <h2>{TIERS[n]}</h2>
                <Show when={tier(n).length} fallback={<Empty title="None yet" />}>
                  <For each={tier(n)}>
                    {(s) => (
                      <div class="card skill" data-skill={s.name}>
                        <div class="row">
                          <strong>{s.name}</strong> {statusChip(s)} <span class="muted">{s.source}</span>
                          <label class="row" style={{ "margin-left": "auto" }}>
                            <input type="checkbox" checked={s.enabled} onChange={(e) => void act(() => setEnabled(s.id, e.currentTarget.checked))} /> enabled
                          </label>
                        </div>
                        <p>{s.description}</p>
                        <Show when={s.server?.lastError}>
                          <p class="muted">Last error: {s.server!.lastError}</p>
                        </Show>
                        <Show when={s.tools.length}>
                          <details>
                            <summary>{s.tools.length} tools</summary>
                            <ul class="mono">
                              <For each={s.tools}>{(t) => <li title={t.description}>{t.name}</li>}</For>
                            </ul>
                          </details>
                        </Show>
                        <details>
                          <summary>What it runs</summary>
                          <WouldRun skill={s} />
                        </details>
                        <div class="row">
                          <Show when={s.tier > 0 && s.enabled}>
                            <button type="button" class="btn small" onClick={() => void act(async () => setNote(`${s.name}: ${(await testSkill(s.id)).tools.length} tools`))}>
                              Test
                            </button>
                          </Show>
                          <Show when={s.source !== "builtin"}>
                            <button type="button" class="btn small" onClick={() => confirm(`Delete ${s.name}?`) && void act(() => deleteSkill(s.id))}>
                              Delete
                            </button>
                          </Show>
                          <span class="muted">{s.approvedBy ? `approved by ${s.approvedBy} ${ago(s.approvedAt)}` : ""}</span>
                        </div>
                      </div>
                    )}
                  </For>
                </Show>
              </>
            )}
          </For>
        </Show>
      </Show>
      <h2>Extensions</h2>
      <Show
        when={extensions.latest?.length}
        fallback={<Empty title="No extension has announced itself">Extensions are MCP servers in their own pods that announce themselves over NATS.</Empty>}
      >
        <For each={extensions.latest}>
          {(e) => (
            <div class="card skill" data-extension={e.id}>
              <div class="row">
                <strong>{e.id}</strong> <span class={`chip status-${e.status === "online" ? "succeeded" : "refused"}`}>{e.status}</span> <span class="mono muted">{e.url}</span>
                <Show when={e.status !== "revoked"}>
                  <button type="button" class="btn small" style={{ "margin-left": "auto" }} onClick={() => confirm(`Revoke ${e.id}?`) && void act(() => revokeExtension(e.id))}>
                    Revoke
                  </button>
                </Show>
              </div>
              <p class="muted">{e.tools.map((t) => t.name).join(", ")}</p>
            </div>
          )}
        </For>
      </Show>
      <AddSkill onDone={(msg) => void act(async () => {}, msg)} onError={setError} />
    </section>
  );
}

function AddSkill(props: { onDone: (msg: string) => void; onError: (e: unknown) => void }): JSX.Element {
  const [spec, setSpec] = createSignal("");
  const [query, setQuery] = createSignal("");
  const [results, setResults] = createSignal<{ name: string; description: string; version: string; proposal?: unknown; why?: string }[]>([]);
  const run = async (fn: () => Promise<string>) => {
    try {
      props.onDone(await fn());
    } catch (err) {
      props.onError(err);
    }
  };
  const upload = async (file: File) => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    await run(async () => `Added ${(await uploadSkill(btoa(bin))).name}`);
  };
  return (
    <>
      <h2>Add a skill</h2>
      <div class="card">
        <label>
          A skill as JSON (name, description, tier, and instructions, command or url)
          <textarea rows={6} class="mono" value={spec()} onInput={(e) => setSpec(e.currentTarget.value)} aria-label="Skill JSON" />
        </label>
        <div class="row">
          <button type="button" class="btn primary small" disabled={!spec().trim()} onClick={() => void run(async () => `Added ${(await addSkill(JSON.parse(spec()))).name}`)}>
            Add
          </button>
          <label class="btn small">
            Upload a SKILL.md zip
            <input type="file" accept=".zip,application/zip" hidden onChange={(e) => e.currentTarget.files?.[0] && void upload(e.currentTarget.files[0])} />
          </label>
        </div>
      </div>
      <h2>Find one in the MCP registry</h2>
      <form
        class="card row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const r = await searchRegistry(query());
            setResults(r.results);
            return `${r.results.length} results`;
          });
        }}
      >
        <input value={query()} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="weather, notes, github..." aria-label="Search the MCP registry" />
        <button type="submit" class="btn small" disabled={!query().trim()}>
          Search
        </button>
      </form>
      <For each={results()}>
        {(r) => (
          <div class="card skill" data-result={r.name}>
            <div class="row">
              <strong>{r.name}</strong> <span class="muted">{r.version}</span>
              <Show when={r.proposal} fallback={<span class="muted">{r.why}</span>}>
                <button
                  type="button"
                  class="btn small"
                  style={{ "margin-left": "auto" }}
                  onClick={() => void run(async () => `Proposed ${(await proposeSkill(r.proposal)).name}: approve it above`)}
                >
                  Propose
                </button>
              </Show>
            </div>
            <p class="muted">{r.description}</p>
          </div>
        )}
      </For>
    </>
  );
}
