// Runs before any test file: tests never reach a real vendor or a real data dir.
for (const key of Object.keys(process.env)) {
  if (/^(ANTHROPIC_|OPENAI_|VOYAGE_|QDRANT_|EMBEDDINGS_|MEMORY_|OBSERVER_|REFLECTOR_|TELEGRAM_|DISCORD_|NATS_|AUTH_TOKEN|MODEL_|DAILY_BUDGET|BAKERST_|FEATURE_|OTEL_)/.test(key))
    delete process.env[key];
}
process.env.NODE_ENV ??= "test";
