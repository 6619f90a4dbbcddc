import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fromSeed } from "@nats-io/nkeys";
import { connect } from "@nats-io/transport-node";
import { natsAuthenticator } from "../../core/bus/nats-connect.ts";
import { CONFIG_FILE, natsInit } from "../../core/nats/init.ts";
import { inboxPrefix } from "../../core/protocol/permissions.ts";
import { tempDir } from "../helpers/app.ts";
import { startNatsWithConfig, waitFor } from "../helpers/nats.ts";

const main = join(import.meta.dir, "..", "..", "core", "main.ts");
const cli = (args: string[], dataDir = tempDir()) =>
  Bun.spawnSync([process.execPath, main, ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BAKERST_DATA_DIR: dataDir }, stdout: "pipe", stderr: "pipe" });
const mode = (p: string) => statSync(p).mode & 0o777;
const seeds = (dir: string) => Object.fromEntries(readdirSync(join(dir, "creds")).map((f) => [f, readFileSync(join(dir, "creds", f), "utf8")]));

describe("bakerst nats init", () => {
  test("writes the server config and one seed per identity: seeds 0600 in a 0700 dir, no anonymous user", () => {
    const data = tempDir();
    const r = cli(["nats", "init", "--companion", "nas1", "--extension", "weather"], data);
    expect(r.exitCode).toBe(0);
    const dir = join(data, "nats");
    const out = r.stdout.toString();
    expect(out).toContain(`Wrote ${join(dir, CONFIG_FILE)}`);
    expect(out).toContain(`nats-server -c ${join(dir, CONFIG_FILE)}`);
    expect(out).toContain(`NATS_CREDS=${join(dir, "creds", "core.nk")} bakerst serve`);
    expect(out).toContain(`NATS_CREDS=${join(dir, "creds", "worker.nk")} bakerst-satellite --mode worker`);
    expect(Object.keys(seeds(dir)).sort()).toEqual(["companion-nas1.nk", "core.nk", "extension-weather.nk", "task.nk", "worker.nk"]);
    expect(mode(join(dir, "creds"))).toBe(0o700);
    const config = readFileSync(join(dir, CONFIG_FILE), "utf8");
    for (const [file, seed] of Object.entries(seeds(dir))) {
      expect(mode(join(dir, "creds", file))).toBe(0o600);
      expect(config).toContain(fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey());
      // Seeds never go into the config.
      expect(config).not.toContain(seed.trim());
    }
    expect(config).not.toMatch(/^\s*(no_auth_user|password|token|user)\s*[:=]/m);
    expect(config).toContain('listen: "127.0.0.1:4222"');
    const test = Bun.spawnSync(["nats-server", "-c", join(dir, CONFIG_FILE), "-t"], { env: { PATH: `${process.env.PATH}:/usr/sbin` }, stdout: "pipe", stderr: "pipe" });
    expect(test.exitCode).toBe(0);
  }, 30_000);

  test("run again, it adds identities and keeps every existing seed and setting; --rotate replaces them all", () => {
    const dir = tempDir();
    natsInit({ dir, listen: "0.0.0.0:4333", companions: ["a"], version: "t" });
    const first = seeds(dir);
    const again = natsInit({ dir, extensions: ["x"], version: "t" });
    expect(again.settings.listen).toBe("0.0.0.0:4333");
    expect(again.identities.map((i) => [i.name, i.state])).toEqual([
      ["core", "kept"],
      ["worker", "kept"],
      ["task", "kept"],
      ["companion-a", "kept"],
      ["extension-x", "new"],
    ]);
    const second = seeds(dir);
    for (const [file, seed] of Object.entries(first)) expect(second[file]).toBe(seed);
    const rotated = natsInit({ dir, rotate: true, version: "t" });
    expect(rotated.identities.every((i) => i.state === "rotated")).toBe(true);
    const third = seeds(dir);
    expect(Object.keys(third).sort()).toEqual(Object.keys(second).sort());
    for (const [file, seed] of Object.entries(second)) expect(third[file]).not.toBe(seed);
  });

  test("names that are not subject tokens are refused and nothing is written", () => {
    for (const bad of ["a.b", "*", ">", "a b", "", "x".repeat(129), "nas/1", "ü"]) {
      const data = tempDir();
      const r = cli(["nats", "init", "--companion", bad], data);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString()).toContain("cannot be used in a NATS subject");
      expect(existsSync(join(data, "nats"))).toBe(false);
    }
    const r = cli(["nats", "init", "--extension", "ok", "--listen", "nowhere"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("--listen must be HOST:PORT");
    expect(cli(["nats", "init", "--bogus"]).exitCode).toBe(2);
    expect(cli(["nats", "frobnicate"]).exitCode).toBe(2);
  }, 30_000);

  test("--store-dir and --pid-file put the server's files where a container can write them (deploy/ does)", () => {
    const out = tempDir();
    const r = cli(["nats", "init", "--out", out, "--listen", "0.0.0.0:4222", "--store-dir", "/data/jetstream", "--pid-file", "/data/nats-server.pid"]);
    expect(r.exitCode).toBe(0);
    const conf = readFileSync(join(out, CONFIG_FILE), "utf8");
    expect(conf).toContain('pid_file: "/data/nats-server.pid"');
    expect(conf).toContain('store_dir: "/data/jetstream"');
    expect(conf).toContain('listen: "0.0.0.0:4222"');
  }, 15_000);

  test("--help lists its options, and bakerst --help lists the command", () => {
    expect(cli(["nats", "--help"]).stdout.toString()).toContain("--companion NAME");
    expect(cli(["--help"]).stdout.toString()).toContain("nats init");
  }, 15_000);

  test("adding a companion to a running server reloads it (SIGHUP): the new identity gets in, connected clients stay", async () => {
    const dir = tempDir();
    natsInit({ dir, version: "t" });
    const server = await startNatsWithConfig(join(dir, CONFIG_FILE));
    const as = (file: string, identity: Parameters<typeof inboxPrefix>[0]) =>
      connect({ servers: server.url, reconnect: false, authenticator: natsAuthenticator(readFileSync(file), file), inboxPrefix: inboxPrefix(identity) });
    try {
      const core = await as(join(dir, "creds", "core.nk"), { role: "core" });
      const added = natsInit({ dir, companions: ["late"], version: "t" });
      expect(added.reloaded).toBe(server.pid);
      const late = added.identities.find((i) => i.name === "companion-late")!.credsFile;
      const companion = await waitFor("the new companion let in after the reload", () => as(late, { role: "companion", id: "late" }).catch(() => undefined), 10_000, 100);
      let heard = 0;
      core.subscribe("bakerst.companions.announce", { callback: () => void heard++ });
      await core.flush();
      companion.publish("bakerst.companions.announce", "{}");
      await waitFor("the announcement at the core, over the connection opened before the reload", () => heard === 1);
      await companion.close();
      await core.close();
    } finally {
      await server.stop();
    }
  }, 30_000);
});
