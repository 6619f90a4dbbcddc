/**
 * What task tests share: a place tasks may mount (readable and writable by
 * the sandbox's unprivileged user, as an owner would set it up), reading a
 * task's events to the end, and finding processes a task left behind.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSse, type SseEvent, tempDir } from "./app.ts";
import { compiledBinary } from "./binary.ts";
import { waitFor } from "./nats.ts";

export type Request = (path: string, init?: RequestInit & { json?: unknown; auth?: boolean }) => Promise<Response>;

/** The compiled runner (`bakerst-satellite`), what the sandbox and the stand-in's pods run. */
export const runnerBinary = () => compiledBinary("bakerst-satellite");

export interface MountArea {
  /** Goes in TASK_ALLOWED_PATHS. */
  root: string;
  /** Readable by the sandbox's user, with `file.txt` in it. */
  ro: string;
  /** Writable by it. */
  rw: string;
  /** Beside the allowed root: never mountable. */
  outside: string;
}

export function mountArea(): MountArea {
  const base = tempDir("bakerst-mounts-");
  const root = join(base, "allowed");
  const ro = join(root, "ro");
  const rw = join(root, "rw");
  const outside = join(base, "outside");
  for (const d of [root, ro, rw, outside]) mkdirSync(d, { recursive: true });
  writeFileSync(join(ro, "file.txt"), "read me\n");
  writeFileSync(join(outside, "secret.txt"), "outside\n");
  chmodSync(base, 0o755);
  for (const d of [root, ro, outside]) chmodSync(d, 0o755);
  chmodSync(join(ro, "file.txt"), 0o644);
  chmodSync(rw, 0o777);
  return { root, ro, rw, outside };
}

/** A task's events, read from its SSE stream until it ends. */
export async function taskEvents(request: Request, id: string, after = 0): Promise<SseEvent[]> {
  const res = await request(`/api/tasks/${id}/events${after ? `?after=${after}` : ""}`);
  if (res.status !== 200) throw new Error(`events of ${id}: ${res.status} ${await res.text()}`);
  return parseSse(await res.text());
}

/** The output a task's events carry, in order. */
export const outputOf = (events: SseEvent[], stream?: "stdout" | "stderr") =>
  events
    .filter((e) => e.event === "progress" && e.data.kind === "log" && (!stream || e.data.stream === stream))
    .map((e) => e.data.text as string)
    .join("");

export async function createTask(request: Request, body: unknown): Promise<any> {
  const res = await request("/api/tasks", { method: "POST", json: body });
  const json = await res.json();
  if (res.status !== 202) throw new Error(`POST /api/tasks: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function endedTask(request: Request, id: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    `task ${id} to end`,
    async () => {
      const t = await (await request(`/api/tasks/${id}`)).json();
      return ["succeeded", "failed", "cancelled", "timed_out"].includes(t.status) ? t : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Host processes whose command line holds `marker`: what a task may have left running. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(marker)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A marker unique to one test: a `sleep` with a fractional length no other process uses. */
export const uniqueSleep = () => `${1000 + Math.floor(Math.random() * 8000)}.${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}`;
