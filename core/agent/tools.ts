import type { Static, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { FIND_TOOLS, FINDER_SPECS, findTools, USE_TOOL } from "./finder.ts";
import type { ToolSpec } from "./types.ts";

/** What every tool call gets; hosts add their own fields (the brain: conversation, turn, stream). */
export interface BaseToolContext {
  signal: AbortSignal;
}

export interface Tool<S extends TSchema = TSchema, C extends BaseToolContext = BaseToolContext> {
  name: string;
  description: string;
  input: S;
  /** Longest a single call may take before it is cut off and reported as an error. */
  timeoutMs?: number;
  /**
   * One of many (an MCP server's, an extension's): sent in full only while
   * such tools are few; past that the model finds it when it needs it, so
   * hundreds of tools cost a search instead of their schemas on every call.
   * The agent's own tools leave this unset: they are always sent.
   */
  deferrable?: boolean;
  run(input: Static<S>, ctx: C): Promise<unknown> | unknown;
}

export interface ToolOutcome {
  ok: boolean;
  /** What the model sees. */
  content: string;
  /** One line for the stream and the UI's card. */
  summary: string;
}

const MAX_RESULT_CHARS = 32_000;
/** Deferrable tools whose schemas together pass this are found on demand instead of sent. */
export const DEFER_ABOVE_CHARS = 8_000;
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function defineTool<S extends TSchema, C extends BaseToolContext = BaseToolContext>(tool: Tool<S, C>): Tool<S, C> {
  return tool;
}

function render(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "ok";
  return JSON.stringify(value, null, 1);
}

function cap(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}\n[truncated ${text.length - MAX_RESULT_CHARS} characters]` : text;
}

export function summarize(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/**
 * The tools an agent loop may call: the brain's (areas register theirs) and a
 * worker's. Inputs are validated against each tool's schema before it runs,
 * results are capped, and anything a tool throws comes back to the model as an
 * error result instead of ending the loop.
 */
export class ToolRegistry<C extends BaseToolContext = BaseToolContext> {
  private tools = new Map<string, { tool: Tool<TSchema, C>; check: TypeCheck<TSchema>; spec: ToolSpec }>();
  private cachedSpecs: ToolSpec[] | undefined;

  register<S extends TSchema>(tool: Tool<S, C>): () => void {
    if (!NAME.test(tool.name)) throw new Error(`tool name ${JSON.stringify(tool.name)} must match ${NAME}`);
    if (tool.name === FIND_TOOLS || tool.name === USE_TOOL) throw new Error(`tool name ${tool.name} is taken by the tool finder`);
    if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
    const spec: ToolSpec = {
      name: tool.name,
      description: tool.description,
      // A plain copy: TypeBox schemas carry symbol keys the SDKs need not see.
      inputSchema: JSON.parse(JSON.stringify(tool.input)) as Record<string, unknown>,
    };
    this.tools.set(tool.name, { tool: tool as unknown as Tool<TSchema, C>, check: TypeCompiler.Compile(tool.input), spec });
    this.cachedSpecs = undefined;
    return () => {
      this.tools.delete(tool.name);
      this.cachedSpecs = undefined;
    };
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** One tool's name, description and input schema, whether or not `specs()` defers it. */
  spec(name: string): ToolSpec | undefined {
    return this.tools.get(name)?.spec;
  }

  /**
   * What a model call offers, in registration order (so the list, and the
   * prefix caches behind it, stay the same from call to call): the core
   * tools in full; the deferrable ones in full while they are few, else
   * marked deferred and joined by find_tools and use_tool.
   */
  specs(): ToolSpec[] {
    if (this.cachedSpecs) return this.cachedSpecs;
    const all = [...this.tools.values()];
    const deferrable = all.filter((e) => e.tool.deferrable);
    const size = deferrable.reduce((n, e) => n + JSON.stringify(e.spec).length, 0);
    if (size <= DEFER_ABOVE_CHARS) return (this.cachedSpecs = all.map((e) => e.spec));
    return (this.cachedSpecs = [...all.filter((e) => !e.tool.deferrable).map((e) => e.spec), ...deferrable.map((e) => ({ ...e.spec, deferred: true })), ...FINDER_SPECS]);
  }

  private deferring(): boolean {
    return this.specs().some((s) => s.finder);
  }

  async execute(name: string, input: unknown, ctx: C): Promise<ToolOutcome> {
    if ((name === FIND_TOOLS || name === USE_TOOL) && this.deferring()) return this.finder(name, input, ctx);
    const entry = this.tools.get(name);
    const fail = (message: string): ToolOutcome => ({ ok: false, content: message, summary: summarize(message) });
    if (!entry) {
      const listed = this.specs()
        .filter((s) => !s.deferred)
        .map((s) => s.name);
      return fail(`unknown tool ${JSON.stringify(name)}; available: ${listed.join(", ") || "none"}${this.deferring() ? " (and more: find_tools searches them)" : ""}`);
    }
    if (input && typeof input === "object" && "__invalid_json" in input) return fail("tool input was not valid JSON");
    if (!entry.check.Check(input)) {
      const errors = [...entry.check.Errors(input)].slice(0, 5).map((e) => `${e.path || "(input)"}: ${e.message}`);
      return fail(`invalid input for ${name}: ${errors.join("; ")}`);
    }
    const timeoutMs = entry.tool.timeoutMs ?? 120_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    try {
      const result = await Promise.race([
        Promise.resolve(entry.tool.run(input, { ...ctx, signal })),
        new Promise<never>((_, reject) =>
          signal.addEventListener("abort", () => reject(new Error(timeout.aborted ? `timed out after ${timeoutMs} ms` : "cancelled")), { once: true }),
        ),
      ]);
      const text = cap(render(result));
      return { ok: true, content: text, summary: summarize(text) };
    } catch (err) {
      return fail(`${name} failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** find_tools and use_tool, for providers without a tool search of their own. */
  private async finder(name: string, input: unknown, ctx: C): Promise<ToolOutcome> {
    const fail = (message: string): ToolOutcome => ({ ok: false, content: message, summary: summarize(message) });
    const o = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
    const deferred = this.specs().filter((s) => s.deferred);
    if (name === FIND_TOOLS) {
      if (typeof o.query !== "string" || !o.query.trim()) return fail("invalid input for find_tools: query: expected a few words about the tool you need");
      const found = findTools(o.query, deferred);
      const text = found.length
        ? JSON.stringify({ tools: found.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })), how: "call one with use_tool" }, null, 1)
        : `no tool matches ${JSON.stringify(o.query.slice(0, 100))}; try other words`;
      return { ok: true, content: cap(text), summary: found.length ? `found ${found.map((t) => t.name).join(", ")}` : "found nothing" };
    }
    if (typeof o.name !== "string") return fail("invalid input for use_tool: name: expected the name find_tools gave");
    // Only what find_tools can find: the core tools are called directly, and use_tool never calls itself.
    if (!deferred.some((s) => s.name === o.name)) return fail(`use_tool: no deferred tool is named ${JSON.stringify(o.name)}; search with find_tools first`);
    return this.execute(o.name, o.input ?? {}, ctx);
  }
}
