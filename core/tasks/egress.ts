/**
 * The egress proxy for task pods: a Kubernetes task has no socket to bind
 * in, so the core serves the same proxy over TCP (TASK_EGRESS_LISTEN), and a
 * pod proves which running task it is with the task's id and report token as
 * proxy credentials. It gets that task's allowlist and nothing else; once the
 * task ends its credentials stop working. The NetworkPolicy lets pods labelled
 * `bakerst.dev/network: allowlist` reach this port and nothing beyond.
 */
import { timingSafeEqual } from "node:crypto";
import type { AuditLog } from "../audit/service.ts";
import { ConfigError } from "../config/index.ts";
import { type EgressProxy, parseAllowlist, startEgressProxy } from "../jobs/edge.ts";
import type { TasksSettings } from "./keys.ts";
import type { Runs } from "./runs.ts";
import type { TaskRequestRecord, TaskStore } from "./store.ts";

function credentials(header: string | undefined): { id: string; token: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,512})$/.exec(header?.trim() ?? "");
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, "base64").toString("utf8");
  const i = text.indexOf(":");
  return i > 0 ? { id: text.slice(0, i), token: text.slice(i + 1) } : undefined;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export interface PodEgress {
  proxy: EgressProxy;
  /** The proxy URL a task's pod uses, its credentials in it. */
  urlFor(taskId: string, token: string): string;
}

export async function startPodEgress(o: { settings: TasksSettings; runs: Runs; store: TaskStore; audit: AuditLog }): Promise<PodEgress | undefined> {
  const listen = o.settings.TASK_EGRESS_LISTEN;
  if (!listen) return undefined;
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new ConfigError("TASK_EGRESS_LISTEN", "host:port, e.g. 0.0.0.0:3129", "config");
  const host = m[1]!.replace(/^\[|\]$/g, "");
  if (!o.settings.TASK_EGRESS_URL && (host === "0.0.0.0" || host === "::")) {
    throw new ConfigError("TASK_EGRESS_URL", "the URL task pods reach the proxy at (TASK_EGRESS_LISTEN listens on every address)", "config");
  }
  const proxy = await startEgressProxy({
    listen: { host, port: Number(m[2]) },
    allow(header) {
      const c = credentials(header);
      const run = c && o.runs.runOf(c.id);
      if (!c || !run || run.target !== "kubernetes" || !same(run.token, c.token)) return undefined;
      const network = (o.store.row(c.id)?.request as TaskRequestRecord | undefined)?.network;
      return { who: c.id, allow: network && network !== "none" ? parseAllowlist(network.allow) : [] };
    },
    onEvent(e) {
      if (!e.allowed && e.who)
        o.audit.record({
          action: "task.egress_refused",
          outcome: "refused",
          actor: `task:${e.who.slice(0, 13)}`,
          target: e.who,
          detail: { host: e.host.slice(0, 200), port: e.port },
        });
    },
  });
  const base = new URL(o.settings.TASK_EGRESS_URL ?? `http://${host.includes(":") ? `[${host}]` : host}:${proxy.port}`);
  return {
    proxy,
    urlFor(taskId, token) {
      const u = new URL(base);
      u.username = taskId;
      u.password = token;
      return u.toString().replace(/\/$/, "");
    },
  };
}
