/** Shapes of the core's API as the console reads them (see core/api/*.ts and DESIGN.md). */
export type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "server_tool_use"; id: string; name: string; input: unknown }
  | {
      type: "tool_search_tool_result";
      tool_use_id: string;
      content: { type: string; tool_references?: { type: "tool_reference"; tool_name: string }[]; error_code?: string };
    };

export interface ConversationSummary {
  id: string;
  title: string;
  channel: string;
  createdAt: number;
  updatedAt: number;
  running: boolean;
}

export interface StoredMessage {
  id: string;
  seq: number;
  turnId: string;
  role: "user" | "assistant" | "tool";
  content: Block[];
  model: string | null;
  error: { code: string; message: string } | null;
  createdAt: number;
}

export interface ConversationList {
  conversations: ConversationSummary[];
  next: number | null;
}

export interface TurnUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  modelCalls: number;
  model: string | null;
}

/** What the model sees instead of the messages up to `throughSeq`. */
export interface Compaction {
  throughSeq: number;
  at: number;
  summary: string;
}

export interface ConversationDetail extends Omit<ConversationSummary, "running"> {
  running: { turnId: string } | null;
  messages: StoredMessage[];
  compaction: Compaction | null;
  /** What each turn cost, by turn id. */
  usage: Record<string, Omit<TurnUsage, "model">>;
}

export interface CompactResult {
  compacted: boolean;
  message: string;
}

export type ChatEvent =
  | { event: "conversation"; data: { id: string; turnId: string } }
  | { event: "text"; data: { delta: string } }
  | { event: "thinking"; data: { delta: string } }
  | { event: "tool_use"; data: { id: string; name: string; input: unknown } }
  | { event: "tool_result"; data: { id: string; ok: boolean; summary: string } }
  | { event: "job"; data: { id: string; status: string } }
  | { event: "task"; data: { id: string; status: string } }
  | { event: "notice"; data: { code: string; message: string } }
  | { event: "error"; data: { code: string; message: string } }
  | { event: "done"; data: { conversationId: string; messageId: string | null; usage: TurnUsage } };

export type JobStatus = "queued" | "received" | "running" | "completed" | "failed";

export interface Job {
  id: string;
  type: string;
  status: JobStatus;
  /** What was asked (argv, url, prompt...). */
  spec: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  createdAt: number;
  updatedAt: number;
  attempts: number;
  workerId?: string;
  traceId?: string;
}

export interface JobList {
  jobs: Job[];
  next: number | null;
}

export interface JobDetail extends Job {
  /** Every status a worker reported; `applied` is false for duplicates and late ones. */
  history: { status: string; at: number; applied: boolean }[];
}

export interface Memory {
  id: string;
  text: string;
  category: string;
  /** Search results only: how well it matched, 0..1. */
  score?: number;
}

export interface MemoryList {
  memories: Memory[];
}

export interface MemorySearch {
  results: Memory[];
  mode: string;
}

/** An observation or a reflection. */
export interface Note {
  id: string;
  text: string;
  createdAt: number;
}

export type NoteList<K extends "observations" | "reflections"> = { [P in K]: Note[] };

export const MEMORY_CATEGORIES = ["gear", "preferences", "homelab", "personal", "work", "general"] as const;

export interface ComponentHealth {
  status: "ok" | "degraded" | "down" | "disabled";
  detail?: string;
  fix?: string;
  [k: string]: unknown;
}

export type ChatPlatform = "telegram" | "discord";

/** A chat allowed to talk to the agent, or waiting for the owner's approval (never with its code). */
export interface Pairing {
  id: string;
  pairKey: string;
  platform: ChatPlatform;
  status: "pending" | "paired" | "revoked";
  kind: "private" | "group" | "channel";
  title: string;
  requestedBy: string | null;
  codeExpiresAt: number | null;
  notify: boolean;
  createdAt: number;
  pairedAt: number | null;
}

export interface ChannelAdapter extends ComponentHealth {
  platform: ChatPlatform;
}

export interface Channels {
  adapters: ChannelAdapter[];
  paired: Pairing[];
  pending: Pairing[];
  outbox: { pending: number; failedToday: number; oldestPendingMs: number | null };
}

