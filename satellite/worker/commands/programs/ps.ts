import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";

/** Output columns ps jobs may ask for: everything about a process but its environment (`environ`) and security labels. */
const KEYWORDS = [
  "pid", "ppid", "pgid", "pgrp", "sid", "sess", "tgid", "tid", "lwp", "spid", "nlwp", "thcount",
  "user", "euser", "ruser", "uid", "euid", "ruid", "uname", "group", "egroup", "rgroup", "gid", "egid", "rgid",
  "comm", "ucmd", "ucomm", "fname", "args", "cmd", "command",
  "%cpu", "pcpu", "%mem", "pmem", "rss", "rssize", "rsz", "vsz", "vsize", "sz", "size", "drs", "trs",
  "stat", "s", "state", "f", "flags", "c", "cp", "ni", "nice", "pri", "priority", "rtprio", "cls", "class", "policy", "psr",
  "start", "stime", "start_time", "lstart", "bsdstart", "etime", "etimes", "time", "cputime", "cputimes", "bsdtime",
  "tty", "tt", "tname", "wchan", "nwchan", "cgroup", "majflt", "minflt", "maj_flt", "min_flt",
];
const KEYWORD = `(?:${KEYWORDS.join("|")})`;
const FORMAT = `${KEYWORD}(?::[0-9]{1,3})?(?:,${KEYWORD}(?::[0-9]{1,3})?){0,31}`;
const SORT = `[+-]?${KEYWORD}(?:,[+-]?${KEYWORD}){0,7}`;
const PIDS = "[1-9][0-9]{0,9}(?:,[1-9][0-9]{0,9}){0,63}";
const COMMANDS = "[A-Za-z0-9_.:+][A-Za-z0-9_.:+-]{0,14}(?:,[A-Za-z0-9_.:+][A-Za-z0-9_.:+-]{0,14}){0,15}";

/**
 * procps ps: the host's processes, never their environments. Refused: BSD
 * `e` (environment after the command), the `environ` column, `N`/`-n`
 * (a namelist file), selection by user, group, tty or session (a name that
 * does not resolve makes ps re-read every argument as BSD options), bare
 * process lists and thread views. `-e` is spelled `-A` when it runs, so no
 * fallback can read it as BSD `e`.
 */
export const ps: CommandGrammarSpec = {
  syntax: "procps",
  description: "processes (without their environments)",
  options: [
    { short: ["A", "e"], description: "every process" },
    { short: ["a"], description: "every process with a tty, but session leaders" },
    { short: ["d"], description: "every process but session leaders" },
    { long: ["deselect"], description: "negate the selection (not -N: read as BSD, N names a file)" },
    { short: ["f"], description: "full format" },
    { short: ["F"], description: "extra full format" },
    { short: ["l"], description: "long format" },
    { short: ["j"], description: "jobs format" },
    { short: ["y"], description: "with -l: RSS instead of ADDR" },
    { short: ["H"], description: "process hierarchy" },
    { short: ["w"], bsd: ["w"], description: "wide output" },
    { short: ["o"], bsd: ["o"], long: ["format"], value: "required", pattern: FORMAT, description: "columns: pid,user,%cpu,%mem,args..." },
    { short: ["O"], bsd: ["O"], value: "required", pattern: FORMAT, description: "columns after the default ones" },
    { short: ["p"], bsd: ["p"], long: ["pid"], value: "required", pattern: PIDS, description: "process ids" },
    { long: ["ppid"], value: "required", pattern: PIDS, description: "children of these process ids" },
    { short: ["C"], value: "required", pattern: COMMANDS, description: "command names" },
    { long: ["sort"], bsd: ["k"], value: "required", pattern: SORT, description: "sort keys, e.g. -%cpu" },
    { bsd: ["a"], description: "every process with a tty" },
    { bsd: ["x"], description: "processes without a tty too" },
    { bsd: ["u"], description: "user-oriented format" },
    { bsd: ["v"], description: "virtual memory format" },
    { bsd: ["j"], description: "job control format" },
    { bsd: ["l"], description: "long format" },
    { bsd: ["s"], description: "signal format" },
    { bsd: ["f"], long: ["forest"], description: "process tree" },
    { bsd: ["h"], long: ["no-headers", "no-header", "no-heading", "no-headings", "noheader", "noheaders", "noheading", "noheadings"], description: "no header" },
    { long: ["headers", "header", "heading", "headings"], description: "repeat the header" },
    { bsd: ["r"], description: "running processes only" },
    { bsd: ["S"], long: ["cumulative"], description: "include dead children" },
    { bsd: ["c"], description: "true command name" },
    { bsd: ["n"], description: "numeric user ids" },
    { long: ["cols", "columns", "width"], value: "required", pattern: "[1-9][0-9]{0,4}", description: "screen width" },
    { long: ["lines", "rows"], value: "required", pattern: "[1-9][0-9]{0,4}", description: "screen height" },
  ],
  // Other processes are the point; the job runs as an unprivileged user, so their /proc/*/environ stays unreadable.
  sandbox: { processes: "host" },
};
