import type { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

export type App = Awaited<ReturnType<typeof makeApp>>;

/** Polls until `fn` returns something truthy; for background work (re-embedding, observer). */
export function until<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  return waitFor(what, fn, timeoutMs, 25);
}

export async function memoryHealth(h: App): Promise<any> {
  const res = await h.request("/api/system/health");
  return ((await res.json()) as any).components.memory;
}

export const ready = (h: App) => until(async () => (await memoryHealth(h)).state === "ready", "vector memory to be ready");

export const idle = (h: App) =>
  until(async () => {
    const m = await memoryHealth(h);
    return m.state === "ready" && m.pendingEmbeddings === 0 && !m.reembedding;
  }, "background embedding to finish");

export async function store(h: App, text: string, category = "general") {
  const res = await h.request("/api/memories", { method: "POST", json: { text, category } });
  return { status: res.status, body: (await res.json()) as any };
}

export async function search(h: App, q: string, extra = "") {
  const res = await h.request(`/api/memories/search?q=${encodeURIComponent(q)}${extra}`);
  return (await res.json()) as { results: { id: string; text: string; category: string; score: number }[]; mode: string };
}
