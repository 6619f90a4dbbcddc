import { isAbsolute, resolve } from "node:path";
import type { KeySpec } from "./keys.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly source: string,
  ) {
    super(`config ${key} (${source}): expected ${expected}`);
  }
}

export type Parsed = string | number | boolean | string[];

function show(raw: string): string {
  return raw.length > 40 ? `${JSON.stringify(raw.slice(0, 40))}...` : JSON.stringify(raw);
}

/** Turns one raw value into its typed form, or throws a ConfigError naming the key. */
export function parseValue(key: string, spec: KeySpec, raw: unknown, source: string, cwd: string): Parsed {
  const fail = (expected: string): never => {
    const got = typeof raw === "string" ? show(raw) : JSON.stringify(raw);
    throw new ConfigError(key, `${expected}, got ${got}`, source);
  };
  if (spec.kind === "list") {
    if (Array.isArray(raw)) {
      if (!raw.every((v) => typeof v === "string")) fail("a list of strings");
      return (raw as string[]).map((s) => s.trim()).filter(Boolean);
    }
    if (typeof raw !== "string") fail("a comma-separated string or a list");
    return (raw as string)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }
  const text = typeof raw === "number" || typeof raw === "boolean" ? String(raw) : raw;
  if (typeof text !== "string") return fail(`a ${spec.kind}`);
  const value = text.trim();
  switch (spec.kind) {
    case "int":
    case "number": {
      const n = Number(value);
      const ok = value !== "" && Number.isFinite(n) && (spec.kind === "number" || Number.isInteger(n));
      const range = `${spec.min ?? "-inf"}..${spec.max ?? "inf"}`;
      if (!ok || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        fail(`${spec.kind === "int" ? "an integer" : "a number"} in ${range}`);
      }
      return n;
    }
    case "bool": {
      const v = value.toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off", ""].includes(v)) return false;
      return fail("true or false");
    }
    case "url": {
      let u: URL | undefined;
      try {
        u = new URL(value);
      } catch {
        u = undefined;
      }
      const schemes = ["http:", "https:", "nats:", "tls:", "ws:", "wss:"];
      if (!u || !schemes.includes(u.protocol)) fail("a URL such as http://host:port");
      return value.replace(/\/+$/, "");
    }
    case "path":
      if (value === "") fail("a path");
      return isAbsolute(value) ? value : resolve(cwd, value);
    case "string":
    case "secret":
      if (spec.oneOf && !spec.oneOf.includes(value)) fail(`one of ${spec.oneOf.join(", ")}`);
      return value;
  }
}
