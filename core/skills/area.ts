import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { defineArea } from "../area/types.ts";
import { ConfigError } from "../config/index.ts";
import { type SandboxSetup, setUpSandbox } from "../jobs/edge.ts";
import { runnerCommand } from "../tasks/local.ts";
import { Extensions, parseExtensionKeys } from "./extensions.ts";
import { FILESYSTEM_SKILL, filesystemTools } from "./filesystem.ts";
import { skillsKeys } from "./keys.ts";
import { skillRoutes } from "./routes.ts";
import { SkillService } from "./service.ts";
import { scanSkillDir } from "./skillmd.ts";
import { SkillStore } from "./store.ts";
import { registerSkillTools } from "./tools.ts";

declare module "../area/types.ts" {
  interface Provided {
    skills: SkillService;
  }
}

const FILESYSTEM_INSTRUCTIONS = `The filesystem skill reads the owner's files under the allowed directories (SKILL_ALLOWED_PATHS), nothing else:
- filesystem__list {path}: a directory's entries with kinds and sizes;
- filesystem__stat {path}: size, kind, mode, modification time;
- filesystem__read {path, offset?}: up to 256 KiB of a text file, then read on from the offset it gives.
Paths are absolute; a path outside the allowed directories (or leading out of them through .. or a symlink) is refused.`;

/** Skills (tiers 0-2) and extensions (tier 3): instructions, sandboxed stdio MCP servers, HTTP MCP servers, announced pods. See docs/skills.md. */
export const skillsArea = defineArea({
  name: "skills",
  provides: ["skills"],
  wants: ["secrets"],
  config: { keys: skillsKeys },
  start(ctx) {
    const settings = ctx.config.read(skillsKeys);
    let keys: Record<string, string>;
    try {
      keys = parseExtensionKeys(settings.EXTENSION_KEYS);
    } catch (err) {
      throw new ConfigError("EXTENSION_KEYS", (err as Error).message.replace(/^EXTENSION_KEYS: /, ""), "config");
    }
    const skillDir = join(ctx.config.dataDir, "skills");
    mkdirSync(skillDir, { recursive: true, mode: 0o700 });
    const forbidden = [ctx.config.dataDir, ctx.config.nats.credsFile, ctx.config.file].filter((p): p is string => !!p);
    const paths = { allowed: settings.SKILL_ALLOWED_PATHS, forbidden };
    // Tried once, when the first stdio skill starts: a core without one pays nothing.
    let sandbox: SandboxSetup | undefined;
    let bridge: ReturnType<typeof runnerCommand> | undefined;
    const store = new SkillStore(ctx.store.db);
    const skills = new SkillService({
      store,
      tools: ctx.tools,
      audit: ctx.audit,
      log: ctx.log,
      settings,
      sandbox: () => (sandbox ??= setUpSandbox({ mode: "required", hide: forbidden })),
      paths,
      ...(ctx.want("secrets") ? { secrets: ctx.want("secrets")! } : {}),
      builtins: { [FILESYSTEM_SKILL]: filesystemTools(() => paths) },
      // The task runner's binary also bridges a stdio skill to the egress proxy (bakerst-satellite --mode bridge).
      bridge: () => (bridge ??= runnerCommand(settings.SKILL_RUNNER)),
    });
    skills.sync(
      { name: FILESYSTEM_SKILL, description: "Read, list and stat the owner's files under the allowed directories", tier: 0, instructions: FILESYSTEM_INSTRUCTIONS },
      "builtin",
    );
    const scanned = scanSkillDir(skillDir);
    for (const p of scanned.problems) ctx.log.warn("a skill in the data dir was skipped", { problem: p });
    for (const spec of scanned.specs) {
      try {
        skills.sync(spec, "dir");
      } catch (err) {
        ctx.log.warn("a skill in the data dir was skipped", { skill: spec.name, problem: (err as Error).message });
      }
    }
    skills.start();
    const extensions = new Extensions({
      bus: ctx.bus,
      tools: ctx.tools,
      audit: ctx.audit,
      log: ctx.log,
      db: ctx.store.db,
      keys,
      offlineMs: settings.EXTENSION_OFFLINE_MS,
      callTimeoutMs: settings.SKILL_CALL_TIMEOUT_MS,
    });
    extensions.start();
    ctx.provide("skills", skills);
    registerSkillTools(ctx.tools, skills, { skillDir, registryUrl: settings.MCP_REGISTRY_URL });
    ctx.prompt.contribute(
      "skills",
      () => {
        const list = skills.instructions();
        if (!list.length) return "";
        return `## Skills\nInstructions you can load with load_skill when one is relevant (name: when to use it):\n${list.map((s) => `- ${s.name}: ${s.description.replace(/\s+/g, " ")}`).join("\n")}`;
      },
      { layer: "long" },
    );
    ctx.routes(skillRoutes({ skills, extensions, skillDir, registryUrl: settings.MCP_REGISTRY_URL }));
    ctx.health.register("skills", () => {
      const all = skills.list();
      const failing = all.filter((s) => s.server?.state === "backoff");
      return {
        status: failing.length ? "degraded" : "ok",
        ...(failing.length ? { detail: failing.map((s) => `${s.name}: ${s.server!.lastError}`).join("; ") } : {}),
        skills: all.length,
        pending: all.filter((s) => s.status !== "approved").length,
        running: all.filter((s) => s.server?.state === "ready").length,
        extensions: extensions.list().filter((e) => e.status === "online").length,
      };
    });
    ctx.onStop(async () => {
      await extensions.stop();
      await skills.stop();
    });
  },
});
