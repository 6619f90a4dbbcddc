/**
 * Splits Markdown into messages of at most `limit` characters (UTF-16 units,
 * the way Telegram counts), preferring to cut between paragraphs or around a
 * code block, then between lines, then between words. A cut inside a code
 * block closes the fence and opens it again (same language) in the next part.
 *
 * The split is greedy from the start: every part but the last depends only on
 * the text before its cut, so a reply that is still growing keeps the parts
 * it has already sent.
 */

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})([^`]*)$/;
/** Room kept for the fence that closes a part cut inside a code block. */
const CLOSE_RESERVE = 12;

interface Fence {
  marker: string;
  line: string;
}

const closes = (line: string, f: Fence) => {
  const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
  return !!m && m[1]![0] === f.marker[0] && m[1]!.length >= f.marker.length;
};

interface Cut {
  /** Where the part ends (exclusive). */
  at: number;
  /** The code block open at the cut, if any. */
  open: Fence | undefined;
}

/** The best place to end a part within `rest[0, budget)`, given the fence open at its start. */
function findCut(rest: string, budget: number, startFence: Fence | undefined): Cut {
  // Tiers, best first: between blocks, between lines of code, between lines, between words.
  const tiers: Cut[][] = [[], [], [], []];
  let fence = startFence;
  let pos = 0;
  while (pos < rest.length && pos <= budget) {
    const nl = rest.indexOf("\n", pos);
    const end = nl === -1 ? rest.length : nl;
    const line = rest.slice(pos, end);
    const before = fence;
    if (fence) {
      if (closes(line, fence)) fence = undefined;
    } else {
      const m = FENCE_OPEN.exec(line);
      if (m) fence = { marker: m[1]!, line: line.trim() };
    }
    // Before a code block opens: a block boundary.
    if (!before && fence && pos > 0 && pos - 1 <= budget) tiers[0]!.push({ at: pos - 1, open: undefined });
    if (nl === -1 || end > budget) break;
    const nextBlank = rest[end + 1] === "\n";
    if (!fence && (nextBlank || before)) tiers[0]!.push({ at: end, open: undefined });
    else if (fence) tiers[1]!.push({ at: end, open: fence });
    else tiers[2]!.push({ at: end, open: undefined });
    pos = end + 1;
  }
  const minimum = Math.floor(budget / 3);
  for (const tier of tiers.slice(0, 3)) {
    const best = tier.filter((c) => c.at >= minimum).at(-1);
    if (best) return best;
  }
  // No line break late enough: the last space, else a hard cut (never inside a surrogate pair).
  let at = rest.lastIndexOf(" ", budget - 1);
  if (at < minimum) {
    at = budget;
    const code = rest.charCodeAt(at - 1);
    if (code >= 0xd800 && code <= 0xdbff) at--;
  }
  return { at, open: fenceAt(rest, at, startFence) };
}

/** The code block open at `at`. */
function fenceAt(rest: string, at: number, startFence: Fence | undefined): Fence | undefined {
  let fence = startFence;
  for (const line of rest.slice(0, at).split("\n").slice(0, -1)) {
    if (fence) {
      if (closes(line, fence)) fence = undefined;
    } else {
      const m = FENCE_OPEN.exec(line);
      if (m) fence = { marker: m[1]!, line: line.trim() };
    }
  }
  return fence;
}

export function splitMarkdown(text: string, limit: number): string[] {
  const parts: string[] = [];
  let rest = text.replace(/\s+$/, "");
  let reopen: Fence | undefined;
  while (rest.length) {
    const prefix = reopen ? `${reopen.line}\n` : "";
    if (prefix.length + rest.length <= limit) {
      parts.push(prefix + rest);
      break;
    }
    const budget = limit - prefix.length - CLOSE_RESERVE;
    const cut = findCut(rest, budget, reopen);
    let part = prefix + rest.slice(0, cut.at).replace(/\s+$/, "");
    if (cut.open) part += `\n${cut.open.marker}`;
    if (part.trim() && part !== prefix) parts.push(part);
    rest = rest.slice(cut.at);
    // Between blocks the blank lines go; inside code only the line break that was cut.
    rest = cut.open ? rest.replace(/^\n/, "") : rest.replace(/^\s+/, "");
    reopen = cut.open;
  }
  return parts;
}
