import { describe, expect, test } from "bun:test";
import { createUser, fromPublic } from "@nats-io/nkeys";
import { natsAuthenticator } from "../../core/bus/nats-connect.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const nonce = "a-nonce-from-the-server";

describe("NATS_CREDS: an nkey seed file or a .creds file, told apart by content", () => {
  test("a seed file (what bakerst nats init writes) signs the server's nonce with that key", () => {
    const user = createUser();
    const auth = natsAuthenticator(enc(`# bakerst worker\n${new TextDecoder().decode(user.getSeed())}\n`), "worker.nk")(nonce) as { nkey: string; sig: string };
    expect(auth.nkey).toBe(user.getPublicKey());
    const sig = Uint8Array.from(atob(auth.sig.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    expect(fromPublic(auth.nkey).verify(enc(nonce), sig)).toBe(true);
  });

  test("a .creds file gives its JWT and signs with the seed inside it", () => {
    const user = createUser();
    const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln";
    const creds = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`;
    const auth = natsAuthenticator(enc(creds), "user.creds")(nonce) as { jwt: string; nkey: string; sig: string };
    expect(auth.jwt).toBe(jwt);
    expect(auth.nkey).toBe(user.getPublicKey());
  });

  test("anything else is refused with the path and what was expected", () => {
    const account = createUser().getSeed().slice();
    account[1] = "A".charCodeAt(0);
    for (const content of [
      "",
      "hello",
      `${new TextDecoder().decode(createUser().getSeed())}\n${new TextDecoder().decode(createUser().getSeed())}`,
      "SUAAAA",
      new TextDecoder().decode(account),
    ]) {
      expect(() => natsAuthenticator(enc(content), "/etc/x")).toThrow("/etc/x is neither an nkey user seed");
    }
  });
});
