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
  { slug: "skills", label: "Skills", api: "/api/skills", columns: ["id", "name", "tier", "status"], blurb: "Instructions and MCP tools the agent can use." },
  { slug: "secrets", label: "Secrets", api: "/api/secrets", columns: ["name", "masked", "updatedAt"], blurb: "Names and masked values; values are write-only." },
];
