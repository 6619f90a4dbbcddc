import { Type } from "@sinclair/typebox";
import { type BrainTools, defineTool } from "../brain/tools.ts";
import type { CompanionService } from "./service.ts";

/** `list_companions`: which machines outside the cluster can run tasks (run_task with target set to one). */
export function registerCompanionTools(tools: BrainTools, companions: CompanionService): void {
  tools.register(
    defineTool({
      name: "list_companions",
      description:
        "List the owner's companions: machines outside the cluster (a NAS, a VM, a Raspberry Pi) that run tasks. " +
        "Each has a status (online, offline, never_seen, revoked), when it was last seen, its host, the paths tasks may mount there and whether it has the sandbox. " +
        "To run something on one, call run_task with target set to its id; a task sent to an offline companion waits until it is back.",
      input: Type.Object({}),
      async run() {
        return {
          companions: companions
            .list()
            .filter((c) => c.status !== "revoked")
            .map((c) => ({
              id: c.id,
              status: c.status,
              lastSeenAt: c.lastSeenAt ? new Date(c.lastSeenAt).toISOString() : null,
              hostname: c.hostname,
              platform: c.platform && c.arch ? `${c.platform}/${c.arch}` : null,
              modes: c.capabilities?.modes ?? [],
              sandbox: c.capabilities?.sandbox ?? null,
              allowedPaths: c.allowedPaths,
              activeTasks: c.activeTasks.length,
            })),
        };
      },
    }),
  );
}
