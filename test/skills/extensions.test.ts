import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createUser } from "@nats-io/nkeys";
import { connect, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node";
import { Signer, subjects } from "../../core/protocol/index.ts";
import { type RunningExtension, startExtension } from "../../satellite/extension/kit.ts";
import { buildServer } from "../fixtures/skills/server.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type SecuredNats, startSecuredNats } from "../helpers/nats-identities.ts";

/** A real nats-server with identities from `bakerst nats init`: the core, and two extensions with their own nkeys. */
let nats: SecuredNats;
let h: Awaited<ReturnType<typeof makeApp>>;
let seed: string;
let otherSeed: string;

const publicOf = (s: string) => new Signer(s).publicKey;

beforeAll(async () => {
  nats = await startSecuredNats({ extensions: ["fixture", "other"] });
  seed = readFileSync(nats.credsFile({ role: "extension", id: "fixture" }), "utf8").trim();
  otherSeed = readFileSync(nats.credsFile({ role: "extension", id: "other" }), "utf8").trim();
  h = await makeApp({
    NATS_URL: nats.url,
    NATS_CREDS: nats.credsFile({ role: "core" }),
    EXTENSION_KEYS: `fixture=${publicOf(seed)},other=${publicOf(otherSeed)}`,
    EXTENSION_OFFLINE_MS: "1500",
  });
});
afterAll(async () => {
  await h.close();
  await nats.cleanup();
});

const ctx = () => ({ signal: new AbortController().signal, conversationId: "c", turnId: "t", origin: "web" as const, emit: () => {} });
const call = (name: string, input: unknown) => h.s.tools.execute(name, input, ctx());
const extensions = async () => (await (await h.request("/api/extensions")).json()).extensions as { id: string; status: string; tools: { name: string }[] }[];
const auditRows = (action: string) => {
  h.s.audit.flush();
  return h.s.store.sqlite.query("SELECT outcome, target, detail FROM audit_log WHERE action = ? ORDER BY id").all(action) as {
    outcome: string;
    target: string | null;
    detail: string;
  }[];
};

async function asExtension(s: string, name: string): Promise<NatsConnection> {
  return connect({ servers: nats.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(s)), name });
}

describe("Extensions (tier 3): signed announces on NATS", () => {
  let ext: RunningExtension | undefined;
  afterAll(async () => ext?.stop());

  test("a forged announce is refused: unknown key, a key for another id, a tampered body; no tool appears", async () => {
    const before = auditRows("extension.refused").length;
    const nc = await asExtension(otherSeed, "forger");
    const announce = subjects.extensionAnnounce();
    const body = { v: 1, id: "fixture", url: "http://127.0.0.1:9/mcp", tools: [{ name: "evil", inputSchema: { type: "object" } }] };
    // Signed by "other", claiming to be "fixture".
    nc.publish(announce, new Signer(otherSeed).sealBytes(announce, body));
    // Signed by a key nobody trusts.
    nc.publish(announce, new Signer(new TextDecoder().decode(createUser().getSeed())).sealBytes(announce, body));
    // Signed by the right key for another subject, then moved here.
    nc.publish(announce, new Signer(seed).sealBytes(subjects.extensionHeartbeat("fixture"), body));
    // Signed right, then tampered with.
    const env = new Signer(seed).seal(announce, body);
    nc.publish(announce, new TextEncoder().encode(JSON.stringify({ ...env, body: env.body.replace("127.0.0.1:9", "127.0.0.1:10") })));
    nc.publish(announce, new TextEncoder().encode("not json"));
    await nc.flush();
    await waitFor("five refusals", () => auditRows("extension.refused").length - before >= 5);
    expect(h.s.tools.has("fixture__evil")).toBe(false);
    expect((await extensions()).filter((e) => e.status === "online")).toEqual([]);
    await nc.drain();
  });

  test("an announced extension's tools appear within a second, work, and vanish when its beats stop", async () => {
    const started = Date.now();
    ext = await startExtension({ id: "fixture", seed, natsUrl: nats.url, server: buildServer, listen: { hostname: "127.0.0.1", port: 0 }, heartbeatMs: 300 });
    await waitFor("its tools", () => h.s.tools.has("fixture__add"), 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await call("fixture__add", { a: 20, b: 22 })).toMatchObject({ ok: true, content: "42" });
    const listed = await extensions();
    expect(listed.find((e) => e.id === "fixture")).toMatchObject({ status: "online" });
    expect(auditRows("extension.announced").at(-1)?.target).toBe("fixture");
    await ext.stop();
    ext = undefined;
    await waitFor("withdrawn when offline", () => !h.s.tools.has("fixture__add"), 10_000);
  }, 20_000);

  test("a revoked extension's tools go at once and its announces are refused after", async () => {
    ext = await startExtension({ id: "other", seed: otherSeed, natsUrl: nats.url, server: buildServer, listen: { hostname: "127.0.0.1", port: 0 }, heartbeatMs: 300 });
    await waitFor("its tools", () => h.s.tools.has("other__echo"), 2000);
    const res = await h.request("/api/extensions/other/revoke", { method: "POST" });
    expect(res.status).toBe(200);
    expect(h.s.tools.has("other__echo")).toBe(false);
    const refusedBefore = auditRows("extension.refused").length;
    await waitFor("its next announce refused", () => auditRows("extension.refused").length > refusedBefore, 5000);
    expect(h.s.tools.has("other__echo")).toBe(false);
    expect((await extensions()).find((e) => e.id === "other")?.status).toBe("revoked");
  }, 20_000);
});
