import type { Area } from "./area/types.ts";
import { gatewayArea } from "./gateway/area.ts";
import { jobsArea } from "./jobs/area.ts";
import { memoryArea } from "./memory/area.ts";
import { schedulesArea } from "./schedules/area.ts";
import { tasksArea } from "./tasks/area.ts";

/**
 * Every area, one line each. They start in the order of what they need
 * (then of this list) and stop in reverse. See docs/areas.md.
 */
export const AREAS: readonly Area[] = [jobsArea, memoryArea, tasksArea, gatewayArea, schedulesArea];
