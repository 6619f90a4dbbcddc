/**
 * Every action the audit log records, in one table with what each row says.
 * An area that records a new kind of event adds its line here (docs/audit.md
 * lists them for the owner; the console's filter reads them from the API).
 */
export const AUDIT_ACTIONS = {
  "auth.login": "POST /api/auth/login: ok, or failed with the code (invalid_token, invalid_code) and how (token or one-time code); never what was given",
  "auth.logout": "a console session was ended by logging out",
  "auth.bearer": "a request carried a bearer token that is not the API token (never the token given)",
  "auth.rate_limited": "a client passed the failed-attempt limit and is refused until its oldest failure ages out; once per block, not per request",
  "auth.token_rotated": "`bakerst token --rotate`: a new API token, every session ended; refused when AUTH_TOKEN is set in the environment or config",
  "auth.login_link": "`bakerst login-link`: a one-time login link was issued over the control socket (never the code)",
  upgrade: "`bakerst upgrade`: the new binary's path and version; ok once it took over, failed (with why) when it was rolled back",
  "cors.refused": "a CORS preflight from an origin not in CORS_ORIGINS",
  "job.dispatched": "a job was queued: its origin and a summary (program and argument count, HTTP method and host, prompt length)",
  "job.refused": "a job was not run: POST /api/jobs answered invalid_job, an agent job met the spent budget, or a worker's policy refused it",
  "task.requested":
    "a task was asked for: mode, target, how many mounts (and writable), how many hosts, its origin; refused with the code and field when it failed its checks, its target was unavailable or the budget was spent",
  "task.approved": "a task's writable mounts and hosts (its scopes) were approved: by the owner (console, chat, bakerst task approve), or by TASK_PREAPPROVED (actor system)",
  "task.cancelled": "a task was cancelled, before or while it ran",
  "task.finished": "a task ended: succeeded, failed (with the code), cancelled or timed_out, with its exit code and duration",
  "task.egress_refused": "a task tried to reach a host its network allowlist does not hold (or a metadata or loopback address); the host and port",
  "skill.added": "a skill was added by the owner (console, API, an upload, the data dir), approved as it was added; the target is its name, the detail its tier and hash",
  "skill.proposed": "the agent (propose_skill) or a registry result proposed a skill; it waits for the owner and runs nothing until approved",
  "skill.approved": "the owner approved what a skill would run (console, bakerst skill approve); the detail pins the hash",
  "skill.changed": "a skill's spec changed; when what it runs changed it waits for a new approval",
  "skill.removed": "a skill was deleted, or enabled or disabled (the detail says which)",
  "skill.refused": "a skill was not started: its spec no longer matches the approved hash, a path or secret is not allowed, or its server misbehaved (output past its cap)",
  "skill.egress_refused": "a stdio skill's server tried to reach a host its network allowlist does not hold (or a metadata or loopback address); the host and port",
  "extension.announced": "an extension announced itself with a valid signature (its id, URL host and tool count), or came back online",
  "extension.refused": "an announce or heartbeat was refused: a bad or missing signature, an unknown or revoked identity; never its body",
  "extension.revoked": "the owner revoked an extension; its tools were withdrawn and its announces are refused",
  "schedule.created":
    "a schedule was made (console, API, or the agent's create_schedule): its kind, who made it (owner or agent) and its timing kind; refused with the code when it failed its checks or the agent's limits",
  "schedule.deleted": "a schedule was deleted; refused when the agent tried to change one the owner made",
  "turn.refused": "a background turn (schedule, job, task) was refused because today's budget is spent",
  "webhook.refused": "a call to POST /api/webhooks/<name> without its secret (the target names the webhook; its body is never read)",
  "gateway.pairing_requested": "a chat nobody approved wrote to the bot and was given a pairing code (platform and chat kind; never what it wrote)",
  "gateway.pairing_refused": "no code was given (too many waiting) or an approval named a code that is unknown or expired, or came after too many wrong ones",
  "gateway.pairing_approved": "the owner approved a chat's pairing code (console or bakerst pair approve); the target is the chat",
  "gateway.pairing_revoked": "the owner revoked a paired chat or turned down a waiting one; its waiting messages were dropped",
  "secret.set": "a secret was stored or replaced (PUT /api/secrets/:name); the target is its name, `created` says which; never the value",
  "secret.deleted": "a secret was deleted; the target is its name",
  "companion.paired": "a companion was paired (bakerst companion add, the console): its NATS identity and enrollment bundle were made; the target is its name",
  "companion.revoked": "a companion was revoked: its identity left the NATS config, its waiting tasks were dropped, its messages are refused from now on",
  "companion.refused":
    "a message claiming to come from a companion was dropped: unsigned, wrongly signed, replayed, stale, from a revoked or unknown key, or failing its schema (the reason and the subject's kind)",
  "audit.suppressed": "more refused or failed events of one action than the log takes in a minute; the target names the action, the detail counts the rest",
} as const;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export const AUDIT_OUTCOMES = ["ok", "refused", "failed"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
