import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { ABSOLUTE_PATH, HELP_VERSION } from "./shared.ts";

/**
 * GNU ls (coreutils 9): list directories of the sandbox's read-only view
 * (/usr and a few /etc files; the owner widens it with `sandbox.binds` in a
 * grammar of their own). Options that only change how the listing looks.
 */
export const ls: CommandGrammarSpec = {
  syntax: "gnu",
  description: "list directories",
  options: [
    { short: ["a"], long: ["all"] },
    { short: ["A"], long: ["almost-all"] },
    { short: ["d"], long: ["directory"] },
    { short: ["F"], long: ["classify"], value: "optional", pattern: "always|auto|never" },
    { long: ["file-type"] },
    { short: ["h"], long: ["human-readable"] },
    { long: ["si"] },
    { short: ["i"], long: ["inode"] },
    { short: ["l"], description: "long listing" },
    { short: ["L"], long: ["dereference"] },
    { short: ["n"], long: ["numeric-uid-gid"] },
    { short: ["g"], description: "long listing without owner" },
    { short: ["o"], description: "long listing without group" },
    { short: ["G"], long: ["no-group"] },
    { short: ["1"], description: "one entry a line" },
    { short: ["C"], description: "columns" },
    { short: ["x"], description: "rows" },
    { short: ["m"], description: "comma-separated" },
    { short: ["r"], long: ["reverse"] },
    { short: ["R"], long: ["recursive"] },
    { short: ["s"], long: ["size"] },
    { short: ["S"], description: "sort by size" },
    { short: ["t"], description: "sort by time" },
    { short: ["X"], description: "sort by extension" },
    { short: ["v"], description: "natural sort of versions" },
    { short: ["U"], description: "unsorted" },
    { short: ["c"], description: "ctime" },
    { short: ["u"], description: "atime" },
    { short: ["p"], description: "slash after directories" },
    { short: ["k"], long: ["kibibytes"] },
    { long: ["full-time"] },
    { long: ["group-directories-first"] },
    { long: ["sort"], value: "required", pattern: "none|size|time|version|extension|width" },
    { long: ["time"], value: "required", pattern: "atime|access|use|ctime|status|birth|creation|mtime|modification" },
    { long: ["time-style"], value: "required", pattern: "full-iso|long-iso|iso|locale|\\+[A-Za-z0-9%:. _/-]{1,60}" },
    { long: ["block-size"], value: "required", pattern: "(?:[0-9]{1,12})?(?:[KMGTPEZYRQ](?:iB|B)?)?" },
    { long: ["indicator-style"], value: "required", pattern: "none|slash|file-type|classify" },
    { short: ["w"], long: ["width"], value: "required", pattern: "[0-9]{1,4}" },
    { short: ["Q"], long: ["quote-name"] },
    { short: ["N"], long: ["literal"] },
    { short: ["b"], long: ["escape"] },
    { short: ["q"], long: ["hide-control-chars"] },
    ...HELP_VERSION,
  ],
  refused: [
    "author", "color", "context", "dereference-command-line", "dereference-command-line-symlink-to-dir", "dired", "format",
    "hide", "hyperlink", "ignore", "ignore-backups", "quoting-style", "show-control-chars", "tabsize", "zero",
  ],
  operands: { max: 16, pattern: ABSOLUTE_PATH, description: "absolute paths" },
  // The system view is what it lists; its own /proc would show nothing worth a mount.
  sandbox: { processes: "none" },
};
