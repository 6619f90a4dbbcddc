import { ApiError, api, qs } from "../../api/client.ts";
import type { Memory, MemoryList, MemorySearch, Note, NoteList } from "../../api/types.ts";

/** Accepts a bare array or any of the usual envelopes, so the page does not hang on the list's wrapper name. */
export function items<T>(body: unknown, ...keys: string[]): T[] {
  if (Array.isArray(body)) return body as T[];
  const o = body as Record<string, unknown>;
  for (const k of [...keys, "items", "results", "data"]) if (Array.isArray(o?.[k])) return o[k] as T[];
  return [];
}

export async function searchMemories(q: string, category?: string): Promise<Memory[] & { mode?: string }> {
  const body = await api<MemorySearch>(`/api/memories/search${qs({ q, category, limit: 50 })}`);
  // "hybrid" (meaning and words) or "keywords" (no embedder): shown so the owner knows why a paraphrase found nothing.
  return Object.assign(body.results, { mode: body.mode });
}

export const browseMemories = async (category?: string) => (await api<MemoryList>(`/api/memories${qs({ category, limit: 200 })}`)).memories;

export const addMemory = (text: string, category: string) => api<{ id: string; updated: boolean }>("/api/memories", { json: { text, category } });

export const deleteMemory = (id: string) => api(`/api/memories/${encodeURIComponent(id)}`, { method: "DELETE" });

/**
 * DESIGN.md has no route to change a memory's category. Use PATCH when the
 * server offers it; otherwise store the same text under the new category:
 * deduplication matches the memory itself and updates it in place (same id).
 * Should the server make a new entry instead, the old one is removed.
 */
export async function recategorise(m: Memory, category: string): Promise<void> {
  try {
    await api(`/api/memories/${encodeURIComponent(m.id)}`, { method: "PATCH", json: { category } });
    return;
  } catch (err) {
    if (!(err instanceof ApiError) || !(err.missing || err.status === 405)) throw err;
  }
  const added = await addMemory(m.text, category);
  if (added.id !== m.id) await deleteMemory(m.id);
}

export const listNotes = async <K extends "observations" | "reflections">(kind: K): Promise<Note[]> => (await api<NoteList<K>>(`/api/memories/${kind}${qs({ limit: 100 })}`))[kind];
