import { Route, Router, type RouteSectionProps, useLocation, useNavigate } from "@solidjs/router";
import { type JSX, lazy, Match, onMount, Switch } from "solid-js";
import { ApiError, api, setUnauthorizedHandler } from "./api/client.ts";
import { Shell } from "./components/Shell.tsx";
import { Loading } from "./components/States.tsx";
import { Chat } from "./pages/chat/Chat.tsx";
import { Login } from "./pages/Login.tsx";
import { session, setSession } from "./session.ts";

// Chat is the first screen, so it ships in the main bundle; the rest load when opened.
const Jobs = lazy(() => import("./pages/jobs/Jobs.tsx"));
const Tasks = lazy(() => import("./pages/tasks/Tasks.tsx"));
const Companions = lazy(() => import("./pages/companions/Companions.tsx"));
const Schedules = lazy(() => import("./pages/schedules/Schedules.tsx"));
const Memory = lazy(() => import("./pages/memory/Memory.tsx"));
const Models = lazy(() => import("./pages/models/Models.tsx"));
const System = lazy(() => import("./pages/System.tsx"));
const Audit = lazy(() => import("./pages/audit/Audit.tsx"));
const Channels = lazy(() => import("./pages/channels/Channels.tsx"));
const Secrets = lazy(() => import("./pages/secrets/Secrets.tsx"));
const Skills = lazy(() => import("./pages/skills/Skills.tsx"));

/** Every page but /login needs a session; without one the login page opens and comes back here after. */
function Authed(props: RouteSectionProps): JSX.Element {
  const navigate = useNavigate();
  const location = useLocation();
  const toLogin = () => navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  onMount(async () => {
    setUnauthorizedHandler(() => {
      setSession("out");
      toLogin();
    });
    if (session() === "in") return;
    try {
      await api("/api/auth/session", { quiet401: true });
      setSession("in");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setSession("out");
        toLogin();
      } else setSession("in"); // the server is up but said something else: let the pages show their errors
    }
  });
  return (
    <Switch>
      <Match when={session() === "in"}>
        <Shell>{props.children}</Shell>
      </Match>
      <Match when={session() !== "in"}>
        <Loading label="Checking your session" />
      </Match>
    </Switch>
  );
}

export function App(): JSX.Element {
  return (
    <Router>
      <Route path="/login" component={Login} />
      <Route path="/" component={Authed}>
        <Route path="/" component={Chat} />
        <Route path="/chat/:id" component={Chat} />
        <Route path="/jobs/:id?" component={Jobs} />
        <Route path="/tasks/:id?" component={Tasks} />
        <Route path="/companions/:id?" component={Companions} />
        <Route path="/schedules/:id?" component={Schedules} />
        <Route path="/memory" component={Memory} />
        <Route path="/models" component={Models} />
        <Route path="/system" component={System} />
        <Route path="/audit" component={Audit} />
        <Route path="/channels" component={Channels} />
        <Route path="/secrets" component={Secrets} />
        <Route path="/skills" component={Skills} />
        <Route path="*" component={NotFound} />
      </Route>
    </Router>
  );
}

function NotFound(): JSX.Element {
  return (
    <section class="page">
      <h1>Not here</h1>
      <p class="muted">There is no page at this address. Pick one from the menu.</p>
    </section>
  );
}
