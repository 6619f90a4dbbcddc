/**
 * The console's API types (ui/api/types.ts) checked against the core's, at
 * compile time: `bun run typecheck` (part of `npm test`) fails when they part.
 * The UI may import nothing from core/ (test/ui/boundary.test.ts), so it keeps
 * its own copy; this file is the one place that sees both. The core's side is
 * what the routes really return, as Elysia infers it from each handler.
 *
 * A failure reads like: Type '{ missing: "startedAt"; mismatched: never; ... }'
 * does not satisfy the constraint 'true' — naming the field and the type.
 */

import type { Block as CoreBlock } from "../../core/agent/types.ts";
import type { conversationRoutes } from "../../core/api/conversations.ts";
import type { modelRoutes } from "../../core/api/models.ts";
import type { systemRoutes } from "../../core/api/system.ts";
import type { TurnUsage as CoreTurnUsage, TurnEvent } from "../../core/brain/turn.ts";
import type { companionRoutes } from "../../core/companions/routes.ts";
import type { StoredMessage as CoreStoredMessage } from "../../core/conversations/store.ts";
import type { channelRoutes } from "../../core/gateway/routes.ts";
import type { JobRequest } from "../../core/jobs/request.ts";
import type { jobRoutes } from "../../core/jobs/routes.ts";
import type { JobStatus as CoreJobStatus } from "../../core/jobs/store.ts";
import type { memoryRoutes } from "../../core/memory/routes.ts";
import type { Category } from "../../core/memory/types.ts";
import type { ScheduleRequest } from "../../core/schedules/request.ts";
import type { scheduleRoutes } from "../../core/schedules/routes.ts";
import type { secretRoutes } from "../../core/secrets/routes.ts";
import type { skillRoutes } from "../../core/skills/routes.ts";
import type { ProgressData, ResultData } from "../../core/tasks/journal.ts";
import type { TaskRequest } from "../../core/tasks/request.ts";
import type { taskRoutes } from "../../core/tasks/routes.ts";
import type { TaskStatus as CoreTaskStatus } from "../../core/tasks/store.ts";
import type { ComponentHealth as CoreComponentHealth } from "../../core/telemetry/health.ts";
import type {
  Block,
  ChannelAdapter,
  Channels,
  ChatEvent,
  Compaction,
  CompactResult,
  Companion,
  CompanionDetail,
  CompanionList,
  CompanionPairing,
  ComponentHealth,
  ConversationDetail,
  ConversationList,
  Extension,
  ExtensionList,
  Health,
  Job,
  JobDetail,
  JobList,
  JobStatus,
  MEMORY_CATEGORIES,
  Memory,
  MemoryList,
  MemorySearch,
  ModelsConfig,
  ModelsList,
  NewSchedule,
  NewTask,
  Note,
  NoteList,
  Pairing,
  RegistryResults,
  Schedule,
  ScheduleDetail,
  ScheduleList,
  SchedulePreview,
  ScheduleRun,
  Secret,
  SecretDeleted,
  SecretList,
  SecretSaved,
  Skill,
  SkillList,
  SkillTest,
  StoredMessage,
  Task,
  TaskEvent,
  TaskList,
  TaskStatus,
  TurnUsage,
  UsageReport,
} from "../../ui/api/types.ts";
import type { JOB_STATUSES, JOB_TYPES, NewJob } from "../../ui/pages/jobs/api.ts";
import type { TASK_STATUSES } from "../../ui/pages/tasks/api.ts";

// ---- the checks' vocabulary ----

/** Compiles only for `true`; otherwise the compiler prints what `T` is, which names the fault. */
type Assert<T extends true> = T;
/** Exactly the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : { notEqual: [A, B] };
type Known<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
type HasIndex<T> = string extends keyof T ? true : false;
/** Fields the UI declares that the core's shape does not have. */
type Missing<Ui, Core> = Exclude<Known<Ui>, Known<Core>>;
/** Fields whose core value the UI's declared type does not accept. */
type Mismatched<Ui, Core> = { [K in Known<Ui> & Known<Core>]: [Core[K]] extends [Ui[K]] ? never : K }[Known<Ui> & Known<Core>];
/** The UI takes arbitrary fields only where the core sends them. */
type IndexOk<Ui, Core> = HasIndex<Ui> extends true ? HasIndex<Core> : true;
/** The UI's type reads the core's shape: every field it declares is there, with a value it accepts. */
type Reads<Ui, Core> = [Missing<Ui, Core> | Mismatched<Ui, Core>] extends [never]
  ? IndexOk<Ui, Core> extends true
    ? true
    : { uiTakesAnyFieldButCoreHasNone: Ui }
  : { missing: Missing<Ui, Core>; mismatched: Mismatched<Ui, Core> };
