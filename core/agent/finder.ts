import type { ToolSpec } from "./types.ts";

/** The names the finder takes; no registered tool may use them. */
export const FIND_TOOLS = "find_tools";
export const USE_TOOL = "use_tool";

const MAX_QUERY_CHARS = 500;
const MAX_RESULTS = 5;

/**
 * For providers without a tool search of their own: find_tools answers with
 * the schemas of the deferred tools that match, and use_tool calls one. Both
 * have fixed schemas, so the tool list (and every prefix cache behind it)
 * stays the same however many tools are found; a server that constrains
 * calls to the declared functions (llama.cpp's grammar) still accepts them.
 */
export const FINDER_SPECS: ToolSpec[] = [
  {
    name: FIND_TOOLS,
    description:
      "Search the tools that are not listed here (there are many): give a few words about what you need. Answers with the best matches and their input schemas; then call one with use_tool.",
    inputSchema: {
      type: "object",
      properties: { query: { type: "string", maxLength: MAX_QUERY_CHARS, description: "what the tool should do, e.g. 'create a calendar event'" } },
      required: ["query"],
      additionalProperties: false,
    },
    finder: true,
  },
  {
    name: USE_TOOL,
    description: "Call a tool that find_tools found, by its name, with an input that matches its schema.",
    inputSchema: {
      type: "object",
      properties: { name: { type: "string", maxLength: 64 }, input: { type: "object" } },
      required: ["name", "input"],
      additionalProperties: false,
    },
    finder: true,
  },
];

const words = (text: string) =>
  text
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1);

/**
 * The deferred tools that best match a query: BM25 over each tool's name
 * (counted three times, names say the most) and description, like
 * Anthropic's own search. Tools that share no word with the query are left out.
 */
export function findTools(query: string, tools: ToolSpec[], limit = MAX_RESULTS): ToolSpec[] {
  const q = [...new Set(words(query.slice(0, MAX_QUERY_CHARS)))];
  if (!q.length || !tools.length) return [];
  const docs = tools.map((t) => {
    const terms = [...words(t.name), ...words(t.name), ...words(t.name), ...words(t.description)];
    const tf = new Map<string, number>();
    for (const w of terms) tf.set(w, (tf.get(w) ?? 0) + 1);
    return { tool: t, tf, len: terms.length };
  });
  const avg = docs.reduce((n, d) => n + d.len, 0) / docs.length;
  const k1 = 1.2;
  const b = 0.75;
  const idf = new Map(q.map((w) => [w, Math.log(1 + (docs.length - docs.filter((d) => d.tf.has(w)).length + 0.5) / (docs.filter((d) => d.tf.has(w)).length + 0.5))]));
  return docs
    .map((d) => ({
      tool: d.tool,
      score: q.reduce((s, w) => {
        const f = d.tf.get(w) ?? 0;
        return s + (f ? (idf.get(w)! * f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.len) / avg)) : 0);
      }, 0),
    }))
    .filter((r) => r.score > 0)
    .sort((x, y) => y.score - x.score)
    .slice(0, limit)
    .map((r) => r.tool);
}
