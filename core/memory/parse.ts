import { parseJson } from "../protocol/json.ts";

/**
 * Models wrap JSON in prose or code fences now and then; take the outermost
 * array, or failing that one JSON object per line. Anything else is no items.
 */
export function parseJsonList(text: string): unknown[] {
  const start = text.indexOf("[");
  const end = text.lastIndexOf("]");
  if (start >= 0 && end > start) {
    const parsed = parseJson(text.slice(start, end + 1));
    if (parsed.ok && Array.isArray(parsed.value)) return parsed.value;
  }
  return text.split("\n").flatMap((line) => {
    const l = line.trim().replace(/,$/, "");
    if (!l.startsWith("{")) return [];
    const parsed = parseJson(l);
    return parsed.ok ? [parsed.value] : [];
  });
}
