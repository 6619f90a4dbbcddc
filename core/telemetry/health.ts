export type HealthStatus = "ok" | "degraded" | "down" | "disabled";

export interface ComponentHealth {
  status: HealthStatus;
  detail?: string;
  /** What the owner can do about it, when it is not ok. */
  fix?: string;
  [k: string]: unknown;
}

export type HealthCheck = () => ComponentHealth | Promise<ComponentHealth>;

/** Components (database, models, bus, workers, memory...) report here; GET /api/system/health reads it. */
export class HealthRegistry {
  private checks = new Map<string, HealthCheck>();

  /** `redact` sees each component's strings: an outside service's error may quote a URL or a header holding a secret. */
  constructor(private redact: (text: string) => string = (t) => t) {}

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  async report(): Promise<{ status: HealthStatus; components: Record<string, ComponentHealth> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]): Promise<[string, ComponentHealth]> => {
        let c: ComponentHealth;
        try {
          c = await check();
        } catch (err) {
          c = { status: "down", detail: (err as Error).message };
        }
        return [name, Object.fromEntries(Object.entries(c).map(([k, v]) => [k, typeof v === "string" ? this.redact(v) : v])) as ComponentHealth];
      }),
    );
    const components = Object.fromEntries(entries);
    const statuses = entries.map(([, c]) => c.status);
    const status: HealthStatus = statuses.includes("down") ? "down" : statuses.includes("degraded") ? "degraded" : "ok";
    return { status, components };
  }
}
