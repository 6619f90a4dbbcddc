import type { Area } from "./area/types.ts";
import { companionsArea } from "./companions/area.ts";
import { gatewayArea } from "./gateway/area.ts";
import { jobsArea } from "./jobs/area.ts";
import { mcpArea } from "./mcp/area.ts";
import { memoryArea } from "./memory/area.ts";
import { schedulesArea } from "./schedules/area.ts";
import { secretsArea } from "./secrets/area.ts";
import { skillsArea } from "./skills/area.ts";
import { tasksArea } from "./tasks/area.ts";

/**
 * Every area, one line each. They start in the order of what they need
 * (then of this list) and stop in reverse. See docs/areas.md.
 */
export const AREAS: readonly Area[] = [jobsArea, memoryArea, secretsArea, tasksArea, companionsArea, skillsArea, gatewayArea, schedulesArea, mcpArea];
