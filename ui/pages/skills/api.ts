import { api, qs } from "../../api/client.ts";
import type { ExtensionList, RegistryResults, Skill, SkillList, SkillTest } from "../../api/types.ts";

const at = (id: string) => `/api/skills/${encodeURIComponent(id)}`;

export const listSkills = async () => (await api<SkillList>("/api/skills")).skills;
export const listExtensions = async () => (await api<ExtensionList>("/api/extensions")).extensions;
export const addSkill = (spec: unknown) => api<Skill>("/api/skills", { json: spec });
export const proposeSkill = (spec: unknown) => api<Skill>("/api/skills/propose", { json: spec });
export const uploadSkill = (zip: string) => api<Skill>("/api/skills/upload", { json: { zip } });
export const setEnabled = (id: string, enabled: boolean) => api<Skill>(at(id), { method: "PUT", json: { enabled } });
export const deleteSkill = (id: string) => api<unknown>(at(id), { method: "DELETE" });
/** Approves exactly what the page showed: a skill changed since is refused. */
export const approveSkill = (s: Skill) => api<Skill>(`${at(s.id)}/approve`, { json: { hash: s.wouldRun.hash } });
export const testSkill = (id: string) => api<SkillTest>(`${at(id)}/test`, { method: "POST" });
export const searchRegistry = (q: string) => api<RegistryResults>(`/api/skills/registry${qs({ q })}`);
export const revokeExtension = (id: string) => api<unknown>(`/api/extensions/${encodeURIComponent(id)}/revoke`, { method: "POST" });

export const TIERS = ["Instructions", "Stdio MCP (sandboxed)", "HTTP MCP"] as const;
