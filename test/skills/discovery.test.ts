import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { skillCommand } from "../../core/skills/cli.ts";
import { serveApp, TOKEN, testConfig } from "../helpers/app.ts";
import { startRegistryStandIn } from "../standins/mcp-registry.ts";

const registry = startRegistryStandIn([
  {
    name: "io.github.example/weather",
    description: "Weather forecasts",
    version: "1.2.0",
    remotes: [{ type: "streamable-http", url: "https://weather.example.com/mcp" }],
  },
  {
    name: "io.github.example/mcp-server-notes",
    description: "Notes in markdown",
    version: "0.4.1",
    packages: [
      { registryType: "npm", identifier: "@example/mcp-notes", version: "0.4.1", transport: { type: "stdio" }, environmentVariables: [{ name: "NOTES_TOKEN", isSecret: true }] },
    ],
  },
  { name: "io.github.example/nothing", description: "Neither remote nor package", version: "1.0.0" },
]);
let app: Awaited<ReturnType<typeof serveApp>>;
beforeAll(async () => {
  app = await serveApp({ MCP_REGISTRY_URL: registry.url });
});
afterAll(async () => {
  await app.stop();
  registry.stop();
});
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${app.url}${path}`, { ...init, headers: { ...app.auth, "content-type": "application/json", ...(init.headers as Record<string, string>) } });

describe("Skills discovery: the MCP registry", () => {
  test("a search answers results with proposals: a remote as tier 2, an npm package as tier 1 with its secret named, not filled", async () => {
    const res = await api("/api/skills/registry?q=e");
    expect(res.status).toBe(200);
    const { results } = await res.json();
    const byName = Object.fromEntries(results.map((r: { name: string }) => [r.name, r]));
    expect(byName["io.github.example/weather"].proposal).toMatchObject({ name: "weather", tier: 2, url: "https://weather.example.com/mcp", transport: "streamable-http" });
    expect(byName["io.github.example/mcp-server-notes"].proposal).toMatchObject({
      name: "notes",
      tier: 1,
      command: ["/usr/bin/npx", "--yes", "@example/mcp-notes@0.4.1"],
      package: { registry: "npm", name: "@example/mcp-notes", version: "0.4.1" },
      secrets: ["NOTES_TOKEN"],
    });
    expect(byName["io.github.example/nothing"].why).toContain("no remote");
  });

  test("a result turned into a proposal waits for approval; bakerst skill approve shows what it runs and approves it", async () => {
    const { results } = await (await api("/api/skills/registry?q=weather")).json();
    const proposed = await api("/api/skills/propose", { method: "POST", body: JSON.stringify(results[0].proposal) });
    expect(proposed.status).toBe(201);
    const skill = await proposed.json();
    expect(skill).toMatchObject({ status: "pending", source: "registry" });
    expect((await api(`/api/skills/${skill.id}/test`, { method: "POST" })).status).toBe(409);
    const out: string[] = [];
    const err: string[] = [];
    const code = await skillCommand(["approve", "weather", "--server", app.url, "--token", TOKEN], () => testConfig(), { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
    expect(err.join("")).toBe("");
    expect(code).toBe(0);
    expect(out.join("")).toContain("url: https://weather.example.com/mcp");
    expect(out.join("")).toContain(`hash: ${skill.wouldRun.hash}`);
    expect((await (await api(`/api/skills/${skill.id}`)).json()).status).toBe("approved");
    expect(await skillCommand(["approve", "weather", "--server", app.url, "--token", TOKEN], () => testConfig(), { stdout: () => {}, stderr: (s) => err.push(s) })).toBe(1);
    expect(err.join("")).toContain("approved already");
  });

  test("a registry that is down is a 503 naming it", async () => {
    const down = await serveApp({ MCP_REGISTRY_URL: "http://127.0.0.1:9" });
    try {
      const res = await fetch(`${down.url}/api/skills/registry?q=x`, { headers: down.auth });
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toContain("127.0.0.1:9");
    } finally {
      await down.stop();
    }
  });
});
