/**
 * Signed envelopes: what a companion or an extension sends the core, and what
 * the core sends them, carried inside a JSON wrapper signed with the sender's
 * ed25519 nkey. NATS permissions say who may publish on a subject; the
 * signature says who wrote the message, so a leaked or shared connection, a
 * misconfigured server or a replay cannot speak for someone else.
 *
 * What is signed: a domain tag, the context (the subject the message is meant
 * for, so a message cannot be moved to another subject), the signer's public
 * key, the timestamp, the nonce and the body text, each length-prefixed so no
 * two different envelopes produce the same bytes. Fresh timestamps and nonces
 * seen once make a replay visible: a copy is refused as `replayed` inside the
 * window and as `stale` after it.
 */
import { fromPublic, fromSeed } from "@nats-io/nkeys";
import { Type } from "@sinclair/typebox";
import { check, MAX_MESSAGE_BYTES } from "./codec.ts";
import { parseJson } from "./json.ts";

const DOMAIN = "bakerst-signed-v1";

/** The wrapper as it crosses the wire. `body` is JSON text, signed byte for byte as sent. */
export const SignedEnvelope = Type.Object(
  {
    v: Type.Literal(1),
    /** The signer's nkey public key (U..., or any nkey prefix). */
    signer: Type.String({ minLength: 56, maxLength: 56, pattern: "^[A-Z2-7]+$" }),
    /** Milliseconds since the epoch when it was signed. */
    ts: Type.Integer({ minimum: 0 }),
    nonce: Type.String({ minLength: 16, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }),
    body: Type.String(),
    sig: Type.String({ minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_-]+$" }),
  },
  { additionalProperties: false },
);
export interface SignedEnvelope {
  v: 1;
  signer: string;
  ts: number;
  nonce: string;
  body: string;
  sig: string;
}

/** Why an envelope was refused; callers count by it. */
export type SignedRefusal = "malformed" | "unknown_signer" | "bad_signature" | "stale" | "future" | "replayed";

export type Opened<T = unknown> = { ok: true; signer: string; ts: number; body: T } | { ok: false; reason: SignedRefusal; detail: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function signedBytes(context: string, signer: string, ts: number, nonce: string, body: string): Uint8Array {
  const parts = [DOMAIN, context, signer, String(ts), nonce, body];
  return encoder.encode(parts.map((p) => `${encoder.encode(p).byteLength}:${p}`).join("\n"));
}

/** Something that signs: built from an nkey seed (the same seed as the NATS identity is fine). */
export class Signer {
  readonly publicKey: string;
  readonly #sign: (data: Uint8Array) => Uint8Array;

  constructor(seed: string | Uint8Array) {
    const kp = fromSeed(typeof seed === "string" ? encoder.encode(seed.trim()) : seed);
    this.publicKey = kp.getPublicKey();
    this.#sign = (data) => kp.sign(data);
  }

  /** Wraps `body` (any JSON value) for `context`, usually the subject it is published on. */
  seal(context: string, body: unknown, now = Date.now()): SignedEnvelope {
    const text = JSON.stringify(body);
    const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
    const sig = b64url(this.#sign(signedBytes(context, this.publicKey, now, nonce, text)));
    return { v: 1, signer: this.publicKey, ts: now, nonce, body: text, sig };
  }

  /** `seal` as bytes ready to publish. */
  sealBytes(context: string, body: unknown, now = Date.now()): Uint8Array {
    return encoder.encode(JSON.stringify(this.seal(context, body, now)));
  }
}

export interface VerifierOptions {
  /** How old a message may be when it arrives (default 5 minutes). Also how long nonces are remembered. */
  maxAgeMs?: number;
  /** How far ahead of our clock a timestamp may be (default 30 s). */
  maxSkewMs?: number;
  /** Most nonces remembered; past it the oldest are forgotten and anything as old is refused as stale (default 100,000). */
  maxNonces?: number;
  now?: () => number;
}

/** Who may sign this message: one public key, or a predicate (a paired-companion lookup). */
export type TrustedSigner = string | ((publicKey: string) => boolean);

/**
 * Opens envelopes and remembers their nonces. The signature is checked before
 * anything is remembered, so someone without a trusted key can neither fill
 * the nonce table nor make it forget a real message early.
 */
export class Verifier {
  readonly #maxAge: number;
  readonly #maxSkew: number;
  readonly #maxNonces: number;
  readonly #now: () => number;
  /** nonce key → timestamp, in insertion order (close to time order). */
  readonly #seen = new Map<string, number>();
  /** Anything at or before this was forgotten when the table overflowed. */
  #floor = 0;
  readonly #keys = new Map<string, ReturnType<typeof fromPublic>>();

  constructor(opts: VerifierOptions = {}) {
    this.#maxAge = opts.maxAgeMs ?? 5 * 60_000;
    this.#maxSkew = opts.maxSkewMs ?? 30_000;
    this.#maxNonces = opts.maxNonces ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Verifies signature, signer, freshness and uniqueness; the body comes back parsed (not schema-checked). */
  open<T = unknown>(data: Uint8Array | string, context: string, trusted: TrustedSigner): Opened<T> {
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (size > MAX_MESSAGE_BYTES) return refuse("malformed", `envelope of ${size} bytes is over the ${MAX_MESSAGE_BYTES} byte limit`);
    let text: string;
    try {
      text = typeof data === "string" ? data : decoder.decode(data);
    } catch {
      return refuse("malformed", "not UTF-8");
    }
    const parsed = parseJson(text);
    if (!parsed.ok) return refuse("malformed", `not JSON (${parsed.reason})`);
    const env = check(SignedEnvelope, parsed.value);
    if (!env.ok) return refuse("malformed", `not a signed envelope (${env.reason})`);
    const e = env.value;
    const isTrusted = typeof trusted === "string" ? trusted === e.signer : trusted(e.signer);
    if (!isTrusted) return refuse("unknown_signer", `signer ${e.signer} is not trusted here`);
    let key = this.#keys.get(e.signer);
    if (!key) {
      try {
        key = fromPublic(e.signer);
      } catch {
        return refuse("malformed", "signer is not an nkey public key");
      }
      if (this.#keys.size > 10_000) this.#keys.clear();
      this.#keys.set(e.signer, key);
    }
    const sig = new Uint8Array(Buffer.from(e.sig, "base64url"));
    if (sig.byteLength !== 64 || !key.verify(signedBytes(context, e.signer, e.ts, e.nonce, e.body), sig)) {
      return refuse("bad_signature", "signature does not match (tampered, wrong key, or meant for another subject)");
    }
    const now = this.#now();
    if (e.ts > now + this.#maxSkew) return refuse("future", `signed ${e.ts - now} ms in the future (clock skew over ${this.#maxSkew} ms)`);
    if (e.ts < now - this.#maxAge || e.ts <= this.#floor) return refuse("stale", `signed ${now - e.ts} ms ago, past the ${this.#maxAge} ms window`);
    const nonceKey = `${e.signer}:${e.nonce}`;
    if (this.#seen.has(nonceKey)) return refuse("replayed", "this exact message was already accepted");
    const body = parseJson(e.body);
    if (!body.ok) return refuse("malformed", `body is not JSON (${body.reason})`);
    this.#remember(nonceKey, e.ts, now);
    return { ok: true, signer: e.signer, ts: e.ts, body: body.value as T };
  }

  #remember(nonceKey: string, ts: number, now: number) {
    // Forget what has aged out of the window: a replay of it is refused as stale anyway.
    for (const [k, t] of this.#seen) {
      if (t >= now - this.#maxAge) break;
      this.#seen.delete(k);
    }
    this.#seen.set(nonceKey, ts);
    while (this.#seen.size > this.#maxNonces) {
      const [k, t] = this.#seen.entries().next().value as [string, number];
      this.#seen.delete(k);
      this.#floor = Math.max(this.#floor, t);
    }
  }
}

function refuse(reason: SignedRefusal, detail: string): Opened<never> {
  return { ok: false, reason, detail };
}

/** Counts refusals by reason, for health and metrics. */
export class RefusalCounts {
  readonly byReason: Record<SignedRefusal | "schema" | "revoked", number> = {
    malformed: 0,
    unknown_signer: 0,
    bad_signature: 0,
    stale: 0,
    future: 0,
    replayed: 0,
    schema: 0,
    revoked: 0,
  };

  add(reason: keyof RefusalCounts["byReason"]) {
    this.byReason[reason]++;
  }

  get total(): number {
    return Object.values(this.byReason).reduce((a, b) => a + b, 0);
  }
}
