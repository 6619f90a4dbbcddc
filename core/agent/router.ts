import { AppError } from "../protocol/errors.ts";
import { CircuitBreaker } from "./breaker.ts";
import { type AgentLog, ModelCallError, type ModelEvent, type ModelProvider, type ModelRequest, type ProviderName, type Usage, type UsageSink } from "./types.ts";

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A retry-after longer than this is not waited out: the chain moves to the next model. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 30_000 };

export interface CallOptions {
  /** Which chain answers: agent, observer, reflector, worker. */
  role: string;
  signal?: AbortSignal;
  /** Background work (observer, reflector, jobs, schedules) is refused past the budget. */
  background?: boolean;
  conversationId?: string;
  /** The brain's turn, recorded with the usage so each answer shows its cost. */
  turnId?: string;
  /** Where the work came from (web, api, telegram, schedule, job...), recorded with its usage. */
  origin?: string;
}

/** Where the routed stream says which model answered. */
export type RoutedEvent = ModelEvent | { type: "model"; ref: string; attempt: number };

export class NoModelError extends AppError {
  constructor(role: string, hint = `set ANTHROPIC_API_KEY (or ANTHROPIC_OAUTH_TOKEN), or OPENAI_BASE_URL with MODEL_${role.toUpperCase()}=openai:<model>, then restart`) {
    super("no_model", `no model is configured for the ${role} role: ${hint}`);
  }
}

export class ModelUnavailableError extends AppError {
  constructor(readonly attempts: { ref: string; error: string }[]) {
    super("model_unavailable", `every model in the chain failed: ${attempts.map((a) => `${a.ref}: ${a.error}`).join("; ")}`);
  }
}

/** The model failed after it had started answering; what was streamed stays, the rest is lost. */
export class StreamInterruptedError extends AppError {
  constructor(ref: string, cause: ModelCallError) {
    super("model_stream_interrupted", `${ref} failed mid-answer: ${cause.message}`);
  }
}

export function parseRef(ref: string): { provider: ProviderName; model: string } {
  const i = ref.indexOf(":");
  return { provider: ref.slice(0, i) as ProviderName, model: ref.slice(i + 1) };
}

