/**
 * Deepest nesting of arrays and objects bakerst accepts in JSON from outside
 * (HTTP bodies, JSON lines, NATS messages, tool input). No message of ours
 * comes near it; a deep value is what makes the work after parsing (schema
 * errors, pretty-printed messages, recursive copies) grow with the square of
 * the depth, or overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

export type JsonParsed = { ok: true; value: unknown } | { ok: false; reason: string; tooDeep: boolean };

/**
 * True when `text` opens more than `max` arrays or objects inside each other.
 * One pass over the raw text, before anything parses it: brackets inside
 * strings (escaped quotes included) are not counted. Text that is not JSON
 * is left for the parser to refuse.
 */
export function nestedDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/** JSON.parse behind the depth check; never throws. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonParsed {
  if (nestedDeeperThan(text, maxDepth)) return { ok: false, reason: `nested deeper than ${maxDepth} levels`, tooDeep: true };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message, tooDeep: false };
  }
}
