import { api } from "../../api/client.ts";
import type { Companion, CompanionDetail, CompanionList, CompanionPairing } from "../../api/types.ts";

export const getCompanions = () => api<CompanionList>("/api/companions");
export const getCompanion = (id: string) => api<CompanionDetail>(`/api/companions/${encodeURIComponent(id)}`);
export const pairCompanion = (name: string) => api<CompanionPairing>("/api/companions", { json: { name } });
export const revokeCompanion = (id: string) => api<Companion>(`/api/companions/${encodeURIComponent(id)}`, { method: "DELETE" });

export const STATUS_NAMES = { online: "online", offline: "offline", never_seen: "not seen yet", revoked: "revoked" } as const;