const abortable = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export interface RouterDeps {
  providers: Partial<Record<ProviderName, ModelProvider>>;
  /** The role's models, primary first, as `provider:model`. */
  chain: (role: string) => string[];
  usage: UsageSink;
  /** The role's extended-thinking budget in tokens (0 or unset: no thinking). */
  thinking?: (role: string) => number | undefined;
  log?: AgentLog;
  retry?: Partial<RetryPolicy>;
  breaker?: { threshold: number; cooldownMs: number };
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Runs a role's call down its chain: retries with backoff and jitter on
 * 429/5xx/overloaded (honouring retry-after), skips providers whose circuit is
 * open, falls back to the next model before the first event is out, and
 * records every call's usage.
 */
export class ModelRouter {
  readonly breakers = new Map<ProviderName, CircuitBreaker>();
  private retry: RetryPolicy;
  private sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private random: () => number;

  constructor(private deps: RouterDeps) {
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.sleep = deps.sleep ?? abortable;
    this.random = deps.random ?? Math.random;
    for (const name of Object.keys(deps.providers) as ProviderName[]) {
      this.breakers.set(name, new CircuitBreaker(deps.breaker ?? { threshold: 5, cooldownMs: 30_000 }));
    }
  }

  providers(): ProviderName[] {
    return Object.keys(this.deps.providers) as ProviderName[];
  }

  provider(name: ProviderName): ModelProvider | undefined {
    return this.deps.providers[name];
  }

  hasModel(role: string): boolean {
    return this.deps.chain(role).length > 0;
  }

  /** Delay before retry `attempt` (0-based): exponential with full jitter over the upper half. */
  backoff(attempt: number, err: ModelCallError): number {
    if (err.retryAfterMs !== undefined) return err.retryAfterMs + Math.floor(this.random() * 100);
    const exp = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    return Math.floor(exp / 2 + (this.random() * exp) / 2);
  }

  async *stream(req: Omit<ModelRequest, "model">, opts: CallOptions): AsyncGenerator<RoutedEvent> {
    const chain = this.deps.chain(opts.role);
    if (!chain.length) throw new NoModelError(opts.role);
    if (opts.background) this.deps.usage.assertWithinBudget();
    const budgetTokens = req.thinking ? undefined : this.deps.thinking?.(opts.role);
    if (budgetTokens) req = { ...req, thinking: { budgetTokens } };
    const failures: { ref: string; error: string }[] = [];

    for (const ref of chain) {
      const { provider: pname, model } = parseRef(ref);
      const provider = this.deps.providers[pname];
      const breaker = this.breakers.get(pname);
      if (!provider || !breaker) {
        failures.push({ ref, error: `provider ${pname} is not configured` });
        continue;
      }
      for (let attempt = 0; ; attempt++) {
        if (!breaker.allow()) {
          failures.push({ ref, error: `circuit open, retry in ${Math.ceil(breaker.retryInMs() / 1000)}s` });
          break;
        }
        let started = false;
        try {
          for await (const ev of provider.stream({ ...req, model }, opts.signal ?? new AbortController().signal)) {
            if (!started) {
              started = true;
              yield { type: "model", ref, attempt };
            }
            if (ev.type === "done") {
              breaker.success();
              const costUsd = this.record(opts, pname, model, ev.usage);
              yield { ...ev, costUsd };
              continue;
            }
            yield ev;
          }
          return;
        } catch (raw) {
          if (opts.signal?.aborted) throw raw;
          const err = raw instanceof ModelCallError ? raw : new ModelCallError(String((raw as Error)?.message ?? raw), pname, undefined, false, undefined, "other");
          if (err.kind !== "bad_request" && err.kind !== "other") breaker.failure();
          const spent = err.partialUsage;
          if (spent && spent.inputTokens + spent.outputTokens > 0) {
            this.record(opts, pname, model, spent);
          }
          this.deps.log?.("warn", "model call failed", { ref, attempt, kind: err.kind, status: err.status, started, error: err.message });
          if (started) throw new StreamInterruptedError(ref, err);
          const wait = this.backoff(attempt, err);
          const canRetry = err.retryable && attempt < this.retry.maxRetries && (err.retryAfterMs === undefined || err.retryAfterMs <= this.retry.maxRetryAfterMs);
          if (!canRetry) {
            failures.push({ ref, error: err.message });
            break;
          }
          await this.sleep(wait, opts.signal);
        }
      }
    }
    throw new ModelUnavailableError(failures);
  }

  private record(opts: CallOptions, provider: ProviderName, model: string, usage: Usage): number {
    return this.deps.usage.record({
      role: opts.role,
      provider,
      model,
      usage,
      ...(opts.conversationId ? { conversationId: opts.conversationId } : {}),
      ...(opts.turnId ? { turnId: opts.turnId } : {}),
      ...(opts.origin ? { origin: opts.origin } : {}),
    });
  }

  /** Collects a whole answer; for callers that do not stream (observer, jobs). */
  async complete(req: Omit<ModelRequest, "model">, opts: CallOptions) {
    let text = "";
    const toolUses: Extract<ModelEvent, { type: "tool_use" }>[] = [];
    let done: Extract<ModelEvent, { type: "done" }> | undefined;
    let ref = "";
    for await (const ev of this.stream(req, opts)) {
      if (ev.type === "text") text += ev.delta;
      else if (ev.type === "tool_use") toolUses.push(ev);
      else if (ev.type === "done") done = ev;
      else if (ev.type === "model") ref = ev.ref;
    }
    return { text, toolUses, stopReason: done?.stopReason ?? "other", usage: done?.usage, content: done?.content ?? [], ref };
  }

  health() {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.snapshot()]));
  }
}
