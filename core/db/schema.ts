// Every table, for drizzle-kit and for typed queries. Tables live beside their area.
export * from "../conversations/conversation.sql.ts";
export * from "../models/usage.sql.ts";
export * from "../auth/session.sql.ts";
export * from "./settings.sql.ts";
export * from "../memory/memory.sql.ts";
export * from "../jobs/jobs.sql.ts";
