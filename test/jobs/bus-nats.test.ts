import { afterAll, beforeAll } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsBus } from "../../core/protocol/nats.ts";
import { JOBS_CONSUMER, JOBS_STREAM, STATUS_CONSUMER, STATUS_STREAM } from "../../core/protocol/subjects.ts";
import { startNats, type NatsServer } from "../helpers/nats.ts";
import { busContract } from "./bus-contract.ts";

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.cleanup();
});

/** Each test starts from empty streams and fresh consumers. */
async function reset() {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  for (const [stream, consumer] of [
    [JOBS_STREAM, JOBS_CONSUMER],
    [STATUS_STREAM, STATUS_CONSUMER],
  ] as const) {
    await jsm.consumers.delete(stream, consumer).catch(() => {});
    await jsm.streams.purge(stream).catch(() => {});
  }
  await nc.close();
}

busContract("NATS JetStream", () => ({
  open: async (ackWaitMs) => {
    await reset();
    return NatsBus.open({ url: nats.url, name: "contract", ackWaitMs });
  },
  reopen: (ackWaitMs) => NatsBus.open({ url: nats.url, name: "contract", ackWaitMs }),
}));
