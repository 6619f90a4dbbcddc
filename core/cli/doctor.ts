import { accessSync, constants, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseRef } from "../agent/router.ts";
import type { Area } from "../area/types.ts";
import { resolveToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";
import { migrationCount, openStore } from "../db/client.ts";
import { makePrivateDir, octal, tooOpen } from "../db/private-files.ts";
import { createModels } from "../models/index.ts";
import { coreAuth, natsExposure } from "../nats/client.ts";
import { silentLogger } from "../telemetry/log.ts";
import { type Check, elapsed } from "./check.ts";

export type { Check } from "./check.ts";

/** The bus: in cluster mode, NATS reachable with the core's identity and JetStream on, and not open to clients without one (unless NATS_INSECURE). */
async function natsChecks(config: Config): Promise<Check[]> {
  const url = config.nats.url;
  if (!url) return [];
  const t0 = performance.now();
  try {
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: url, timeout: 5_000, ...(await coreAuth(config.nats)) });
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    await nc.close();
    const reached: Check = { ok: true, name: "nats", detail: `${url} reachable in ${elapsed(t0)}, JetStream on (${info.streams} streams)` };
    const exposure = await natsExposure(config.nats);
    if (!exposure.open) return [reached, { ok: true, name: "nats auth", detail: `identity from ${config.nats.credsFile}; ${exposure.detail}` }];
    if (config.nats.insecure) return [reached, { ok: true, name: "nats auth", detail: `open NATS accepted because NATS_INSECURE=true: ${exposure.detail}` }];
    return [reached, { ok: false, name: "nats auth", detail: `${exposure.detail}; bakerst serve refuses an open NATS`, fix: exposure.fix }];
  } catch (err) {
    return [
      {
        ok: false,
        name: "nats",
        detail: `${url}: ${(err as Error).message}`,
        fix: "start nats-server with JetStream (-js), check NATS_URL and NATS_CREDS, or unset NATS_URL for edge mode",
      },
    ];
  }
}

/** Each check is a line: ✓ or ✗, what was found, and on ✗ how to fix it. The kernel's first, then each area's. */
export async function runDoctor(config: Config, areas: readonly Area[]): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  add({ ok: true, name: "config", detail: config.file ? `environment + ${config.file}` : "environment (no bakerst.json/yaml in the data dir)" });

  try {
    makePrivateDir(config.dataDir);
    const probe = join(config.dataDir, `.doctor-${process.pid}`);
    writeFileSync(probe, "ok", { mode: 0o600 });
    unlinkSync(probe);
    accessSync(config.dataDir, constants.W_OK);
    add({ ok: true, name: "data dir", detail: `${config.dataDir} is writable` });
  } catch (err) {
    add({ ok: false, name: "data dir", detail: `${config.dataDir}: ${(err as Error).message}`, fix: "set BAKERST_DATA_DIR to a directory this user can write" });
    return checks;
  }

  let store: ReturnType<typeof openStore> | undefined;
  try {
    store = openStore(config.dataDir);
    add({ ok: true, name: "database", detail: `${store.path} (${migrationCount()} migrations applied)` });
    const t0 = performance.now();
    const problems = (store.sqlite.query("PRAGMA quick_check(5)").all() as { quick_check: string }[]).map((r) => r.quick_check).filter((r) => r !== "ok");
    add(
      problems.length
        ? {
            ok: false,
            name: "integrity",
            detail: `${store.path}: ${problems.join("; ")}`,
            fix: "stop bakerst and restore bakerst.db from a backup; the damaged pages cannot be trusted",
          }
        : { ok: true, name: "integrity", detail: `quick check passed in ${elapsed(t0)}` },
    );
  } catch (err) {
    add({ ok: false, name: "database", detail: (err as Error).message, fix: "check disk space and permissions; restore data/bakerst.db from a backup if it is corrupt" });
  }

  const token = resolveToken(config.dataDir, config.authToken);
  if (token.from === "env") add({ ok: true, name: "auth", detail: "AUTH_TOKEN is set" });
  else {
    const mode = statSync(token.from).mode & 0o777;
    add(
      mode & 0o077
        ? { ok: false, name: "auth", detail: `${token.from} is readable by others (mode ${mode.toString(8)})`, fix: `chmod 600 ${token.from}` }
        : { ok: true, name: "auth", detail: `token in ${token.from} (mode 600)` },
    );
  }

  const open = tooOpen(config.dataDir);
  add(
    open.length
      ? {
          ok: false,
          name: "file modes",
          detail: `readable by others: ${open
            .slice(0, 5)
            .map((c) => `${c.path} (${octal(c.from)})`)
            .join(", ")}${open.length > 5 ? ` and ${open.length - 5} more` : ""}`,
          fix: `chmod -R go-rwx ${config.dataDir} (bakerst serve also does this at start)`,
        }
      : { ok: true, name: "file modes", detail: `${config.dataDir} and everything in it are private to this user (dirs 0700, files 0600)` },
  );

  if (store) {
    const models = createModels(config, store.db, silentLogger);
    const providers = models.router.providers();
    if (!providers.length) {
      add({
        ok: false,
        name: "models",
        detail: "no model provider configured; chat answers 503 until one is",
        fix: "set ANTHROPIC_API_KEY (or ANTHROPIC_OAUTH_TOKEN), or OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama) with MODEL_AGENT=openai:<model>",
      });
    }
    for (const name of providers) {
      const started = performance.now();
      try {
        const ids = await models.router.provider(name)!.listModels(AbortSignal.timeout(8_000));
        add({ ok: true, name: `provider ${name}`, detail: `reachable in ${Math.round(performance.now() - started)} ms, ${ids.length} models` });
        for (const [role, chain] of Object.entries(models.settings.roles())) {
          for (const ref of chain) {
            const { provider, model } = parseRef(ref);
            if (provider === name && ids.length && !ids.some((id) => id === model || id.startsWith(model))) {
              add({
                ok: false,
                name: `role ${role}`,
                detail: `${ref} is not among the models ${name} lists`,
                fix: `set MODEL_${role.toUpperCase()} to one of: ${ids.slice(0, 5).join(", ")}`,
              });
            }
          }
        }
      } catch (err) {
        const url = name === "anthropic" ? (config.anthropic.baseURL ?? "https://api.anthropic.com") : config.openai.baseURL;
        add({
          ok: false,
          name: `provider ${name}`,
          detail: `${url}: ${(err as Error).message}`,
          fix:
            name === "anthropic"
              ? "check ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL and the network"
              : "check that the server at OPENAI_BASE_URL is running (for Ollama: ollama serve)",
        });
      }
    }
    const roles = models.settings.roles();
    if (providers.length && !roles.agent.length) {
      add({ ok: false, name: "role agent", detail: "no model chosen for chat", fix: "set MODEL_AGENT=openai:<model name>, e.g. openai:llama3.1" });
    }
    store.close();
  }
  checks.push(...(await natsChecks(config)));
  for (const area of areas) {
    try {
      checks.push(...((await area.doctor?.(config)) ?? []));
    } catch (err) {
      checks.push({ ok: false, name: area.name, detail: `its checks failed: ${(err as Error).message}` });
    }
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n    fix: ${c.fix}` : ""}`).join("\n");
}
