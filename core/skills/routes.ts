import { Elysia, t } from "elysia";
import { addressOf } from "../audit/http.ts";
import { AppError } from "../errors.ts";
import type { Extensions } from "./extensions.ts";
import { searchRegistry } from "./registry.ts";
import type { Requester, SkillService } from "./service.ts";
import { unpackSkillZip } from "./skillmd.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 128 }) });

/** A bearer token is a program (or the CLI) calling the API; the session cookie is the owner in the console. */
const requester = (request: Request): Requester => {
  const address = addressOf(request);
  return { actor: request.headers.has("authorization") ? "api" : "web", ...(address ? { address } : {}) };
};

export interface SkillRoutesOptions {
  skills: SkillService;
  extensions: Extensions;
  /** Where uploaded and data-dir skills live. */
  skillDir: string;
  registryUrl: string;
}

export const skillRoutes = (o: SkillRoutesOptions) => () =>
  new Elysia({ name: "skills" })
    .get("/api/skills", () => ({ skills: o.skills.list() }))
    // The owner's: approved as it is added.
    .post("/api/skills", ({ body, request, set }) => {
      const skill = o.skills.add(body, "owner", requester(request));
      set.status = 201;
      return skill;
    })
    // A zip in the Agent Skills format (SKILL.md and files beside it), base64 in JSON: unpacked into the data dir's skills/.
    .post(
      "/api/skills/upload",
      async ({ body, request, set }) => {
        const bytes = Buffer.from(body.zip, "base64");
        if (!bytes.length) throw new AppError("invalid_skill", "zip: empty or not base64");
        const spec = await unpackSkillZip(bytes, o.skillDir);
        const existing = o.skills.list().find((s) => s.name === spec.name);
        set.status = existing ? 200 : 201;
        // The owner's upload over a skill of the same name replaces it, approved as uploaded.
        if (existing) {
          const updated = await o.skills.update(existing.id, { spec }, requester(request));
          return updated.status === "approved" ? updated : o.skills.approve(existing.id, requester(request));
        }
        return o.skills.add(spec, "upload", requester(request));
      },
      { body: t.Object({ zip: t.String({ minLength: 1, maxLength: 12_000_000 }) }) },
    )
    // Discovery: the MCP registry, each result with a proposal.
    .get("/api/skills/registry", async ({ query }) => ({ results: await searchRegistry(o.registryUrl, query.q, 10) }), {
      query: t.Object({ q: t.String({ minLength: 1, maxLength: 200 }) }),
    })
    // A proposal (a registry result the owner picked): stored pending, approved separately after a look at what it would run.
    .post("/api/skills/propose", ({ body, request, set }) => {
      const skill = o.skills.add(body, "registry", requester(request));
      set.status = 201;
      return skill;
    })
    .get("/api/skills/:id", ({ params }) => o.skills.get(params.id), { params: Id })
    .put("/api/skills/:id", ({ params, body, request }) => o.skills.update(params.id, body, requester(request)), {
      params: Id,
      body: t.Object({ spec: t.Optional(t.Unknown()), enabled: t.Optional(t.Boolean()) }, { additionalProperties: false }),
    })
    .delete(
      "/api/skills/:id",
      async ({ params, request, set }) => {
        await o.skills.remove(params.id, requester(request));
        set.status = 204;
        return "";
      },
      { params: Id },
    )
    .post("/api/skills/:id/test", ({ params }) => o.skills.test(params.id), { params: Id })
    .post("/api/skills/:id/approve", ({ params, body, request }) => o.skills.approve(params.id, requester(request), body?.hash), {
      params: Id,
      body: t.Optional(t.Nullable(t.Object({ hash: t.Optional(t.String({ pattern: "^[0-9a-f]{64}$" })) }, { additionalProperties: false }))),
    })
    .get("/api/extensions", () => ({ extensions: o.extensions.list() }))
    .post("/api/extensions/:id/revoke", ({ params, request }) => o.extensions.revoke(params.id, requester(request).actor), { params: Id });
