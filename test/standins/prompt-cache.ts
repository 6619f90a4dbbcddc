/**
 * Anthropic's prompt cache as the Messages API bills it, for the stand-in
 * (anthropic.ts). A request is read as blocks in the order the API renders
 * it (tools, system, messages); a block with `cache_control` is a
 * breakpoint, and the prefix up to it is a cache entry that lives five
 * minutes (or an hour with `ttl: "1h"`), refreshed each time it is read.
 * For each breakpoint the API looks for an entry at that block and at the
 * 20 blocks before it; the longest prefix found is read, and the prefixes up
 * to the breakpoints after it are written. A prefix shorter than the model's
 * minimum (1024 tokens here) is never cached. Tokens are counted as the
 * characters of each block's JSON over four, rounded up.
 *
 * Entries are keyed by the model and the exact bytes of the prefix; changing
 * the tool choice or the thinking settings changes the key of every message
 * block (as the API drops message caches then), not of tools or system.
 */

export interface CacheOptions {
  /** The shortest prefix the model caches, in tokens. */
  minTokens?: number;
  /** How far back before a breakpoint the API looks for an entry, in blocks. */
  lookback?: number;
  now?: () => number;
}

export interface CacheUsage {
  input: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface RequestBody {
  model: string;
  system?: string | { type: string; text: string; cache_control?: { type?: string; ttl?: string } }[];
  messages: { role: string; content: unknown }[];
  tools?: { name: string; defer_loading?: boolean; cache_control?: { type?: string; ttl?: string } }[];
  tool_choice?: { type: string };
  thinking?: unknown;
}

type Piece = { json: string; tokens: number; ttlMs?: number; message: boolean };

const FIVE_MINUTES = 5 * 60_000;
const ttlOf = (cc: unknown): number | undefined => (cc && typeof cc === "object" ? ((cc as { ttl?: string }).ttl === "1h" ? 3_600_000 : FIVE_MINUTES) : undefined);
const tokensOf = (text: string) => Math.ceil(text.length / 4);

/** The request as the blocks the API renders, each with its size and whether it is a breakpoint. */
export function pieces(body: RequestBody): Piece[] {
  const out: Piece[] = [];
  const add = (value: Record<string, unknown>, message: boolean, extraTokens = 0) => {
    const { cache_control, ...rest } = value;
    const json = JSON.stringify(rest);
    out.push({ json, tokens: tokensOf(json) + extraTokens, ttlMs: ttlOf(cache_control), message });
  };
  const deferred = new Map<string, number>();
  for (const t of body.tools ?? []) {
    // A deferred tool is not rendered where it is declared, only where a search result names it.
    if (t.defer_loading) deferred.set(t.name, tokensOf(JSON.stringify(t)));
    else add(t, false);
  }
  const system = typeof body.system === "string" ? [{ type: "text", text: body.system }] : (body.system ?? []);
  for (const b of system) add(b, false);
  body.messages.forEach((m, i) => {
    const content = typeof m.content === "string" ? [{ type: "text", text: m.content }] : (m.content as Record<string, unknown>[]);
    content.forEach((b, j) => {
      const expanded =
        b.type === "tool_search_tool_result"
          ? ((b.content as { tool_references?: { tool_name: string }[] })?.tool_references ?? []).reduce((n, r) => n + (deferred.get(r.tool_name) ?? 0), 0)
          : 0;
      add(j === 0 ? { ...b, role: m.role, at: i } : b, true, expanded);
    });
  });
  return out;
}

export class PromptCache {
  private entries = new Map<string, number>();
  private minTokens: number;
  private lookback: number;
  private now: () => number;

  constructor(opts: CacheOptions = {}) {
    this.minTokens = opts.minTokens ?? 1024;
    this.lookback = opts.lookback ?? 20;
    this.now = opts.now ?? Date.now;
  }

  /** How many breakpoints a request carries (the API refuses more than four). */
  static breakpoints(body: RequestBody): number {
    return pieces(body).filter((p) => p.ttlMs !== undefined).length;
  }

  /** Reads and writes the cache for one request, and says how its input is billed. */
  account(body: RequestBody): CacheUsage {
    const ps = pieces(body);
    const now = this.now();
    // Each prefix's key chains the one before it; message blocks also carry what invalidates their caches.
    const salt = JSON.stringify([body.tool_choice ?? null, body.thinking ?? null]);
    const keys: string[] = [];
    const ends: number[] = [];
    let key = body.model;
    let end = 0;
    for (const p of ps) {
      key = new Bun.CryptoHasher("sha256").update(`${key}\u0000${p.message ? salt : ""}\u0000${p.json}`).digest("hex");
      end += p.tokens;
      keys.push(key);
      ends.push(end);
    }
    const total = end;
    const alive = (i: number) => (this.entries.get(keys[i]!) ?? 0) > now;
    const breaks = ps.flatMap((p, i) => (p.ttlMs !== undefined ? [i] : []));
    let read = -1;
    for (const b of breaks) {
      for (let j = b; j >= Math.max(0, b - this.lookback); j--) {
        if (alive(j)) {
          if (j > read) read = j;
          break;
        }
      }
    }
    const readTokens = read >= 0 ? ends[read]! : 0;
    if (read >= 0) this.entries.set(keys[read]!, now + FIVE_MINUTES);
    let written = readTokens;
    for (const b of breaks) {
      if (ends[b]! < this.minTokens) continue;
      if (b <= read) {
        if (alive(b)) this.entries.set(keys[b]!, Math.max(this.entries.get(keys[b]!)!, now + ps[b]!.ttlMs!));
        continue;
      }
      this.entries.set(keys[b]!, now + ps[b]!.ttlMs!);
      written = Math.max(written, ends[b]!);
    }
    return { input: total - written, cacheRead: readTokens, cacheWrite: written - readTokens };
  }

  clear(): void {
    this.entries.clear();
  }
}
