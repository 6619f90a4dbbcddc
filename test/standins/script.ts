/**
 * Replies for the model stand-ins (anthropic.ts, openai.ts), scripted per
 * request: a test says which request gets which reply with a predicate on the
 * request (its prompt, its system prompt, whether it carries tool results, the
 * model, the tool choice), so a background call (the observer, a retry) cannot
 * take a reply meant for another. Each stand-in writes the reply in its own
 * vendor's wire format.
 *
 *   model.on(prompt("2+40?"), reply().text("Let me add.").tool("add", { a: 2, b: 40 }));
 *   model.on(afterTool("add"), reply().text("It is 42."));
 */

export interface Usage {
  input: number;
  output: number;
}

export interface ScriptedTool {
  id?: string;
  name: string;
  /** The arguments as the model streams them: JSON, or deliberately broken text. */
  json: string;
}

/** A search of Anthropic's tool search, run on the server side: the query and the deferred tools it finds. */
export interface ScriptedSearch {
  id?: string;
  query: string;
  found: string[];
}

/** One reply, built with chained calls. */
export class Reply {
  chunks: string[] = [];
  tools: ScriptedTool[] = [];
  /** Extended thinking, streamed before the text (Anthropic: only when the request enables it). */
  thinkingText?: string;
  searches: ScriptedSearch[] = [];
  tokens?: Usage;
  stop?: string;
  status?: number;
  errorType?: string;
  errorMessage?: string;
  headers?: Record<string, string>;
  /** Streaming: after this many text deltas, the vendor's error frame. */
  errorAfter?: number;
  /** Streaming: after this many text deltas, the connection is cut. */
  resetAfter?: number;
  /** Streaming: everything scripted is sent, then nothing more until the client goes away. */
  hangs = false;
  /** Held after the start of the reply until this settles. */
  gate?: PromiseLike<unknown>;
  /** Held before anything is sent, headers included, until this settles. */
  startGate?: PromiseLike<unknown>;
  delayMs?: number;

  /** Text, one streamed delta per argument. */
  text(...chunks: string[]): this {
    this.chunks.push(...chunks);
    return this;
  }

  tool(name: string, input: unknown, id?: string): this {
    this.tools.push({ name, json: JSON.stringify(input), ...(id ? { id } : {}) });
    return this;
  }

  /** A tool call whose arguments are this text as is (to send broken JSON). */
  toolRaw(name: string, json: string, id?: string): this {
    this.tools.push({ name, json, ...(id ? { id } : {}) });
    return this;
  }

  /** The model's reasoning, before anything else. */
  thinking(text: string): this {
    this.thinkingText = text;
    return this;
  }

  /** Anthropic's tool search finding deferred tools (after the thinking, before the text). */
  toolSearch(query: string, found: string[], id?: string): this {
    this.searches.push({ query, found, ...(id ? { id } : {}) });
    return this;
  }

  /** Fixed token counts; without them the stand-in counts the request itself (and its cache). */
  usage(tokens: Usage): this {
    this.tokens = tokens;
    return this;
  }

  /** The stop reason to report; default `end_turn` (`tool_use` with tool calls). */
  stopReason(reason: string): this {
    this.stop = reason;
    return this;
  }

  streamError(afterDeltas = 0): this {
    this.errorAfter = afterDeltas;
    return this;
  }

  reset(afterDeltas = 0): this {
    this.resetAfter = afterDeltas;
    return this;
  }

  hang(): this {
    this.hangs = true;
    return this;
  }

  /** Holds the reply after its start until `until` settles: the test decides when the model "answers". */
  wait(until: PromiseLike<unknown>): this {
    this.gate = until;
    return this;
  }

  /** Sends nothing at all, not even the response headers, until `until` settles: a model slow to start. */
  waitToStart(until: PromiseLike<unknown>): this {
    this.startGate = until;
    return this;
  }

  /** Answers after `ms`: a slow model, for benchmarks; tests wait on a promise instead. */
  delay(ms: number): this {
    this.delayMs = ms;
    return this;
  }
}

export const reply = () => new Reply();

/** An HTTP error reply (429, 500, 529...), with the vendor's error body. */
export function httpError(status: number, opts: { type?: string; message?: string; headers?: Record<string, string> } = {}): Reply {
  const r = new Reply();
  r.status = status;
  r.errorType = opts.type;
  r.errorMessage = opts.message;
  r.headers = opts.headers;
  return r;
}

/** What a predicate sees of a request, the same for both vendors. */
export interface Hit {
  model: string;
  system: string;
  /** The last text the user wrote: the prompt of the turn, past any tool results after it. */
  prompt: string;
  /** Names of the tools offered. */
  tools: string[];
  toolChoice: string | undefined;
  /** Tool results at the end of the conversation: this request continues a tool round. */
  toolResults: { id: string; name: string | undefined; content: string; isError: boolean }[];
  /** The `<context>` note riding with the owner's newest message (time, relevant memories); empty without one. */
  context: string;
  stream: boolean;
}

export type Match = (hit: Hit) => boolean;

const matches = (want: string | RegExp, got: string) => (typeof want === "string" ? got === want : want.test(got));

