import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { sseServer, streamableServer } from "../helpers/mcp-http.ts";

let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  h = await makeApp({ SKILL_CALL_TIMEOUT_MS: "5000" });
});
afterAll(() => h.close());

const ctx = () => ({ signal: new AbortController().signal, conversationId: "c", turnId: "t", origin: "web" as const, emit: () => {} });
const call = (name: string, input: unknown) => h.s.tools.execute(name, input, ctx());
const add = async (spec: Record<string, unknown>) => {
  const res = await h.request("/api/skills", { method: "POST", json: { description: "an HTTP MCP server", tier: 2, ...spec } });
  expect(res.status).toBe(201);
  return res.json();
};
const testSkill = (id: string) => h.request(`/api/skills/${id}/test`, { method: "POST" });

describe("Skills tier 2: MCP over HTTP", () => {
  test("Streamable HTTP with a bearer token from the secrets store; the token never shows", async () => {
    const token = `tok-${crypto.randomUUID()}`;
    const server = streamableServer({ bearer: token });
    try {
      expect((await h.request("/api/secrets/REMOTE_TOKEN", { method: "PUT", json: { value: token } })).status).toBe(200);
      const skill = await add({ name: "remote", url: server.url, transport: "streamable-http", bearerSecret: "REMOTE_TOKEN" });
      const listed = await testSkill(skill.id);
      expect(listed.status).toBe(200);
      expect((await listed.json()).tools.map((t: { name: string }) => t.name)).toContain("remote__add");
      expect(await call("remote__add", { a: 1, b: 2 })).toMatchObject({ ok: true, content: "3" });
      expect(server.refused).toBe(0);
      const view = await (await h.request(`/api/skills/${skill.id}`)).text();
      expect(view).not.toContain(token);
      expect(view).toContain("Authorization");
    } finally {
      server.stop();
    }
  });

  test("without its secret it does not connect, and says which secret is missing", async () => {
    const server = streamableServer({ bearer: "x" });
    try {
      const skill = await add({ name: "nosecret", url: server.url, bearerSecret: "NOT_SET_ANYWHERE" });
      const res = await testSkill(skill.id);
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toContain("NOT_SET_ANYWHERE");
      expect(server.requests).toBe(0);
    } finally {
      server.stop();
    }
  });

  test("a server with only the older SSE transport is reached through the fallback", async () => {
    const server = await sseServer();
    try {
      const skill = await add({ name: "legacy", url: server.url });
      expect((await testSkill(skill.id)).status).toBe(200);
      expect(await call("legacy__echo", { text: "old" })).toMatchObject({ ok: true, content: "echo: old" });
    } finally {
      server.stop();
    }
  });

  test("a server that went away fails the call with the reason, and is reached again once it is back", async () => {
    const server = streamableServer();
    const skill = await add({ name: "flaky", url: server.url, transport: "streamable-http" });
    expect((await testSkill(skill.id)).status).toBe(200);
    server.stop();
    const down = await call("flaky__echo", { text: "x" });
    expect(down.ok).toBe(false);
    expect(down.content).toContain("flaky__echo failed");
    const back = streamableServer({ port: Number(new URL(server.url).port) });
    try {
      expect(await call("flaky__echo", { text: "again" })).toMatchObject({ ok: true, content: "echo: again" });
    } finally {
      back.stop();
    }
  });

  test("an unreachable URL is a 503 naming it, and health shows the skill degraded", async () => {
    const skill = await add({ name: "nowhere", url: "http://127.0.0.1:9/mcp", transport: "streamable-http" });
    const res = await testSkill(skill.id);
    expect(res.status).toBe(503);
    const health = await (await h.request("/api/system/health")).json();
    expect(JSON.stringify(health.components?.skills ?? health.skills ?? health)).toContain("nowhere");
  });
});
