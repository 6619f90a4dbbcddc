/**
 * Discovery: the MCP registry's search (`GET /v0/servers?search=`), each
 * result turned into a proposal the owner can approve: a remote (Streamable
 * HTTP or SSE) becomes a tier 2 skill, an npm or PyPI package a tier 1 skill
 * run by npx/uvx in the sandbox, its secret variables named, never filled.
 */
import { AppError } from "../errors.ts";
import type { SkillSpec } from "./spec.ts";

const MAX_RESULTS = 20;
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface RegistryResult {
  name: string;
  description: string;
  version: string;
  /** A skill spec ready to propose, or why none could be made. */
  proposal?: SkillSpec;
  why?: string;
}

interface RegistryServer {
  name?: unknown;
  description?: unknown;
  version?: unknown;
  packages?: {
    registryType?: unknown;
    registry_type?: unknown;
    identifier?: unknown;
    name?: unknown;
    version?: unknown;
    environmentVariables?: { name?: unknown; isSecret?: unknown }[];
  }[];
  remotes?: { type?: unknown; transport_type?: unknown; url?: unknown }[];
}

const str = (v: unknown, max = 1024) => (typeof v === "string" ? v.slice(0, max) : "");

/** A registry name (`io.github.owner/server`) as a skill name: its last part, lower-cased, 24 characters. */
export function skillNameOf(name: string): string {
  const last = name.split("/").pop() ?? name;
  const slug = last
    .toLowerCase()
    .replace(/^(mcp-server-|server-|mcp-)/, "")
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 24)
    .replace(/-+$/, "");
  return /^[a-z]/.test(slug) ? slug : `s${slug}`.slice(0, 24);
}

function proposalOf(s: RegistryServer): { proposal?: SkillSpec; why?: string } {
  const name = skillNameOf(str(s.name, 200));
  const description = str(s.description) || str(s.name);
  const remote = (s.remotes ?? []).find((r) => /^https?:\/\//.test(str(r.url, 2048)));
  if (remote) {
    const type = str(remote.type ?? remote.transport_type);
    return { proposal: { name, description, tier: 2, url: str(remote.url, 2048), transport: type === "sse" ? "sse" : type === "streamable-http" ? "streamable-http" : "auto" } };
  }
  for (const p of s.packages ?? []) {
    const registry = str(p.registryType ?? p.registry_type, 32);
    const id = str(p.identifier ?? p.name, 214);
    const version = str(p.version, 64) || str(s.version, 64);
    if (!id || !version) continue;
    const secrets = (p.environmentVariables ?? []).filter((e) => e.isSecret === true && /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(str(e.name, 64))).map((e) => str(e.name, 64));
    const base = { name, description, tier: 1 as const, package: { registry, name: id, version }, ...(secrets.length ? { secrets } : {}) };
    if (registry === "npm") return { proposal: { ...base, command: ["/usr/bin/npx", "--yes", `${id}@${version}`], env: { npm_config_cache: "/tmp/npm" } } };
    if (registry === "pypi") return { proposal: { ...base, command: ["/usr/bin/uvx", `${id}==${version}`] } };
  }
  return { why: "it has no remote URL and no npm or PyPI package" };
}

/** Searches the registry at `base`; a registry that is down or answers nonsense is a skill_unavailable naming it. */
export async function searchRegistry(base: string, query: string, limit = 10, signal?: AbortSignal): Promise<RegistryResult[]> {
  const url = new URL("/v0/servers", base);
  url.searchParams.set("search", query.slice(0, 200));
  url.searchParams.set("limit", String(Math.min(limit, MAX_RESULTS)));
  const res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(signal ? [signal] : [])]), headers: { accept: "application/json" } }).catch(
    (err: Error) => err,
  );
  if (res instanceof Error) throw new AppError("skill_unavailable", `the MCP registry at ${url.origin} cannot be reached (${res.message})`);
  if (!res.ok) throw new AppError("skill_unavailable", `the MCP registry at ${url.origin} answered ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_BODY_BYTES) throw new AppError("skill_unavailable", "the MCP registry's answer is too large");
  let body: { servers?: unknown };
  try {
    body = JSON.parse(text) as { servers?: unknown };
  } catch {
    throw new AppError("skill_unavailable", "the MCP registry's answer is not JSON");
  }
  const items = Array.isArray(body.servers) ? body.servers.slice(0, Math.min(limit, MAX_RESULTS)) : [];
  return items.flatMap((item: unknown) => {
    // Newer registries wrap each entry as { server, _meta }.
    const s = (item && typeof item === "object" && "server" in item ? (item as { server: unknown }).server : item) as RegistryServer | null;
    if (!s || typeof s !== "object" || !str(s.name)) return [];
    return [{ name: str(s.name, 200), description: str(s.description), version: str(s.version, 64), ...proposalOf(s) }];
  });
}
