import { loadSatelliteConfig, processEnv, type SatelliteConfig } from "../config.ts";
import { runTaskRunner } from "./runner.ts";

const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

/** The runner as a process: its stdin, stdout, signals, and JSON log lines on stderr. */
export function runTaskProcess(cfg: SatelliteConfig): Promise<number> {
  return runTaskRunner(cfg, {
    stdin: process.stdin,
    write: (line) => process.stdout.write(`${line}\n`),
    drain: () => new Promise<void>((resolve) => process.stdout.write("", () => resolve())),
    log: (lvl, msg, fields) => {
      if (ORDER[lvl] < ORDER[cfg.logLevel]) return;
      process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, role: "task", ...fields })}\n`);
    },
    onSignal: (fn) => {
      process.on("SIGTERM", fn);
      process.on("SIGINT", fn);
    },
  });
}

/** `bakerst task runner ...`: the same runner from the core's binary, for a machine without bakerst-satellite beside it. */
export function taskRunnerMain(argv: string[]): Promise<number> {
  // The launcher adds `--mode task` itself; a repeated option's last value wins.
  return runTaskProcess(loadSatelliteConfig(["--mode", "task", ...argv], processEnv()));
}
