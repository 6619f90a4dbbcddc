import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { companionChecks } from "../../core/companions/doctor.ts";
import { natsInit } from "../../core/nats/init.ts";
import { tempDir, testConfig } from "../helpers/app.ts";

const dir = tempDir("bakerst-companion-doctor-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bakerst doctor: companions", () => {
  test("edge mode says companions are off, without failing", () => {
    expect(companionChecks(testConfig())).toEqual([expect.objectContaining({ ok: true, name: "companions", detail: expect.stringContaining("edge mode") })]);
  });

  test("an open NATS says companions are off; a creds file that is not a seed fails naming it and what to use", () => {
    const [none] = companionChecks(testConfig({ NATS_URL: "nats://127.0.0.1:4222" }));
    expect(none).toMatchObject({ ok: true, detail: expect.stringContaining("off") });
    const notSeed = join(dir, "not-a-seed.creds");
    writeFileSync(notSeed, "hello\n");
    const [bad] = companionChecks(testConfig({ NATS_URL: "nats://127.0.0.1:4222", NATS_CREDS: notSeed }));
    expect(bad).toMatchObject({ ok: false, detail: expect.stringContaining("not an nkey seed"), fix: expect.stringContaining("core.nk") });
  });

  test("with bakerst nats init's core identity it names where pairing writes and the core's public key", () => {
    const init = natsInit({ dir: join(dir, "nats"), version: "test" });
    const core = init.identities.find((i) => i.name === "core")!;
    const [ok] = companionChecks(testConfig({ NATS_URL: "nats://127.0.0.1:4222", NATS_CREDS: core.credsFile }));
    expect(ok?.ok).toBe(true);
    expect(ok?.detail).toBe(`pairing writes identities into ${join(dir, "nats")}; the core signs with ${core.publicKey}`);
  });
});
