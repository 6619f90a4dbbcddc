/**
 * The wire between core and satellites: subjects, versioned message schemas,
 * wire errors, trace headers and the Bus seam. Imports nothing from core or
 * satellite (a test keeps it that way).
 */
export * from "./subjects.ts";
export * from "./permissions.ts";
export * from "./messages.ts";
export * from "./codec.ts";
export * from "./json.ts";
export * from "./errors.ts";
export * from "./trace.ts";
export * from "./command.ts";
export * from "./queues.ts";
export * from "./grammar.ts";
export * from "./launcher.ts";
export * from "./signed.ts";
