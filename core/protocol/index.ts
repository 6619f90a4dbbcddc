/**
 * The wire between core and satellites: subjects, versioned message schemas,
 * wire errors, trace headers and the Bus seam. Imports nothing from core or
 * satellite (a test keeps it that way).
 */

export * from "./codec.ts";
export * from "./command.ts";
export * from "./companions.ts";
export * from "./errors.ts";
export * from "./grammar.ts";
export * from "./json.ts";
export * from "./launcher.ts";
export * from "./messages.ts";
export * from "./permissions.ts";
export * from "./queues.ts";
export * from "./signed.ts";
export * from "./subjects.ts";
export * from "./trace.ts";
