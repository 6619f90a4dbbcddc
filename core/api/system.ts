import { Elysia } from "elysia";
import type { Services } from "../services.ts";

export const systemRoutes = (s: Services) =>
  new Elysia({ name: "system" })
    .get("/ping", () => new Response("pong", { headers: { "content-type": "text/plain" } }))
    .get("/readyz", async ({ set }) => {
      const report = await s.health.report();
      const db = report.components.database;
      // A core handing over to a new one is not ready: Kubernetes sends new requests to the new one.
      const ready = db?.status === "ok" && report.components.upgrade?.serving !== false;
      set.status = ready ? 200 : 503;
      return { ready, status: report.status, version: s.version };
    })
    .get("/metrics", async () => new Response(await s.metrics.registry.metrics(), { headers: { "content-type": s.metrics.registry.contentType } }))
    .get("/api/system/health", async () => ({
      ...(await s.health.report()),
      version: s.version,
      uptimeSec: Math.round((Date.now() - s.startedAt) / 1000),
      mode: s.config.nats.url ? "cluster" : "edge",
    }));