type Element<T> = T extends readonly (infer E)[] ? E : never;

// The checks can fail: each of these must be refused, or the line below it stops compiling.
// @ts-expect-error a field the core does not have
type _Missing = Assert<Reads<{ a: string; extra?: number }, { a: string }>>;
// @ts-expect-error a field of another type
type _Mismatched = Assert<Reads<{ a: string }, { a: number }>>;
// @ts-expect-error a field the core may leave out, read as always there
type _Optional = Assert<Reads<{ a: string }, { a?: string }>>;
// @ts-expect-error the UI taking any field where the core sends a fixed shape
type _Index = Assert<Reads<{ a: string; [k: string]: unknown }, { a: string }>>;
// @ts-expect-error an event the other side does not know
type _Event = Assert<Equal<{ event: "a" } | { event: "b" }, { event: "a" }>>;

// ---- what the routes return ----

type ConversationRoutes = ReturnType<typeof conversationRoutes>["~Routes"]["api"]["conversations"];
type JobRoutes = ReturnType<ReturnType<typeof jobRoutes>>["~Routes"]["api"]["jobs"];
type MemoryRoutes = ReturnType<ReturnType<typeof memoryRoutes>>["~Routes"]["api"]["memories"];
type ModelRoutes = ReturnType<typeof modelRoutes>["~Routes"]["api"];
type SystemRoutes = ReturnType<typeof systemRoutes>["~Routes"]["api"]["system"];
type ChannelRoutes = ReturnType<ReturnType<typeof channelRoutes>>["~Routes"]["api"]["channels"];
type TaskRoutes = ReturnType<ReturnType<typeof taskRoutes>>["~Routes"]["api"]["tasks"];
type SecretRoutes = ReturnType<ReturnType<typeof secretRoutes>>["~Routes"]["api"]["secrets"];
type CompanionRoutes = ReturnType<ReturnType<typeof companionRoutes>>["~Routes"]["api"]["companions"];
type SkillRoutes = ReturnType<ReturnType<typeof skillRoutes>>["~Routes"]["api"]["skills"];
type ExtensionRoutes = ReturnType<ReturnType<typeof skillRoutes>>["~Routes"]["api"]["extensions"];

type CoreConversationList = ConversationRoutes["get"]["response"][200];
type CoreConversationDetail = ConversationRoutes[":id"]["get"]["response"][200];
type CoreCompactResult = ConversationRoutes[":id"]["compact"]["post"]["response"][200];
type CoreJobList = JobRoutes["get"]["response"][200];
type CoreJobDetail = JobRoutes[":id"]["get"]["response"][200];
type CoreMemoryList = MemoryRoutes["get"]["response"][200];
type CoreMemorySearch = MemoryRoutes["search"]["get"]["response"][200];
type CoreObservations = MemoryRoutes["observations"]["get"]["response"][200];
type CoreReflections = MemoryRoutes["reflections"]["get"]["response"][200];
type CoreHealth = SystemRoutes["health"]["get"]["response"][200];
type CoreModelsConfig = ModelRoutes["models"]["config"]["get"]["response"][200];
type CoreModelsList = ModelRoutes["models"]["get"]["response"][200];
type CoreUsage = ModelRoutes["usage"]["get"]["response"][200];
type CoreChannels = ChannelRoutes["get"]["response"][200];
type CoreApproved = ChannelRoutes["pairings"]["approve"]["post"]["response"][200];
type CoreRevoked = ChannelRoutes["pairings"][":id"]["delete"]["response"][200];
type CoreNotifySet = ChannelRoutes["pairings"][":id"]["patch"]["response"][200];
type ScheduleRoutes = ReturnType<ReturnType<typeof scheduleRoutes>>["~Routes"]["api"]["schedules"];
type CoreScheduleList = ScheduleRoutes["get"]["response"][200];
type CoreScheduleCreated = ScheduleRoutes["post"]["response"][200];
type CoreScheduleDetail = ScheduleRoutes[":id"]["get"]["response"][200];
type CoreScheduleSaved = ScheduleRoutes[":id"]["put"]["response"][200];
type CoreSchedulePaused = ScheduleRoutes[":id"]["pause"]["post"]["response"][200];
type CoreScheduleResumed = ScheduleRoutes[":id"]["resume"]["post"]["response"][200];
type CoreScheduleRun = ScheduleRoutes[":id"]["run"]["post"]["response"][200];
type CoreScheduleDeleted = ScheduleRoutes[":id"]["delete"]["response"][200];
type CoreSchedulePreview = ScheduleRoutes["preview"]["post"]["response"][200];
type CoreTaskList = TaskRoutes["get"]["response"][200];
type CoreTaskCreated = TaskRoutes["post"]["response"][200];
type CoreTaskDetail = TaskRoutes[":id"]["get"]["response"][200];
type CoreTaskCancelled = TaskRoutes[":id"]["delete"]["response"][200];
type CoreTaskApproved = TaskRoutes[":id"]["approve"]["post"]["response"][200];
type CoreSecretList = SecretRoutes["get"]["response"][200];
type CoreSkillList = SkillRoutes["get"]["response"][200];
type CoreSkill = SkillRoutes[":id"]["get"]["response"][200];
type CoreSkillApproved = SkillRoutes[":id"]["approve"]["post"]["response"][200];
type CoreSkillPut = SkillRoutes[":id"]["put"]["response"][200];
type CoreSkillTest = SkillRoutes[":id"]["test"]["post"]["response"][200];
type CoreExtensionList = ExtensionRoutes["get"]["response"][200];
type CoreRegistry = SkillRoutes["registry"]["get"]["response"][200];
type CoreSecretSaved = SecretRoutes[":name"]["put"]["response"][200];
type CoreSecretDeleted = SecretRoutes[":name"]["delete"]["response"][200];
type CoreCompanionList = CompanionRoutes["get"]["response"][200];
type CoreCompanionDetail = CompanionRoutes[":id"]["get"]["response"][200];
type CoreCompanionPaired = CompanionRoutes["post"]["response"][200];
type CoreCompanionRevoked = CompanionRoutes[":id"]["delete"]["response"][200];

