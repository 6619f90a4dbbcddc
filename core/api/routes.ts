import type { Elysia } from "elysia";
import type { Services } from "../services.ts";

/** A route group (an Elysia plugin) the kernel or an area adds to the API. */
// biome-ignore lint/suspicious/noExplicitAny: Elysia's plugin type carries seven generic slots each route group fills differently.
export type RoutePlugin = (s: Services) => Elysia<any, any, any, any, any, any, any>;
