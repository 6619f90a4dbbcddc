/**
 * The core's side of a companion's trust: its signing key is its own NATS
 * identity (creds/core.nk), and pairing writes identities where `bakerst
 * nats init` keeps them.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Config } from "../config/index.ts";
import { Signer } from "../protocol/index.ts";
import type { CompanionsSettings } from "./keys.ts";

/** Where `bakerst nats init` keeps the server config and creds: the setting, else above NATS_CREDS's creds/, else the data dir. */
export function natsDirOf(config: Config, settings: CompanionsSettings): string {
  if (settings.COMPANION_NATS_DIR) return resolve(settings.COMPANION_NATS_DIR);
  const creds = config.nats.credsFile;
  if (creds && basename(dirname(resolve(creds))) === "creds") return dirname(dirname(resolve(creds)));
  return join(config.dataDir, "nats");
}

/** The core's signer, or why there is none: companions need NATS and the core's nkey seed. */
export function coreSigner(config: Config, busKind: "local" | "nats"): Signer | string {
  if (busKind !== "nats") return "companions need NATS: set NATS_URL (and NATS_CREDS = creds/core.nk from bakerst nats init)";
  const file = config.nats.credsFile;
  if (!file) return "companions need the core's nkey identity: set NATS_CREDS to creds/core.nk from bakerst nats init";
  try {
    return new Signer(readFileSync(file, "utf8").trim());
  } catch (err) {
    return `NATS_CREDS ${file} is not an nkey seed the core can sign with (${(err as Error).message}); use creds/core.nk from bakerst nats init`;
  }
}
