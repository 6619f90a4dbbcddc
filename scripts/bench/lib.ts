import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const tempDir = (p: string) => mkdtempSync(join(tmpdir(), p));

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

export const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;

export function table(title: string, rows: [string, string, string, string][]): string {
  const head = "| measure | result | target | met |\n|---|---|---|---|";
  return `### ${title}\n\n${head}\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}\n`;
}

/** Starts a line-printing child and returns its first stdout line (a URL). */
export async function spawnForLine(cmd: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit", env: { ...process.env, ...env } });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${cmd.join(" ")} exited before printing`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { proc, line: text.split("\n")[0]!.trim() };
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

export function rssMb(pid: number): number {
  return memoryMb(pid).rss;
}

/** Resident memory, split into private (heap, stacks) and file-backed (the mapped executable). */
export function memoryMb(pid: number): { rss: number; anon: number; file: number } {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}
