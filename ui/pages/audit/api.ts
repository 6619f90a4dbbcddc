import { api, qs } from "../../api/client.ts";

export const OUTCOMES = ["ok", "refused", "failed"] as const;
export const PAGE = 50;

export interface AuditEvent {
  id: number;
  at: number;
  action: string;
  outcome: (typeof OUTCOMES)[number];
  actor: string;
  address: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `before` for the next (older) page; null on the last. */
  next: number | null;
}

export const listAudit = (f: { action?: string; outcome?: string; before?: number | null }) =>
  api<AuditPage>(`/api/audit${qs({ action: f.action, outcome: f.outcome, before: f.before, limit: PAGE })}`);

export const listActions = () => api<{ actions: { name: string; description: string }[] }>("/api/audit/actions").then((r) => r.actions);

/** The detail as "key value" pairs for a table cell. */
export function detailText(e: AuditEvent): string {
  const parts = Object.entries(e.detail ?? {}).map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return [e.target, ...parts].filter(Boolean).join(" · ");
}
