import { api } from "../../api/client.ts";
import type { SecretDeleted, SecretList, SecretSaved } from "../../api/types.ts";

export const getSecrets = () => api<SecretList>("/api/secrets");
export const saveSecret = (name: string, value: string) => api<SecretSaved>(`/api/secrets/${encodeURIComponent(name)}`, { method: "PUT", json: { value } });
export const deleteSecret = (name: string) => api<SecretDeleted>(`/api/secrets/${encodeURIComponent(name)}`, { method: "DELETE" });

/** The core's rule, so the form says what is wrong before sending. */
export const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
