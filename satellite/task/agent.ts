/**
 * Agent mode: the shared loop with the worker role, the task's goal as the
 * prompt and the task's own tools: files inside its mounts (writes only in
 * writable ones) and HTTP through its network rule (the egress proxy, which
 * refuses every host not on the allowlist). Tool calls and the model's words
 * go out as progress.
 */
import { appendFileSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Type } from "@sinclair/typebox";
import { runLoop } from "../../core/agent/loop.ts";
import { type ModelRouter, parseRef } from "../../core/agent/router.ts";
import { defineTool, summarize, ToolRegistry } from "../../core/agent/tools.ts";
import { AppError, HttpJob, type TaskResult, type TaskRunSpec } from "../../core/protocol/index.ts";
import { DEFAULT_TOKEN_BUDGET } from "../worker/executors/agent.ts";
import type { Reporter } from "./report.ts";

const FALLBACK_PERSONA =
  "You are a Baker Street worker running one task in a sandbox. Work towards the goal with your tools and finish with a concise report of what you did and found.";
const MAX_READ_BYTES = 64 * 1024;
const MAX_WRITE_CHARS = 1024 * 1024;
const MAX_LIST = 500;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface AgentRun {
  spec: TaskRunSpec;
  router: Pick<ModelRouter, "stream">;
  /** True when the router is the core's (through the relay): the usage is already in the ledger. */
  recordsUsage: boolean;
  /** The bridge to the egress proxy, when the task may reach the network. */
  proxyUrl: string | undefined;
  signal: AbortSignal;
  reporter: Reporter;
}

/** The mount a path falls in, checked on its real path (no `..`, no symlink out). */
function inMount(spec: TaskRunSpec, path: string, write: boolean): string {
  if (!path.startsWith("/"))
    throw new AppError("refused", `${path}: give an absolute path inside a mount (${spec.mounts.map((m) => m.target).join(", ") || "this task has none"})`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    if (!write) throw new AppError("not_found", `${path} does not exist`);
    // A new file: its directory must exist and be inside a mount.
    real = join(realpathSync(dirname(path)), path.slice(dirname(path).length + 1));
  }
  const mount = spec.mounts.find((m) => real === m.target || real.startsWith(m.target.endsWith("/") ? m.target : `${m.target}/`));
  if (!mount) throw new AppError("refused", `${path} is outside the task's mounts (${spec.mounts.map((m) => m.target).join(", ") || "none"})`);
  if (write && !mount.writable) throw new AppError("refused", `${mount.target} is mounted read-only`);
  return real;
}

