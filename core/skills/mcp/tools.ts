/**
 * An MCP server's tools as the agent's: namespaced `<skill>__<tool>`, with the
 * server's input schema passed through after a check (an object schema, of a
 * sane size), descriptions capped, and results mapped to text. A server
 * controls all of this, so nothing it says is trusted: a name that does not
 * fit, a duplicate, or a schema that is not an object schema is left out with
 * a note instead of breaking the registry.
 */

import type { Tool as McpTool } from "@modelcontextprotocol/sdk/types.js";
import { Kind, type TSchema } from "@sinclair/typebox";
import { type BrainTools, defineTool } from "../../brain/tools.ts";

export const SEPARATOR = "__";
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DESCRIPTION = 1024;
const MAX_SCHEMA_CHARS = 16_000;
const MAX_TOOLS = 128;

/** A tool as a server listed it, after the checks: what the registry registers and the skill row caches. */
export interface ListedTool {
  /** The server's own name for it. */
  name: string;
  /** `<skill>__<name>`: what the model calls. */
  qualified: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ToolListing {
  tools: ListedTool[];
  /** What was left out and why. */
  dropped: string[];
}

function schemaProblem(schema: unknown): string | undefined {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return "its input schema is not an object";
  if ((schema as { type?: unknown }).type !== "object") return 'its input schema is not of type "object"';
  let text: string;
  try {
    text = JSON.stringify(schema);
  } catch {
    return "its input schema is not JSON";
  }
  if (text.length > MAX_SCHEMA_CHARS) return `its input schema is ${text.length} characters (at most ${MAX_SCHEMA_CHARS})`;
  return undefined;
}

/** Checks and namespaces what a server listed. */
export function listTools(skill: string, listed: readonly McpTool[]): ToolListing {
  const tools: ListedTool[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  for (const t of listed) {
    const name = typeof t.name === "string" ? t.name : "";
    const shown = JSON.stringify(name.slice(0, 80));
    const qualified = `${skill}${SEPARATOR}${name}`;
    if (!TOOL_NAME.test(name) || !TOOL_NAME.test(qualified)) {
      dropped.push(`${shown}: a tool name must be letters, digits, _ or - and fit 64 characters with the skill's prefix`);
      continue;
    }
    if (seen.has(name)) {
      dropped.push(`${shown}: listed twice`);
      continue;
    }
    const problem = schemaProblem(t.inputSchema);
    if (problem) {
      dropped.push(`${shown}: ${problem}`);
      continue;
    }
    if (tools.length >= MAX_TOOLS) {
      dropped.push(`${shown}: past ${MAX_TOOLS} tools`);
      continue;
    }
    seen.add(name);
    const description = (typeof t.description === "string" ? t.description : "").slice(0, MAX_DESCRIPTION);
    tools.push({
      name,
      qualified,
      description: description || `${name} (from the ${skill} skill)`,
      inputSchema: JSON.parse(JSON.stringify(t.inputSchema)) as Record<string, unknown>,
    });
  }
  return { tools, dropped };
}

/**
 * The registry validates inputs with TypeBox; an MCP tool's schema is plain
 * JSON Schema that the server validates itself. Marked as TypeBox's Unknown
 * (a symbol key, which the copy sent to the model drops), it passes through
 * unchanged and any object is accepted here.
 */
export function passThrough(schema: Record<string, unknown>): TSchema {
  return { ...schema, [Kind]: "Unknown" } as unknown as TSchema;
}

interface ContentPart {
  type: string;
  text?: string;
  mimeType?: string;
  resource?: { uri?: string; text?: string };
  uri?: string;
  name?: string;
}

/** A tools/call result as text for the model; an error result throws, so the registry reports it as one. */
export function resultText(result: { content?: unknown; isError?: unknown; structuredContent?: unknown; toolResult?: unknown }): string {
  const parts = Array.isArray(result.content) ? (result.content as ContentPart[]) : [];
  const text = parts
    .map((p) => {
      if (!p || typeof p !== "object") return "";
      if (p.type === "text") return typeof p.text === "string" ? p.text : "";
      if (p.type === "image" || p.type === "audio") return `[${p.type} ${typeof p.mimeType === "string" ? p.mimeType : ""}]`;
      if (p.type === "resource") return typeof p.resource?.text === "string" ? p.resource.text : `[resource ${String(p.resource?.uri ?? "")}]`;
      if (p.type === "resource_link") return `[resource ${String(p.uri ?? "")}]`;
      return "";
    })
    .filter(Boolean)
    .join("\n");
  const out =
    text || (result.structuredContent !== undefined ? JSON.stringify(result.structuredContent) : result.toolResult !== undefined ? JSON.stringify(result.toolResult) : "");
  if (result.isError === true) throw new Error(out || "the tool reported an error");
  return out || "ok";
}

/** What a tool calls: a connected server (connection.ts). */
export interface ToolCaller {
  call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<string>;
}

/**
 * Registers a server's tools with the brain, each calling it through
 * `connection`; returns what unregisters them. A name another skill or a core
 * tool already holds keeps its own; this one is left out.
 */
export function registerServerTools(registry: BrainTools, connection: ToolCaller, tools: readonly ListedTool[], timeoutMs: number): (() => void)[] {
  const unregister: (() => void)[] = [];
  for (const t of tools) {
    if (registry.has(t.qualified)) continue;
    unregister.push(
      registry.register(
        defineTool({
          name: t.qualified,
          description: t.description,
          input: passThrough(t.inputSchema),
          deferrable: true,
          timeoutMs,
          async run(input, ctx) {
            if (!input || typeof input !== "object" || Array.isArray(input)) throw new Error("the input must be a JSON object");
            // Secrets in what it answers are replaced by the brain's registry, like every tool's.
            return connection.call(t.name, input as Record<string, unknown>, ctx.signal);
          },
        }),
      ),
    );
  }
  return unregister;
}
