import { Type } from "@sinclair/typebox";
import type { UsageLedger } from "../models/usage.ts";
import { type BrainTools, defineTool } from "./tools.ts";

/** Tools the brain always has; areas add their own (jobs, memory, skills). */
export function registerBuiltinTools(tools: BrainTools, deps: { ledger: UsageLedger }): void {
  tools.register(
    defineTool({
      name: "current_time",
      description: "The current date and time, in a given IANA time zone (default UTC).",
      input: Type.Object({ timeZone: Type.Optional(Type.String({ maxLength: 64, description: "e.g. Europe/London" })) }, { additionalProperties: false }),
      run({ timeZone }) {
        const zone = timeZone ?? "UTC";
        const now = new Date();
        let local: string;
        try {
          local = new Intl.DateTimeFormat("en-GB", { timeZone: zone, dateStyle: "full", timeStyle: "long" }).format(now);
        } catch {
          throw new Error(`unknown time zone ${JSON.stringify(zone)}`);
        }
        return { iso: now.toISOString(), timeZone: zone, local };
      },
    }),
  );
  tools.register(
    defineTool({
      name: "usage_today",
      description: "Today's model spend in USD, the daily budget and what is left of it.",
      input: Type.Object({}, { additionalProperties: false }),
      run: () => deps.ledger.status(),
    }),
  );
}
