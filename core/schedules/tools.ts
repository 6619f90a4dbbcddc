import { Type } from "@sinclair/typebox";
import { type BrainTools, defineTool } from "../brain/tools.ts";
import { MAX_PROMPT_CHARS } from "../protocol/index.ts";
import type { SchedulesSettings } from "./keys.ts";
import type { ScheduleService, ScheduleView } from "./service.ts";
import { When } from "./timing.ts";

/** What the model sees of a schedule. */
const brief = (s: ScheduleView) => ({
  id: s.id,
  name: s.name,
  when: s.when,
  timeZone: s.timeZone,
  kind: s.kind,
  createdBy: s.createdBy,
  paused: s.paused,
  nextRun: s.nextRunLocal,
  ...(s.lastRun ? { lastRun: { status: s.lastRun.status, dueAt: new Date(s.lastRun.dueAt).toISOString(), ...(s.lastRun.reason ? { reason: s.lastRun.reason } : {}) } } : {}),
});

/**
 * create_schedule, list_schedules, pause_schedule, delete_schedule. What the
 * agent makes is marked as the agent's (the owner sees and can revoke it),
 * limited in number and frequency, and its agent runs bill to the background
 * budget; the owner's schedules are not the agent's to pause or delete.
 */
export function registerScheduleTools(tools: BrainTools, schedules: ScheduleService, settings: SchedulesSettings): void {
  tools.register(
    defineTool({
      name: "create_schedule",
      description:
        "Make a schedule that runs on a clock: an agent prompt (kind agent, in its own conversation, or conversationId), a job (kind job, the body of a job) or a task (kind task). " +
        `when: {cron: "0 8 * * 1-5"} (5 fields, or 6 with seconds first), {at: "2026-12-24T18:00:00"} once, or {every: seconds}. timeZone is IANA (default ${schedules.defaultZone}). ` +
        `The owner sees it in the console and can remove it; at most ${settings.SCHEDULE_AGENT_MAX} of yours at once, none firing more often than every ${settings.SCHEDULE_AGENT_MIN_INTERVAL_S} s.`,
      input: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 120 }),
        when: When,
        timeZone: Type.Optional(Type.String({ maxLength: 64 })),
        kind: Type.Union([Type.Literal("agent"), Type.Literal("job"), Type.Literal("task")]),
        prompt: Type.Optional(Type.String({ maxLength: MAX_PROMPT_CHARS, description: "kind agent: what to do each time" })),
        conversationId: Type.Optional(Type.String({ maxLength: 128, description: "kind agent: run in this conversation (default: its own)" })),
        job: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'kind job: e.g. {"type":"command","command":"df -h"}' })),
        task: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'kind task: e.g. {"mode":"script","script":"..."}' })),
        overlap: Type.Optional(Type.Union([Type.Literal("skip"), Type.Literal("queue")])),
        catchUp: Type.Optional(Type.Union([Type.Literal("skip"), Type.Literal("once"), Type.Literal("each")])),
      }),
      run(input, ctx) {
        return brief(schedules.create(input, { actor: "agent", conversationId: ctx.conversationId }));
      },
    }),
  );
  tools.register(
    defineTool({
      name: "list_schedules",
      description: "The schedules: name, timing, next run, last outcome, and whether the owner or you made each.",
      input: Type.Object({ mine: Type.Optional(Type.Boolean({ description: "only the ones you made" })) }),
      run(input) {
        return { schedules: schedules.list(input.mine ? { createdBy: "agent" } : {}).map(brief) };
      },
    }),
  );
  tools.register(
    defineTool({
      name: "pause_schedule",
      description: "Pause (or resume, paused: false) a schedule you made.",
      input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), paused: Type.Optional(Type.Boolean()) }),
      run(input) {
        const who = { actor: "agent" as const };
        return brief(input.paused === false ? schedules.resume(input.id, who) : schedules.pause(input.id, who));
      },
    }),
  );
  tools.register(
    defineTool({
      name: "delete_schedule",
      description: "Delete a schedule you made.",
      input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
      run(input, ctx) {
        return schedules.delete(input.id, { actor: "agent", conversationId: ctx.conversationId });
      },
    }),
  );
}
