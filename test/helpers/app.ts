import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSseBlock } from "../../core/api/sse.ts";
import { AREAS } from "../../core/areas.ts";
import { loadConfig } from "../../core/config/index.ts";
import { type AssembleOptions, assemble, startServer } from "../../core/server.ts";
import { createLogger } from "../../core/telemetry/log.ts";

export const TOKEN = "test-token-0123456789abcdef";

export function tempDir(prefix = "bakerst-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(env: Record<string, string | undefined> = {}, dataDir = tempDir()) {
  return loadConfig({
    schemas: AREAS.map((a) => ({ name: a.name, ...a.config })),
    env: { BAKERST_DATA_DIR: dataDir, AUTH_TOKEN: TOKEN, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: process.env.TEST_LOG ?? "silent", MODEL_MAX_RETRIES: "2", ...env },
  });
}

const quietLog = () => createLogger((process.env.TEST_LOG as "debug") ?? "silent");

/** The whole app in-process, driven through `app.handle` (no socket). */
export async function makeApp(env: Record<string, string | undefined> = {}, opts: AssembleOptions & { dataDir?: string } = {}) {
  const dataDir = opts.dataDir ?? tempDir();
  const config = testConfig(env, dataDir);
  const { services, app, provided } = await assemble(config, { log: quietLog(), ...opts });
  const request = (path: string, init: RequestInit & { json?: unknown; auth?: boolean } = {}) => {
    const headers = new Headers(init.headers);
    if (init.auth !== false && !headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN}`);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    return app.handle(
      new Request(`http://localhost${path}`, {
        ...init,
        headers,
        body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
      }),
    );
  };
  return {
    app,
    s: services,
    /** A service an area provides (the secrets store, the memory...), straight. */
    need<K extends keyof typeof provided>(name: K): NonNullable<(typeof provided)[K]> {
      const v = provided[name];
      if (v === undefined) throw new Error(`no area provides ${String(name)}`);
      return v as NonNullable<(typeof provided)[K]>;
    },
    config,
    dataDir,
    request,
    async close(removeData = true) {
      await services.close();
      if (removeData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The whole app on a real loopback socket, for SSE and disconnect tests. */
export async function serveApp(env: Record<string, string | undefined> = {}, opts: AssembleOptions & { dataDir?: string } = {}) {
  const dataDir = opts.dataDir ?? tempDir();
  const server = await startServer(testConfig(env, dataDir), { log: quietLog(), quiet: true, ...opts });
  return { ...server, dataDir, auth: { authorization: `Bearer ${TOKEN}` } };
}

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Reads a whole text/event-stream body into events. */
export async function readSse(res: Response): Promise<SseEvent[]> {
  return parseSse(await res.text());
}

export function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").flatMap((block) => {
    const ev = parseSseBlock(block);
    return ev ? [{ ...ev, ...(ev.id !== undefined ? { id: String(ev.id) } : {}) } as SseEvent] : [];
  });
}
