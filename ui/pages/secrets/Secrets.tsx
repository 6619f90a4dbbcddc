import { createResource, createSignal, For, type JSX, Show } from "solid-js";
import type { Secret } from "../../api/types.ts";
import { createAction } from "../../components/action.ts";
import { ago } from "../../components/format.ts";
import { Empty, ErrorBox, Loading } from "../../components/States.tsx";
import { deleteSecret, getSecrets, SECRET_NAME, saveSecret } from "./api.ts";

/** Secrets by name: values go in here and never come back out; the list shows masks and what uses each one. */
export default function Secrets(): JSX.Element {
  const [data, { refetch }] = createResource(getSecrets);
  const action = createAction();
  const actionError = action.error;
  const remove = async (s: Secret) => {
    if (!confirm(`Delete ${s.name}?${s.users.length ? ` ${s.users.join(", ")} will lose it.` : ""}`)) return;
    await action.run(async () => {
      await deleteSecret(s.name);
      await refetch();
    });
  };
  return (
    <section class="page secrets">
      <div class="page-head">
        <h1>Secrets</h1>
      </div>
      <p class="muted">
        Tokens and passwords the agent's connections use (a Telegram or Discord bot token, a skill's API key). A value is stored encrypted and is write-only: it is never shown
        again, and it is replaced by [REDACTED] wherever output would carry it. Setting a new value takes effect at once.
      </p>
      <SecretForm onSaved={() => void refetch()} />
      <Show when={actionError()}>
        <ErrorBox error={actionError()} />
      </Show>
      <Show when={!data.error || data.latest} fallback={<ErrorBox error={data.error} what="Secrets" retry={refetch} />}>
        <Show when={data.latest} fallback={<Loading label="Loading secrets" />}>
          {(d) => (
            <>
              <h2 class="section-title">Stored secrets</h2>
              <div class="card" style={{ padding: "0" }}>
                <Show when={d().secrets.length} fallback={<Empty title="No secrets yet">Add one above, by the name whatever uses it reads (like TELEGRAM_BOT_TOKEN).</Empty>}>
                  <div class="table-scroll" style={{ margin: "0" }}>
                    <table aria-label="Secrets">
                      <thead>
                        <tr>
                          <th>Name</th>
                          <th>Value</th>
                          <th class="hide-phone">Used by</th>
                          <th class="hide-phone">Changed</th>
                          <th>
                            <span class="sr-only">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={d().secrets}>
                          {(s) => (
                            <tr data-secret={s.name}>
                              <td class="mono">{s.name}</td>
                              <td class="mono">{s.masked}</td>
                              <td class="hide-phone">{s.users.length ? s.users.join(", ") : <span class="muted">nothing yet</span>}</td>
                              <td class="hide-phone">
                                {ago(s.updatedAt)} <span class="muted">by {s.updatedBy}</span>
                              </td>
                              <td>
                                <button type="button" class="btn small" onClick={() => void remove(s)}>
                                  Delete
                                </button>
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>
              </div>
            </>
          )}
        </Show>
      </Show>
    </section>
  );
}

function SecretForm(props: { onSaved: () => void }): JSX.Element {
  const [name, setName] = createSignal("");
  const [value, setValue] = createSignal("");
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const [saved, setSaved] = createSignal<string>();
  const nameOk = () => SECRET_NAME.test(name());
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!nameOk() || !value()) return;
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const r = await saveSecret(name(), value());
      setSaved(`${r.created ? "Stored" : "Replaced"} ${r.name}.`);
      // The value leaves the page as soon as the server has it.
      setValue("");
      setName("");
      props.onSaved();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Set a secret">
      <div class="form-row">
        <div class="grow">
          <label for="secret-name">Name</label>
          <input
            id="secret-name"
            class="mono"
            autocomplete="off"
            placeholder="TELEGRAM_BOT_TOKEN"
            maxLength={64}
            value={name()}
            aria-invalid={!!name() && !nameOk()}
            onInput={(e) => setName(e.currentTarget.value.toUpperCase())}
          />
        </div>
        <div class="grow">
          <label for="secret-value">Value</label>
          <input id="secret-value" class="mono" type="password" autocomplete="new-password" value={value()} onInput={(e) => setValue(e.currentTarget.value)} />
        </div>
        <button class="btn primary" type="submit" disabled={busy() || !nameOk() || !value()}>
          Save
        </button>
      </div>
      <Show when={name() && !nameOk()}>
        <p class="muted note">Upper-case letters, digits and _, starting with a letter.</p>
      </Show>
      <Show when={saved()}>
        <p class="ok-text" role="status">
          {saved()}
        </p>
      </Show>
      <Show when={error()}>
        <p class="form-error" role="alert">
          {error()}
        </p>
      </Show>
    </form>
  );
}
