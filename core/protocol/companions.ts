/**
 * What a companion and the core say to each other. Every one of these
 * travels inside a signed envelope (signed.ts) bound to its subject: the core
 * signs tasks, acks and cancels; the companion signs announcements,
 * heartbeats and task reports (TaskProgressV1 / TaskResultV1).
 */
import { type Static, Type } from "@sinclair/typebox";
import { TaskId, TaskRunSpecV1 } from "./messages.ts";

const Token = Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$" });
const Path = Type.String({ pattern: "^/[^\\x00-\\x1f]{0,1023}$" });

/** `bakerst.companions.announce`, v1: on start and on every reconnect. */
export const CompanionAnnounceV1 = Type.Object(
  {
    v: Type.Literal(1),
    id: Token,
    hostname: Type.String({ maxLength: 255 }),
    version: Type.String({ maxLength: 64 }),
    platform: Type.String({ maxLength: 32 }),
    arch: Type.String({ maxLength: 32 }),
    capabilities: Type.Object(
      {
        modes: Type.Array(Type.Union([Type.Literal("script"), Type.Literal("agent")]), { maxItems: 2 }),
        /** Whether tasks run in the bubblewrap sandbox here, and if not why. */
        sandbox: Type.Boolean(),
        sandboxDetail: Type.String({ maxLength: 1000 }),
      },
      { additionalProperties: false },
    ),
    allowedPaths: Type.Array(Path, { maxItems: 64 }),
    maxConcurrency: Type.Integer({ minimum: 1, maximum: 256 }),
    /** Tasks it is running now: the core fails any it thought ran there and that are not here. */
    active: Type.Array(TaskId, { maxItems: 256 }),
  },
  { additionalProperties: false },
);
export type CompanionAnnounce = Static<typeof CompanionAnnounceV1>;

/** `bakerst.companions.<id>.heartbeat`, v1: every 30 s. */
export const CompanionHeartbeatV1 = Type.Object(
  {
    v: Type.Literal(1),
    id: Token,
    /** 1, 5, 15 minute load averages. */
    load: Type.Array(Type.Number(), { maxItems: 3 }),
    memory: Type.Object({ totalBytes: Type.Number(), freeBytes: Type.Number(), rssBytes: Type.Number() }, { additionalProperties: false }),
    active: Type.Array(TaskId, { maxItems: 256 }),
    /** Reports waiting in its spool for the core; `full` when progress is being dropped. */
    /** Task messages it refused (not signed by the core, replayed, failing their schema) since it started. */
    refused: Type.Integer({ minimum: 0 }),
    spool: Type.Object(
      { pending: Type.Integer({ minimum: 0 }), max: Type.Integer({ minimum: 0 }), full: Type.Boolean(), dropped: Type.Integer({ minimum: 0 }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type CompanionHeartbeat = Static<typeof CompanionHeartbeatV1>;

/** `bakerst.companions.<id>.task`, v1: run a task, or stop one. */
export const CompanionTaskV1 = Type.Union([
  Type.Object({ v: Type.Literal(1), kind: Type.Literal("run"), spec: TaskRunSpecV1 }, { additionalProperties: false }),
  Type.Object({ v: Type.Literal(1), kind: Type.Literal("cancel"), taskId: TaskId }, { additionalProperties: false }),
]);
export type CompanionTask = Static<typeof CompanionTaskV1>;

/** The core's answer to a companion's report: kept (or already kept), so it may leave the spool. */
export const CompanionAckV1 = Type.Object({ v: Type.Literal(1), taskId: TaskId, seq: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
export type CompanionAck = Static<typeof CompanionAckV1>;

/** The context an ack is signed for: the report's subject and seq, so an ack cannot be reused for another report. */
export const ackContext = (reportSubject: string, seq: number) => `ack:${reportSubject}:${seq}`;

/** Everything a new companion needs, as `bakerst companion add` prints it (base64url JSON). */
export const EnrollmentBundleV1 = Type.Object(
  {
    v: Type.Literal(1),
    id: Token,
    natsUrl: Type.String({ maxLength: 1024 }),
    /** Its NATS identity's nkey seed: it signs with it too. */
    seed: Type.String({ pattern: "^SU[A-Z2-7]{40,}$" }),
    corePublicKey: Type.String({ pattern: "^U[A-Z2-7]{55}$" }),
    /** The bakerst-satellite binary install.sh accepts (hex sha256), when the core knew it. */
    binarySha256: Type.Optional(Type.String({ pattern: "^[0-9a-f]{64}$" })),
  },
  { additionalProperties: false },
);
export type EnrollmentBundle = Static<typeof EnrollmentBundleV1>;