// ---- the chat stream: every event either side knows, with the same data ----

export type ChatChecks = [
  Assert<Equal<ChatEvent, TurnEvent>>,
  Assert<Equal<ChatEvent["event"], TurnEvent["event"]>>,
  Assert<Equal<TurnUsage, CoreTurnUsage>>,
  Assert<Equal<Block, CoreBlock>>,
];

// ---- resources ----

export type ConversationChecks = [
  Assert<Reads<ConversationList, CoreConversationList>>,
  Assert<Reads<Element<ConversationList["conversations"]>, Element<CoreConversationList["conversations"]>>>,
  Assert<Reads<ConversationDetail, CoreConversationDetail>>,
  Assert<Reads<StoredMessage, CoreStoredMessage>>,
  Assert<Reads<StoredMessage, Element<CoreConversationDetail["messages"]>>>,
  Assert<Reads<Compaction, NonNullable<CoreConversationDetail["compaction"]>>>,
  Assert<Reads<ConversationDetail["usage"][string], CoreConversationDetail["usage"][string]>>,
  Assert<Reads<CompactResult, CoreCompactResult>>,
];

export type JobChecks = [
  Assert<Reads<JobList, CoreJobList>>,
  Assert<Reads<Job, Element<CoreJobList["jobs"]>>>,
  Assert<Reads<JobDetail, CoreJobDetail>>,
  Assert<Reads<Element<JobDetail["history"]>, Element<CoreJobDetail["history"]>>>,
  Assert<Equal<JobStatus, CoreJobStatus>>,
  Assert<Equal<(typeof JOB_STATUSES)[number], CoreJobStatus>>,
  Assert<Equal<(typeof JOB_TYPES)[number], JobRequest["type"]>>,
  // What the console dispatches is a request the core accepts.
  Assert<[NewJob] extends [JobRequest] ? true : { refused: NewJob }>,
];

export type MemoryChecks = [
  Assert<Reads<MemoryList, CoreMemoryList>>,
  // A listed memory has no score; the console reads one only from search results.
  Assert<Reads<Omit<Memory, "score">, Element<CoreMemoryList["memories"]>>>,
  Assert<Reads<MemorySearch, CoreMemorySearch>>,
  Assert<Reads<Element<MemorySearch["results"]>, Element<CoreMemorySearch["results"]>>>,
  Assert<Equal<(typeof MEMORY_CATEGORIES)[number], Category>>,
  Assert<Reads<NoteList<"observations">, CoreObservations>>,
  Assert<Reads<Element<NoteList<"observations">["observations"]>, Element<CoreObservations["observations"]>>>,
  Assert<Reads<NoteList<"reflections">, CoreReflections>>,
  Assert<Reads<Note, Element<CoreReflections["reflections"]>>>,
];

