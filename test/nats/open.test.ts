import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect } from "@nats-io/transport-node";
import { AREAS } from "../../core/areas.ts";
import { formatChecks, runDoctor } from "../../core/cli/doctor.ts";
import { JOBS_STREAM } from "../../core/protocol/subjects.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { makeApp, tempDir, testConfig } from "../helpers/app.ts";
import { type NatsServer, startNats } from "../helpers/nats.ts";
import { type SecuredNats, startSecuredNats } from "../helpers/nats-identities.ts";

/** The core in cluster mode refuses a NATS that lets anyone in, unless told NATS_INSECURE=true. */
let open: NatsServer;
let secured: SecuredNats;
let strangerSeed: string;

beforeAll(async () => {
  open = await startNats();
  secured = await startSecuredNats();
  strangerSeed = join(tempDir(), "stranger.nk");
  writeFileSync(strangerSeed, `${new TextDecoder().decode(createUser().getSeed())}\n`, { mode: 0o600 });
}, 30_000);
afterAll(async () => {
  await open.cleanup();
  await secured.cleanup();
});

async function streamExists(url: string): Promise<boolean> {
  const nc = await connect({ servers: url });
  try {
    await (await jetstreamManager(nc)).streams.info(JOBS_STREAM);
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}

const main = join(import.meta.dir, "..", "..", "core", "main.ts");

describe("The core against an open NATS", () => {
  test("with no credentials it refuses to start, naming NATS_INSECURE, before touching the server", async () => {
    await expect(makeApp({ NATS_URL: open.url })).rejects.toThrow(/NATS at nats:\/\/127\.0\.0\.1:\d+ is open: NATS_CREDS is not set.*NATS_INSECURE=true/);
    expect(await streamExists(open.url)).toBe(false);
  }, 30_000);

  test("with credentials, on a server that lets in a client without any, it refuses too, creating nothing there", async () => {
    await expect(makeApp({ NATS_URL: open.url, NATS_CREDS: strangerSeed })).rejects.toThrow(/lets in a client without credentials.*NATS_INSECURE=true/);
    expect(await streamExists(open.url)).toBe(false);
  }, 30_000);

  test("the binary stops with the message and exit code 2", async () => {
    const p = Bun.spawn([process.execPath, main, "serve"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BAKERST_DATA_DIR: tempDir(), HOST: "127.0.0.1", PORT: "0", NATS_URL: open.url, LOG_LEVEL: "silent" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^bakerst: NATS at .* is open: .*run `bakerst nats init`.*or set NATS_INSECURE=true/);
  }, 30_000);

  test("with NATS_INSECURE=true it starts, and says so in a warning and in health", async () => {
    const lines: string[] = [];
    const h = await makeApp({ NATS_URL: open.url, NATS_INSECURE: "true" }, { log: createLogger("warn", {}, (l) => lines.push(l) > 0) });
    try {
      expect(lines.map((l) => JSON.parse(l).msg)).toContain("NATS is open and NATS_INSECURE=true: anyone who reaches it can dispatch jobs and forge their results");
      const health = await (await h.request("/api/system/health")).json();
      expect(health.components.nats_auth).toMatchObject({ status: "degraded", detail: expect.stringContaining("NATS_INSECURE=true") });
      expect(health.components.nats_auth.fix).toContain("bakerst nats init");
    } finally {
      await h.close();
    }
  }, 30_000);

  test("a credentials file that is not one is a config error naming NATS_CREDS", async () => {
    const bad = join(tempDir(), "not-a-seed");
    writeFileSync(bad, "hello\n");
    await expect(makeApp({ NATS_URL: secured.url, NATS_CREDS: bad })).rejects.toThrow(/NATS_CREDS .*neither an nkey user seed/);
  });
});

describe("bakerst doctor on NATS identities", () => {
  test("an open NATS is a ✗ naming the fix; NATS_INSECURE makes it a ✓ that says so", async () => {
    const refused = formatChecks(await runDoctor(testConfig({ NATS_URL: open.url }), AREAS));
    expect(refused).toContain(`✓ nats: ${open.url} reachable`);
    expect(refused).toContain("✗ nats auth: NATS_CREDS is not set, so the core connects without an identity; bakerst serve refuses an open NATS");
    expect(refused).toContain("fix: run `bakerst nats init`");
    const accepted = formatChecks(await runDoctor(testConfig({ NATS_URL: open.url, NATS_INSECURE: "true" }), AREAS));
    expect(accepted).toContain("✓ nats auth: open NATS accepted because NATS_INSECURE=true");
  }, 30_000);

  test("the core's identity on a server with identities is a ✓", async () => {
    const core = secured.credsFile({ role: "core" });
    const out = formatChecks(await runDoctor(testConfig({ NATS_URL: secured.url, NATS_CREDS: core }), AREAS));
    expect(out).toContain(`✓ nats: ${secured.url} reachable`);
    expect(out).toContain(`✓ nats auth: identity from ${core}; anonymous connections are refused`);
  }, 30_000);
});