/** The user's last text is this (a string: exactly; a RegExp: matches). */
export function prompt(want: string | RegExp): Match {
  return (h) => matches(want, h.prompt);
}
export function system(want: string | RegExp): Match {
  return (h) => matches(want, h.system);
}
export function model(want: string): Match {
  return (h) => h.model === want;
}
export function toolChoice(want: string): Match {
  return (h) => h.toolChoice === want;
}
/** The request carries tool results (of the named tool, if one is given). */
export function afterTool(name?: string): Match {
  return (h) => h.toolResults.length > 0 && (name === undefined || h.toolResults.some((r) => r.name === name));
}
/** The first call of a turn: no tool results yet. */
export const firstRound: Match = (h) => h.toolResults.length === 0;
/** The `<context>` note of the turn matches. */
export function context(want: string | RegExp): Match {
  return (h) => (typeof want === "string" ? h.context.includes(want) : want.test(h.context));
}
export const anyRequest: Match = () => true;
export function and(...all: Match[]): Match {
  return (h) => all.every((m) => m(h));
}

interface Rule {
  match: Match;
  reply: Reply;
}

/**
 * The replies a stand-in has been given, and the requests it got. A request
 * takes the first scripted reply whose predicate it matches (each answers
 * once), else the first standing rule it matches, else the fallback: a 400
 * naming the request, so a test that forgot a reply fails saying which.
 */
export class Script<Req> {
  /** Every request, in order. */
  readonly requests: Req[] = [];
  /** Requests nothing matched and no fallback answered: they got the 400. */
  readonly misses: Req[] = [];
  private once: Rule[] = [];
  private standing: { match: Match; reply: (req: Req) => Reply }[] = [];
  private otherwise: ((req: Req) => Reply) | undefined;

  constructor(private readonly hitOf: (req: Req) => Hit) {}

  /** Each reply answers one request that matches, in order. */
  on(match: Match, ...replies: Reply[]): void {
    for (const reply of replies) this.once.push({ match, reply });
  }

  /** Answers every request that matches and that no scripted reply took. */
  always(match: Match, reply: (req: Req) => Reply): void {
    this.standing.push({ match, reply });
  }

  /** What answers a request nothing matched (e.g. `echo`); it survives `reset()`. */
  fallback(reply: (req: Req) => Reply): void {
    this.otherwise = reply;
  }

  /** Records the request and picks its reply. */
  take(req: Req): Reply {
    this.requests.push(req);
    const hit = this.hitOf(req);
    const i = this.once.findIndex((r) => r.match(hit));
    if (i >= 0) return this.once.splice(i, 1)[0]!.reply;
    const rule = this.standing.find((r) => r.match(hit));
    if (rule) return rule.reply(req);
    if (this.otherwise) return this.otherwise(req);
    this.misses.push(req);
    return httpError(400, { type: "invalid_request_error", message: `stand-in: ${describeHit(hit)}` });
  }

  /** Scripted replies no request has taken yet. */
  pending(): number {
    return this.once.length;
  }

  /**
   * For afterEach: fails when a request went unmatched or a scripted reply was
   * never asked for (a test that did not do what it scripted), then resets.
   */
  checkAndReset(): void {
    const missed = this.misses.map((r) => describeHit(this.hitOf(r)));
    const unused = this.once.length;
    this.reset();
    if (missed.length || unused)
      throw new Error(`model stand-in: ${unused} scripted replies never asked for; ${missed.length} requests unmatched${missed.length ? `:\n${missed.join("\n")}` : ""}`);
  }

  /** Forgets the scripts, the requests and the misses. */
  reset(): void {
    this.once = [];
    this.standing = [];
    this.requests.length = 0;
    this.misses.length = 0;
  }
}

/** What an unmatched request is told, so a test that forgot a reply fails saying which request it was. */
export function describeHit(h: Hit): string {
  const results = h.toolResults.map((r) => r.name ?? r.id).join(", ");
  return `no scripted reply matches this request (model ${h.model}, prompt ${JSON.stringify(h.prompt.slice(0, 80))}${results ? `, tool results of ${results}` : ""}${h.tools.length ? `, ${h.tools.length} tools` : ""})`;
}

/** Before the response starts: a delay; for a whole (non-streamed) answer, the gate or a hang too. */
export async function held(r: Reply, streamed: boolean): Promise<void> {
  if (r.delayMs) await Bun.sleep(r.delayMs);
  if (r.startGate) await r.startGate;
  if (streamed) return;
  if (r.gate) await r.gate;
  if (r.hangs) await new Promise(() => {});
}

/**
 * Streams frames with the reply's timing: `gate` after the head, the text
 * deltas (cut short by `errorAfter` or `resetAfter`), then the tail, or nothing
 * more when the reply hangs. Enqueueing after the client went away is ignored.
 */
export function streamReply(
  r: Reply,
  frames: { head: Uint8Array[]; delta: (text: string) => Uint8Array[]; error: () => Uint8Array[]; tail: Uint8Array[] },
): ReadableStream<Uint8Array> {
  let closed = false;
  return new ReadableStream<Uint8Array>({
    async start(c) {
      const send = (parts: Uint8Array[]) => {
        if (closed) return;
        try {
          for (const p of parts) c.enqueue(p);
        } catch {
          closed = true;
        }
      };
      send(frames.head);
      if (r.gate) await r.gate;
      const cut = Math.min(r.errorAfter ?? Infinity, r.resetAfter ?? Infinity, r.chunks.length);
      for (const chunk of r.chunks.slice(0, cut)) send(frames.delta(chunk));
      if (r.errorAfter !== undefined) {
        send(frames.error());
        if (!closed) c.close();
        return;
      }
      if (r.resetAfter !== undefined) {
        if (!closed) c.error(new Error("connection reset by the stand-in"));
        return;
      }
      if (r.hangs) return;
      send(frames.tail);
      if (!closed) c.close();
    },
    cancel() {
      closed = true;
    },
  });
}
