import { Type } from "@sinclair/typebox";
import type { BrainTools } from "../brain/tools.ts";
import { defineTool } from "../brain/tools.ts";
import { searchRegistry } from "./registry.ts";
import type { SkillService } from "./service.ts";
import { listSkillFiles, readSkillFile } from "./skillmd.ts";

/**
 * What the model sees of a skill's shape: the fields without their patterns
 * and limits (every request carries the tool list, so it is kept small);
 * `add` checks the proposal against the full spec and names what is wrong.
 */
const Proposal = Type.Object({
  name: Type.String({ description: "lower-case, the tools' prefix" }),
  description: Type.String(),
  tier: Type.Integer({ minimum: 0, maximum: 2 }),
  instructions: Type.Optional(Type.String({ description: "tier 0" })),
  command: Type.Optional(Type.Array(Type.String(), { description: "tier 1: absolute program, then its arguments" })),
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
  secrets: Type.Optional(Type.Array(Type.String(), { description: "names in the secrets store" })),
  network: Type.Optional(Type.Array(Type.String(), { description: "hosts, default none" })),
  paths: Type.Optional(Type.Array(Type.Object({ path: Type.String(), writable: Type.Optional(Type.Boolean()) }))),
  url: Type.Optional(Type.String({ description: "tier 2" })),
  bearerSecret: Type.Optional(Type.String()),
  package: Type.Optional(Type.Object({ registry: Type.String(), name: Type.String(), version: Type.String() })),
});

/** load_skill (a tier 0 skill's instructions or a file beside them), propose_skill (waits for the owner), search_mcp_registry. */
export function registerSkillTools(tools: BrainTools, skills: SkillService, o: { skillDir: string; registryUrl: string }) {
  tools.register(
    defineTool({
      name: "load_skill",
      description:
        "Read a skill's instructions (the skills are listed in the system prompt by name and description) when it is relevant, or a file beside them by its relative path.",
      input: Type.Object({ name: Type.String({ maxLength: 64 }), file: Type.Optional(Type.String({ maxLength: 512 })) }, { additionalProperties: false }),
      run({ name, file }) {
        const spec = skills.body(name);
        if (file) return readSkillFile(o.skillDir, spec.name, file);
        const files = listSkillFiles(o.skillDir, spec.name);
        return files.length ? `${spec.instructions}\n\n[files beside it, read with load_skill and file: ${files.slice(0, 50).join(", ")}]` : spec.instructions;
      },
    }),
  );
  tools.register(
    defineTool({
      name: "propose_skill",
      description:
        "Propose a skill: instructions (tier 0), a sandboxed stdio MCP server (tier 1) or an HTTP one (tier 2). It waits for the owner's approval and runs nothing until then.",
      input: Proposal,
      run(spec, ctx) {
        const view = skills.add(spec, "agent", { actor: `agent:${ctx.origin}` });
        return { id: view.id, name: view.name, status: view.status, wouldRun: view.wouldRun, next: "the owner approves it on the Skills page or with bakerst skill approve" };
      },
    }),
  );
  tools.register(
    defineTool({
      name: "search_mcp_registry",
      description: "Search the public MCP registry for servers that do something; each result carries a proposal you can pass to propose_skill.",
      input: Type.Object({ query: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      timeoutMs: 15_000,
      async run({ query }, ctx) {
        const results = await searchRegistry(o.registryUrl, query, 8, ctx.signal);
        return results.length ? results : `nothing in the registry matches ${JSON.stringify(query)}`;
      },
    }),
  );
}
