import type { RoutePlugin } from "../api/routes.ts";
import type { Brain } from "../brain/brain.ts";
import type { SystemPrompt } from "../brain/prompt.ts";
import type { BrainTools } from "../brain/tools.ts";
import type { Bus } from "../bus/types.ts";
import type { Check } from "../cli/check.ts";
import type { Config, ConfigSchema } from "../config/index.ts";
import type { ConversationStore } from "../conversations/store.ts";
import type { Models } from "../models/index.ts";
import type { Notifications } from "../notifications/service.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Retrying, RetryingOptions } from "./retrying.ts";

/**
 * What areas hand each other, by name. The kernel provides the first few; an
 * area adds what it provides from its own folder:
 *
 *     declare module "../area/types.ts" { interface Provided { jobs: JobService } }
 */
export interface Provided {
  bus: Bus;
  brain: Brain;
  models: Models;
  tools: BrainTools;
  prompt: SystemPrompt;
  notifications: Notifications;
  conversations: ConversationStore;
}

export type Provision = keyof Provided;

/** What an area gets when it starts: the kernel's services, plus its own log, what it needs, and where to put what it brings. */
export interface AreaContext extends Services {
  /** The area's own log (every line carries `area`). */
  log: Logger;
  /** A service another area (or the kernel) provides; declared in `needs`. */
  need<K extends Provision>(name: K): Provided[K];
  /** A service the area uses when its area is there (declared in `wants`); undefined when it is not. */
  want<K extends Provision>(name: K): Provided[K] | undefined;
  /** Hands a service to the areas that need it; declared in `provides`. */
  provide<K extends Provision>(name: K, value: Provided[K]): void;
  /** Route groups (Elysia plugins) the API serves. */
  routes(...plugins: RoutePlugin[]): void;
  /** Runs on shutdown; areas stop in the reverse of their start order. */
  onStop(fn: () => Promise<void> | void): void;
  /**
   * An outside service that may be down at start (a chat platform, an MCP
   * server): the area starts degraded, keeps retrying with backoff, and shows
   * both in health under `name`.
   */
  retrying<T>(opts: RetryingOptions<T>): Retrying<T>;
}

/**
 * A capability beyond the kernel (jobs, memory, tasks, gateway...), in its own
 * folder, plugged in with one line in `core/areas.ts`. See docs/areas.md.
 */
export interface Area {
  name: string;
  needs?: readonly Provision[];
  /** Used when present (started after them if they are there), not required: e.g. schedules can start tasks if the tasks area is in. */
  wants?: readonly Provision[];
  provides?: readonly Provision[];
  /** Its settings and config-file sections; `bakerst --help` lists them and start-up checks them. */
  config?: Omit<ConfigSchema, "name">;
  /** Its lines of `bakerst doctor` (reachability of what it talks to), run without starting anything. */
  doctor?(config: Config): Promise<Check[]> | Check[];
  start(ctx: AreaContext): Promise<void> | void;
}

export const defineArea = (area: Area): Area => area;
