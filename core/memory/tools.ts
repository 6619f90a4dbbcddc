import { Type } from "@sinclair/typebox";
import { type BrainTools, defineTool } from "../brain/tools.ts";
import type { MemoryService } from "./service.ts";
import { CATEGORIES, MAX_TEXT_CHARS } from "./types.ts";

const Category = Type.Union(
  CATEGORIES.map((c) => Type.Literal(c)),
  { description: `one of ${CATEGORIES.join(", ")}` },
);

export function registerMemoryTools(tools: BrainTools, memory: MemoryService, changed: () => void): void {
  tools.register(
    defineTool({
      name: "memory_store",
      description:
        "Remember a durable fact about the owner or their world (gear, preferences, homelab, personal, work, general) for future conversations. One self-contained sentence. A near-duplicate updates the existing memory.",
      input: Type.Object({ text: Type.String({ minLength: 1, maxLength: MAX_TEXT_CHARS }), category: Category }, { additionalProperties: false }),
      async run({ text, category }) {
        const r = await memory.store({ text, category, source: "agent" });
        changed();
        return { ...r, note: r.updated ? "updated an existing memory" : "stored" };
      },
    }),
  );
  tools.register(
    defineTool({
      name: "memory_search",
      description: "Search long-term memory by meaning and keywords; returns the best matches with their ids and scores.",
      input: Type.Object(
        {
          query: Type.String({ minLength: 1, maxLength: 1000 }),
          category: Type.Optional(Category),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        },
        { additionalProperties: false },
      ),
      run: async ({ query, category, limit }) => memory.search(query, { category, limit: limit ?? 10 }),
    }),
  );
  tools.register(
    defineTool({
      name: "memory_delete",
      description: "Delete a memory by id (from memory_search or the system prompt) when it is wrong or the owner asks to forget it.",
      input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      async run({ id }) {
        await memory.delete(id);
        changed();
        return { deleted: id };
      },
    }),
  );
}
