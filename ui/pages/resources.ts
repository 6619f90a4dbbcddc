/**
 * Parts that later areas add. Each gets a place in the navigation now; its
 * page lists what the API returns and says plainly when the part is not installed.
 */
export interface ResourceSpec {
  slug: string;
  label: string;
  api: string;
  /** Fields shown as columns, first is the name. */
  columns: string[];
  blurb: string;
}

export const RESOURCES: ResourceSpec[] = [
  { slug: "companions", label: "Companions", api: "/api/companions", columns: ["id", "name", "status", "lastSeen"], blurb: "Machines outside the cluster that run tasks." },
  { slug: "schedules", label: "Schedules", api: "/api/schedules", columns: ["id", "name", "cron", "timeZone", "nextRun"], blurb: "Recurring work on a cron." },
];