export type SystemChecks = [
  Assert<Reads<Health, CoreHealth>>,
  Assert<Reads<ComponentHealth, CoreComponentHealth>>,
  Assert<Reads<ModelsConfig, CoreModelsConfig>>,
  Assert<Reads<ModelsList, CoreModelsList>>,
  Assert<Reads<Element<ModelsList["providers"]>, Element<CoreModelsList["providers"]>>>,
  Assert<Reads<UsageReport, CoreUsage>>,
  Assert<Reads<Element<UsageReport["rows"]>, Element<CoreUsage["rows"]>>>,
  Assert<Reads<UsageReport["budget"], CoreUsage["budget"]>>,
  Assert<Reads<UsageReport["totals"], CoreUsage["totals"]>>,
];

export type ChannelChecks = [
  Assert<Reads<Channels, CoreChannels>>,
  Assert<Reads<ChannelAdapter, Element<CoreChannels["adapters"]>>>,
  Assert<Reads<Pairing, Element<CoreChannels["paired"]>>>,
  Assert<Reads<Pairing, Element<CoreChannels["pending"]>>>,
  Assert<Reads<Channels["outbox"], CoreChannels["outbox"]>>,
  Assert<Reads<Pairing, CoreApproved>>,
  Assert<Reads<Pairing, CoreRevoked>>,
  Assert<Reads<Pairing, CoreNotifySet>>,
];

export type TaskChecks = [
  Assert<Reads<TaskList, CoreTaskList>>,
  Assert<Reads<Task, Element<CoreTaskList["tasks"]>>>,
  Assert<Reads<Task, CoreTaskDetail>>,
  Assert<Reads<Task, CoreTaskCreated>>,
  Assert<Reads<Task, CoreTaskCancelled>>,
  Assert<Reads<Task, CoreTaskApproved>>,
  Assert<Reads<NonNullable<Task["approval"]>, NonNullable<CoreTaskDetail["approval"]>>>,
  Assert<Equal<TaskStatus, CoreTaskStatus>>,
  Assert<Equal<(typeof TASK_STATUSES)[number], CoreTaskStatus>>,
  // The events the page follows carry what the core writes into them.
  Assert<Reads<Extract<TaskEvent, { event: "progress" }>["data"], ProgressData>>,
  Assert<Reads<Extract<TaskEvent, { event: "result" }>["data"], ResultData>>,
  // What the console starts is a request the core accepts.
  Assert<[NewTask] extends [TaskRequest] ? true : { refused: NewTask }>,
];

export type SkillChecks = [
  Assert<Reads<SkillList, CoreSkillList>>,
  Assert<Reads<Skill, CoreSkill>>,
  Assert<Reads<Skill, CoreSkillApproved>>,
  Assert<Reads<Skill, CoreSkillPut>>,
  Assert<Reads<SkillTest, CoreSkillTest>>,
  Assert<Reads<ExtensionList, CoreExtensionList>>,
  Assert<Reads<Extension, Element<CoreExtensionList["extensions"]>>>,
  Assert<Reads<RegistryResults, CoreRegistry>>,
];

export type SecretChecks = [
  Assert<Reads<SecretList, CoreSecretList>>,
  Assert<Reads<Secret, Element<CoreSecretList["secrets"]>>>,
  Assert<Reads<SecretSaved, CoreSecretSaved>>,
  Assert<Reads<SecretDeleted, CoreSecretDeleted>>,
];

export type CompanionChecks = [
  Assert<Reads<CompanionList, CoreCompanionList>>,
  Assert<Reads<Companion, Element<CoreCompanionList["companions"]>>>,
  Assert<Reads<CompanionDetail, CoreCompanionDetail>>,
  Assert<Reads<Task, Element<CoreCompanionDetail["tasks"]>>>,
  Assert<Reads<CompanionPairing, CoreCompanionPaired>>,
  Assert<Reads<Companion, CoreCompanionRevoked>>,
];

export type ScheduleChecks = [
  Assert<Reads<ScheduleList, CoreScheduleList>>,
  Assert<Reads<Schedule, Element<CoreScheduleList["schedules"]>>>,
  Assert<Reads<Schedule, CoreScheduleCreated>>,
  Assert<Reads<ScheduleDetail, CoreScheduleDetail>>,
  Assert<Reads<ScheduleRun, Element<CoreScheduleDetail["runs"]>>>,
  Assert<Reads<Schedule, CoreScheduleSaved>>,
  Assert<Reads<Schedule, CoreSchedulePaused>>,
  Assert<Reads<Schedule, CoreScheduleResumed>>,
  Assert<Reads<ScheduleRun, CoreScheduleRun>>,
  Assert<Reads<{ deleted: true }, CoreScheduleDeleted>>,
  Assert<Reads<SchedulePreview, CoreSchedulePreview>>,
  // What the console saves is a request the core accepts.
  Assert<[NewSchedule] extends [ScheduleRequest] ? true : { refused: NewSchedule }>,
];
