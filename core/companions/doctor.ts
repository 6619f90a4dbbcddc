import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Check } from "../cli/check.ts";
import type { Config } from "../config/index.ts";
import { CONFIG_FILE } from "../nats/init.ts";
import { coreSigner, natsDirOf } from "./identity.ts";
import { companionsKeys } from "./keys.ts";

/** `bakerst doctor`: whether companions can be paired here (NATS, the core's key, the nats init dir) and what bundles will carry. */
export function companionChecks(config: Config): Check[] {
  if (!config.nats.url) return [{ ok: true, name: "companions", detail: "off in edge mode (no NATS_URL): companions need NATS" }];
  // An open NATS (NATS_INSECURE) has no identities to give: companions are simply off there.
  if (!config.nats.credsFile)
    return [{ ok: true, name: "companions", detail: "off: NATS without the core's nkey identity (NATS_CREDS), so there is nothing to pair companions with" }];
  const signer = coreSigner(config, "nats");
  if (typeof signer === "string") return [{ ok: false, name: "companions", detail: signer, fix: "bakerst nats init, then NATS_CREDS=<dir>/creds/core.nk" }];
  const settings = config.read(companionsKeys);
  const dir = natsDirOf(config, settings);
  const checks: Check[] = [
    existsSync(join(dir, CONFIG_FILE))
      ? { ok: true, name: "companions", detail: `pairing writes identities into ${dir}; the core signs with ${signer.publicKey}` }
      : {
          ok: false,
          name: "companions",
          detail: `${join(dir, CONFIG_FILE)} does not exist, so pairing cannot add identities to the NATS server`,
          fix: "set COMPANION_NATS_DIR to where bakerst nats init wrote its files",
        },
  ];
  if (!settings.COMPANION_BINARY || !existsSync(settings.COMPANION_BINARY)) {
    checks.push({
      ok: true,
      name: "companion binary",
      detail: "no COMPANION_BINARY: bundles carry the checksum of the bakerst-satellite beside bakerst (or dist/) when there is one, else install.sh needs --sha256",
    });
  }
  return checks;
}