export interface Health {
  status: ComponentHealth["status"];
  components: Record<string, ComponentHealth>;
  version: string;
  uptimeSec: number;
  mode: string;
}

export interface ModelsConfig {
  roles: Record<string, string[]>;
  prices: Record<string, { input: number; output: number; [k: string]: number }>;
  dailyBudgetUsd: number | null;
  thinking: Record<string, number>;
  overrides: { roles: Record<string, string[]>; dailyBudgetUsd?: number | null; thinking?: Record<string, number> };
  providers: string[];
}

export interface ModelsList {
  providers: { name: string; circuit?: { state: string }; models: string[]; error?: string }[];
  roles: Record<string, string[]>;
}

export interface UsageRow {
  day: string;
  model: string;
  provider: string;
  calls: number;
  /** Input at the full price (not from the cache). */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  /** What prompt caching saved against billing every input token at the full price. */
  savedUsd: number;
}

export interface UsageReport {
  since: string;
  rows: UsageRow[];
  totals: Omit<UsageRow, "day" | "model" | "provider">;
  budget: { day: string; dailyUsd: number | null; spentUsd: number; remainingUsd: number | null; exceeded: boolean };
}

export type TaskStatus = "queued" | "starting" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out";

export interface Task {
  id: string;
  mode: "script" | "agent";
  /** `local`, `kubernetes` or a companion id. */
  target: string;
  status: TaskStatus;
  script?: string;
  goal?: string;
  mounts: { path: string; source: string; writable: boolean }[];
  network: "none" | string[];
  toolbox?: string;
  timeoutMs: number;
  /** What needs (or needed) the owner's word: `write:<path>`, `net:<host>`. */
  approval?: { scopes: string[]; state: "pending" | "approved" | "preapproved"; by?: string; at?: number };
  exitCode?: number;
  error?: { code: string; message: string };
  answer?: string;
  /** The tail of the output. */
  output: string;
  outputBytes: number;
  actor: string;
  origin?: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  updatedAt: number;
  durationMs?: number;
}

export interface TaskList {
  tasks: Task[];
  next: number | null;
}

/** A request the console sends: a script task with mounts. */
export interface NewTask {
  mode: "script";
  script: string;
  mounts?: { path: string; writable?: boolean }[];
  network?: string[];
  timeoutMs?: number;
}

/** What GET /api/tasks/:id/events streams. */
export type TaskEvent =
  | {
      event: "progress";
      data: { seq: number; at: number; kind: "log" | "tool" | "thinking" | "milestone"; text: string; stream?: "stdout" | "stderr"; name?: string; ok?: boolean };
    }
  | { event: "status"; data: { status: TaskStatus } }
  | { event: "result"; data: { status: TaskStatus; exitCode: number | null; error?: { code: string; message: string }; answer?: string } };

/** A stored secret as the API shows it: never its value. */
export interface Secret {
  name: string;
  masked: string;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
  /** What reads it (`gateway:telegram`, `skill:<id>`). */
  users: string[];
}

export interface SecretList {
  secrets: Secret[];
}

export interface SecretSaved {
  name: string;
  created: boolean;
  updatedAt: number;
}

export interface SecretDeleted {
  name: string;
  deleted: boolean;
}

/** A machine outside the cluster that runs tasks (GET /api/companions). */
export interface Companion {
  id: string;
  status: "online" | "offline" | "never_seen" | "revoked";
  publicKey: string;
  createdAt: number;
  revokedAt: number | null;
  lastSeenAt: number | null;
  hostname: string | null;
  version: string | null;
  platform: string | null;
  arch: string | null;
  capabilities: { modes: ("script" | "agent")[]; sandbox: boolean; sandboxDetail: string } | null;
  allowedPaths: string[];
  maxConcurrency: number | null;
  activeTasks: string[];
  load: number[] | null;
  memory: { totalBytes: number; freeBytes: number; rssBytes: number } | null;
  spool: { pending: number; max: number; full: boolean; dropped: number } | null;
  /** Messages claiming to be from it that the core refused. */
  refused: number;
  /** Task messages it refused (not signed by this core). */
  refusedByCompanion: number;
}

