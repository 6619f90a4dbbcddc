import type { RoutePlugin } from "../api/routes.ts";
import type { Services } from "../services.ts";
import { retrying } from "./retrying.ts";
import type { Area, AreaContext, Provided, Provision } from "./types.ts";

export class AreaOrderError extends Error {
  override name = "AreaOrderError";
}

/** What the kernel provides before any area starts. */
export function kernelProvides(s: Services): Partial<Provided> {
  return { bus: s.bus, brain: s.brain, models: s.models, tools: s.tools, prompt: s.prompt, notifications: s.notifications, conversations: s.conversations };
}

const KERNEL: readonly Provision[] = ["bus", "brain", "models", "tools", "prompt", "notifications", "conversations"];

/**
 * Areas in an order where each starts after whatever provides what it needs;
 * otherwise the order they are listed in. A need nobody provides, two
 * providers of one thing, or a cycle stop start-up with a message naming them.
 */
export function startOrder(areas: readonly Area[]): Area[] {
  const provider = new Map<Provision, Area>();
  for (const a of areas) {
    for (const p of a.provides ?? []) {
      if (KERNEL.includes(p)) throw new AreaOrderError(`area ${a.name} provides ${p}, which the kernel already provides`);
      const other = provider.get(p);
      if (other) throw new AreaOrderError(`areas ${other.name} and ${a.name} both provide ${p}; remove one from core/areas.ts`);
      provider.set(p, a);
    }
  }
  for (const a of areas) {
    for (const n of a.needs ?? []) {
      if (!KERNEL.includes(n) && !provider.has(n)) {
        throw new AreaOrderError(`area ${a.name} needs ${n}, which no area provides: add the area that provides ${n} to core/areas.ts`);
      }
    }
  }
  const out: Area[] = [];
  const state = new Map<Area, "visiting" | "done">();
  const visit = (a: Area, path: string[]) => {
    if (state.get(a) === "done") return;
    if (state.get(a) === "visiting") throw new AreaOrderError(`areas need each other in a circle: ${[...path, a.name].join(" -> ")}`);
    state.set(a, "visiting");
    for (const n of [...(a.needs ?? []), ...(a.wants ?? [])]) {
      const p = provider.get(n);
      if (p && p !== a) visit(p, [...path, a.name]);
    }
    state.set(a, "done");
    out.push(a);
  };
  for (const a of areas) visit(a, []);
  return out;
}

/**
 * Starts the areas in dependency order, each with its context; registers
 * their stops (reverse order) on the services. On a failure the ones already
 * started are stopped before the error goes on.
 */
export async function startAreas(s: Services, areas: readonly Area[]): Promise<{ routes: RoutePlugin[]; provided: Partial<Provided> }> {
  const ordered = startOrder(areas);
  // Every area's settings are checked before anything starts: a bad one names its key and nothing leaks.
  for (const a of ordered) if (a.config?.keys) s.config.read(a.config.keys);
  const provided: Partial<Provided> = kernelProvides(s);
  const routes: RoutePlugin[] = [];
  const stops: { area: string; fn: () => Promise<void> | void }[] = [];
  const stopAll = async () => {
    for (const { area, fn } of stops.reverse()) {
      try {
        await fn();
      } catch (err) {
        s.log.error("area failed to stop cleanly", { area, error: err as Error });
      }
    }
    stops.length = 0;
  };
  try {
    for (const area of ordered) {
      const log = s.log.child({ area: area.name });
      const ctx: AreaContext = {
        ...s,
        log,
        need: (name) => {
          if (!(area.needs ?? []).includes(name)) throw new AreaOrderError(`area ${area.name} uses ${name} without declaring it in needs`);
          const v = provided[name];
          if (v === undefined) throw new AreaOrderError(`area ${area.name} needs ${name}, which was not provided`);
          return v;
        },
        want: (name) => {
          if (!(area.wants ?? []).includes(name)) throw new AreaOrderError(`area ${area.name} uses ${name} without declaring it in wants`);
          return provided[name];
        },
        provide: (name, value) => {
          if (!(area.provides ?? []).includes(name)) throw new AreaOrderError(`area ${area.name} provides ${name} without declaring it in provides`);
          provided[name] = value;
        },
        routes: (...plugins) => void routes.push(...plugins),
        onStop: (fn) => void stops.push({ area: area.name, fn }),
        retrying: (opts) => {
          const r = retrying(opts, { health: s.health, log });
          stops.push({ area: area.name, fn: () => r.stop() });
          return r;
        },
      };
      const began = performance.now();
      await area.start(ctx);
      // Start-up time is a budget every area spends from: each says what it took.
      log.debug("area started", { ms: Math.round((performance.now() - began) * 10) / 10 });
      for (const p of area.provides ?? []) {
        if (provided[p] === undefined) throw new AreaOrderError(`area ${area.name} declares it provides ${p} but did not provide it when it started`);
      }
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  s.onClose(stopAll);
  return { routes, provided };
}
