import { type JSX, Show } from "solid-js";
import { ApiError } from "../api/client.ts";

export function Loading(props: { label?: string }): JSX.Element {
  return (
    <div class="state loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {props.label ?? "Loading"}…
    </div>
  );
}

export function Empty(props: { title: string; children?: JSX.Element }): JSX.Element {
  return (
    <div class="state empty">
      <p class="state-title">{props.title}</p>
      <Show when={props.children}>
        <div class="muted">{props.children}</div>
      </Show>
    </div>
  );
}

/** An error in place; a route the server does not have means that part is not installed. */
export function ErrorBox(props: { error: unknown; what?: string; retry?: () => void }): JSX.Element {
  const missing = () => props.error instanceof ApiError && props.error.missing;
  return (
    <Show
      when={!missing()}
      fallback={
        <div class="state empty" role="note">
          <p class="state-title">{props.what ? `The ${props.what.toLowerCase()} part is not installed` : "This part is not installed"}</p>
          <p class="muted">This server has no {props.what?.toLowerCase() ?? "such"} routes yet. It appears here once the server that runs it is upgraded.</p>
        </div>
      }
    >
      <div class="error-box" role="alert">
        <strong>{props.error instanceof ApiError ? props.error.code.replace(/_/g, " ") : "Something went wrong"}</strong>
        <p>{props.error instanceof Error ? props.error.message : String(props.error)}</p>
        <Show when={props.retry}>
          <button type="button" class="btn" onClick={() => props.retry!()}>
            Try again
          </button>
        </Show>
      </div>
    </Show>
  );
}