export interface CompanionList {
  companions: Companion[];
  /** False when the core runs without NATS or its own nkey; `detail` says what is missing. */
  available: boolean;
  detail?: string;
}

export interface CompanionDetail extends Companion {
  tasks: Task[];
}

/** What pairing answers: the bundle (it holds the companion's secret key) and the one command to run on the machine. */
export interface CompanionPairing {
  companion: Companion;
  bundle: string;
  installCommand: string;
}

/** GET /api/skills/:id: a skill, what approving it lets run, its tools and its server. */
export interface Skill {
  id: string;
  name: string;
  description: string;
  tier: 0 | 1 | 2;
  source: "builtin" | "owner" | "agent" | "upload" | "dir" | "registry";
  status: "pending" | "changed" | "approved";
  enabled: boolean;
  wouldRun: {
    tier: 0 | 1 | 2;
    instructionsChars?: number;
    command?: string[];
    package?: { registry: string; name: string; version: string };
    env?: string[];
    secrets?: string[];
    network: "none" | string[];
    paths: { path: string; writable: boolean }[];
    url?: string;
    headers?: string[];
    hash: string;
  };
  tools: { name: string; description: string }[];
  server?: { state: "stopped" | "starting" | "ready" | "backoff"; lastError?: string; pid?: number; failures: number };
  approvedBy?: string;
  approvedAt?: number;
  createdAt: number;
  updatedAt: number;
}

export interface SkillList {
  skills: Skill[];
}

export interface SkillTest {
  tools: { name: string; description: string }[];
  dropped: string[];
}

export interface Extension {
  id: string;
  url: string;
  description?: string;
  status: "online" | "offline" | "revoked";
  tools: { name: string; description: string }[];
  lastSeen: number;
  announcedAt: number;
  dropped: string[];
}

export interface ExtensionList {
  extensions: Extension[];
}

export interface RegistryResults {
  results: { name: string; description: string; version: string; proposal?: unknown; why?: string }[];
}

/** When a schedule is due: a cron expression, a one-shot time, or an interval in seconds. */
export type ScheduleWhen = { cron: string } | { at: string } | { every: number; from?: string };

export interface ScheduleRun {
  id: string;
  dueAt: number;
  trigger: "due" | "manual";
  status: "queued" | "running" | "succeeded" | "failed" | "skipped";
  reason?: string;
  caughtUp: boolean;
  startedAt?: number;
  endedAt?: number;
  link?: { conversationId?: string; turnId?: string; jobId?: string; taskId?: string };
  costUsd?: number;
}

export interface Schedule {
  id: string;
  name: string;
  when: ScheduleWhen;
  timeZone: string;
  kind: "agent" | "job" | "task";
  prompt?: string;
  conversationId?: string;
  job?: Record<string, unknown>;
  task?: Record<string, unknown>;
  overlap: "skip" | "queue";
  catchUp: "skip" | "once" | "each";
  paused: boolean;
  createdBy: "owner" | "agent";
  nextRunAt: number | null;
  nextRunLocal: string | null;
  consecutiveFailures: number;
  running: boolean;
  lastRun?: ScheduleRun;
  alert?: { kind: "failing" | "missed" | "stuck"; message: string; at: number };
  createdAt: number;
  updatedAt: number;
}

export interface ScheduleList {
  schedules: Schedule[];
  /** The owner's zone: schedules that name none run in it. */
  timeZone: string;
}

export interface ScheduleDetail extends Schedule {
  runs: ScheduleRun[];
}

/** What the console saves: an agent prompt, a job or a task on a timing. */
export interface NewSchedule {
  name: string;
  when: ScheduleWhen;
  timeZone?: string;
  kind: "agent" | "job" | "task";
  prompt?: string;
  job?: Record<string, unknown>;
  task?: Record<string, unknown>;
  overlap?: "skip" | "queue";
  catchUp?: "skip" | "once" | "each";
}

export interface SchedulePreview {
  timeZone: string;
  next: { at: number; local: string }[];
}
