import type { AnyElysia } from "elysia";
import type { Services } from "../services.ts";

/** A route group (an Elysia plugin) the kernel or an area adds to the API. */
export type RoutePlugin = (s: Services) => AnyElysia;
