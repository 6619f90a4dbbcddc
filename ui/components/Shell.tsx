import { A, useLocation, useNavigate } from "@solidjs/router";
import { createEffect, createSignal, For, type JSX, on, onCleanup } from "solid-js";
import { raw } from "../api/client.ts";
import { setSession } from "../session.ts";

const MAIN = [
  { href: "/", label: "Chat", match: (p: string) => p === "/" || p.startsWith("/chat") },
  { href: "/jobs", label: "Jobs" },
  { href: "/tasks", label: "Tasks" },
  { href: "/companions", label: "Companions" },
  { href: "/schedules", label: "Schedules" },
  { href: "/memory", label: "Memory" },
  { href: "/channels", label: "Channels" },
  { href: "/skills", label: "Skills" },
  { href: "/secrets", label: "Secrets" },
  { href: "/models", label: "Models & usage" },
  { href: "/system", label: "System" },
  { href: "/audit", label: "Audit log" },
];

/** The frame around every page: the menu (a drawer on a phone) and the page. */
export function Shell(props: { children?: JSX.Element }): JSX.Element {
  const [open, setOpen] = createSignal(false);
  const location = useLocation();
  const navigate = useNavigate();
  createEffect(
    on(
      () => location.pathname,
      () => setOpen(false),
      { defer: true },
    ),
  );
  // Escape closes the phone menu, as it would any drawer.
  const onKey = (e: KeyboardEvent) => e.key === "Escape" && open() && setOpen(false);
  document.addEventListener("keydown", onKey);
  onCleanup(() => document.removeEventListener("keydown", onKey));

  const logout = async () => {
    await raw("/api/auth/logout", { method: "POST", quiet401: true }).catch(() => undefined);
    setSession("out");
    navigate("/login", { replace: true });
  };

  return (
    <div class="shell" classList={{ "menu-open": open() }}>
      <header class="topbar">
        <button type="button" class="icon-btn" aria-label="Menu" aria-expanded={open()} aria-controls="main-nav" onClick={() => setOpen(!open())}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
          </svg>
        </button>
        <span class="brand">Baker Street</span>
      </header>
      <nav id="main-nav" class="nav" aria-label="Main">
        <div class="brand nav-brand">
          <span class="logo" aria-hidden="true">
            221
          </span>{" "}
          Baker Street
        </div>
        <ul>
          <For each={MAIN}>
            {(item) => (
              <li>
                <A
                  href={item.href}
                  end={item.href === "/"}
                  activeClass="active"
                  aria-current={item.match?.(location.pathname) ? "page" : undefined}
                  classList={{ active: item.match?.(location.pathname) ?? false }}
                >
                  {item.label}
                </A>
              </li>
            )}
          </For>
        </ul>
        <button type="button" class="link-btn nav-logout" onClick={logout}>
          Log out
        </button>
      </nav>
      <div class="scrim" onClick={() => setOpen(false)} aria-hidden="true" />
      <main class="main" id="main">
        {props.children}
      </main>
    </div>
  );
}
