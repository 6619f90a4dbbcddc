import { Elysia } from "elysia";
import type { Services } from "../services.ts";

export const systemRoutes = (s: Services) =>
  new Elysia({ name: "system" })
    .get("/ping", () => new Response("pong", { headers: { "content-type": "text/plain" } }))
    .get("/readyz", async ({ set }) => {
      const report = await s.health.report();
      const db = report.components.database;
      const ready = db?.status === "ok";
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
