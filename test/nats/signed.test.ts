import { describe, expect, test } from "bun:test";
import { createUser } from "@nats-io/nkeys";
import { RefusalCounts, Signer, Verifier } from "../../core/protocol/signed.ts";

const seed = () => new TextDecoder().decode(createUser().getSeed());
const SUBJECT = "bakerst.companions.nas.heartbeat";
const enc = new TextEncoder();

function edit(bytes: Uint8Array, change: (env: Record<string, unknown>) => void): Uint8Array {
  const env = JSON.parse(new TextDecoder().decode(bytes));
  change(env);
  return enc.encode(JSON.stringify(env));
}

describe("Signed envelopes", () => {
  test("a message signed by the trusted key opens with its body", () => {
    const signer = new Signer(seed());
    const opened = new Verifier().open(signer.sealBytes(SUBJECT, { v: 1, load: 0.5 }), SUBJECT, signer.publicKey);
    expect(opened).toMatchObject({ ok: true, signer: signer.publicKey, body: { v: 1, load: 0.5 } });
  });

  test("a tampered body is refused as a bad signature", () => {
    const signer = new Signer(seed());
    const bytes = edit(signer.sealBytes(SUBJECT, { v: 1, script: "uname -a" }), (e) => {
      e.body = JSON.stringify({ v: 1, script: "rm -rf /" });
    });
    const opened = new Verifier().open(bytes, SUBJECT, signer.publicKey);
    expect(opened).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  test("a message signed by another key is refused, whether it names itself or claims the trusted key", () => {
    const trusted = new Signer(seed());
    const forger = new Signer(seed());
    const v = new Verifier();
    expect(v.open(forger.sealBytes(SUBJECT, { v: 1 }), SUBJECT, trusted.publicKey)).toMatchObject({ ok: false, reason: "unknown_signer" });
    const claiming = edit(forger.sealBytes(SUBJECT, { v: 1 }), (e) => {
      e.signer = trusted.publicKey;
    });
    expect(v.open(claiming, SUBJECT, trusted.publicKey)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  test("a message moved to another subject is refused", () => {
    const signer = new Signer(seed());
    const opened = new Verifier().open(signer.sealBytes(SUBJECT, { v: 1 }), "bakerst.companions.other.heartbeat", signer.publicKey);
    expect(opened).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  test("the same message twice is refused the second time as a replay", () => {
    const signer = new Signer(seed());
    const v = new Verifier();
    const bytes = signer.sealBytes(SUBJECT, { v: 1 });
    expect(v.open(bytes, SUBJECT, signer.publicKey).ok).toBe(true);
    expect(v.open(bytes, SUBJECT, signer.publicKey)).toMatchObject({ ok: false, reason: "replayed" });
  });

  test("an old message is refused as stale, one from the future as future", () => {
    let now = 1_000_000_000;
    const signer = new Signer(seed());
    const v = new Verifier({ maxAgeMs: 60_000, maxSkewMs: 5_000, now: () => now });
    const old = signer.sealBytes(SUBJECT, { v: 1 }, now);
    now += 61_000;
    expect(v.open(old, SUBJECT, signer.publicKey)).toMatchObject({ ok: false, reason: "stale" });
    expect(v.open(signer.sealBytes(SUBJECT, { v: 1 }, now + 10_000), SUBJECT, signer.publicKey)).toMatchObject({ ok: false, reason: "future" });
    expect(v.open(signer.sealBytes(SUBJECT, { v: 1 }, now - 1_000), SUBJECT, signer.publicKey).ok).toBe(true);
  });

  test("a replay after the nonce table overflowed is still refused, as stale", () => {
    let now = 1_000_000_000;
    const signer = new Signer(seed());
    const v = new Verifier({ maxNonces: 3, now: () => now });
    const first = signer.sealBytes(SUBJECT, { v: 1, n: 0 }, now);
    expect(v.open(first, SUBJECT, signer.publicKey).ok).toBe(true);
    for (let n = 1; n <= 3; n++) {
      now += 1;
      expect(v.open(signer.sealBytes(SUBJECT, { v: 1, n }, now), SUBJECT, signer.publicKey).ok).toBe(true);
    }
    expect(v.open(first, SUBJECT, signer.publicKey)).toMatchObject({ ok: false, reason: "stale" });
  });

  test("unsigned, malformed and oversized messages are refused as malformed and never throw", () => {
    const signer = new Signer(seed());
    const v = new Verifier();
    const counts = new RefusalCounts();
    const inputs: (Uint8Array | string)[] = [
      enc.encode(JSON.stringify({ v: 1, load: 0.5 })),
      new Uint8Array([0xff, 0xfe, 0x00]),
      "[".repeat(100_000),
      edit(signer.sealBytes(SUBJECT, { v: 1 }), (e) => {
        e.sig = "";
      }),
      edit(signer.sealBytes(SUBJECT, { v: 1 }), (e) => {
        e.extra = true;
      }),
      "x".repeat(3 * 1024 * 1024),
    ];
    for (const input of inputs) {
      const opened = v.open(input, SUBJECT, signer.publicKey);
      expect(opened).toMatchObject({ ok: false, reason: "malformed" });
      if (!opened.ok) counts.add(opened.reason);
    }
    expect(counts.byReason.malformed).toBe(inputs.length);
    expect(counts.total).toBe(inputs.length);
  });

  test("a truncated signature is refused without reaching the key", () => {
    const signer = new Signer(seed());
    const bytes = edit(signer.sealBytes(SUBJECT, { v: 1 }), (e) => {
      e.sig = String(e.sig).slice(0, 20);
    });
    expect(new Verifier().open(bytes, SUBJECT, signer.publicKey)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  test("a predicate decides which signers are trusted", () => {
    const a = new Signer(seed());
    const b = new Signer(seed());
    const paired = new Set([a.publicKey]);
    const v = new Verifier();
    expect(v.open(a.sealBytes(SUBJECT, { v: 1 }), SUBJECT, (k) => paired.has(k)).ok).toBe(true);
    expect(v.open(b.sealBytes(SUBJECT, { v: 1 }), SUBJECT, (k) => paired.has(k))).toMatchObject({ ok: false, reason: "unknown_signer" });
  });
});
