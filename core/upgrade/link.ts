/**
 * How two cores exchange the handoff's steps (`bakerst.brain.transfer.*`):
 * over NATS in cluster mode, or between two processes on one data dir over
 * their control sockets. The new core sends `ready`, `ack` and `abort` and
 * waits for the old one's answer; the old one sends `clear` the same way, and
 * its `abort` without waiting (it has already taken the traffic back).
 */
import { type Bus, NoResponderError, type Subscription } from "../bus/types.ts";
import { type BrainTransfer, type BrainTransferReply, BrainTransferReplyV1, type BrainTransferStep, BrainTransferV1, decode, encode, subjects } from "../protocol/index.ts";
import { controlFetch } from "./control.ts";

/** Nobody is there to take the step: no core answers (it died, or there never was one). */
export class NoPeerError extends Error {
  override name = "NoPeerError";
}

export type StepHandler = (msg: BrainTransfer) => BrainTransferReply | Promise<BrainTransferReply>;

export interface TransferLink {
  readonly kind: "nats" | "socket";
  /** Sends a step and waits for the answer; NoPeerError when no core takes it. */
  send(msg: BrainTransfer, timeoutMs?: number): Promise<BrainTransferReply>;
  /** Sends a step nobody answers (the old core's abort); a missing peer is not an error. */
  notify(msg: BrainTransfer): Promise<void>;
  /** This core answers these steps until the returned function is called. */
  serve(steps: readonly BrainTransferStep[], handler: StepHandler): () => Promise<void>;
  /** This core hears these steps (sent with notify) until the returned function is called. */
  hear(steps: readonly BrainTransferStep[], handler: StepHandler): () => Promise<void>;
}

export const refuse = (reason: string): BrainTransferReply => ({ v: 1, ok: false, reason });

function replyOf(data: Uint8Array): BrainTransferReply {
  const r = decode(BrainTransferReplyV1, data);
  if (!r.ok) throw new Error(`the other core's answer fails its schema: ${r.reason}`);
  return r.value;
}

/**
 * Over NATS. One core answers each step at a time (the active one `ready`,
 * `ack` and `abort`; the new one `clear`), so a request reaches the core it
 * is meant for; the old core's abort is published, and the new core hears it.
 */
export function natsLink(bus: Bus, self: string): TransferLink {
  const stopAll = (subs: Subscription[]) => async () => {
    for (const s of subs) await s.stop();
  };
  return {
    kind: "nats",
    async send(msg, timeoutMs = 5_000) {
      try {
        return replyOf(await bus.request(subjects.brainTransfer(msg.step), encode(BrainTransferV1, msg), { timeoutMs }));
      } catch (err) {
        if (err instanceof NoResponderError) throw new NoPeerError(`no core answers on ${subjects.brainTransfer(msg.step)}`);
        throw err;
      }
    },
    notify: (msg) => bus.publish(subjects.brainTransfer(msg.step), encode(BrainTransferV1, msg)),
    serve(steps, handler) {
      return stopAll(
        steps.map((step) =>
          bus.respond(subjects.brainTransfer(step), async (data) => {
            const m = decode(BrainTransferV1, data);
            if (!m.ok) return encode(BrainTransferReplyV1, refuse(`not a transfer message: ${m.reason}`));
            if (m.value.step !== step) return encode(BrainTransferReplyV1, refuse(`a ${m.value.step} message on the ${step} subject`));
            if (m.value.from === self) return encode(BrainTransferReplyV1, refuse("sent by this core"));
            if (m.value.to && m.value.to !== self) return encode(BrainTransferReplyV1, refuse(`addressed to ${m.value.to}, not to this core (${self})`));
            return encode(BrainTransferReplyV1, await handler(m.value));
          }),
        ),
      );
    },
    hear(steps, handler) {
      return stopAll(
        steps.map((step) =>
          bus.subscribe(subjects.brainTransfer(step), (data) => {
            const m = decode(BrainTransferV1, data);
            if (m.ok && m.value.step === step && m.value.from !== self && (!m.value.to || m.value.to === self)) void handler(m.value);
          }),
        ),
      );
    },
  };
}

/** Largest transfer message a control socket reads. */
const MAX_BODY = 16 * 1024;

/**
 * Between processes sharing a data dir: each step is a POST to the other
 * core's control socket. The sockets are in the private data dir, so only
 * the owner's user can send one.
 */
export class SocketLink implements TransferLink {
  readonly kind = "socket";
  private handlers = new Map<BrainTransferStep, StepHandler>();
  private sockets = new Map<string, string>();

  constructor(private self: string) {}

  /** Where a core with that instance id answers. */
  know(instance: string, socket: string): void {
    this.sockets.set(instance, socket);
  }

  async send(msg: BrainTransfer, timeoutMs = 5_000): Promise<BrainTransferReply> {
    const socket = msg.to ? this.sockets.get(msg.to) : undefined;
    if (!socket) throw new NoPeerError(`no control socket known for ${msg.to ?? "the other core"}`);
    let res: Response;
    try {
      res = await controlFetch(socket, `/transfer/${msg.step}`, { method: "POST", body: msg, timeoutMs });
    } catch (err) {
      throw new NoPeerError(`the other core does not answer on ${socket}: ${(err as Error).message}`);
    }
    return replyOf(new Uint8Array(await res.arrayBuffer()));
  }

  async notify(msg: BrainTransfer): Promise<void> {
    await this.send(msg).catch(() => {});
  }

  hear(steps: readonly BrainTransferStep[], handler: StepHandler): () => Promise<void> {
    return this.serve(steps, handler);
  }

  serve(steps: readonly BrainTransferStep[], handler: StepHandler): () => Promise<void> {
    for (const s of steps) this.handlers.set(s, handler);
    return async () => {
      for (const s of steps) if (this.handlers.get(s) === handler) this.handlers.delete(s);
    };
  }

  /** `POST /transfer/<step>` on this core's control socket. */
  async receive(step: string, req: Request): Promise<Response> {
    const answer = (r: BrainTransferReply, status = 200) => Response.json(r, { status });
    const body = new Uint8Array(await req.arrayBuffer());
    if (body.byteLength > MAX_BODY) return answer(refuse(`a transfer message is at most ${MAX_BODY} bytes`), 413);
    const m = decode(BrainTransferV1, body);
    if (!m.ok) return answer(refuse(`not a transfer message: ${m.reason}`), 400);
    if (m.value.step !== step) return answer(refuse(`a ${m.value.step} message sent to /transfer/${step}`), 400);
    if (m.value.to && m.value.to !== this.self) return answer(refuse(`addressed to ${m.value.to}, not to this core (${this.self})`), 409);
    const handler = this.handlers.get(m.value.step);
    if (!handler) return answer(refuse(`this core is not expecting ${m.value.step} now`), 409);
    return answer(await handler(m.value));
  }
}
