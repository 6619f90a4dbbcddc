/**
 * Deterministic embeddings for the Voyage and OpenAI-compatible stand-ins:
 * a hashed bag of words, normalised, so texts sharing words are close and
 * unrelated texts are near 0. `pin` fixes the exact vector of one text, for
 * tests that need a precise cosine (0.919 vs 0.92).
 */
const STOP = new Set("a an and are as at be by do does for from have i in is it me my of on or our the their this to was what which who with you your".split(" "));

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export class VectorBook {
  private pinned = new Map<string, number[]>();
  /** Every text embedded, in order, with its input type. */
  calls: { texts: string[]; model: string; inputType?: string | null; encoding?: string }[] = [];

  constructor(private dims: Record<string, number>) {}

  dimension(model: string): number | undefined {
    return this.dims[model];
  }

  pin(text: string, vector: number[]): void {
    this.pinned.set(text, vector);
  }

  vector(text: string, dim: number): number[] {
    const pinned = this.pinned.get(text);
    if (pinned) return pinned.length === dim ? pinned : [...pinned, ...new Array(Math.max(0, dim - pinned.length)).fill(0)].slice(0, dim);
    const v = new Array<number>(dim).fill(0);
    const words = (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !STOP.has(w)).map((w) => (w.length > 3 && w.endsWith("s") ? w.slice(0, -1) : w));
    for (const w of words) {
      const h = fnv(w);
      v[h % dim]! += (h >>> 31) & 1 ? 1 : -1;
    }
    if (!words.length) v[fnv(text) % dim] = 1;
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  }
}

/** Unit vectors a and b with cos(a, b) = c exactly (in float64; float32 storage is within 1e-7). */
export function pairWithCosine(c: number, dim: number): [number[], number[]] {
  const a = new Array<number>(dim).fill(0);
  const b = new Array<number>(dim).fill(0);
  a[0] = 1;
  b[0] = c;
  b[1] = Math.sqrt(1 - c * c);
  return [a, b];
}
