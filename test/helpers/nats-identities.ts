/**
 * A real nats-server run with the config `bakerst nats init` writes, and
 * clients connected as one of its identities, each collecting the errors the
 * server sends it (permission violations).
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { natsAuthenticator } from "../../core/bus/nats-connect.ts";
import { CONFIG_FILE, type NatsInitResult, natsInit } from "../../core/nats/init.ts";
import { identityName, inboxPrefix, type NatsIdentity } from "../../core/protocol/permissions.ts";
import { tempDir } from "./app.ts";
import { type ConfiguredNats, startNatsWithConfig, waitFor } from "./nats.ts";

export interface Client {
  nc: NatsConnection;
  /** Every error the server sent this connection, in order. */
  errors: string[];
}

export interface SecuredNats {
  dir: string;
  init: NatsInitResult;
  server: ConfiguredNats;
  url: string;
  credsFile(identity: NatsIdentity): string;
  /** Connects with the identity's seed and inbox prefix (or the given one). */
  connectAs(identity: NatsIdentity, opts?: { inboxPrefix?: string }): Promise<Client>;
  cleanup(): Promise<void>;
}

export async function startSecuredNats(add: { companions?: string[]; extensions?: string[] } = {}): Promise<SecuredNats> {
  const dir = tempDir("bakerst-nats-ids-");
  const init = natsInit({ dir, ...add, version: "test" });
  const server = await startNatsWithConfig(join(dir, CONFIG_FILE));
  const clients: NatsConnection[] = [];
  const credsFile = (identity: NatsIdentity) => {
    const found = init.identities.find((i) => i.name === identityName(identity));
    if (!found) throw new Error(`no identity ${identityName(identity)}`);
    return found.credsFile;
  };
  return {
    dir,
    init,
    server,
    url: server.url,
    credsFile,
    async connectAs(identity, opts = {}) {
      const file = credsFile(identity);
      const nc = await connect({
        servers: server.url,
        authenticator: natsAuthenticator(readFileSync(file), file),
        inboxPrefix: opts.inboxPrefix ?? inboxPrefix(identity),
        name: `test-${identityName(identity)}`,
      });
      clients.push(nc);
      const errors: string[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error") errors.push(s.error.message);
      })();
      return { nc, errors };
    },
    async cleanup() {
      await Promise.all(clients.map((c) => (c.isClosed() ? undefined : c.close())));
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Publishes on core NATS and waits for the server's permission violation for exactly that subject. */
export async function publishRefused(c: Client, subject: string): Promise<string> {
  const from = c.errors.length;
  c.nc.publish(subject, "forged");
  await c.nc.flush();
  return waitFor(`the server to refuse publishing to ${subject}`, () => c.errors.slice(from).find((e) => e === `Permissions Violation for Publish to "${subject}"`), 5_000);
}

/** Subscribes and returns the server's refusal; `received` counts what reached the subscription anyway. */
export async function subscribeRefused(c: Client, subject: string): Promise<{ error: string; received: () => number }> {
  let n = 0;
  // The refusal itself reaches the callback as an error; only messages count.
  const sub = c.nc.subscribe(subject, { callback: (err) => void (err ? undefined : n++) });
  const closed = await Promise.race([sub.closed, Bun.sleep(5_000).then(() => "still open after 5 s")]);
  const error = closed instanceof Error ? closed.message : String(closed);
  return { error, received: () => n };
}
