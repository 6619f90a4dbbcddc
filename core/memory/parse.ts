/**
 * Models wrap JSON in prose or code fences now and then; take the outermost
 * array, or failing that one JSON object per line. Anything else is no items.
 */
export function parseJsonList(text: string): unknown[] {
  const start = text.indexOf("[");
  const end = text.lastIndexOf("]");
  if (start >= 0 && end > start) {
    try {
      const parsed = JSON.parse(text.slice(start, end + 1));
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // fall through to lines
    }
  }
  return text.split("\n").flatMap((line) => {
    const l = line.trim().replace(/,$/, "");
    if (!l.startsWith("{")) return [];
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}