export function taskTools(spec: TaskRunSpec, proxyUrl: string | undefined): ToolRegistry {
  const tools = new ToolRegistry();
  const Path = Type.String({ minLength: 1, maxLength: 4096, description: "absolute path inside one of the task's mounts" });
  tools.register(
    defineTool({
      name: "list_files",
      description: `List a directory inside the task's mounts: ${spec.mounts.map((m) => `${m.target}${m.writable ? " (writable)" : " (read-only)"}`).join(", ") || "none"}.`,
      input: Type.Object({ path: Path }, { additionalProperties: false }),
      run(input) {
        const dir = inMount(spec, input.path, false);
        const names = readdirSync(dir).sort();
        const entries = names.slice(0, MAX_LIST).map((name) => {
          const st = lstatSync(join(dir, name));
          return `${st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "-"} ${String(st.size).padStart(10)} ${name}`;
        });
        return entries.join("\n") + (names.length > MAX_LIST ? `\n[${names.length - MAX_LIST} more]` : "");
      },
    }),
  );
  tools.register(
    defineTool({
      name: "read_file",
      description: `Read a text file inside the task's mounts (at most ${MAX_READ_BYTES} bytes from offset).`,
      input: Type.Object({ path: Path, offset: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
      run(input) {
        const file = inMount(spec, input.path, false);
        if (!statSync(file).isFile()) throw new AppError("refused", `${input.path} is not a regular file`);
        const buf = readFileSync(file);
        const start = input.offset ?? 0;
        const part = buf.subarray(start, start + MAX_READ_BYTES);
        const more = buf.byteLength - start - part.byteLength;
        return part.toString("utf8") + (more > 0 ? `\n[${more} more bytes; read again with offset ${start + part.byteLength}]` : "");
      },
    }),
  );
  if (spec.mounts.some((m) => m.writable)) {
    tools.register(
      defineTool({
        name: "write_file",
        description: `Write (or append to) a text file inside a writable mount: ${spec.mounts
          .filter((m) => m.writable)
          .map((m) => m.target)
          .join(", ")}.`,
        input: Type.Object({ path: Path, content: Type.String({ maxLength: MAX_WRITE_CHARS }), append: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        run(input) {
          const file = inMount(spec, input.path, true);
          (input.append ? appendFileSync : writeFileSync)(file, input.content);
          return `wrote ${Buffer.byteLength(input.content)} bytes to ${input.path}`;
        },
      }),
    );
  }
  if (proxyUrl && spec.network !== "none") {
    const hosts = spec.network.allow.join(", ");
    tools.register(
      defineTool({
        name: "http_request",
        description: `Make one HTTP request. Only these hosts are reachable: ${hosts}; anything else is refused.`,
        // An http job's fields, less what the tool decides itself.
        input: Type.Omit(HttpJob, ["type", "timeoutMs"], { additionalProperties: false }),
        async run(input, { signal }) {
          const res = await fetch(input.url, {
            method: input.method ?? "GET",
            ...(input.headers ? { headers: input.headers } : {}),
            ...(input.body !== undefined ? { body: input.body } : {}),
            proxy: proxyUrl,
            redirect: "manual",
            signal,
          });
          const buf = new Uint8Array(await res.arrayBuffer());
          const body = new TextDecoder().decode(buf.subarray(0, MAX_RESPONSE_BYTES));
          const location = res.headers.get("location");
          return `HTTP ${res.status}${location ? ` (location: ${location})` : ""}\n${body}${buf.byteLength > MAX_RESPONSE_BYTES ? `\n[truncated at ${MAX_RESPONSE_BYTES} bytes]` : ""}`;
        },
      }),
    );
  }
  return tools;
}

export async function runAgentTask(o: AgentRun): Promise<Pick<TaskResult, "status" | "exitCode" | "answer" | "error" | "usage">> {
  const { spec, reporter } = o;
  let announced = false;
  try {
    const r = await runLoop({
      router: o.router,
      call: { role: "worker", signal: o.signal, background: true, origin: "task" },
      system: () => spec.persona?.trim() || FALLBACK_PERSONA,
      messages: [{ role: "user", content: [{ type: "text", text: spec.goal ?? "" }] }],
      tools: taskTools(spec, o.proxyUrl),
      maxTokens: 4096,
      tokenBudget: spec.tokenBudget ?? DEFAULT_TOKEN_BUDGET,
      hooks: {
        model(ref) {
          if (!announced) reporter.event("milestone", `agent started on ${ref}`);
          announced = true;
        },
        text: (delta) => reporter.thinking(delta),
        toolUse: (use) => reporter.event("tool", `${use.name} ${summarize(JSON.stringify(use.input))}`, { name: use.name }),
        toolResult: (use, outcome) => reporter.event("tool", outcome.summary, { name: use.name, ok: outcome.ok }),
      },
    });
    const { provider, model } = parseRef(r.usage.model ?? "anthropic:unknown");
    const usage = {
      model,
      provider,
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      cacheReadTokens: r.usage.cacheReadTokens,
      cacheWriteTokens: r.usage.cacheWriteTokens,
      recorded: o.recordsUsage,
    };
    const answer = r.finalText || (r.stop === "budget" ? "(the token budget ran out before an answer)" : "");
    return { status: "succeeded", exitCode: 0, answer, usage };
  } catch (err) {
    if (o.signal.aborted) return { status: "cancelled", exitCode: null };
    const message = err instanceof AppError ? err.message : `the model failed: ${(err as Error).message}`;
    return { status: "failed", exitCode: null, error: { code: "model_error", message } };
  }
}
