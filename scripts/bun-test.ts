/**
 * Runs `bun test`, passes its output through, and tallies the summary bun
 * prints at the end (`N pass`, `N skip`, `N todo`, `N fail`) with the names of
 * the skipped and todo tests, which `npm test` counts as failures.
 */

export interface Tally {
  pass: number;
  fail: number;
  skip: number;
  todo: number;
  /** `file > test name` of each `(skip)` and `(todo)` line. */
  skipped: string[];
  todos: string[];
  exitCode: number;
}

const COUNT = /^\s*(\d+) (pass|fail|skip|todo)$/;
const RESULT = /^\((skip|todo)\) (.*?)(?: \[[\d.]+m?s\])?$/;
const FILE = /^(\S.*\.[cm]?[jt]sx?):$/;

/** Reads bun's output one line at a time; the counts are the last ones printed. */
export class BunOutput {
  readonly tally: Omit<Tally, "exitCode"> = { pass: 0, fail: 0, skip: 0, todo: 0, skipped: [], todos: [] };
  private file = "";

  line(text: string): void {
    const count = COUNT.exec(text);
    if (count) {
      this.tally[count[2] as "pass" | "fail" | "skip" | "todo"] = Number(count[1]);
      return;
    }
    const file = FILE.exec(text);
    if (file) {
      this.file = file[1]!;
      return;
    }
    const result = RESULT.exec(text);
    if (result) (result[1] === "skip" ? this.tally.skipped : this.tally.todos).push(this.file ? `${this.file} > ${result[2]}` : result[2]!);
  }
}

async function pump(stream: ReadableStream<Uint8Array>, out: BunOutput, echo: ((s: string) => void) | undefined) {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    echo?.(text);
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const l of lines) out.line(l.replace(/\r$/, ""));
  }
  if (rest) out.line(rest);
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Write bun's output through to this process's stdout/stderr (default true). */
  echo?: boolean;
}

/**
 * `bun test ARGS` with `CI=true`, so a `test.only` left behind is an error
 * rather than a silent reason to skip the rest.
 */
export async function runBunTest(args: string[], opts: RunOptions = {}): Promise<Tally> {
  const proc = Bun.spawn([process.execPath, "test", ...args], {
    cwd: opts.cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env, FORCE_COLOR: "0", CI: "true" },
  });
  const out = new BunOutput();
  const echo = opts.echo ?? true;
  await Promise.all([pump(proc.stdout, out, echo ? (s) => process.stdout.write(s) : undefined), pump(proc.stderr, out, echo ? (s) => process.stderr.write(s) : undefined)]);
  return { ...out.tally, exitCode: await proc.exited };
}

/** Skipped and todo tests count as failed; so does a non-zero exit with nothing failed (a file that did not load). */
export function failures(t: Tally): number {
  const counted = t.fail + t.skip + t.todo;
  return t.exitCode !== 0 && counted === 0 ? 1 : counted;
}
