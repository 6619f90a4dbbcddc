import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { ABSOLUTE_PATH, HELP_VERSION } from "./shared.ts";

const FIELDS = "source|fstype|itotal|iused|iavail|ipcent|size|used|avail|pcent|file|target";
const FS_TYPE = "[a-z0-9._]{1,32}";

/**
 * GNU df (coreutils 9): how full the host's filesystems are. `--output` is a
 * list of columns, not a file. `--sync` is left out: it flushes every
 * filesystem on the host, a write of sorts.
 */
export const df: CommandGrammarSpec = {
  syntax: "gnu",
  description: "disk space of the host's filesystems",
  options: [
    { short: ["a"], long: ["all"], description: "include pseudo and duplicate filesystems" },
    { short: ["B"], long: ["block-size"], value: "required", pattern: "(?:[0-9]{1,12})?(?:[KMGTPEZYRQ](?:iB|B)?)?|human-readable|si", description: "scale sizes: K, M, G, 1K, MB" },
    { short: ["h"], long: ["human-readable"], description: "powers of 1024" },
    { short: ["H"], long: ["si"], description: "powers of 1000" },
    { short: ["i"], long: ["inodes"], description: "inodes instead of blocks" },
    { short: ["k"], description: "1K blocks" },
    { short: ["l"], long: ["local"], description: "local filesystems only" },
    { long: ["no-sync"], description: "do not sync first (the default)" },
    { long: ["output"], value: "optional", pattern: `(?:${FIELDS})(?:,(?:${FIELDS})){0,11}`, description: "columns to show" },
    { short: ["P"], long: ["portability"], description: "POSIX format" },
    { long: ["total"], description: "a grand total" },
    { short: ["t"], long: ["type"], value: "required", pattern: FS_TYPE, description: "only this filesystem type" },
    { short: ["T"], long: ["print-type"], description: "show the type" },
    { short: ["x"], long: ["exclude-type"], value: "required", pattern: FS_TYPE, description: "leave this type out" },
    ...HELP_VERSION,
  ],
  refused: ["sync"],
  operands: { max: 16, pattern: ABSOLUTE_PATH, description: "absolute paths: the filesystems holding them" },
  // df lists the mounts of its own mount namespace and statfs()s each: it needs the host's filesystems mounted.
  sandbox: { filesystems: "host" },
};
