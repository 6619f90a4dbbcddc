import { afterAll, beforeAll } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsBus } from "../../core/bus/nats.ts";
import { KEYED_QUEUES, QUEUES } from "../../core/protocol/index.ts";
import { type NatsServer, startNats } from "../helpers/nats.ts";
import { busContract } from "./contract.ts";

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.cleanup();
});

/** Each test starts from empty streams and no consumers. */
async function reset() {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  for (const stream of [QUEUES.jobs.stream, QUEUES.jobStatus.stream, KEYED_QUEUES.companionTasks.stream]) {
    for await (const c of jsm.consumers.list(stream)) await jsm.consumers.delete(stream, c.name).catch(() => {});
    await jsm.streams.purge(stream).catch(() => {});
  }
  await nc.close();
}

busContract("NATS JetStream", () => ({
  open: async () => {
    await reset().catch(() => {});
    return NatsBus.open({ url: nats.url, name: "contract" });
  },
  reopen: () => NatsBus.open({ url: nats.url, name: "contract" }),
}));
