import { Type } from "@sinclair/typebox";
import type { BrainTools } from "../brain/tools.ts";
import { defineTool } from "../brain/tools.ts";
import { searchRegistry } from "./registry.ts";
import type { SkillService } from "./service.ts";
import { listSkillFiles, readSkillFile } from "./skillmd.ts";
import { SkillSpec } from "./spec.ts";

/** load_skill (a tier 0 skill's instructions or a file beside them), propose_skill (waits for the owner), search_mcp_registry. */
export function registerSkillTools(tools: BrainTools, skills: SkillService, o: { skillDir: string; registryUrl: string }) {
  tools.register(
    defineTool({
      name: "load_skill",
      description: "Read a skill's instructions (the skills are listed in the system prompt by name and description) when it is relevant, or a file beside them by its relative path.",
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
        "Propose a new skill: instructions (tier 0), an MCP server run in the sandbox over stdio (tier 1: command, paths, secrets by name) or one over HTTP (tier 2: url). It is stored pending and runs nothing until the owner approves it in the console; say so to the owner.",
      input: SkillSpec,
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
