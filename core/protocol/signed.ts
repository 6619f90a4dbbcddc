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
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { check, MAX_MESSAGE_BYTES } from "./codec.ts";
import { parseJson } from "./json.ts";

const DOMAIN = "bakerst-signed-v1";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

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

const MARK = encoder.encode('{"v":1,"signer":"');

/** A quick look, no parsing: does this message start the way `Signer.sealBytes` writes one? */
export function isSignedEnvelope(data: Uint8Array): boolean {
  if (data.byteLength < MARK.byteLength) return false;
  for (let i = 0; i < MARK.byteLength; i++) if (data[i] !== MARK[i]) return false;
  return true;
}

/** Why an envelope was refused; callers count by it. */
export type SignedRefusal = "malformed" | "unknown_signer" | "bad_signature" | "stale" | "future" | "replayed";

export type Opened<T = unknown> = { ok: true; signer: string; ts: number; body: T } | { ok: false; reason: SignedRefusal; detail: string };

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function signedBytes(context: string, signer: string, ts: number, nonce: string, body: string): Uint8Array {
  const parts = [DOMAIN, context, signer, String(ts), nonce, body];
  return encoder.encode(parts.map((p) => `${encoder.encode(p).byteLength}:${p}`).join("\n"));
}

// The nkey text format (github.com/nats-io/nkeys), read here so the protocol needs no NATS package:
// base32 (RFC 4648, no padding) of prefix byte(s), the 32 raw ed25519 bytes and a CRC-16/XMODEM,
// little-endian. A seed has two prefix bytes ('S' and the role), a public key one (the role: U for users).
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SEED_PREFIX = 18 << 3;

function fromBase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = B32.indexOf(ch);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

function toBase32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The payload of an nkey string, after checking its length and CRC; undefined when it is not one. */
function nkeyPayload(text: string, prefixBytes: 1 | 2): Uint8Array | undefined {
  const raw = fromBase32(text);
  if (!raw || raw.byteLength !== prefixBytes + 32 + 2) return undefined;
  const body = raw.subarray(0, raw.byteLength - 2);
  if (crc16(body) !== (raw[raw.byteLength - 2]! | (raw[raw.byteLength - 1]! << 8))) return undefined;
  return body;
}

function withCrc(body: Uint8Array): Uint8Array {
  const crc = crc16(body);
  return new Uint8Array([...body, crc & 0xff, crc >>> 8]);
}

// Signing and verifying run in native code (node:crypto) on the nkey's raw bytes.
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export class InvalidNkeyError extends Error {
  override name = "InvalidNkeyError";
}

/** An nkey seed (`SU...`) as a signing key and its public key string. */
function seedKeys(seed: string): { privateKey: KeyObject; publicKey: string } {
  const body = nkeyPayload(seed, 2);
  if (!body || (body[0]! & 0xf8) !== SEED_PREFIX) throw new InvalidNkeyError("not an nkey seed (S..., as bakerst nats init writes)");
  const role = ((body[0]! & 7) << 5) | ((body[1]! & 0xf8) >> 3);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, body.subarray(2)]), format: "der", type: "pkcs8" });
  const raw = createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(-32);
  return { privateKey, publicKey: toBase32(withCrc(new Uint8Array([role, ...raw]))) };
}

/** An nkey public key (`U...`) as a verifying key, or undefined when it is not one. */
function publicKeyOf(publicKey: string): KeyObject | undefined {
  const body = nkeyPayload(publicKey, 1);
  return body ? createPublicKey({ key: Buffer.concat([SPKI_ED25519, body.subarray(1)]), format: "der", type: "spki" }) : undefined;
}

/** Something that signs: built from an nkey seed (the same seed as the NATS identity is fine). */
export class Signer {
  readonly publicKey: string;
  readonly #sign: (data: Uint8Array) => Uint8Array;

  constructor(seed: string | Uint8Array) {
    const keys = seedKeys(typeof seed === "string" ? seed.trim() : new TextDecoder().decode(seed).trim());
    this.publicKey = keys.publicKey;
    this.#sign = (data) => edSign(null, data, keys.privateKey);
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
  readonly #keys = new Map<string, KeyObject>();

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
      key = publicKeyOf(e.signer);
      if (!key) return refuse("malformed", "signer is not an nkey public key");
      if (this.#keys.size > 10_000) this.#keys.clear();
      this.#keys.set(e.signer, key);
    }
    const sig = new Uint8Array(Buffer.from(e.sig, "base64url"));
    if (sig.byteLength !== 64 || !edVerify(null, signedBytes(context, e.signer, e.ts, e.nonce, e.body), key, sig)) {
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
