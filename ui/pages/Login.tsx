import { useNavigate, useSearchParams } from "@solidjs/router";
import { createSignal, type JSX, onCleanup, onMount, Show } from "solid-js";
import { ApiError, raw, toApiError } from "../api/client.ts";
import { setSession } from "../session.ts";

/** Only same-site paths; an absolute URL in ?next= would send the owner elsewhere after logging in. */
function safeNext(next: string | string[] | undefined): string {
  const n = Array.isArray(next) ? next[0] : next;
  return n?.startsWith("/") && !n.startsWith("//") && !n.startsWith("/login") ? n : "/";
}

export function Login(): JSX.Element {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [token, setToken] = createSignal("");
  const [error, setError] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const [waitUntil, setWaitUntil] = createSignal(0);
  const [now, setNow] = createSignal(Date.now());
  const tick = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(tick));
  const waitSec = () => Math.max(0, Math.ceil((waitUntil() - now()) / 1000));

  const submit = async (body: { token: string } | { code: string }) => {
    if (busy()) return;
    setBusy(true);
    setError(undefined);
    try {
      const res = await raw("/api/auth/login", { json: body, quiet401: true });
      if (!res.ok) throw await toApiError(res);
      setSession("in");
      navigate(safeNext(params.next), { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        setWaitUntil(Date.now() + (err.retryAfterSec ?? 60) * 1000);
        setError(`Too many failed attempts. Try again in ${err.retryAfterSec ?? 60} s.`);
      } else if (err instanceof ApiError && (err.code === "invalid_token" || err.code === "invalid_code")) {
        setError(
          err.code === "invalid_code"
            ? "That login link has been used or has expired. Paste the token instead (`bakerst token` prints it)."
            : "That token is not right. `bakerst token` prints the current one.",
        );
      } else {
        setError(err instanceof Error ? `Could not reach the server: ${err.message}` : "Could not reach the server.");
      }
    } finally {
      setBusy(false);
    }
  };

  onMount(() => {
    // The first-start link carries a one-time code in the fragment (never sent to servers or logs); drop it from history at once.
    const hash = new URLSearchParams(location.hash.slice(1));
    const code = hash.get("code");
    if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
    if (code) void submit({ code });
  });

  return (
    <div class="login-wrap">
      <form
        class="login card"
        onSubmit={(e) => {
          e.preventDefault();
          if (token().trim()) void submit({ token: token().trim() });
        }}
      >
        <div class="login-brand">
          <span class="logo" aria-hidden="true">
            221
          </span>
          <h1>Baker Street</h1>
        </div>
        <p class="muted">
          Paste the API token the server printed on first start, or run <code>bakerst token</code> on the server.
        </p>
        {/* Lets password managers file the token under this server. */}
        <input type="text" name="username" autocomplete="username" value="bakerst" hidden readOnly />
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          autofocus
          value={token()}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <Show when={error()}>
          <p class="form-error" role="alert">
            {waitSec() > 0 ? `Too many failed attempts. Try again in ${waitSec()} s.` : error()}
          </p>
        </Show>
        <button class="btn primary" type="submit" disabled={busy() || !token().trim() || waitSec() > 0}>
          {busy() ? "Logging in…" : "Log in"}
        </button>
      </form>
    </div>
  );
}
