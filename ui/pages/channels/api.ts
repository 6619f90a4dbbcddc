import { api } from "../../api/client.ts";
import type { Channels, Pairing } from "../../api/types.ts";

export const getChannels = () => api<Channels>("/api/channels");
export const approveCode = (code: string) => api<Pairing>("/api/channels/pairings/approve", { json: { code } });
export const revokePairing = (id: string) => api<Pairing>(`/api/channels/pairings/${encodeURIComponent(id)}`, { method: "DELETE" });
export const setNotify = (id: string, notify: boolean) => api<Pairing>(`/api/channels/pairings/${encodeURIComponent(id)}`, { method: "PATCH", json: { notify } });

export const PLATFORM_NAMES = { telegram: "Telegram", discord: "Discord" } as const;
export const KIND_NAMES = { private: "direct", group: "group", channel: "channel" } as const;
