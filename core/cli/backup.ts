import { parseArgs } from "node:util";
import type { Config } from "../config/index.ts";
import { BackupError, backup, backupInto, restore } from "../db/backup.ts";
import { runningServers } from "../upgrade/control.ts";

export const BACKUP_HELP = `Usage: bakerst backup FILE
       bakerst backup --into DIR [--keep N]

Writes a consistent copy of the database while bakerst runs (SQLite's VACUUM
INTO), checks it, and only then gives it its name. FILE must not exist.
--into DIR names the file by the time (bakerst-20261201T030000Z.db) and keeps
the newest N such files in DIR (default 14), removing older ones.
`;

export const RESTORE_HELP = `Usage: bakerst restore FILE

Puts a backup in place of the data dir's database. Refused while a bakerst
runs on this data dir: stop it first. The database that was there is kept
beside it (bakerst.db.before-restore-<time>), and bakerst.db.id is set to the
backup's, so the next start accepts the restored database.
`;

const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

type Out = (s: string) => void;

function parse(args: string[], strings: string[], help: string, err: Out): { values: Record<string, string | boolean | undefined>; positionals: string[] } | undefined {
  const options = Object.fromEntries(strings.map((name) => [name, { type: "string" as const }]));
  try {
    return parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (e) {
    err(`${(e as Error).message}\n\n${help}`);
    return undefined;
  }
}

/** `bakerst backup ...`: returns the exit code. */
export function backupCommand(config: Config, args: string[], out: Out, err: Out): number {
  const parsed = parse(args, ["into", "keep"], BACKUP_HELP, err);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  if (values.help) return (out(BACKUP_HELP), 0);
  const keep = values.keep === undefined ? 14 : Number(values.keep);
  const into = values.into as string | undefined;
  if (!Number.isInteger(keep) || keep < 1 || keep > 10_000) return (err(`bakerst backup: --keep must be a whole number from 1 to 10000, got ${JSON.stringify(values.keep)}\n`), 2);
  if ((into === undefined) === (positionals.length !== 1) || positionals.length > 1) return (err(`bakerst backup: give one FILE, or --into DIR\n\n${BACKUP_HELP}`), 2);
  try {
    const r = into !== undefined ? backupInto(config.dataDir, into, keep) : backup(config.dataDir, positionals[0]!);
    out(`backed up database ${r.id} (${r.migrations} migrations, ${MB(r.bytes)}) to ${r.file}\n`);
    for (const f of r.removed) out(`removed the older backup ${f}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof BackupError)) throw e;
    err(`bakerst backup: ${e.message}\n`);
    return 1;
  }
}

/** `bakerst restore FILE`: refused while a server runs on the data dir. */
export async function restoreCommand(config: Config, args: string[], out: Out, err: Out): Promise<number> {
  const parsed = parse(args, [], RESTORE_HELP, err);
  if (!parsed) return 2;
  if (parsed.values.help) return (out(RESTORE_HELP), 0);
  if (parsed.positionals.length !== 1) return (err(`bakerst restore: give the backup FILE\n\n${RESTORE_HELP}`), 2);
  const running = await runningServers(config.dataDir);
  if (running.length) {
    const who = running.map((s) => `pid ${s.pid}${s.port ? ` on port ${s.port}` : ""}`).join(", ");
    err(`bakerst restore: bakerst is running on ${config.dataDir} (${who}); stop it first. Nothing was changed.\n`);
    return 1;
  }
  try {
    const r = restore(config.dataDir, parsed.positionals[0]!);
    out(`restored database ${r.id} (${r.migrations} migrations, ${MB(r.bytes)}) into ${config.dataDir}\n`);
    if (r.savedAs) out(`the database that was there${r.previousId ? ` (${r.previousId})` : ""} is kept as ${r.savedAs}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof BackupError)) throw e;
    err(`bakerst restore: ${e.message}\n`);
    return 1;
  }
}
