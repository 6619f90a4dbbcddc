/**
 * What a NATS client needs before it can work: its credentials turned into
 * an authenticator, and (for a client that may not create them) the
 * consumer it reads, waited for until the core has made it.
 */
import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import { type Authenticator, credsAuthenticator, nkeyAuthenticator, nkeys } from "@nats-io/transport-node";

const JWT_MARK = "-----BEGIN NATS USER JWT-----";
const SEED = /^SU[A-Z2-7]{40,}$/;

/**
 * `NATS_CREDS` may name an nkey seed file (what `bakerst nats init` writes:
 * one `SU...` line) or a `.creds` file (a user JWT and its seed); told apart
 * by content. Throws with the path and what was expected.
 */
export function natsAuthenticator(content: Uint8Array, path: string): Authenticator {
  const text = new TextDecoder().decode(content);
  if (text.includes(JWT_MARK)) return credsAuthenticator(content);
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const seed = lines.length === 1 && SEED.test(lines[0]!) ? lines[0]! : undefined;
  if (seed) {
    try {
      nkeys.fromSeed(new TextEncoder().encode(seed));
      return nkeyAuthenticator(new TextEncoder().encode(seed));
    } catch {
      // reported below
    }
  }
  throw new Error(`${path} is neither an nkey user seed (one line starting SU, as bakerst nats init writes) nor a .creds file with a user JWT`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const missing = (err: unknown) => /not found/i.test((err as Error).message);

/**
 * Waits until `stream`/`consumer` exist (the core creates them), logging once
 * and then every 30 s while it waits. Other errors (a permission refused, the
 * connection closed) are thrown.
 */
export async function awaitConsumer(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  log: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void,
  everyMs = 1_000,
): Promise<ConsumerInfo> {
  let lastLog = 0;
  for (;;) {
    try {
      return await jsm.consumers.info(stream, consumer);
    } catch (err) {
      if (!missing(err)) throw err;
      if (Date.now() - lastLog >= 30_000) {
        lastLog = Date.now();
        log("warn", "waiting for the core to create the job stream and consumer (start bakerst with NATS_URL set)", { stream, consumer });
      }
      await sleep(everyMs);
    }
  }
}
