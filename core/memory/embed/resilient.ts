import { CircuitBreaker } from "../../agent/breaker.ts";
import type { Logger } from "../../telemetry/log.ts";
import { type Embedder, EmbedError, type InputKind } from "../types.ts";

export interface ResilienceOptions {
  maxRetries: number;
  baseDelayMs: number;
  /** Consecutive failed calls (after retries) that open the circuit. */
  breakerThreshold: number;
  breakerCooldownMs: number;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = { maxRetries: 2, baseDelayMs: 300, breakerThreshold: 3, breakerCooldownMs: 30_000 };

export class CircuitOpenError extends EmbedError {
  constructor(retryInMs: number) {
    super(`embedding API circuit is open after repeated failures; next try in ${Math.ceil(retryInMs / 1000)}s`, false);
  }
}

/**
 * Wraps a provider: splits work into the provider's batch size, retries
 * transient failures with backoff, and stops calling a provider that keeps
 * failing so memory falls back to keywords at once instead of waiting on it.
 */
export class ResilientEmbedder {
  readonly breaker: CircuitBreaker;
  private opts: ResilienceOptions;
  private lastError: string | null = null;

  constructor(
    readonly inner: Embedder,
    private log: Logger,
    opts: Partial<ResilienceOptions> = {},
  ) {
    this.opts = { ...DEFAULT_RESILIENCE, ...opts };
    this.breaker = new CircuitBreaker({ threshold: this.opts.breakerThreshold, cooldownMs: this.opts.breakerCooldownMs });
  }

  get model(): string {
    return this.inner.model;
  }

  get provider(): string {
    return this.inner.provider;
  }

  available(): boolean {
    return this.breaker.state === "closed" || this.breaker.retryInMs() === 0;
  }

  async embed(texts: string[], kind: InputKind, signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.inner.maxBatch) {
      out.push(...(await this.call(texts.slice(i, i + this.inner.maxBatch), kind, signal)));
    }
    return out;
  }

  async embedOne(text: string, kind: InputKind, signal?: AbortSignal): Promise<Float32Array> {
    return (await this.embed([text], kind, signal))[0]!;
  }

  private async call(batch: string[], kind: InputKind, signal?: AbortSignal): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      if (!this.breaker.allow()) throw new CircuitOpenError(this.breaker.retryInMs());
      try {
        const vectors = await this.inner.embedBatch(batch, kind, signal);
        this.breaker.success();
        this.lastError = null;
        return vectors;
      } catch (raw) {
        if (signal?.aborted) throw raw;
        const err = raw instanceof EmbedError ? raw : new EmbedError(String((raw as Error)?.message ?? raw), true);
        this.lastError = err.message;
        if (!err.retryable || attempt >= this.opts.maxRetries) {
          this.breaker.failure();
          this.log.warn("embedding failed", { provider: this.inner.provider, model: this.inner.model, error: err.message, breaker: this.breaker.state });
          throw err;
        }
        const exp = this.opts.baseDelayMs * 2 ** attempt;
        await Bun.sleep(exp / 2 + (Math.random() * exp) / 2);
      }
    }
  }

  health() {
    return { provider: this.inner.provider, model: this.inner.model, ...this.breaker.snapshot(), lastError: this.lastError };
  }
}
