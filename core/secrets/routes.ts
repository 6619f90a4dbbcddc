import { Elysia, t } from "elysia";
import { addressOf } from "../audit/http.ts";
import { notFound } from "../errors.ts";
import { checkSecretName, MAX_SECRET_BYTES, type SecretStore } from "./service.ts";

const Name = t.Object({ name: t.String({ minLength: 1, maxLength: 64 }) });

/** A bearer token is a program (or the CLI) calling the API; the session cookie is the owner in the console. */
const actorOf = (request: Request) => (request.headers.has("authorization") ? "api" : "web");

/** Write-only: a value goes in with PUT and never comes back out; GET lists names and masks. */
export const secretRoutes = (store: SecretStore) => () =>
  new Elysia({ name: "secrets" })
    .get("/api/secrets", () => ({ secrets: store.names() }))
    .put(
      "/api/secrets/:name",
      ({ params, body, request }) => {
        checkSecretName(params.name);
        const { created, updatedAt } = store.set(params.name, body.value, actorOf(request), addressOf(request));
        return { name: params.name, created, updatedAt };
      },
      // Validation messages name the field and the rule, never the value given.
      { params: Name, body: t.Object({ value: t.String({ minLength: 1, maxLength: MAX_SECRET_BYTES }) }, { additionalProperties: false }) },
    )
    .delete(
      "/api/secrets/:name",
      ({ params, request }) => {
        checkSecretName(params.name);
        if (!store.delete(params.name, actorOf(request), addressOf(request))) throw notFound("secret", params.name);
        return { name: params.name, deleted: true };
      },
      { params: Name },
    );
