import { defineKeys, type KeyValues } from "../config/keys.ts";

/** The skills area's settings. */
export const skillsKeys = defineKeys({
  SKILL_ALLOWED_PATHS: {
    kind: "list",
    help: "host paths skills may be given (the filesystem skill reads them; a stdio skill's declared paths must be under them); unset gives skills no host path. The data dir never is",
  },
  SKILL_RUNNER: {
    kind: "path",
    help: "the bakerst-satellite binary that bridges a stdio skill with hosts to the egress proxy; default: as TASK_RUNNER (beside bakerst, else bakerst itself)",
  },
  SKILL_IDLE_MS: { kind: "int", min: 1000, max: 86_400_000, default: "600000", help: "a stdio MCP skill unused this long is stopped (started again on its next call)" },
  SKILL_CALL_TIMEOUT_MS: { kind: "int", min: 100, max: 3_600_000, default: "60000", help: "a skill's MCP tool call timeout when the skill gives none" },
  SKILL_OUTPUT_MAX_BYTES: {
    kind: "int",
    min: 4096,
    max: 64 * 1024 * 1024,
    default: String(1024 * 1024),
    help: "largest single message a skill's MCP server may send when the skill gives no cap; past it the server is stopped",
  },
  MCP_REGISTRY_URL: {
    kind: "url",
    default: "https://registry.modelcontextprotocol.io",
    help: "the MCP registry the agent and the console search for servers (its /v0/servers API)",
  },
  EXTENSION_KEYS: {
    kind: "list",
    help: "the extensions this core trusts, as id=public key (the U... key bakerst nats init --extension ID prints); an announce signed by anything else is refused",
  },
  EXTENSION_OFFLINE_MS: { kind: "int", min: 1000, max: 3_600_000, default: "90000", help: "an extension without a heartbeat this long is offline and its tools are withdrawn" },
});

export type SkillsSettings = KeyValues<typeof skillsKeys>;
