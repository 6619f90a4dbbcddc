import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
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
  private tools = new Map<string, { tool: Tool<TSchema, C>; check: TypeCheck<TSchema> }>();
  private cachedSpecs: ToolSpec[] | undefined;

  register<S extends TSchema>(tool: Tool<S, C>): () => void {
    if (!NAME.test(tool.name)) throw new Error(`tool name ${JSON.stringify(tool.name)} must match ${NAME}`);
    if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
    this.tools.set(tool.name, { tool: tool as unknown as Tool<TSchema, C>, check: TypeCompiler.Compile(tool.input) });
    this.cachedSpecs = undefined;
    return () => {
      this.tools.delete(tool.name);
      this.cachedSpecs = undefined;
    };
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  specs(): ToolSpec[] {
    return (this.cachedSpecs ??= [...this.tools.values()].map(({ tool }) => ({
      name: tool.name,
      description: tool.description,
      // A plain copy: TypeBox schemas carry symbol keys the SDKs need not see.
      inputSchema: JSON.parse(JSON.stringify(tool.input)) as Record<string, unknown>,
    })));
  }

  async execute(name: string, input: unknown, ctx: C): Promise<ToolOutcome> {
    const entry = this.tools.get(name);
    const fail = (message: string): ToolOutcome => ({ ok: false, content: message, summary: summarize(message) });
    if (!entry) return fail(`unknown tool ${JSON.stringify(name)}; available: ${[...this.tools.keys()].join(", ") || "none"}`);
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
}
