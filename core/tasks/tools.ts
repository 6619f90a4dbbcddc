import { Type } from "@sinclair/typebox";
import { type BrainTools, defineTool } from "../brain/tools.ts";
import { AppError } from "../errors.ts";
import { MAX_NETWORK_HOSTS, MAX_PROMPT_CHARS, MAX_SCRIPT_CHARS, MAX_TASK_MOUNTS } from "../protocol/index.ts";
import type { TasksSettings } from "./keys.ts";
import type { TaskService } from "./service.ts";
import { isEnded, type TaskView } from "./store.ts";

/** What the model sees of a task: the essentials, the output's tail and the answer. */
function brief(t: TaskView) {
  return {
    id: t.id,
    mode: t.mode,
    status: t.status,
    target: t.target,
    ...(t.approval?.state === "pending"
      ? { approval: `waiting for the owner to approve ${t.approval.scopes.join(", ")} (in the console's Tasks page, or bakerst task approve ${t.id})` }
      : {}),
    ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}),
    ...(t.error ? { error: t.error } : {}),
    ...(t.answer !== undefined ? { answer: t.answer } : {}),
    ...(t.output ? { output: t.output.slice(-4000) } : {}),
    ...(t.durationMs !== undefined ? { durationMs: t.durationMs } : {}),
  };
}

/**
 * `run_task` and `get_task`. The agent can ask for a task, wait for it or
 * leave it running; it cannot approve one: a task that wants a writable mount
 * or the network waits for the owner, whatever the agent says.
 */
export function registerTaskTools(tools: BrainTools, tasks: TaskService, settings: TasksSettings): void {
  const waitMs = settings.TASK_WAIT_TIMEOUT_MS;
  tools.register(
    defineTool({
      name: "run_task",
      description:
        "Run a task in a sandbox: a shell script (mode script) or a worker agent with file and HTTP tools working towards a goal (mode agent). " +
        "It sees only the host paths in `mounts` (read-only unless writable: true, each under the owner's allowed paths) and no network unless `network` lists hosts. " +
        "A writable mount or any network waits for the owner's approval; read-only tasks start at once. " +
        `By default waits up to ${Math.round(waitMs / 1000)} s for the end; wait=false returns at once (check with get_task).`,
      input: Type.Object({
        mode: Type.Union([Type.Literal("script"), Type.Literal("agent")]),
        script: Type.Optional(Type.String({ maxLength: MAX_SCRIPT_CHARS, description: "shell script (mode script)" })),
        goal: Type.Optional(Type.String({ maxLength: MAX_PROMPT_CHARS, description: "what the worker agent should do (mode agent)" })),
        mounts: Type.Optional(
          Type.Array(Type.Object({ path: Type.String({ maxLength: 1024 }), writable: Type.Optional(Type.Boolean()) }), {
            maxItems: MAX_TASK_MOUNTS,
            description: "host paths the task sees",
          }),
        ),
        network: Type.Optional(Type.Array(Type.String({ maxLength: 262 }), { maxItems: MAX_NETWORK_HOSTS, description: "hosts it may reach, e.g. api.github.com; omit for none" })),
        timeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
        target: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$", description: "local, kubernetes, or a companion's id (list_companions)" })),
        toolbox: Type.Optional(Type.String({ maxLength: 63 })),
        wait: Type.Optional(Type.Boolean({ description: "wait for the end (default true)" })),
      }),
      timeoutMs: waitMs + 15_000,
      async run(input, ctx) {
        const { wait, network, ...rest } = input;
        const task = tasks.create({ ...rest, ...(network?.length ? { network } : {}) }, { actor: "agent", origin: ctx.origin, conversationId: ctx.conversationId });
        ctx.emit({ type: "task", id: task.id, status: task.status });
        if (wait === false || task.approval?.state === "pending") return brief(task);
        let last = task.status;
        const done = await tasks.waitFor(task.id, waitMs, (ev) => ev.status !== last && (ctx.emit({ type: "task", ...ev }), (last = ev.status)), ctx.signal);
        const final = done ?? task;
        if (isEnded(final.status)) return brief(final);
        return { ...brief(final), note: `still ${final.status} after ${Math.round(waitMs / 1000)} s; check again with get_task` };
      },
    }),
  );
  tools.register(
    defineTool({
      name: "get_task",
      description: "Status, output tail and result of a task by id.",
      input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
      run(input) {
        const task = tasks.get(input.id);
        if (!task) throw new AppError("not_found", `task ${input.id} not found`);
        return brief(task);
      },
    }),
  );
}
