import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AREAS } from "../../core/areas.ts";
import { ConfigError, loadConfig } from "../../core/config/index.ts";
import { jobsKeys } from "../../core/jobs/keys.ts";
import { CommandGrammarsSpec } from "../../core/protocol/index.ts";
import { tempDir } from "../helpers/app.ts";

const schemas = AREAS.map((a) => ({ name: a.name, ...a.config }));
const load = (env: Record<string, string>, dir = tempDir()) => loadConfig({ env: { BAKERST_DATA_DIR: dir, ...env }, cwd: dir, schemas });

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  test("defaults give edge mode on :3000 with data in ./data", () => {
    const dir = tempDir();
    const c = loadConfig({ env: {}, cwd: dir });
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe(join(dir, "data"));
    expect(c.nats.url).toBeUndefined();
    expect(c.maxBodyBytes).toBe(1024 * 1024);
  });

  test("a bad value stops startup with a message naming the key and what is expected", () => {
    const e = failure(() => load({ PORT: "abc" }));
    expect(e.key).toBe("PORT");
    expect(e.message).toContain("PORT");
    expect(e.message).toContain("an integer in 0..65535");
    expect(e.message).toContain('"abc"');
    expect(failure(() => load({ ANTHROPIC_BASE_URL: "not a url" })).message).toContain("ANTHROPIC_BASE_URL");
    expect(failure(() => load({ LOG_LEVEL: "loud" })).message).toContain("one of debug, info, warn, error, silent");
    expect(failure(() => load({ DAILY_BUDGET_USD: "-1" })).key).toBe("DAILY_BUDGET_USD");
    expect(failure(() => load({ MODEL_AGENT: "claude-sonnet-5-5" })).message).toContain("provider:model");
  });

  test("lists split on commas; model chains keep their order", () => {
    const c = load({ CORS_ORIGINS: "http://a.test, http://b.test", MODEL_AGENT: "anthropic:claude-x,openai:llama3.1:8b" });
    expect(c.corsOrigins).toEqual(["http://a.test", "http://b.test"]);
    expect(c.models.roles.agent).toEqual(["anthropic:claude-x", "openai:llama3.1:8b"]);
  });

  test("the data-dir file is read, and the environment wins over it", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bakerst.json"), JSON.stringify({ PORT: 4000, LOG_LEVEL: "warn", models: { prices: { "my-model": { input: 1, output: 2 } } } }));
    const c = load({ PORT: "5000" }, dir);
    expect(c.port).toBe(5000);
    expect(c.logLevel).toBe("warn");
    expect(c.models.prices["my-model"]).toEqual({ input: 1, output: 2 });
    expect(c.file).toBe(join(dir, "bakerst.json"));
  });

  test("YAML works as well as JSON", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bakerst.yaml"), 'PORT: 4100\nCORS_ORIGINS:\n  - http://x.test\nmodels:\n  roles:\n    agent: ["openai:qwen"]\n');
    const c = load({}, dir);
    expect(c.port).toBe(4100);
    expect(c.corsOrigins).toEqual(["http://x.test"]);
    expect(c.models.roles.agent).toEqual(["openai:qwen"]);
  });

  test("a typo or a bad shape in the file names the key and the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bakerst.json"), JSON.stringify({ PROT: 1 }));
    const e = failure(() => load({}, dir));
    expect(e.key).toBe("PROT");
    expect(e.source).toBe(join(dir, "bakerst.json"));

    writeFileSync(join(dir, "bakerst.json"), JSON.stringify({ models: { roles: { agent: ["gpt"] } } }));
    expect(failure(() => load({}, dir)).key).toBe("models.roles.agent.0");

    writeFileSync(join(dir, "bakerst.json"), "{ not json");
    expect(failure(() => load({}, dir)).message).toContain("valid JSON");
  });

  test("the commands: section declares command grammars; a bad one names the key path", () => {
    const dir = tempDir();
    const seq = { syntax: "gnu", operands: { max: 1, pattern: "[0-9]+" } };
    writeFileSync(join(dir, "bakerst.yaml"), "commands:\n  seq:\n    syntax: gnu\n    operands: { max: 1, pattern: '[0-9]+' }\n");
    expect(load({}, dir).section("commands", CommandGrammarsSpec)).toEqual({ seq } as never);
    const bad: [unknown, string][] = [
      [{ seq: { syntax: "bash" } }, "commands.seq.syntax"],
      [{ seq: { syntax: "gnu", options: [{ long: ["x"], value: "sometimes" }] } }, "commands.seq.options.0.value"],
      [{ seq: { syntax: "gnu", options: [{ long: ["x"], valu: "required" }] } }, "commands.seq.options.0.valu"],
      [{ seq: { ...seq, sandbox: { network: "yes" } } }, "commands.seq.sandbox.network"],
      [{ "/bin/seq": seq }, "commands./bin/seq"],
    ];
    for (const [commands, key] of bad) {
      writeFileSync(join(dir, "bakerst.yaml"), JSON.stringify({ commands }));
      const e = failure(() => load({}, dir));
      expect(e.key).toBe(key);
      expect(e.source).toBe(join(dir, "bakerst.yaml"));
    }
  });

  test("COMMAND_SANDBOX is required unless set to off", () => {
    expect(load({}).read(jobsKeys).COMMAND_SANDBOX).toBe("required");
    expect(load({ COMMAND_SANDBOX: "off" }).read(jobsKeys).COMMAND_SANDBOX).toBe("off");
    expect(failure(() => load({ COMMAND_SANDBOX: "no" })).key).toBe("COMMAND_SANDBOX");
  });

  test("a thinking budget is 0 (off) or at least 1024 tokens, from the environment or the file, and a bad one names where it came from", () => {
    expect(load({ THINKING_AGENT: "4096" }).models.thinking).toEqual({ agent: 4096, observer: 0, reflector: 0, worker: 0 });
    const e = failure(() => load({ THINKING_WORKER: "500" }));
    expect(e.key).toBe("THINKING_WORKER");
    expect(e.message).toContain("at least 1024");
    expect(failure(() => load({ THINKING_AGENT: "999999" })).key).toBe("THINKING_AGENT");
    const dir = tempDir();
    writeFileSync(join(dir, "bakerst.json"), JSON.stringify({ models: { thinking: { reflector: 100 }, contextTokens: { "qwen2.5": 32768 } } }));
    const f = failure(() => load({}, dir));
    expect(f.key).toBe("models.thinking.reflector");
    expect(f.source).toBe(join(dir, "bakerst.json"));
    writeFileSync(join(dir, "bakerst.json"), JSON.stringify({ models: { thinking: { reflector: 2048 }, contextTokens: { "qwen2.5": 32768 } } }));
    const c = load({}, dir);
    expect(c.models.thinking.reflector).toBe(2048);
    expect(c.models.contextTokens).toEqual({ "qwen2.5": 32768 });
  });

  test("FEATURE_* flags are booleans", () => {
    expect(load({ FEATURE_TELEGRAM: "true", FEATURE_X: "0" }).features).toEqual({ telegram: true, x: false });
    expect(failure(() => load({ FEATURE_TELEGRAM: "maybe" })).key).toBe("FEATURE_TELEGRAM");
  });

  test("no module but the config module reads process.env", async () => {
    const glob = new Bun.Glob("{core,satellite}/**/*.ts");
    const root = join(import.meta.dir, "..", "..");
    const offenders: string[] = [];
    let files = 0;
    for await (const file of glob.scan(root)) {
      files++;
      if (file.startsWith("core/config/") || file === "satellite/config.ts" || file.startsWith("satellite/config/")) continue;
      const text = await Bun.file(join(root, file)).text();
      if (/process\.env|Bun\.env|import\.meta\.env/.test(text)) offenders.push(file);
    }
    expect(files).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
  });
});
