import { accessSync, constants, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";
import { migrationCount, openStore } from "../db/client.ts";
import { makePrivateDir, octal, tooOpen } from "../db/private-files.ts";
import { createModels } from "../models/index.ts";
import { parseRef } from "../models/router.ts";
import { silentLogger } from "../telemetry/log.ts";
import { serviceChecks } from "./doctor-services.ts";

export interface Check {
  ok: boolean;
  name: string;
  detail: string;
  fix?: string;
}

/** Each check is a line: ✓ or ✗, what was found, and on ✗ how to fix it. */
export async function runDoctor(config: Config): Promise<Check[]> {
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
          detail: `readable by others: ${open.slice(0, 5).map((c) => `${c.path} (${octal(c.from)})`).join(", ")}${open.length > 5 ? ` and ${open.length - 5} more` : ""}`,
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
              add({ ok: false, name: `role ${role}`, detail: `${ref} is not among the models ${name} lists`, fix: `set MODEL_${role.toUpperCase()} to one of: ${ids.slice(0, 5).join(", ")}` });
            }
          }
        }
      } catch (err) {
        const url = name === "anthropic" ? (config.anthropic.baseURL ?? "https://api.anthropic.com") : config.openai.baseURL;
        add({
          ok: false,
          name: `provider ${name}`,
          detail: `${url}: ${(err as Error).message}`,
          fix: name === "anthropic" ? "check ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL and the network" : "check that the server at OPENAI_BASE_URL is running (for Ollama: ollama serve)",
        });
      }
    }
    const roles = models.settings.roles();
    if (providers.length && !roles.agent.length) {
      add({ ok: false, name: "role agent", detail: "no model chosen for chat", fix: "set MODEL_AGENT=openai:<model name>, e.g. openai:llama3.1" });
    }
    store.close();
  }
  checks.push(...(await serviceChecks(config)));
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n    fix: ${c.fix}` : ""}`).join("\n");
}
