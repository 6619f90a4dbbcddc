import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { HELP_VERSION } from "./shared.ts";

/** GNU uname: kernel and machine facts (a system call; nothing to read). */
export const uname: CommandGrammarSpec = {
  syntax: "gnu",
  description: "kernel and machine",
  options: [
    { short: ["a"], long: ["all"] },
    { short: ["s"], long: ["kernel-name", "sysname"] },
    { short: ["n"], long: ["nodename"] },
    { short: ["r"], long: ["kernel-release", "release"] },
    { short: ["v"], long: ["kernel-version"] },
    { short: ["m"], long: ["machine"] },
    { short: ["p"], long: ["processor"] },
    { short: ["i"], long: ["hardware-platform"] },
    { short: ["o"], long: ["operating-system"] },
    ...HELP_VERSION,
  ],
  sandbox: { processes: "none" },
};
