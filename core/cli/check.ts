/** One line of `bakerst doctor`: ✓ or ✗, what was found, and on ✗ how to fix it. */
export interface Check {
  ok: boolean;
  name: string;
  detail: string;
  fix?: string;
}

export const elapsed = (t0: number) => `${Math.round(performance.now() - t0)} ms`;
