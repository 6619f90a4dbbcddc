import type { ComponentHealth, HealthRegistry } from "../telemetry/health.ts";
import type { Logger } from "../telemetry/log.ts";

export interface RetryingOptions<T> {
  /** The health component (and log field) it reports under, e.g. `telegram`. */
  name: string;
  /** Reaches the outside service; throws while it is down. */
  connect(signal: AbortSignal): Promise<T>;
  /** Health once connected (default `ok`). */
  healthy?(value: T): ComponentHealth | Promise<ComponentHealth>;
  /** What the owner can do while it is down. */
  fix?: string;
  onReady?(value: T): void;
  /** Ends a value that connected after stop() (a token replaced mid-connect): it is nobody's to close otherwise. */
  dispose?(value: T): Promise<void> | void;
  /** Backoff from `minDelayMs` doubling to `maxDelayMs` (defaults 1 s and 60 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface Retrying<T> {
  /** The connected value, once there is one. */
  readonly value: T | undefined;
  /** Resolves when connected; never rejects (stop() leaves it pending). */
  readonly ready: Promise<T>;
  stop(): void;
}

/**
 * Keeps trying to reach an outside service in the background, with
 * exponential backoff, while health shows it degraded with the last error,
 * the attempts so far and when the next one is due.
 */
export function retrying<T>(opts: RetryingOptions<T>, deps: { health: HealthRegistry; log: Logger; now?: () => number }): Retrying<T> {
  const now = deps.now ?? Date.now;
  const min = opts.minDelayMs ?? 1_000;
  const max = opts.maxDelayMs ?? 60_000;
  const stop = new AbortController();
  let value: T | undefined;
  let attempts = 0;
  let lastError = "not tried yet";
  let nextAt = now();
  let resolveReady!: (v: T) => void;
  const ready = new Promise<T>((r) => (resolveReady = r));

  deps.health.register(opts.name, async () => {
    if (value !== undefined) return opts.healthy ? opts.healthy(value) : { status: "ok" };
    return {
      status: "degraded",
      detail: `not reachable yet: ${lastError}`,
      attempts,
      nextRetryInMs: Math.max(0, nextAt - now()),
      ...(opts.fix ? { fix: opts.fix } : {}),
    };
  });

  void (async () => {
    for (let delay = min; !stop.signal.aborted; delay = Math.min(max, delay * 2)) {
      attempts++;
      try {
        const got = await opts.connect(stop.signal);
        if (stop.signal.aborted) {
          await opts.dispose?.(got);
          return;
        }
        value = got;
        if (attempts > 1) deps.log.info("reachable again", { component: opts.name, attempts });
        opts.onReady?.(value);
        resolveReady(value);
        return;
      } catch (err) {
        lastError = (err as Error)?.message ?? String(err);
        if (attempts === 1) deps.log.warn("not reachable; starting degraded and retrying", { component: opts.name, error: lastError });
      }
      nextAt = now() + delay;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        stop.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  })();

  return {
    get value() {
      return value;
    },
    ready,
    stop: () => stop.abort(),
  };
}
