import type { RoutePlugin } from "./api/app.ts";
import { jobsArea } from "./jobs/area.ts";
import type { Services } from "./services.ts";
import { memoryArea } from "./memory/area.ts";

/**
 * An area beyond the core (jobs, memory, tasks, gateway...) plugs in here: it
 * gets the services, registers its tools, prompt sections and health checks,
 * and hands back its routes and how to stop it.
 */
export interface Area {
  name: string;
  start(s: Services): AreaHandle | Promise<AreaHandle>;
}

export interface AreaHandle {
  routes?: RoutePlugin[];
  stop?(): Promise<void> | void;
}

/** In start order; stopped in reverse. */
export const AREAS: Area[] = [jobsArea, memoryArea];
